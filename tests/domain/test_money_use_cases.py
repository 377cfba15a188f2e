"""The money use cases (submitting, cancelling and ending a job; a payment provider's grants and
reversals) run over the in-memory fakes of their repositories (tests/support/money_fakes.py), which
keep the real conditions and refusals: no emulator, milliseconds a test.

What each test checks is what a client or the books can see: the balance and what is held, the
ledger (whose sum is always the balance), the job, the queue and the account's status."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from atelier import errors
from atelier.data.jobs import IdempotencyConflictError
from atelier.integrations.inference.base import ProviderJob, ProviderOutput, ProviderStatus
from atelier.integrations.payments.base import PaymentEvent, PaymentEventKind
from atelier.models.accounts import Account, AccountStatus, Principal, PrincipalKind
from atelier.models.billing import LedgerKind, Money
from atelier.models.generation import Job, JobStatus
from atelier.settings import Settings
from atelier.usecases.handle_payment_event import Outcome, PaymentEventDeps, handle_payment_event
from atelier.usecases.manage_jobs import CancelJobDeps, JobFinishedError, cancel_job
from atelier.usecases.run_generation import GenerationMessage, fail, finish
from atelier.usecases.submit_job import JobSubmission, SubmitJobDeps, SubmittedJob, submit_job
from tests.support.fakes import FixedClock
from tests.support.money_fakes import FakeAssetStore, FakeOutputProvider, MoneyFakes, output_safety, tiny_png

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TERMS = "2026-01-01"
SETTINGS = Settings.from_environ({"INITIAL_TERMS_VERSION": TERMS, "MAX_JOBS_IN_FLIGHT": "2"})
# gpt-image-1 costs a flat 8 credits a job (atelier.settings' default model catalog).
MODEL, COST = "gpt-image-1", 8
# The default catalog's Starter pack: 100 credits for 9.99 USD.
PACK, PACK_CREDITS, PACK_PRICE = "pack_starter", 100, Money(value_minor=999, currency="usd")


@pytest.fixture
def fakes() -> MoneyFakes:
    return MoneyFakes(clock=FixedClock(NOW))


def _account(fakes: MoneyFakes, *, balance: int, **fields: Any) -> Account:
    return fakes.open_account(len(fakes.accounts.accounts) + 1, balance=balance, terms_version=TERMS, **fields)


def _submit(
    fakes: MoneyFakes, account: Account, *, key: str | None = None, prompt: str = "a lighthouse at dusk"
) -> SubmittedJob:
    deps = SubmitJobDeps(
        jobs=fakes.jobs,
        wallets=fakes.wallets,
        accounts=fakes.accounts,
        policies=fakes.policies,
        rate_limiter=fakes.rate_limiter,
        moderation=_AllowEverything(),
        uploads=fakes.uploads,
        storage=None,  # no references: nothing to read or untag
        queue=fakes.queue,
        clock=fakes.clock,
        settings=SETTINGS,
        workflows=None,  # no workflow version named
    )
    principal = Principal(
        kind=PrincipalKind.ACCOUNT,
        account_id=account.id,
        via="session",
        ledger_id=account.ledger_id,
        default_workspace_id=account.default_workspace_id,
    )
    submission = JobSubmission(
        kind="image", model=MODEL, prompt=prompt, negative_prompt=None, params={}, reference_upload_ids=[]
    )
    return submit_job(deps, principal, submission, workspace_id=None, idempotency_key=key)


def _cancel(fakes: MoneyFakes, job: Job) -> Job:
    deps = CancelJobDeps(jobs=fakes.jobs, wallets=fakes.wallets, provider_for=_no_provider, clock=fakes.clock)
    return cancel_job(deps, job.account_id, job.id)


def _pay(fakes: MoneyFakes, event: PaymentEvent) -> Outcome:
    deps = PaymentEventDeps(
        payments=fakes.payments,
        wallets=fakes.wallets,
        accounts=fakes.accounts,
        mailer=fakes.mailer,
        sent_emails=fakes.sent_emails,
        clock=fakes.clock,
        settings=SETTINGS,
    )
    return handle_payment_event(deps, event)


class _AllowEverything:
    def check(self, *texts: str | None) -> Any:
        from atelier.integrations.moderation import ModerationVerdict

        return ModerationVerdict(allowed=True)


def _no_provider(name: str) -> Any:
    raise AssertionError("a queued job is cancelled without asking its provider")


def _purchase(account: Account, *, event_id: str = "evt_paid", payment_key: str = "pi_1") -> PaymentEvent:
    return PaymentEvent(
        provider="stripe",
        event_id=event_id,
        event_type="checkout.session.completed",
        kind=PaymentEventKind.PAYMENT_SUCCEEDED,
        occurred_at=NOW,
        account_id=account.id,
        item_id=PACK,
        payment_key=payment_key,
        amount=PACK_PRICE,
    )


def _refund(*, event_id: str, refund_id: str, minor: int, payment_key: str = "pi_1") -> PaymentEvent:
    return PaymentEvent(
        provider="stripe",
        event_id=event_id,
        event_type="charge.refunded",
        kind=PaymentEventKind.REFUND,
        occurred_at=NOW,
        reversal_key=refund_id,
        reversed_payment=payment_key,
        amount=Money(value_minor=minor, currency="usd"),
    )


def _books(fakes: MoneyFakes, account: Account) -> tuple[int, int]:
    """(balance, held), after checking that the ledger adds up to the balance."""
    wallet = fakes.wallets.get(account.id)
    assert fakes.wallets.ledger_sum(account.ledger_id) == wallet.balance
    return wallet.balance, wallet.held


def _nothing_written(fakes: MoneyFakes, account: Account, *, balance: int) -> None:
    assert _books(fakes, account) == (balance, 0)
    assert fakes.wallets.wallets[account.id].jobs_in_flight == 0
    assert not fakes.jobs.jobs
    assert not fakes.jobs.idempotency
    assert not fakes.wallets.holds
    assert fakes.accounts.workspaces[(account.id, account.default_workspace_id)] == 0
    assert not fakes.queue.sent


# -- submitting ------------------------------------------------------------------------------------


def test_a_submission_holds_its_price_and_queues_the_job(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=20)

    submitted = _submit(fakes, account)

    job = submitted.job
    assert not submitted.replayed
    assert (job.status, job.cost_credits) == (JobStatus.QUEUED, COST)
    assert fakes.jobs.get(account.id, job.id) == job
    assert _books(fakes, account) == (20 - COST, COST)
    assert fakes.wallets.holds[(account.id, job.id)].status == "held"
    assert fakes.accounts.workspaces[(account.id, account.default_workspace_id)] == 1
    assert fakes.queue.sent == [(GenerationMessage(account_id=account.id, job_id=job.id, action="start"), 0)]


def test_a_balance_short_of_the_price_is_refused_and_nothing_is_written(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=COST - 1)

    with pytest.raises(errors.InsufficientCreditsError) as refused:
        _submit(fakes, account, key="key-1")

    assert refused.value.details == {"balance": COST - 1, "cost": COST}
    _nothing_written(fakes, account, balance=COST - 1)


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"status": AccountStatus.RESTRICTED}, errors.AccountRestrictedError),
        ({"suspended_at": NOW}, errors.AccountSuspendedError),
        ({"terms_version": "2025-01-01"}, errors.ConsentRequiredError),
    ],
    ids=["restricted", "suspended", "old-terms"],
)
def test_an_account_that_may_not_generate_is_refused_and_nothing_is_written(
    fakes: MoneyFakes, fields: dict[str, Any], refusal: type[Exception]
) -> None:
    account = _account(fakes, balance=100)
    fakes.accounts.add(account.model_copy(update=fields))

    with pytest.raises(refusal):
        _submit(fakes, account, key="key-1")

    _nothing_written(fakes, account, balance=100)


def test_a_repeated_idempotency_key_answers_the_same_job_without_a_second_hold(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=20)
    first = _submit(fakes, account, key="key-1")

    again = _submit(fakes, account, key="key-1")

    assert again.replayed
    assert again.job == first.job
    assert len(fakes.jobs.jobs) == 1
    assert len(fakes.wallets.holds) == 1
    assert _books(fakes, account) == (20 - COST, COST)
    # The job is still queued: its start is sent again, in case the first request died before it.
    assert [message.job_id for message, _ in fakes.queue.sent] == [first.job.id, first.job.id]
    with pytest.raises(IdempotencyConflictError):
        _submit(fakes, account, key="key-1", prompt="a different request")
    assert _books(fakes, account) == (20 - COST, COST)


def test_jobs_in_flight_are_limited_and_a_cancelled_one_frees_its_place(fakes: MoneyFakes) -> None:
    # MAX_JOBS_IN_FLIGHT is 2 in these settings.
    account = _account(fakes, balance=100)
    first, _second = _submit(fakes, account).job, _submit(fakes, account).job

    with pytest.raises(errors.RateLimitedError):
        _submit(fakes, account)
    assert len(fakes.jobs.jobs) == 2
    assert len(fakes.queue.sent) == 2
    assert _books(fakes, account) == (100 - 2 * COST, 2 * COST)

    _cancel(fakes, first)
    _submit(fakes, account)
    assert _books(fakes, account) == (100 - 2 * COST, 2 * COST)


def test_a_job_the_queue_cannot_take_is_failed_and_its_hold_released(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=20)
    fakes.queue.unavailable = True

    with pytest.raises(errors.DependencyUnavailableError):
        _submit(fakes, account, key="key-1")

    (job,) = fakes.jobs.jobs.values()
    assert job.status is JobStatus.FAILED
    assert job.error
    assert job.error.code == "queue_unavailable"
    assert _books(fakes, account) == (20, 0)
    # The key is freed: the client's retry makes the job anew rather than answering the failed one.
    fakes.queue.unavailable = False
    retried = _submit(fakes, account, key="key-1")
    assert not retried.replayed
    assert retried.job.id != job.id
    assert _books(fakes, account) == (20 - COST, COST)


# -- cancelling and ending a job -------------------------------------------------------------------


def test_cancelling_a_queued_job_releases_its_hold_exactly_once(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=20)
    job = _submit(fakes, account).job

    canceled = _cancel(fakes, job)

    assert canceled.status is JobStatus.CANCELED
    assert canceled.charged_credits == 0
    assert _books(fakes, account) == (20, 0)
    with pytest.raises(JobFinishedError):
        _cancel(fakes, job)
    # A worker still holding the job as it was queued fails it too late: nothing moves again.
    assert fail(job, "timed_out", "late", jobs=fakes.jobs, wallets=fakes.wallets, clock=fakes.clock) is (
        JobStatus.CANCELED
    )
    assert _books(fakes, account) == (20, 0)
    assert [entry.kind for entry in fakes.wallets.ledger if entry.reference == job.id] == [
        LedgerKind.HOLD,
        LedgerKind.RELEASE,
    ]


def test_a_job_the_provider_failed_is_released_once_whatever_repeats(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=20)
    job = _submit(fakes, account).job
    failed = ProviderJob(provider_job_id="prov-1", status=ProviderStatus.FAILED, error_code="provider_rejected")

    for _delivery in range(2):
        status = finish(
            job,
            failed,
            None,  # a failed job's outputs are never fetched
            jobs=fakes.jobs,
            wallets=fakes.wallets,
            storage=None,
            clock=fakes.clock,
            settings=SETTINGS,
            safety=None,
        )
        assert status is JobStatus.FAILED

    stored = fakes.jobs.get(account.id, job.id)
    assert stored is not None
    assert stored.error is not None
    assert stored.error.code == "provider_rejected"
    assert _books(fakes, account) == (20, 0)
    assert fakes.wallets.wallets[account.id].jobs_in_flight == 0


def _finish_with_an_output(fakes: MoneyFakes, job: Job, storage: FakeAssetStore) -> JobStatus:
    """What the worker does when the provider answers a job succeeded, with one image."""
    succeeded = ProviderJob(
        provider_job_id="prov-1",
        status=ProviderStatus.SUCCEEDED,
        outputs=[ProviderOutput(content=tiny_png(), content_type="image/png")],
    )
    return finish(
        job,
        succeeded,
        FakeOutputProvider(),
        jobs=fakes.jobs,
        wallets=fakes.wallets,
        storage=storage,
        clock=fakes.clock,
        settings=SETTINGS,
        safety=output_safety(),
    )


def test_a_succeeded_job_is_charged_once_and_cannot_then_be_cancelled(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=20)
    job = _submit(fakes, account).job
    storage = FakeAssetStore()

    assert _finish_with_an_output(fakes, job, storage) is JobStatus.SUCCEEDED
    # The queue delivers the provider's answer again: the job is already finished, nothing moves.
    assert _finish_with_an_output(fakes, job, storage) is JobStatus.SUCCEEDED

    finished = fakes.jobs.get(account.id, job.id)
    assert finished is not None
    assert (finished.status, finished.charged_credits) == (JobStatus.SUCCEEDED, COST)
    assert [fakes.jobs.assets[asset_id].job_id for asset_id in finished.outputs] == [job.id]
    assert _books(fakes, account) == (20 - COST, 0)
    assert [entry.kind for entry in fakes.wallets.ledger if entry.reference == job.id] == [
        LedgerKind.HOLD,
        LedgerKind.SETTLE,
    ]
    with pytest.raises(JobFinishedError):
        _cancel(fakes, job)
    assert fail(job, "canceled", "late", jobs=fakes.jobs, wallets=fakes.wallets, clock=fakes.clock) is (
        JobStatus.SUCCEEDED
    )
    assert _books(fakes, account) == (20 - COST, 0)


def test_a_result_that_comes_after_its_job_was_cancelled_is_discarded_and_not_charged(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=20)
    job = _submit(fakes, account).job
    storage = FakeAssetStore()
    _cancel(fakes, job)

    assert _finish_with_an_output(fakes, job, storage) is JobStatus.CANCELED

    assert not storage.objects
    assert not fakes.jobs.assets
    assert _books(fakes, account) == (20, 0)


# -- payments --------------------------------------------------------------------------------------


def test_a_payment_is_credited_once_per_payment_whatever_events_repeat(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=0)

    assert _pay(fakes, _purchase(account)) is Outcome.GRANTED
    assert _pay(fakes, _purchase(account)) is Outcome.DUPLICATE
    # Another event about the same payment (a provider's second event type for it).
    assert _pay(fakes, _purchase(account, event_id="evt_other")) is Outcome.ALREADY_GRANTED

    assert _books(fakes, account) == (PACK_CREDITS, 0)
    assert fakes.payments.inbox == {("stripe", "evt_paid"): "processed", ("stripe", "evt_other"): "processed"}
    assert len(fakes.mailer.sent) == 1


def test_refunds_claw_back_in_proportion_once_each(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=0)
    _pay(fakes, _purchase(account))

    # Half the money back: half the credits, rounded up (ceil(100 * 500 / 999) = 51).
    assert _pay(fakes, _refund(event_id="evt_r1", refund_id="re_1", minor=500)) is Outcome.CLAWED_BACK
    assert _books(fakes, account) == (PACK_CREDITS - 51, 0)
    # The same refund again, in another event: nothing more.
    assert _pay(fakes, _refund(event_id="evt_r1b", refund_id="re_1", minor=500)) is Outcome.ALREADY_REVERSED
    # The rest of the money: the rest of the credits, never more than were granted.
    assert _pay(fakes, _refund(event_id="evt_r2", refund_id="re_2", minor=499)) is Outcome.CLAWED_BACK
    assert _books(fakes, account) == (0, 0)
    assert fakes.accounts.require(account.id).status is AccountStatus.ACTIVE


def test_a_refund_of_spent_credits_restricts_the_account_until_its_debt_is_settled(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=0)
    _pay(fakes, _purchase(account))
    held = _submit(fakes, account).job

    _pay(fakes, _refund(event_id="evt_r1", refund_id="re_1", minor=PACK_PRICE.value_minor))

    assert _books(fakes, account) == (-COST, COST)
    assert fakes.wallets.get(account.id).restricted
    assert fakes.accounts.require(account.id).status is AccountStatus.RESTRICTED
    with pytest.raises(errors.AccountRestrictedError):
        _submit(fakes, account)
    assert len(fakes.jobs.jobs) == 1

    # The job held before the refund is cancelled: its credits come back to a restricted wallet
    # all the same, and paying the debt off that way lifts the restriction.
    _cancel(fakes, held)
    assert _books(fakes, account) == (0, 0)
    assert not fakes.wallets.get(account.id).restricted
    assert fakes.accounts.require(account.id).status is AccountStatus.ACTIVE
    # Refused now for want of credits, no longer for the restriction.
    with pytest.raises(errors.InsufficientCreditsError):
        _submit(fakes, account)


def test_a_new_payment_settles_a_debt_and_lifts_the_restriction(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=0)
    _pay(fakes, _purchase(account))
    _submit(fakes, account)
    _pay(fakes, _refund(event_id="evt_r1", refund_id="re_1", minor=PACK_PRICE.value_minor))
    assert fakes.accounts.require(account.id).status is AccountStatus.RESTRICTED

    # A restricted wallet is still credited, and the debt paid lifts the restriction.
    assert _pay(fakes, _purchase(account, event_id="evt_paid_2", payment_key="pi_2")) is Outcome.GRANTED

    assert _books(fakes, account) == (PACK_CREDITS - COST, COST)
    assert not fakes.wallets.get(account.id).restricted
    assert fakes.accounts.require(account.id).status is AccountStatus.ACTIVE
    assert _submit(fakes, account).job.status is JobStatus.QUEUED


def test_a_settled_debt_leaves_a_deletion_countdown_as_it_is(fakes: MoneyFakes) -> None:
    account = _account(fakes, balance=0)
    _pay(fakes, _purchase(account))
    _submit(fakes, account)
    _pay(fakes, _refund(event_id="evt_r1", refund_id="re_1", minor=PACK_PRICE.value_minor))
    fakes.accounts.set_status(account.id, "deletion_scheduled")

    _pay(fakes, _purchase(account, event_id="evt_paid_2", payment_key="pi_2"))

    # Credited, but the countdown is not the payment's to end: the wallet keeps its flag with the
    # account's status, both looked at again when the countdown ends (align_account_status).
    assert _books(fakes, account) == (PACK_CREDITS - COST, COST)
    assert fakes.accounts.require(account.id).status is AccountStatus.DELETION_SCHEDULED
    assert fakes.wallets.get(account.id).restricted
