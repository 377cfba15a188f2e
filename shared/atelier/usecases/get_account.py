"""Reads the signed-in account."""

from __future__ import annotations

from atelier.data.accounts import AccountRepository
from atelier.models.accounts import Account


def get_account(account_id: str, *, accounts: AccountRepository) -> Account:
    return accounts.require(account_id)
