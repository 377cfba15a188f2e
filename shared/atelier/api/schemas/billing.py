"""HTTP shapes of the catalog, checkout, balance, spend cap, ledger and subscription."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from atelier.api.schemas.common import StrictRequest, WholeNumber
from atelier.clock import isoformat
from atelier.models.billing import CatalogItem, LedgerEntry, Money, Subscription, Wallet


class MoneyBody(BaseModel):
    value_minor: int
    currency: str

    @classmethod
    def of(cls, money: Money) -> MoneyBody:
        return cls(value_minor=money.value_minor, currency=money.currency)


class PackBody(BaseModel):
    id: str
    name: str
    credits: int
    price: MoneyBody


class PlanBody(BaseModel):
    id: str
    name: str
    credits_per_period: int
    price: MoneyBody
    interval: Literal["month", "year"] | None


class CatalogResponse(BaseModel):
    packs: list[PackBody]
    plans: list[PlanBody]

    @classmethod
    def of(cls, items: list[CatalogItem]) -> CatalogResponse:
        return cls(
            packs=[
                PackBody(id=i.id, name=i.name, credits=i.credits, price=MoneyBody.of(i.price))
                for i in items
                if i.kind == "pack"
            ],
            plans=[
                PlanBody(
                    id=i.id, name=i.name, credits_per_period=i.credits, price=MoneyBody.of(i.price), interval=i.interval
                )
                for i in items
                if i.kind == "plan"
            ],
        )


class CheckoutRequestBody(StrictRequest):
    item_id: str = Field(min_length=1, max_length=64)
    provider: Literal["stripe", "paypal", "creem"]


class CheckoutResponse(BaseModel):
    checkout_id: str
    url: str


class SpendCapBody(BaseModel):
    monthly_credits: int | None
    spent_this_month: int


class BalanceResponse(BaseModel):
    credits: int
    held_credits: int
    spend_cap: SpendCapBody
    restricted: bool

    @classmethod
    def of(cls, wallet: Wallet) -> BalanceResponse:
        return cls(
            credits=wallet.balance,
            held_credits=wallet.held,
            spend_cap=SpendCapBody(monthly_credits=wallet.spend_cap, spent_this_month=wallet.spent_this_month),
            restricted=wallet.restricted,
        )


class SpendCapRequest(StrictRequest):
    monthly_credits: Annotated[int, Field(ge=0, le=10_000_000), WholeNumber] | None


class LedgerEntryBody(BaseModel):
    id: str
    at: str
    credits: int
    kind: str
    generation_kind: Literal["image", "video"] | None = None
    amount: MoneyBody | None = None
    reference: str

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryBody:
        return cls(
            id=entry.id,
            at=isoformat(entry.at),
            credits=entry.credits,
            kind=entry.kind.value,
            generation_kind=entry.generation_kind,
            amount=MoneyBody.of(entry.amount) if entry.amount else None,
            reference=entry.reference,
        )


class LedgerPageResponse(BaseModel):
    items: list[LedgerEntryBody]
    next_cursor: str | None


class SubscriptionResponse(BaseModel):
    plan_id: str
    status: str
    current_period_end: str | None
    provider: str

    @classmethod
    def of(cls, subscription: Subscription) -> SubscriptionResponse:
        return cls(
            plan_id=subscription.plan_id,
            status=subscription.status,
            current_period_end=isoformat(subscription.current_period_end) if subscription.current_period_end else None,
            provider=subscription.provider,
        )


class WebhookReceipt(BaseModel):
    received: bool
    outcome: str
