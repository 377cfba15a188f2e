"""Job deadlines (`Cancel-After`, or the model's default) against the emulator: a job unfinished at
its deadline is canceled at its provider and its hold released exactly once, whichever of the
delayed deadline message, a redelivery of it, or the overdue sweep gets there, and reported
`canceled` with the code `deadline`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from atelier import errors
from atelier.integrations.resilience import time_budget
from atelier.models.billing import LedgerKind
from atelier.models.generation import JobStatus
from atelier.services import get_services
from atelier.usecases.manage_jobs import SweepOverdueJobsDeps, sweep_overdue_jobs
from atelier.usecases.run_generation import run_generation
from atelier.usecases.submit_job import JobSubmission, submit_job
from tests.integration.test_privacy_helpers import MovedClock, principal_of, ready_account
from tests.support.generation import FakeProvider, KeptMessages, run_generation_deps, submit_job_deps


def submit(account, queue: KeptMessages, cancel_after: str | None, settings=None):
    services = get_services()
    return submit_job(
        submit_job_deps(queue=queue, settings=settings or services.settings),
        principal_of(account),
        JobSubmission(
            kind="image",
            model="local-image",
            prompt="a slow lighthouse",
            negative_prompt=None,
            params={},
            reference_upload_ids=[],
            cancel_after=cancel_after,
        ),
        workspace_id=None,
        idempotency_key=None,
    ).job


def step(message, provider: FakeProvider, queue: KeptMessages, clock, sleep=None) -> JobStatus | None:
    return run_generation(
        run_generation_deps(
            queue=queue, provider_for=lambda _name: provider, clock=clock, **({"sleep": sleep} if sleep else {})
        ),
        message,
        receive_count=1,
    )


class SleptClock:
    """Real time when made, then moved only by the waits the worker makes (which do not really sleep)."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC)
        self.waits: list[float] = []

    def now(self) -> datetime:
        return self.start + timedelta(seconds=sum(self.waits))

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def releases(account, job_id: str) -> int:
    entries, _ = get_services().wallets.entries(account.ledger_id, limit=100)
    return sum(1 for entry in entries if entry.kind is LedgerKind.RELEASE and entry.reference == job_id)


def test_a_running_job_is_canceled_at_its_deadline_and_released_exactly_once(stack):
    # Given a job with Cancel-After: 5m, running at a provider that will not finish in time
    services = get_services()
    account = ready_account(100)
    queue, provider = KeptMessages(), FakeProvider(asynchronous=True, polls_to_finish=99)
    job = submit(account, queue, "5m")
    assert job.cancel_at == job.created_at + timedelta(minutes=5)
    start, deadline = queue.take()
    assert (start.action, deadline.action) == ("start", "deadline")  # type: ignore[attr-defined]
    assert step(start, provider, queue, services.clock) is JobStatus.RUNNING
    queue.take()

    # When the deadline message arrives, is redelivered, and the overdue sweep runs as well
    later = MovedClock(timedelta(minutes=5, seconds=1))
    outcomes = [step(deadline, provider, queue, later), step(deadline, provider, queue, later)]
    sweep_overdue_jobs(
        SweepOverdueJobsDeps(
            jobs=services.jobs,
            wallets=services.wallets,
            storage=services.asset_storage,
            provider_for=lambda _name: provider,
            clock=later,
            settings=services.settings,
            safety=services.output_safety,
        )
    )

    # Then the job is canceled for its deadline, at the provider too, and released exactly once
    assert outcomes == [JobStatus.CANCELED, JobStatus.CANCELED]
    ended = services.jobs.get(account.id, job.id)
    assert ended is not None
    assert ended.status is JobStatus.CANCELED
    assert ended.error is not None
    assert ended.error.code == "deadline"
    assert len(provider.canceled) == 1
    wallet = services.wallets.get(account.id)
    assert (wallet.balance, wallet.held) == (100, 0)
    assert releases(account, job.id) == 1


