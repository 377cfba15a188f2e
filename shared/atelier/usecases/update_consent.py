"""Turns optional processing on or off; fields left out keep their value."""

from __future__ import annotations

from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.models.accounts import Account


def update_consent(
    account_id: str,
    *,
    analytics: bool | None,
    product_improvement: bool | None,
    marketing_emails: bool | None,
    accounts: AccountRepository,
    clock: Clock,
) -> Account:
    current = accounts.require(account_id).consent
    changes = {
        name: value
        for name, value in (
            ("analytics", analytics),
            ("product_improvement", product_improvement),
            ("marketing_emails", marketing_emails),
        )
        if value is not None
    }
    return accounts.update_consent(account_id, current.model_copy(update=changes), clock.now())
