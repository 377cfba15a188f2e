"""Accounts with credits, made through the real code, and the invariants money must keep."""

from __future__ import annotations

from datetime import UTC, datetime

from atelier.data.accounts import AccountRepository
from atelier.data.wallets import Grant, WalletRepository
from atelier.ids import IdPrefix, new_id
from atelier.models.accounts import Account, Workspace
from atelier.models.billing import LedgerKind, Money


def new_account(accounts: AccountRepository | None = None, now: datetime | None = None) -> Account:
    accounts = accounts or AccountRepository()
    now = now or datetime.now(UTC)
    account_id = new_id(IdPrefix.ACCOUNT)
    workspace = Workspace(
        id=new_id(IdPrefix.WORKSPACE), account_id=account_id, name="Personal", created_at=now, is_default=True
    )
    account = Account(
        id=account_id,
        email=f"{account_id}@example.com",
        name="Test Person",
        identity_issuer="https://issuer.test",
        identity_subject=account_id,
        created_at=now,
        default_workspace_id=workspace.id,
        ledger_id=new_id(IdPrefix.LEDGER),
    )
    accounts.create(account, workspace)
    return account


def give_credits(account: Account, credits: int, *, wallets: WalletRepository | None = None) -> None:
    (wallets or WalletRepository()).grant(
        Grant(
            account_id=account.id,
            ledger_id=account.ledger_id,
            provider="test",
            payment_key=new_id(IdPrefix.CHECKOUT),
            payment_refs=[],
            item_id=None,
            credits=credits,
            kind=LedgerKind.ADJUSTMENT,
            amount=Money(value_minor=0, currency="usd"),
            at=datetime.now(UTC),
        )
    )


def assert_balance_matches_ledger(account: Account, wallets: WalletRepository | None = None) -> None:
    wallets = wallets or WalletRepository()
    wallet = wallets.get(account.id)
    assert wallet.balance == wallets.ledger_sum(account.ledger_id), (wallet, account.ledger_id)
    assert wallet.held >= 0
