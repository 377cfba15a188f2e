"""How the inference adapters describe a provider's failure without repeating what it said: short
machine codes, cut texts, and the error for an answer of the wrong shape."""

from __future__ import annotations

import json
import re
from typing import Any

from atelier.integrations.inference.base import ProviderError

ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def malformed(provider: str) -> ProviderError:
    """The error for an answer that is JSON but not of the documented shape."""
    return ProviderError(details={"provider": provider, "reason": "malformed_answer"})


def short_text(value: Any, limit: int = 300) -> str | None:
    """A provider's failure text, cut short and without tracebacks."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:limit] or None


def machine_code(value: Any, default: str) -> str:
    if isinstance(value, str) and ERROR_CODE.fullmatch(value):
        return value
    return default
