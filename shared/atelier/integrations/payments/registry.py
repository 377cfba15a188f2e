"""Builds the payment provider adapters from the settings, once per container and only when used.

Secrets are given either directly (local and test stacks) or as the name of an SSM SecureString
(``*_parameter`` settings, deployed stacks). A named secret is read when first needed and through
the secrets cache, so a cold start that never touches a provider never calls SSM.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from atelier import errors
from atelier.integrations.payments.base import PaymentProvider, ProviderUnsupportedError
from atelier.settings import Settings

# A secret value, or a function that fetches it when called.
type Secret = str | Callable[[], str]


def reveal(secret: Secret, what: str) -> str:
    """The secret's value. An unconfigured secret is a broken dependency, never an empty key: an
    empty HMAC key would accept signatures anyone can compute."""
    value = secret() if callable(secret) else secret
    if not value:
        raise errors.DependencyUnavailableError(f"The payment provider is not configured ({what}).")
    return value


def secret_setting(value: str, parameter: str) -> Secret:
    """The value when one is given, else a fetcher for the named SSM parameter ("" when neither)."""
    if value or not parameter:
        return value

    def fetch() -> str:
        from atelier.integrations.secrets import get_secret

        try:
            return get_secret(parameter)
        except Exception as exc:  # SSM unreachable, throttled or the parameter missing
            raise errors.DependencyUnavailableError("A payment secret could not be read.") from exc

    return fetch


_lock = threading.Lock()
_built: dict[str, tuple[Settings, PaymentProvider]] = {}


def provider_for(name: str, settings: Settings) -> PaymentProvider:
    """The adapter for an enabled provider (ProviderUnsupportedError for any other name)."""
    if name not in settings.payment_providers:
        raise ProviderUnsupportedError("This payment provider is not available.", details=[{"field": "provider"}])
    with _lock:
        built = _built.get(name)
        if built is not None and built[0] is settings:
            return built[1]
    provider = _build(name, settings)
    with _lock:
        _built[name] = (settings, provider)
    return provider


def _build(name: str, settings: Settings) -> PaymentProvider:
    if name == "stripe":
        from atelier.integrations.payments.stripe import StripeProvider

        return StripeProvider(
            secret_key=secret_setting(settings.stripe_secret_key, settings.stripe_secret_key_parameter),
            webhook_secret=secret_setting(settings.stripe_webhook_secret, settings.stripe_webhook_secret_parameter),
            api_base=settings.stripe_api_base,
            tolerance_seconds=settings.webhook_tolerance_seconds,
        )
    if name == "paypal":
        from atelier.integrations.payments.paypal import PayPalProvider

        return PayPalProvider(
            client_id=settings.paypal_client_id,
            client_secret=secret_setting(settings.paypal_client_secret, settings.paypal_client_secret_parameter),
            webhook_id=settings.paypal_webhook_id,
            api_base=settings.paypal_api_base,
        )
    if name == "creem":
        from atelier.integrations.payments.creem import CreemProvider

        return CreemProvider(
            api_key=secret_setting(settings.creem_api_key, settings.creem_api_key_parameter),
            webhook_secret=secret_setting(settings.creem_webhook_secret, settings.creem_webhook_secret_parameter),
            api_base=settings.creem_api_base,
        )
    raise ProviderUnsupportedError("This payment provider is not available.", details=[{"field": "provider"}])


def forget_providers() -> None:
    """Drops the built adapters (tests that change settings call this)."""
    with _lock:
        _built.clear()
