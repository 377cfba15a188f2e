"""The money rules (atelier.models.money), with no table: what a reversal claws back, why a hold is
refused, and when a debt restricts an account or settling it lifts the restriction."""

from __future__ import annotations

import pytest

from atelier import errors
from atelier.models import money
from atelier.models.money import Clawback, WalletAtRefusal


def clawback(**changes: int | None) -> Clawback:
    values: dict[str, int | None] = {
        "granted_credits": 100,
        "clawed_credits": 0,
        "reversed_minor": 0,
        "reversal_minor": 999,
        "paid_minor": 999,
    }
    return money.clawback(**(values | changes))  # type: ignore[arg-type]


def test_a_full_refund_takes_back_every_credit_granted():
    assert clawback() == Clawback(reversed_minor=999, credits=100)


def test_a_partial_refund_takes_back_credits_in_proportion_rounded_up():
    # A third of the money back: 33.3 credits, rounded up.
    assert clawback(reversal_minor=333) == Clawback(reversed_minor=333, credits=34)


def test_a_second_refund_takes_only_what_the_first_left():
    first = clawback(reversal_minor=500)
    second = clawback(reversed_minor=first.reversed_minor, clawed_credits=first.credits, reversal_minor=499)
    assert (first.credits, second.credits) == (51, 49)
    assert first.credits + second.credits == 100


def test_never_more_than_was_granted():
    assert clawback(reversal_minor=5000).credits == 100
    assert clawback(clawed_credits=100, reversal_minor=10).credits == 0


def test_a_reversal_without_an_amount_or_a_payment_without_one_takes_back_everything_left():
    assert clawback(reversal_minor=None) == Clawback(reversed_minor=0, credits=100)
    assert clawback(paid_minor=None, reversal_minor=10) == Clawback(reversed_minor=10, credits=100)
    assert clawback(paid_minor=0, clawed_credits=40).credits == 60


def test_tax_on_top_counts_on_the_footing_of_what_was_paid():
    # 10.00 + 2.10 tax paid; 6.05 returned is half the payment: half the credits.
    assert clawback(paid_minor=1210, reversal_minor=605).credits == 50


def wallet(**changes: object) -> WalletAtRefusal:
    values: dict[str, object] = {
        "balance": 100,
        "restricted": False,
        "spend_month": "2026-12",
        "cap_headroom": 1000,
        "jobs_in_flight": 0,
    }
    return WalletAtRefusal(**(values | changes))  # type: ignore[arg-type]


def refusal(current: WalletAtRefusal, cost: int = 10, **options: object) -> Exception:
    return money.hold_refusal(current, cost=cost, month="2026-12", max_in_flight=options.get("max_in_flight"),  # type: ignore[arg-type]
                              may_roll_over=bool(options.get("may_roll_over", True)))  # fmt: skip


def test_a_wallet_of_an_earlier_month_is_rolled_over_once():
    assert isinstance(refusal(wallet(spend_month="2026-11")), money.MonthChanged)
    # Past the roll-over, the month no longer answers: the other reasons do.
    assert isinstance(refusal(wallet(spend_month="2026-11"), may_roll_over=False), errors.SpendCapExceededError)


@pytest.mark.parametrize(
    ("current", "cost", "max_in_flight", "expected"),
    [
        (wallet(restricted=True, balance=0), 10, None, errors.AccountRestrictedError),
        (wallet(jobs_in_flight=3), 10, 3, errors.RateLimitedError),
        (wallet(balance=5), 10, None, errors.InsufficientCreditsError),
        (wallet(cap_headroom=5), 10, None, errors.SpendCapExceededError),
        # The order a client can act on: a restriction before the balance, the balance before the cap.
        (wallet(restricted=True, balance=5, cap_headroom=5), 10, None, errors.AccountRestrictedError),
        (wallet(balance=5, cap_headroom=5), 10, None, errors.InsufficientCreditsError),
    ],
)
def test_a_refused_hold_says_why(current, cost, max_in_flight, expected):
    assert type(refusal(current, cost, max_in_flight=max_in_flight)) is expected


def test_the_insufficient_credits_refusal_names_the_balance_and_the_cost():
    error = refusal(wallet(balance=5), 10)
    assert isinstance(error, errors.InsufficientCreditsError)
    assert error.details == {"balance": 5, "cost": 10}


def test_a_debt_restricts_and_paying_it_lifts_the_restriction():
    assert money.restricts(-1)
    assert not money.restricts(0)
    assert money.restriction_lifts(0, restricted=True)
    assert not money.restriction_lifts(-1, restricted=True)
    assert not money.restriction_lifts(10, restricted=False)


@pytest.mark.parametrize(
    ("status", "restricted", "settled"),
    [
        ("active", "restricted", "active"),
        ("restricted", "restricted", "active"),
        # A deletion countdown and a suspension are not money's to change.
        ("deletion_scheduled", "deletion_scheduled", "deletion_scheduled"),
        ("suspended", "suspended", "suspended"),
    ],
)
def test_the_account_status_a_debt_and_its_settling_leave(status, restricted, settled):
    assert money.status_after_restriction(status) == restricted
    assert money.status_after_settling(status) == settled
