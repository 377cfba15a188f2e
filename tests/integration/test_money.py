"""Money is exact under concurrency and duplicate or reordered provider events (P5, P10)."""

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from atelier import errors
from atelier.clock import SystemClock
from atelier.data.accounts import AccountRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.payments import PaymentRecordsRepository
from atelier.data.wallets import WalletRepository
from atelier.integrations.payments.base import PaymentEvent, PaymentEventKind
from atelier.models.billing import Money
from atelier.services import get_services
from atelier.usecases.handle_payment_event import (
    Outcome,
    PaymentEventDeps,
    PaymentNotYetKnownError,
    handle_payment_event,
)
from tests.support.money import assert_balance_matches_ledger, give_credits, new_account

ROUNDS = 20
CONCURRENT_HOLDS = 200


class NullMailer:
    def __init__(self):
        self.sent = []

    def send(self, message):
        self.sent.append(message)


def test_concurrent_holds_never_overspend_the_balance_or_the_cap(stack):
    wallets = WalletRepository()
    now = datetime.now(UTC)
    for _ in range(ROUNDS):
        # Given a balance of 50 and a monthly cap of 40
        account = new_account()
        give_credits(account, 50)
        wallets.set_spend_cap(account.id, 40, now)

        # When 200 holds of one credit race
        def hold(number: int, account=account) -> str:
            try:
                wallets.hold(account.id, account.ledger_id, f"job_{number}", 1, now, generation_kind="image")
            except errors.InsufficientCreditsError:
                return "402"
            except errors.SpendCapExceededError:
                return "429"
            return "held"

        with ThreadPoolExecutor(max_workers=50) as pool:
            outcomes = list(pool.map(hold, range(CONCURRENT_HOLDS)))

        # Then exactly the cap's worth succeed, the rest are refused, and the books balance
        assert outcomes.count("held") == 40
        assert outcomes.count("402") + outcomes.count("429") == CONCURRENT_HOLDS - 40
        wallet = wallets.get(account.id)
        assert (wallet.balance, wallet.held, wallet.spent_this_month) == (10, 40, 40)
        assert_balance_matches_ledger(account, wallets)


def test_settle_and_release_happen_once_each(stack):
    wallets, now = WalletRepository(), datetime.now(UTC)
    account = new_account()
    give_credits(account, 20)
    wallets.hold(account.id, account.ledger_id, "job_a", 8, now, generation_kind="video")
    wallets.hold(account.id, account.ledger_id, "job_b", 5, now, generation_kind="image")
    # Settling charges the actual cost and returns the rest; a second settle or a release does nothing
    assert wallets.settle(account.id, account.ledger_id, "job_a", 6, now) is True
    assert wallets.settle(account.id, account.ledger_id, "job_a", 6, now) is False
    assert wallets.release(account.id, account.ledger_id, "job_a", now) is False
    # Releasing concurrently from many workers gives the credits back once
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: wallets.release(account.id, account.ledger_id, "job_b", now), range(8)))
    assert results.count(True) == 1
    wallet = wallets.get(account.id)
    assert (wallet.balance, wallet.held, wallet.spent_this_month) == (14, 0, 6)
    assert_balance_matches_ledger(account, wallets)


def test_the_same_reference_cannot_be_held_twice(stack):
    wallets, now = WalletRepository(), datetime.now(UTC)
    account = new_account()
    give_credits(account, 10)
    wallets.hold(account.id, account.ledger_id, "job_same", 2, now, generation_kind="image")
    with pytest.raises(errors.ConflictError):
        wallets.hold(account.id, account.ledger_id, "job_same", 2, now, generation_kind="image")
    assert wallets.get(account.id).balance == 8
    assert_balance_matches_ledger(account, wallets)


def test_a_new_month_restores_the_cap(stack):
    wallets = WalletRepository()
    november = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    account = new_account(now=november)
    give_credits(account, 100)
    wallets.set_spend_cap(account.id, 10, november)
    wallets.hold(account.id, account.ledger_id, "job_1", 10, november, generation_kind="image")
    with pytest.raises(errors.SpendCapExceededError):
        wallets.hold(account.id, account.ledger_id, "job_2", 1, november, generation_kind="image")
    december = november + timedelta(hours=2)
    wallets.hold(account.id, account.ledger_id, "job_3", 10, december, generation_kind="image")
    assert wallets.get(account.id).spent_this_month == 10
    assert_balance_matches_ledger(account, wallets)


def _purchase_events(account_id: str, session: str, *, provider: str = "stripe") -> list[PaymentEvent]:
    """A pack purchase as a provider reports it: several events naming the same paid object."""
    now = datetime.now(UTC)
    paid = Money(value_minor=999, currency="usd")
    common = {"provider": provider, "occurred_at": now, "account_id": account_id, "item_id": "pack_starter"}
    return [
        PaymentEvent(
            event_id=f"evt_{session}_completed",
            event_type="checkout.session.completed",
            kind=PaymentEventKind.PAYMENT_SUCCEEDED,
            payment_key=session,
            payment_refs=[f"pi_{session}"],
            amount=paid,
            **common,
        ),
        PaymentEvent(
            event_id=f"evt_{session}_async",
            event_type="checkout.session.async_payment_succeeded",
            kind=PaymentEventKind.PAYMENT_SUCCEEDED,
            payment_key=session,
            payment_refs=[f"pi_{session}"],
            amount=paid,
            **common,
        ),
        PaymentEvent(
            event_id=f"evt_{session}_charge",
            event_type="charge.succeeded",
            kind=PaymentEventKind.IGNORED,
            **common,
        ),
    ]


