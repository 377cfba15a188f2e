"""Shapes shared by every route."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

# Display names and labels: trimmed, non-empty, bounded, no control characters.
DisplayText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
]
EmailAddress = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, max_length=254, pattern=r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s.]+$"
    ),
]


class StrictRequest(BaseModel):
    """Request bodies reject fields they do not know, so a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")
