"""The money rules, apart from how they are stored: what a reversal claws back, why a hold is
refused, and when a debt restricts an account or its settling lifts the restriction.

The data layer turns these into DynamoDB conditions and updates; the rules themselves are here so
they can be read, and tested, without a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from atelier import errors

# A negative balance restricts the account; zero or above lifts the restriction.
RESTRICTED_BELOW = 0
# The account statuses a restriction changes, and those its lifting changes back: a deletion
# countdown or a moderator's suspension is left as it is (the countdown's end looks again).
STATUSES_A_DEBT_RESTRICTS = ("active",)
STATUSES_SETTLING_MAKES_ACTIVE = ("restricted", "active")


def restricts(balance: int) -> bool:
    """Whether a wallet at this balance restricts its account (the credits were spent already)."""
    return balance < RESTRICTED_BELOW


def restriction_lifts(balance: int, restricted: bool) -> bool:
    return restricted and not restricts(balance)


def status_after_restriction(status: str) -> str:
    return "restricted" if status in STATUSES_A_DEBT_RESTRICTS else status


def status_after_settling(status: str) -> str:
    return "active" if status in STATUSES_SETTLING_MAKES_ACTIVE else status


@dataclass(frozen=True)
class Clawback:
    """What a reversal takes: the payment's money returned so far, this reversal included, and the
    credits to take now."""

    reversed_minor: int
    credits: int


def clawback(
    *,
    granted_credits: int,
    clawed_credits: int,
    reversed_minor: int,
    reversal_minor: int | None,
    paid_minor: int | None,
) -> Clawback:
    """Credits in proportion to the money returned (rounded up), never more than the payment
    granted, less what earlier reversals took. A reversal that states no amount, or a payment whose
    amount is unknown, takes back everything granted."""
    returned = reversed_minor + (reversal_minor or 0)
    if reversal_minor is None or not paid_minor:
        target = granted_credits
    else:
        target = min(granted_credits, math.ceil(granted_credits * returned / paid_minor))
    return Clawback(reversed_minor=returned, credits=max(0, target - clawed_credits))


@dataclass(frozen=True)
class WalletAtRefusal:
    """The wallet as it was when a hold's condition failed."""

    balance: int
    restricted: bool
    spend_month: str
    cap_headroom: int
    jobs_in_flight: int


class MonthChanged(Exception):
    """The wallet still counts an earlier month: roll it over, then hold again."""


def hold_refusal(
    wallet: WalletAtRefusal, *, cost: int, month: str, max_in_flight: int | None, may_roll_over: bool = True
) -> Exception:
    """The reason a hold of `cost` credits was refused, in the order a client can act on it. A
    wallet still counting an earlier month is rolled over and tried again, once (`may_roll_over`)."""
    if wallet.spend_month != month and may_roll_over:
        return MonthChanged()
    if wallet.restricted:
        return errors.AccountRestrictedError()
    if max_in_flight is not None and wallet.jobs_in_flight >= max_in_flight:
        return errors.RateLimitedError("Too many jobs are running; wait for one to finish.", retry_after_seconds=10)
    if wallet.balance < cost:
        return errors.InsufficientCreditsError(details={"balance": wallet.balance, "cost": cost})
    return errors.SpendCapExceededError(details={"cost": cost})
