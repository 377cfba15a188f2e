"""The adapters built from the settings, once per container: one cache for every family of
providers (payments, inference), keyed by family and name.

An adapter is built again when the settings object changes (tests build new settings).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_built: dict[tuple[str, str], tuple[object, Any]] = {}


def built_provider[T](family: str, name: str, settings: object, build: Callable[[], T]) -> T:
    """The adapter already built for these settings, or a new one from ``build``."""
    key = (family, name)
    with _lock:
        built = _built.get(key)
        if built is not None and built[0] is settings:
            return built[1]
    provider = build()
    with _lock:
        _built[key] = (settings, provider)
    return provider


def forget(family: str) -> None:
    """Drops the family's built adapters (tests that change settings call this)."""
    with _lock:
        for key in [key for key in _built if key[0] == family]:
            del _built[key]
