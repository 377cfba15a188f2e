"""Credits the account holder reads and steers: balance, spend cap, ledger and subscription."""

from __future__ import annotations

from dataclasses import dataclass

from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.payments import PaymentRecordsRepository
from atelier.data.wallets import WalletRepository, month_of
from atelier.models.billing import LedgerEntry, Subscription, Wallet

_ACTIVE_STATUSES = ("active", "trialing", "past_due")


def read_balance(account_id: str, *, wallets: WalletRepository, clock: Clock) -> Wallet:
    wallet = wallets.get(account_id)
    if wallet.spend_month != month_of(clock.now()):
        # Nothing was held yet this month: the stored spend belongs to an earlier one.
        return wallet.model_copy(update={"spent_this_month": 0, "spend_month": month_of(clock.now())})
    return wallet


def set_spend_cap(account_id: str, monthly_credits: int | None, *, wallets: WalletRepository, clock: Clock) -> Wallet:
    return wallets.set_spend_cap(account_id, monthly_credits, clock.now())


@dataclass(frozen=True)
class LedgerPage:
    entries: list[LedgerEntry]
    next_cursor: str | None


def list_ledger(
    account_id: str, *, limit: int, cursor: str | None, accounts: AccountRepository, wallets: WalletRepository
) -> LedgerPage:
    ledger_id = accounts.require(account_id).ledger_id
    entries, next_cursor = wallets.entries(ledger_id, limit=limit, after=cursor)
    return LedgerPage(entries=entries, next_cursor=next_cursor)


def current_subscription(account_id: str, *, payments: PaymentRecordsRepository) -> Subscription | None:
    subscriptions = [subscription for subscription, _ in payments.subscriptions(account_id)]
    active = [s for s in subscriptions if s.status in _ACTIVE_STATUSES]
    return max(active or subscriptions, key=lambda s: s.current_period_end or s.subscription_id, default=None)
