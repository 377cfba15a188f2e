"""Money: credits are integers; currency amounts are minor units with an ISO currency code."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    value_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[a-z]{3}$")


class CatalogItem(BaseModel):
    """A credit pack (one-off; credits never expire) or a plan (credits each period)."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: Literal["pack", "plan"]
    name: str
    credits: int = Field(gt=0)
    price: Money
    interval: Literal["month", "year"] | None = None
    # Product or plan ids at providers that need them created in advance (Creem products).
    provider_product_ids: dict[str, str] = Field(default_factory=dict)


class LedgerKind(StrEnum):
    PURCHASE = "purchase"
    SUBSCRIPTION_GRANT = "subscription_grant"
    HOLD = "hold"
    SETTLE = "settle"
    RELEASE = "release"
    REFUND = "refund"
    DISPUTE = "dispute"
    ADJUSTMENT = "adjustment"


class LedgerEntry(BaseModel):
    """An append-only money entry. No personal data: keyed by the pseudonymous ledger id."""

    model_config = ConfigDict(frozen=True)

    id: str
    ledger_id: str
    at: datetime
    credits: int
    kind: LedgerKind
    reference: str
    generation_kind: Literal["image", "video"] | None = None
    amount: Money | None = None


class Wallet(BaseModel):
    """An account's credits: available balance, credits held for running jobs, and the monthly cap."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    ledger_id: str
    balance: int
    held: int
    spend_cap: int | None
    spend_month: str
    spent_this_month: int
    restricted: bool = False


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    subscription_id: str
    plan_id: str
    status: str
    current_period_end: datetime | None = None


class UnmatchedPayment(BaseModel):
    """Money a provider reports as paid that no account could be credited for (no or unknown
    account, an item not sold): kept for an operator to settle by hand. No personal data."""

    model_config = ConfigDict(frozen=True)

    provider: str
    payment_key: str  # the provider's paid object (a PayPal order or capture, a Stripe session...)
    event_id: str
    event_type: str
    reason: Literal["no_account", "unknown_account", "unknown_item"]
    item_id: str | None = None
    amount: Money | None = None
    received_at: datetime
