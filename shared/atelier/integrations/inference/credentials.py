"""Inference provider secrets: an unconfigured or unreadable one is a provider failure
(``ProviderError``), which the worker retries later, once the key is set."""

from __future__ import annotations

from atelier.integrations.inference.base import ProviderError
from atelier.integrations.secret_values import Secret, reveal_or_raise, secret_setting_or_raise

__all__ = ["Secret", "reveal", "secret_setting"]


def reveal(secret: Secret, what: str) -> str:
    """The secret's value. An unconfigured secret is a broken dependency, never an empty key."""
    return reveal_or_raise(secret, lambda: ProviderError(f"The inference provider is not configured ({what})."))


def secret_setting(value: str, parameter: str) -> Secret:
    """The value when one is given, else a fetcher for the named SSM parameter ("" when neither)."""
    return secret_setting_or_raise(
        value, parameter, lambda: ProviderError("An inference provider secret could not be read.")
    )