def _handle(event: PaymentEvent, mailer=None) -> Outcome:
    services = get_services()
    return handle_payment_event(
        PaymentEventDeps(
            payments=PaymentRecordsRepository(),
            wallets=WalletRepository(),
            accounts=AccountRepository(),
            mailer=mailer or NullMailer(),
            sent_emails=SentEmailRepository(),
            clock=SystemClock(),
            settings=services.settings,
        ),
        event,
    )


def test_every_event_of_a_purchase_three_times_in_any_order_credits_once(stack):
    account = new_account()
    events = _purchase_events(account.id, "cs_test_shuffled") * 3
    random.Random(7).shuffle(events)
    mailer = NullMailer()
    outcomes = [_handle(event, mailer) for event in events]
    assert outcomes.count(Outcome.GRANTED) == 1
    assert WalletRepository().get(account.id).balance == 100
    assert len([mail for mail in mailer.sent if mail.kind == "billing"]) == 1
    assert_balance_matches_ledger(account)


def test_concurrent_deliveries_of_a_purchase_credit_once(stack):
    account = new_account()
    events = _purchase_events(account.id, "cs_test_concurrent") * 4
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(_handle, events))
    assert outcomes.count(Outcome.GRANTED) == 1
    assert WalletRepository().get(account.id).balance == 100
    assert_balance_matches_ledger(account)


def test_two_subscription_periods_grant_twice(stack):
    account = new_account()
    now = datetime.now(UTC)
    for period in ("in_period_1", "in_period_2", "in_period_2"):
        _handle(
            PaymentEvent(
                provider="stripe",
                event_id=f"evt_{period}_{random.random()}",
                event_type="invoice.paid",
                kind=PaymentEventKind.PERIOD_PAID,
                occurred_at=now,
                account_id=account.id,
                item_id="plan_monthly",
                payment_key=period,
                amount=Money(value_minor=2499, currency="usd"),
            )
        )
    assert WalletRepository().get(account.id).balance == 800
    assert_balance_matches_ledger(account)


def test_a_refund_after_the_credits_were_spent_goes_negative_and_restricts(stack):
    wallets, now = WalletRepository(), datetime.now(UTC)
    account = new_account()
    for event in _purchase_events(account.id, "cs_test_refund"):
        _handle(event)
    wallets.hold(account.id, account.ledger_id, "job_spend", 90, now, generation_kind="video")
    wallets.settle(account.id, account.ledger_id, "job_spend", 90, now)
    refund = PaymentEvent(
        provider="stripe",
        event_id="evt_refund_1",
        event_type="charge.refunded",
        kind=PaymentEventKind.REFUND,
        occurred_at=now,
        reversal_key="re_1",
        reversed_payment="pi_cs_test_refund",
        amount=Money(value_minor=999, currency="usd"),
    )
    assert _handle(refund) == Outcome.CLAWED_BACK
    assert _handle(refund.model_copy(update={"event_id": "evt_refund_1_again"})) == Outcome.ALREADY_REVERSED
    wallet = wallets.get(account.id)
    assert wallet.balance == -90
    assert wallet.restricted is True
    assert AccountRepository().require(account.id).status == "restricted"
    with pytest.raises(errors.AccountRestrictedError):
        wallets.hold(account.id, account.ledger_id, "job_after", 1, now, generation_kind="image")
    assert_balance_matches_ledger(account, wallets)


def test_a_partial_refund_and_a_dispute_never_claw_back_more_than_was_granted(stack):
    wallets, now = WalletRepository(), datetime.now(UTC)
    account = new_account()
    for event in _purchase_events(account.id, "cs_test_partial"):
        _handle(event)
    base = {"provider": "stripe", "occurred_at": now, "reversed_payment": "pi_cs_test_partial"}
    half = PaymentEvent(
        event_id="evt_half",
        event_type="charge.refunded",
        kind=PaymentEventKind.REFUND,
        reversal_key="re_half",
        amount=Money(value_minor=500, currency="usd"),
        **base,
    )
    dispute = PaymentEvent(
        event_id="evt_dispute",
        event_type="charge.dispute.created",
        kind=PaymentEventKind.DISPUTE,
        reversal_key="dp_1",
        amount=Money(value_minor=999, currency="usd"),
        **base,
    )
    _handle(half)
    # 500 of 999 returned: ceil(100 * 500 / 999) = 51 credits back, so no unpaid credit is left
    assert wallets.get(account.id).balance == 49
    _handle(dispute)
    assert wallets.get(account.id).balance == 0
    assert_balance_matches_ledger(account, wallets)


def test_a_refund_that_overtakes_its_purchase_is_retried_not_lost(stack):
    account = new_account()
    now = datetime.now(UTC)
    refund = PaymentEvent(
        provider="stripe",
        event_id="evt_early_refund",
        event_type="charge.refunded",
        kind=PaymentEventKind.REFUND,
        occurred_at=now,
        reversal_key="re_early",
        reversed_payment="pi_cs_test_early",
        amount=Money(value_minor=999, currency="usd"),
    )
    with pytest.raises(PaymentNotYetKnownError):
        _handle(refund)
    for event in _purchase_events(account.id, "cs_test_early"):
        _handle(event)
    assert _handle(refund) == Outcome.CLAWED_BACK
    assert WalletRepository().get(account.id).balance == 0
    assert_balance_matches_ledger(account)