def test_a_deadline_beyond_the_longest_queue_delay_waits_in_hops(stack):
    # Given a job with Cancel-After: 1h
    services = get_services()
    account = ready_account(100)
    queue, provider = KeptMessages(), FakeProvider(asynchronous=True, polls_to_finish=99)
    job = submit(account, queue, "1h")
    [(start, _), (deadline, delay)] = queue.sent
    queue.sent.clear()
    assert delay == 3600
    step(start, provider, queue, services.clock)
    queue.take()

    # When the deadline message arrives after the queue's longest delay (15 minutes)
    status = step(deadline, provider, queue, MovedClock(timedelta(minutes=15)))

    # Then the job keeps running and the message goes round again, another longest delay (45
    # minutes are left)
    assert status is JobStatus.RUNNING
    [(again, wait)] = queue.sent
    assert again.action == "deadline"  # type: ignore[attr-defined]
    assert wait == 900
    assert services.jobs.get(account.id, job.id).status is JobStatus.RUNNING  # type: ignore[union-attr]


def test_the_sweep_cancels_a_queued_job_past_its_deadline(stack):
    # Given a job still queued (its start message never ran) with Cancel-After: 30s
    services = get_services()
    account = ready_account(100)
    queue, provider = KeptMessages(), FakeProvider()
    job = submit(account, queue, "30s")

    # When the overdue sweep runs after its deadline
    sweep_overdue_jobs(
        SweepOverdueJobsDeps(
            jobs=services.jobs,
            wallets=services.wallets,
            storage=services.asset_storage,
            provider_for=lambda _name: provider,
            clock=MovedClock(timedelta(seconds=31)),
            settings=services.settings,
            safety=services.output_safety,
        )
    )

    # Then it is canceled for its deadline without ever reaching the provider, and released once
    ended = services.jobs.get(account.id, job.id)
    assert ended is not None
    assert (ended.status, ended.error.code if ended.error else None) == (JobStatus.CANCELED, "deadline")
    assert provider.submitted == []
    assert releases(account, job.id) == 1
    # And its start message, arriving late, does not start it
    start, _deadline = queue.take()
    assert step(start, provider, queue, services.clock) is JobStatus.CANCELED
    assert provider.submitted == []


def test_the_models_default_deadline_applies_when_the_request_names_none(stack):
    services = get_services()
    models = [
        {**model, "cancel_after_seconds": 120} if model["id"] == "local-image" else model
        for model in services.settings.generation.models
    ]
    settings = services.settings.replace(models=models)
    account = ready_account(100)
    job = submit(account, KeptMessages(), None, settings=settings)
    assert job.cancel_at == job.created_at + timedelta(seconds=120)
    assert submit(account, KeptMessages(), "10s", settings=settings).cancel_at is not None


@pytest.mark.parametrize("value", ["soon", "5", "0s", "25h", "-5m", "5m-", "1e3s", "5 m"])
def test_an_unreadable_or_out_of_range_cancel_after_is_refused_and_nothing_is_held(stack, value: str):
    services = get_services()
    account = ready_account(100)
    queue = KeptMessages()
    with pytest.raises(errors.InvalidFieldError) as refused:
        submit(account, queue, value)
    assert refused.value.details == [{"field": "Cancel-After", "location": "header"}]
    assert queue.sent == []
    wallet = services.wallets.get(account.id)
    assert (wallet.balance, wallet.held) == (100, 0)


def test_a_deadline_that_comes_while_the_worker_waits_in_process_cancels_the_job_then(stack):
    # Given a job with Cancel-After: 1s at a provider that will not finish in time
    services = get_services()
    account = ready_account(100)
    queue, provider = KeptMessages(), FakeProvider(asynchronous=True, polls_to_finish=99)
    job = submit(account, queue, "1s")
    assert job.cancel_at is not None
    start, _deadline = queue.take()

    # When the worker starts it with time to wait for it in process
    clock = SleptClock()
    with time_budget(120):
        status = step(start, provider, queue, clock, sleep=clock.sleep)

    # Then no wait went past the deadline, and at it the job was canceled at the provider and
    # released once, reported canceled for its deadline, with no further look scheduled
    assert status is JobStatus.CANCELED
    assert clock.now() <= job.cancel_at + timedelta(seconds=0.01)
    ended = services.jobs.get(account.id, job.id)
    assert ended is not None
    assert (ended.status, ended.error.code if ended.error else None) == (JobStatus.CANCELED, "deadline")
    assert len(provider.canceled) == 1
    assert releases(account, job.id) == 1
    assert queue.take() == []
