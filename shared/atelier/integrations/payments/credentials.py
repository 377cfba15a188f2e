"""Payment provider secrets: an unconfigured or unreadable one is a broken dependency (503)."""

from __future__ import annotations

from atelier import errors
from atelier.integrations.secret_values import Secret, reveal_or_raise, secret_setting_or_raise

__all__ = ["Secret", "reveal", "secret_setting"]


def reveal(secret: Secret, what: str) -> str:
    """The secret's value; an unconfigured secret is a broken dependency, never an empty key."""
    return reveal_or_raise(
        secret, lambda: errors.DependencyUnavailableError(f"The payment provider is not configured ({what}).")
    )


def secret_setting(value: str, parameter: str) -> Secret:
    """The value when one is given, else a fetcher for the named SSM parameter ("" when neither)."""
    return secret_setting_or_raise(
        value, parameter, lambda: errors.DependencyUnavailableError("A payment secret could not be read.")
    )
