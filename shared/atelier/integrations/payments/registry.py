"""Builds the payment provider adapters from the settings, once per container and only when used.

Each provider has one builder below; the adapters' modules are imported only by their builder, so
a cold start pays for the providers it uses. Secrets are given either directly (local and test
stacks) or as the name of an SSM SecureString (``*_parameter`` settings, deployed stacks), read
when first needed (see atelier.integrations.payments.credentials).
"""

from __future__ import annotations

from collections.abc import Callable

from atelier.integrations import provider_cache
from atelier.integrations.payments.base import PaymentProvider, ProviderUnsupportedError
from atelier.integrations.payments.credentials import Secret, reveal, secret_setting
from atelier.settings import Settings

__all__ = ["Secret", "forget_providers", "provider_for", "reveal", "secret_setting"]

_FAMILY = "payments"


def _stripe(settings: Settings) -> PaymentProvider:
    from atelier.integrations.payments.stripe import StripeProvider

    return StripeProvider(
        secret_key=secret_setting(settings.billing.stripe_secret_key, settings.billing.stripe_secret_key_parameter),
        webhook_secret=secret_setting(
            settings.billing.stripe_webhook_secret, settings.billing.stripe_webhook_secret_parameter
        ),
        api_base=settings.billing.stripe_api_base,
        tolerance_seconds=settings.billing.webhook_tolerance_seconds,
    )


def _paypal(settings: Settings) -> PaymentProvider:
    from atelier.integrations.payments.paypal import PayPalProvider

    return PayPalProvider(
        client_id=settings.billing.paypal_client_id,
        client_secret=secret_setting(
            settings.billing.paypal_client_secret, settings.billing.paypal_client_secret_parameter
        ),
        webhook_id=settings.billing.paypal_webhook_id,
        api_base=settings.billing.paypal_api_base,
    )


def _creem(settings: Settings) -> PaymentProvider:
    from atelier.integrations.payments.creem import CreemProvider

    return CreemProvider(
        api_key=secret_setting(settings.billing.creem_api_key, settings.billing.creem_api_key_parameter),
        webhook_secret=secret_setting(
            settings.billing.creem_webhook_secret, settings.billing.creem_webhook_secret_parameter
        ),
        api_base=settings.billing.creem_api_base,
    )


BUILDERS: dict[str, Callable[[Settings], PaymentProvider]] = {"stripe": _stripe, "paypal": _paypal, "creem": _creem}


def provider_for(name: str, settings: Settings) -> PaymentProvider:
    """The adapter for an enabled provider (ProviderUnsupportedError for any other name)."""
    build = BUILDERS.get(name)
    if name not in settings.billing.payment_providers or build is None:
        raise ProviderUnsupportedError("This payment provider is not available.", details=[{"field": "provider"}])
    return provider_cache.built_provider(_FAMILY, name, settings, lambda: build(settings))


def forget_providers() -> None:
    """Drops the built adapters (tests that change settings call this)."""
    provider_cache.forget(_FAMILY)
