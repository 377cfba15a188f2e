"""The contract every payment provider adapter keeps.

A webhook is verified on its raw body first, then normalised into a `PaymentEvent`, so the money
code never reads provider-specific payloads. Credits are granted keyed on `payment_key` (the object
that was paid: a Stripe checkout session or invoice, a PayPal order, a Creem checkout or
subscription period's transaction), never on the event id, so re-sent, reordered or differently-shaped events
about one payment credit once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from atelier import errors
from atelier.models.billing import CatalogItem, Money


class WebhookSignatureError(errors.MalformedRequestError):
    code = "invalid_signature"
    default_message = "The webhook signature did not verify."


class ProviderUnsupportedError(errors.InvalidFieldError):
    code = "provider_unsupported"
    default_message = "This provider cannot sell that item."


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    checkout_id: str  # ours (chk_...): travels in the provider's metadata / custom id
    account_id: str  # ours: travels in the provider's metadata / custom id
    item: CatalogItem
    success_url: str
    cancel_url: str


class ProviderCheckout(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider_checkout_id: str
    url: str  # where the buyer pays, on the provider's site (the local sandbox locally)


class PaymentEventKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"  # a one-off payment is paid: grant the pack
    PAYMENT_PENDING = "payment_pending"  # paid by a delayed method; wait for succeeded/failed
    PAYMENT_FAILED = "payment_failed"
    PERIOD_PAID = "period_paid"  # a subscription period is paid: grant the plan's credits
    SUBSCRIPTION_UPDATED = "subscription_updated"
    SUBSCRIPTION_CANCELED = "subscription_canceled"
    REFUND = "refund"  # money returned to the buyer: claw back credits
    DISPUTE = "dispute"  # a chargeback opened: claw back credits
    IGNORED = "ignored"  # acknowledged and ignored


class PaymentEvent(BaseModel):
    """A provider's webhook event, verified and normalised."""

    model_config = ConfigDict(frozen=True)

    provider: str
    event_id: str
    event_type: str  # the provider's own type name, for logs and the inbox
    kind: PaymentEventKind
    occurred_at: datetime
    account_id: str | None = None
    checkout_id: str | None = None
    item_id: str | None = None
    # The paid object credits are keyed on (PAYMENT_SUCCEEDED, PERIOD_PAID).
    payment_key: str | None = None
    # Other ids of the same payment that a later refund or dispute may name instead.
    payment_refs: list[str] = Field(default_factory=list)
    # Paid (PAYMENT_SUCCEEDED, PERIOD_PAID), or returned by THIS refund or dispute alone (never a
    # running total: the money core adds reversals up itself).
    amount: Money | None = None
    # For REFUND and DISPUTE: the refund / dispute object, keyed on so each claws back once; and
    # the payment it reverses (one of that payment's key or refs).
    reversal_key: str | None = None
    reversed_payment: str | None = None
    # For REFUND and DISPUTE, when the provider names it beside the amount returned: what the
    # reversed payment came to in all, on the same footing (tax included), so credits are clawed
    # back in proportion to it even if the payment's own event told less (Creem: pre-tax).
    payment_total: Money | None = None
    subscription_id: str | None = None
    customer_id: str | None = None
    subscription_status: str | None = None
    current_period_end: datetime | None = None


class PaymentProvider(Protocol):
    name: str

    def create_checkout(self, request: CheckoutRequest) -> ProviderCheckout: ...

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> PaymentEvent:
        """Verifies the signature on the raw body first (WebhookSignatureError), then normalises.
        May raise DependencyUnavailableError (a look-up at the provider failed: answer 503 so it
        redelivers) or MalformedRequestError (signed, but unreadable)."""
        ...

    def complete_return(self, provider_checkout_id: str) -> PaymentEvent | None:
        """For providers that capture when the buyer returns (PayPal): capture now and answer the
        resulting event; None for providers that need nothing on return."""
        ...

    def cancel_subscription(self, subscription_id: str) -> None: ...

    def delete_customer(self, customer_id: str) -> None: ...
