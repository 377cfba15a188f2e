"""Starts a purchase at a payment provider: the buyer pays on the provider's page, never here (P4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.payments import PaymentRecordsRepository
from atelier.data.policies import PolicyRepository
from atelier.ids import IdPrefix, new_id
from atelier.integrations.payments.base import CheckoutRequest, PaymentProvider
from atelier.models.accounts import AccountStatus
from atelier.settings import Settings
from atelier.usecases.read_catalog import catalog_item
from atelier.usecases.require_consent import require_consent

if TYPE_CHECKING:
    from atelier.services import Services


class ProviderNotEnabledError(errors.InvalidFieldError):
    code = "provider_unsupported"
    default_message = "That payment provider is not available."


@dataclass(frozen=True)
class StartedCheckout:
    checkout_id: str
    url: str


@dataclass(frozen=True)
class StartCheckoutDeps:
    """What `start_checkout` works with, built once per function (`Services.dependencies`)."""

    accounts: AccountRepository
    policies: PolicyRepository
    payments: PaymentRecordsRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> StartCheckoutDeps:
        return cls(
            accounts=services.accounts,
            policies=services.policies,
            payments=services.payments,
            clock=services.clock,
            settings=services.settings,
        )


def start_checkout(
    deps: StartCheckoutDeps,
    account_id: str,
    item_id: str,
    provider_name: str,
    *,
    provider: PaymentProvider,
    success_url: str,
    cancel_url: str,
) -> StartedCheckout:
    account = deps.accounts.require(account_id)
    require_consent(account, policies=deps.policies, clock=deps.clock, settings=deps.settings)
    if account.status is AccountStatus.SUSPENDED:
        raise errors.AccountSuspendedError()
    if account.status is AccountStatus.DELETION_SCHEDULED:
        raise errors.ForbiddenError("This account is scheduled for deletion; cancel that first.")
    if provider_name not in deps.settings.billing.payment_providers:
        raise ProviderNotEnabledError(details=[{"field": "provider", "location": "body"}])
    item = catalog_item(item_id, deps.settings)
    checkout_id = new_id(IdPrefix.CHECKOUT)
    started = provider.create_checkout(
        CheckoutRequest(
            checkout_id=checkout_id, account_id=account_id, item=item, success_url=success_url, cancel_url=cancel_url
        )
    )
    deps.payments.save_checkout(
        account_id, checkout_id, provider_name, started.provider_checkout_id, item.id, deps.clock.now()
    )
    return StartedCheckout(checkout_id=checkout_id, url=started.url)
