"""The account row's status as money changes it: a debt restricts an active account, and settling
it makes the account active again (the rules are in atelier.models.money). The account row's writes,
offered to the wallet's units of work; a deletion countdown or a suspension is left as it is."""

from __future__ import annotations

from pynamodb.exceptions import UpdateError

from atelier.data import keys
from atelier.data.base import Transaction, is_conditional_failure, translate_errors
from atelier.data.items import AccountItem
from atelier.data.unit_of_work import Step
from atelier.models import money


def restrict_account(account_id: str) -> None:
    """The account becomes restricted, if its status is one a debt restricts."""
    with translate_errors():
        try:
            AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK).update(
                actions=[AccountItem.status.set("restricted")],
                condition=AccountItem.status.is_in(*money.STATUSES_A_DEBT_RESTRICTS),
            )
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise


def lift_restriction_step(account_id: str) -> Step:
    """The account becomes active again, if its status is one settling makes active (refused,
    labelled "account", otherwise)."""

    def write(tx: Transaction) -> None:
        tx.update(
            AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK),
            actions=[AccountItem.status.set("active")],
            condition=AccountItem.status.is_in(*money.STATUSES_SETTLING_MAKES_ACTIVE),
            label="account",
        )

    return Step("account", write)
