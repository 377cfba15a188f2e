"""A provider secret as the adapters hold it: the value itself (local and test stacks), or a
function that reads it when first called (an SSM SecureString named by a ``*_parameter`` setting,
deployed stacks), so a cold start that never touches a provider never calls SSM.

Each family of providers says which error an unconfigured or unreadable secret is: a payment
secret missing is a broken dependency, an inference secret missing a provider failure to retry.
"""

from __future__ import annotations

from collections.abc import Callable

# A secret value, or a function that fetches it when called.
type Secret = str | Callable[[], str]


def reveal_or_raise(secret: Secret, missing: Callable[[], Exception]) -> str:
    """The secret's value. An unconfigured secret raises ``missing()``, never yields an empty key:
    an empty HMAC key would accept signatures anyone can compute."""
    value = secret() if callable(secret) else secret
    if not value:
        raise missing()
    return value


def secret_setting_or_raise(value: str, parameter: str, unreadable: Callable[[], Exception]) -> Secret:
    """The value when one is given, else a fetcher for the named SSM parameter ("" when neither)."""
    if value or not parameter:
        return value

    def fetch() -> str:
        from atelier.integrations.secrets import get_secret

        try:
            return get_secret(parameter)
        except Exception as exc:  # SSM unreachable, throttled or the parameter missing
            raise unreadable() from exc

    return fetch
