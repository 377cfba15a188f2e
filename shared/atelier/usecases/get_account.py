"""Reads the signed-in account, with the new email address waiting for confirmation, if any."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.email_changes import EmailChangeRepository
from atelier.models.accounts import Account, PendingEmailChange


@dataclass(frozen=True)
class AccountView:
    account: Account
    pending: PendingEmailChange | None = None

    @property
    def pending_email(self) -> str | None:
        return self.pending.new_email if self.pending is not None else None


def live_email_change(
    account_id: str, *, email_changes: EmailChangeRepository, now: datetime
) -> PendingEmailChange | None:
    """The pending change of address, unless its link has expired (the sweep removes it later)."""
    change = email_changes.pending(account_id)
    return change if change is not None and now < change.expires_at else None


def get_account(
    account_id: str, *, accounts: AccountRepository, email_changes: EmailChangeRepository, clock: Clock
) -> AccountView:
    account = accounts.require(account_id)
    return AccountView(
        account=account, pending=live_email_change(account_id, email_changes=email_changes, now=clock.now())
    )
