"""The generation pipeline against the emulator: submission, the worker, cancellation and the sweep.
Credits are taken for nothing that failed, and charged once whatever is redelivered."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from atelier import errors
from atelier.clock import SystemClock
from atelier.data.jobs import IdempotencyConflictError
from atelier.integrations.inference.base import CallbackSignatureError, ProviderStatus
from atelier.integrations.resilience import CircuitOpenError, time_budget
from atelier.models.accounts import Principal, PrincipalKind
from atelier.models.generation import JobStatus
from atelier.services import get_services
from atelier.usecases.accept_terms import accept_terms
from atelier.usecases.handle_provider_callback import handle_provider_callback
from atelier.usecases.manage_jobs import CancelJobDeps, SweepOverdueJobsDeps, cancel_job, get_job, sweep_overdue_jobs
from atelier.usecases.run_generation import GenerationMessage, run_generation
from atelier.usecases.submit_job import JobSubmission, PromptRejectedError, submit_job
from tests.support.generation import FakeProvider, KeptMessages, run_generation_deps, submit_job_deps
from tests.support.money import assert_balance_matches_ledger, give_credits, new_account


class MovedClock:
    def __init__(self, offset: timedelta):
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Pipeline:
    provider: FakeProvider
    queue: KeptMessages

    def submit(
        self, principal, prompt="a lighthouse at dusk", key=None, params=None, model="local-image", kind="image"
    ):
        return submit_job(
            submit_job_deps(queue=self.queue),
            principal,
            JobSubmission(
                kind=kind,
                model=model,
                prompt=prompt,
                negative_prompt=None,
                params=params or {},
                reference_upload_ids=[],
            ),
            workspace_id=None,
            idempotency_key=key,
        )

    def run(self, message, receive_count=1, storage=None, clock=None, sleep=None):
        return run_generation(
            run_generation_deps(
                **({"storage": storage} if storage else {}),
                queue=self.queue,
                provider_for=lambda _: self.provider,
                clock=clock or SystemClock(),
                **({"sleep": sleep} if sleep else {}),
            ),
            message,
            receive_count=receive_count,
        )

    def drain(self, max_steps=20):
        """Delivers queued messages until none is left (delays are not waited out)."""
        for _ in range(max_steps):
            messages = self.queue.take()
            if not messages:
                return
            for message in messages:
                self.run(message)


@pytest.fixture
def pipeline(stack):
    return Pipeline(provider=FakeProvider(), queue=KeptMessages())


def ready_account(credits=50):
    services = get_services()
    account = new_account()
    give_credits(account, credits)
    accept_terms(
        account.id,
        services.settings.policy.initial_terms_version,
        accounts=services.accounts,
        policies=services.policies,
        clock=services.clock,
        settings=services.settings,
    )
    principal = Principal(
        kind=PrincipalKind.ACCOUNT,
        account_id=account.id,
        ledger_id=account.ledger_id,
        default_workspace_id=account.default_workspace_id,
        via="session",
    )
    return account, principal


def wallet(account):
    return get_services().wallets.get(account.id)


def test_a_job_is_held_queued_then_run_stored_and_settled_once(pipeline):
    account, principal = ready_account(50)
    submitted = pipeline.submit(principal).job
    assert submitted.status is JobStatus.QUEUED
    assert (wallet(account).balance, wallet(account).held) == (48, 2)
    [message] = pipeline.queue.take()
    assert message == GenerationMessage(account_id=account.id, job_id=submitted.id, action="start")

    assert pipeline.run(message) is JobStatus.SUCCEEDED
    job = get_job(account.id, submitted.id, jobs=get_services().jobs)
    assert job.status is JobStatus.SUCCEEDED
    assert job.charged_credits == 2
    assert job.compute_seconds == 1.5
    assert len(job.outputs) == 1
    asset = get_services().assets.get(account.id, job.outputs[0])
    assert asset.content_type == "image/png"
    assert (asset.width, asset.height) == (64, 48)
    stored = get_services().asset_storage.get(asset.object_key, 10_000_000)
    assert stored is not None
    assert stored.startswith(b"\x89PNG")

    # The same message again: one output, one charge
    assert pipeline.run(message) is JobStatus.SUCCEEDED
    assert get_job(account.id, submitted.id, jobs=get_services().jobs).outputs == job.outputs
    assert (wallet(account).balance, wallet(account).held) == (48, 0)
    assert_balance_matches_ledger(account)


def test_an_asynchronous_job_is_polled_by_delayed_messages(pipeline):
    pipeline.provider.asynchronous = True
    pipeline.provider.polls_to_finish = 3
    account, principal = ready_account()
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    assert pipeline.run(start) is JobStatus.RUNNING
    [(poll, delay)] = pipeline.queue.sent
    assert poll.action == "poll"
    assert delay > 0
    pipeline.drain()
    assert get_job(account.id, job.id, jobs=get_services().jobs).status is JobStatus.SUCCEEDED
    assert wallet(account).held == 0
    assert_balance_matches_ledger(account)


def test_a_failed_job_releases_its_hold(pipeline):
    pipeline.provider.outcome = ProviderStatus.FAILED
    account, principal = ready_account(10)
    job = pipeline.submit(principal).job
    pipeline.drain()
    finished = get_job(account.id, job.id, jobs=get_services().jobs)
    assert finished.status is JobStatus.FAILED
    assert finished.error is not None
    assert finished.charged_credits == 0
    assert (wallet(account).balance, wallet(account).held) == (10, 0)
    assert_balance_matches_ledger(account)


def test_provider_outages_are_retried_then_failed_and_released_once(pipeline, stack):
    pipeline.provider.failures_before_success = 99
    account, principal = ready_account(10)
    job = pipeline.submit(principal).job
    [message] = pipeline.queue.take()
    max_receives = get_services().settings.generation.generation_max_receives
    for attempt in range(1, max_receives):
        with pytest.raises(errors.DependencyUnavailableError):
            pipeline.run(message, receive_count=attempt)
        assert get_job(account.id, job.id, jobs=get_services().jobs).status is JobStatus.QUEUED
    with pytest.raises(errors.DependencyUnavailableError):
        pipeline.run(message, receive_count=max_receives)
    assert get_job(account.id, job.id, jobs=get_services().jobs).status is JobStatus.FAILED
    # A late redelivery (from the dead-letter queue, say) changes nothing
    pipeline.run(message, receive_count=max_receives + 1)
    assert (wallet(account).balance, wallet(account).held) == (10, 0)
    assert_balance_matches_ledger(account)


class FlakyStore:
    """The assets bucket, failing the first write: the worker dies after the provider succeeded."""

    def __init__(self, real):
        self.real = real
        self.failures = 1

    def put(self, *args, **kwargs):
        if self.failures:
            self.failures -= 1
            raise errors.DependencyUnavailableError()
        return self.real.put(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_worker_that_dies_before_storing_outputs_is_completed_by_the_retry(pipeline):
    pipeline.provider.asynchronous = True
    account, principal = ready_account(10)
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    pipeline.run(start)
    [poll] = pipeline.queue.take()
    flaky = FlakyStore(get_services().asset_storage)
    with pytest.raises(errors.DependencyUnavailableError):
        pipeline.run(poll, storage=flaky)
    assert get_job(account.id, job.id, jobs=get_services().jobs).status is JobStatus.RUNNING
    assert pipeline.run(poll, receive_count=2, storage=flaky) is JobStatus.SUCCEEDED
    assert len(get_job(account.id, job.id, jobs=get_services().jobs).outputs) == 1
    assert (wallet(account).balance, wallet(account).held) == (8, 0)
    assert_balance_matches_ledger(account)


def _cancel(account, job, pipeline):
    services = get_services()
    return cancel_job(
        CancelJobDeps(
            jobs=services.jobs, wallets=services.wallets, provider_for=lambda _: pipeline.provider, clock=services.clock
        ),
        account.id,
        job.id,
    )


def test_cancel_while_queued_releases_and_the_worker_then_does_nothing(pipeline):
    account, principal = ready_account(10)
    job = pipeline.submit(principal).job
    assert _cancel(account, job, pipeline).status is JobStatus.CANCELED
    pipeline.drain()
    assert pipeline.provider.submitted == []
    assert (wallet(account).balance, wallet(account).held) == (10, 0)
    with pytest.raises(errors.ConflictError):
        _cancel(account, job, pipeline)
    assert_balance_matches_ledger(account)


def test_cancel_while_running_asks_the_provider_and_discards_a_late_result(pipeline):
    pipeline.provider.asynchronous = True
    pipeline.provider.polls_to_finish = 5
    account, principal = ready_account(10)
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    pipeline.run(start)
    canceled = _cancel(account, job, pipeline)
    assert canceled.status is JobStatus.CANCELED
    assert pipeline.provider.canceled == [f"pj-{job.id}"]
    pipeline.drain()
    assert get_job(account.id, job.id, jobs=get_services().jobs).outputs == []
    assert (wallet(account).balance, wallet(account).held) == (10, 0)
    assert_balance_matches_ledger(account)


def test_the_same_idempotency_key_gives_the_same_job_and_another_body_conflicts(pipeline):
    account, principal = ready_account(20)
    first = pipeline.submit(principal, key="key-1")
    again = pipeline.submit(principal, key="key-1")
    assert again.job.id == first.job.id
    assert again.replayed is True
    with pytest.raises(IdempotencyConflictError):
        pipeline.submit(principal, prompt="something else", key="key-1")
    assert wallet(account).held == 2
    # A replay of a job still queued sends its start again (the first request may have died before
    # sending it); both starts together run the job once and charge it once
    starts = pipeline.queue.take()
    assert [(message.job_id, message.action) for message in starts] == [(first.job.id, "start")] * 2
    for message in starts:
        pipeline.run(message)
    pipeline.drain()
    assert get_job(account.id, first.job.id, jobs=get_services().jobs).status is JobStatus.SUCCEEDED
    assert len(pipeline.provider.submitted) == 1
    assert (wallet(account).balance, wallet(account).held) == (18, 0)
    assert_balance_matches_ledger(account)


def test_a_start_delivered_while_another_is_starting_the_job_leaves_it_to_that_one(pipeline):
    account, principal = ready_account(10)
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    # Given one delivery of the start has claimed the job and is still asking the provider
    jobs = get_services().jobs
    assert jobs.claim_start(job, datetime.now(UTC), timedelta(seconds=180)) is True
    # When a duplicate of the start is delivered meanwhile
    status = pipeline.run(start)
    # Then it leaves the job to the first: no provider call, nothing stored or charged
    assert status is JobStatus.QUEUED
    assert pipeline.provider.submitted == []
    assert (wallet(account).balance, wallet(account).held) == (8, 2)
    # And when the first delivery died instead, the queue's redelivery after the claim lapsed starts it
    assert pipeline.run(start, receive_count=2, clock=MovedClock(timedelta(seconds=200))) is JobStatus.SUCCEEDED
    assert len(pipeline.provider.submitted) == 1
    assert (wallet(account).balance, wallet(account).held) == (8, 0)
    assert_balance_matches_ledger(account)


def test_a_failed_start_gives_its_claim_back_for_the_redelivery(pipeline):
    account, principal = ready_account(10)
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    # Given the provider failing the first attempt
    pipeline.provider.failures_before_success = 1
    with pytest.raises(errors.DependencyUnavailableError):
        pipeline.run(start)
    # When the queue delivers the start again at once
    status = pipeline.run(start, receive_count=2)
    # Then it starts the job and it is charged once
    assert status is JobStatus.SUCCEEDED
    assert get_job(account.id, job.id, jobs=get_services().jobs).status is JobStatus.SUCCEEDED
    assert (wallet(account).balance, wallet(account).held) == (8, 0)
    assert_balance_matches_ledger(account)


def test_submission_needs_terms_and_age(pipeline):
    account = new_account()
    give_credits(account, 10)
    principal = Principal(
        kind=PrincipalKind.ACCOUNT,
        account_id=account.id,
        ledger_id=account.ledger_id,
        default_workspace_id=account.default_workspace_id,
    )
    with pytest.raises(errors.ConsentRequiredError):
        pipeline.submit(principal)
    assert (wallet(account).balance, wallet(account).held) == (10, 0)


def test_short_credits_and_too_many_jobs_in_flight_are_refused(pipeline):
    account, principal = ready_account(1)
    with pytest.raises(errors.InsufficientCreditsError):
        pipeline.submit(principal)
    give_credits(account, 100)
    for _ in range(get_services().settings.generation.max_jobs_in_flight):
        pipeline.submit(principal)
    with pytest.raises(errors.RateLimitedError):
        pipeline.submit(principal)
    assert_balance_matches_ledger(account)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"width": 5000}, "params.width"), ({"steps": 3}, "params.steps"), ({"width": "wide"}, "params.width")],
)
def test_parameters_are_checked_against_the_models_schema(pipeline, params, field):
    account, principal = ready_account(10)
    with pytest.raises(errors.InvalidFieldError) as refused:
        pipeline.submit(principal, params=params)
    assert refused.value.details[0]["field"] == field
    assert wallet(account).held == 0


def test_a_minor_safety_prompt_is_blocked_without_a_provider_call_or_a_charge(pipeline):
    account, principal = ready_account(10)
    with pytest.raises(PromptRejectedError) as refused:
        pipeline.submit(principal, prompt="nude child photo")
    assert refused.value.details == {"category": "minor_safety"}
    assert pipeline.queue.take() == []
    assert pipeline.provider.submitted == []
    assert (wallet(account).balance, wallet(account).held) == (10, 0)


def test_another_account_gets_404_on_my_job(pipeline):
    _, principal = ready_account(10)
    other, _ = ready_account(10)
    job = pipeline.submit(principal).job
    with pytest.raises(errors.NotFoundError):
        get_job(other.id, job.id, jobs=get_services().jobs)


def test_the_sweep_finishes_or_fails_every_overdue_job(pipeline):
    pipeline.provider.asynchronous = True
    pipeline.provider.polls_to_finish = 1000
    account, principal = ready_account(20)
    stuck = pipeline.submit(principal).job
    never_started = pipeline.submit(principal).job
    [start, _] = pipeline.queue.take()
    pipeline.run(start)
    services = get_services()
    later = MovedClock(timedelta(hours=2))
    outcome = sweep_overdue_jobs(
        SweepOverdueJobsDeps(
            jobs=services.jobs,
            wallets=services.wallets,
            storage=services.asset_storage,
            provider_for=lambda _: pipeline.provider,
            clock=later,
            settings=services.settings,
            safety=services.output_safety,
        )
    )
    assert sum(outcome.values()) >= 2
    for job in (stuck, never_started):
        assert get_job(account.id, job.id, jobs=services.jobs).status is JobStatus.FAILED
    assert (wallet(account).balance, wallet(account).held) == (20, 0)
    assert_balance_matches_ledger(account)


def test_a_provider_callback_prompts_a_poll_and_a_forged_one_is_refused(pipeline):
    pipeline.provider.asynchronous = True
    account, principal = ready_account(10)
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    pipeline.run(start)
    pipeline.queue.take()
    services = get_services()

    def callback(signature: str, body: str) -> bool:
        return handle_provider_callback(
            "local",
            {"x-signature": signature},
            body.encode(),
            provider=pipeline.provider,
            jobs=services.jobs,
            queue=pipeline.queue,  # type: ignore[arg-type]
        )

    with pytest.raises(CallbackSignatureError):
        callback("forged", f"pj-{job.id}")
    assert pipeline.queue.take() == []
    assert callback("valid", "pj-unknown") is False
    assert callback("valid", f"pj-{job.id}") is True
    [poll] = pipeline.queue.take()
    assert poll == GenerationMessage(account_id=account.id, job_id=job.id, action="check")


@dataclass
class DownProvider(FakeProvider):
    """A provider whose circuit is open: every call is refused before it is made."""

    outage_seconds: float = 0.0

    def submit(self, request):
        raise CircuitOpenError(self.name, retry_after_seconds=12, outage_seconds=self.outage_seconds)

    def status(self, provider_job_id):
        raise CircuitOpenError(self.name, retry_after_seconds=12, outage_seconds=self.outage_seconds)


def test_a_job_whose_provider_is_down_waits_then_fails_past_the_outage_limit_releasing_its_hold(pipeline):
    # Given a queued job whose provider's circuit has just opened
    account, principal = ready_account(50)
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    down = DownProvider()
    pipeline.provider = down
    # When the worker starts it, the job stays queued, its start given back, and the message comes
    # back when the circuit may let a call through
    assert pipeline.run(start) is JobStatus.QUEUED
    assert pipeline.queue.sent == [(start, 12)]
    assert (wallet(account).balance, wallet(account).held) == (48, 2)
    pipeline.queue.take()
    # When the outage has lasted past the limit, the job fails with a clear error and its hold goes back
    down.outage_seconds = get_services().settings.generation.provider_outage_limit_seconds
    assert pipeline.run(start) is JobStatus.FAILED
    failed = get_job(account.id, job.id, jobs=get_services().jobs)
    assert failed.error is not None
    assert failed.error.code == "provider_unavailable"
    assert "unavailable" in failed.error.message
    assert (wallet(account).balance, wallet(account).held) == (50, 0)
    assert pipeline.queue.take() == []
    assert_balance_matches_ledger(account)


def test_a_running_job_whose_provider_stays_down_fails_and_is_not_charged(pipeline):
    # Given a running job
    pipeline.provider.asynchronous = True
    account, principal = ready_account(50)
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    pipeline.run(start)
    [poll] = pipeline.queue.take()
    # When its provider has been down past the limit at the next look
    pipeline.provider = DownProvider(
        outage_seconds=get_services().settings.generation.provider_outage_limit_seconds + 1
    )
    # Then the job fails, provider_unavailable, and nothing is charged
    assert pipeline.run(poll) is JobStatus.FAILED
    assert get_job(account.id, job.id, jobs=get_services().jobs).error.code == "provider_unavailable"
    assert (wallet(account).balance, wallet(account).held) == (50, 0)


class SleptClock:
    """A clock standing still but for the waits the worker makes (which do not really sleep)."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC)
        self.offset = timedelta()
        self.waits: list[float] = []

    def now(self) -> datetime:
        return self.start + self.offset

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.offset += timedelta(seconds=seconds)


def test_the_first_look_comes_near_the_models_expected_duration(pipeline):
    # Given an asynchronous video job on a model expected to take 3 seconds
    pipeline.provider.asynchronous = True
    pipeline.provider.polls_to_finish = 2
    _, principal = ready_account(50)
    pipeline.submit(principal, model="local-video", kind="video")
    [start] = pipeline.queue.take()
    # When the worker starts it outside any time budget (no waiting in-process), on a clock standing still
    pipeline.run(start, clock=SleptClock())
    # Then the first look is a message delayed to 70 % of the expected duration (2.1 s), rounded up
    [(message, delay)] = pipeline.queue.sent
    assert message.action == "poll"
    assert delay == 3


def test_a_job_about_to_finish_is_waited_for_in_process_within_the_time_budget(pipeline):
    # Given an asynchronous video job (expected 3 s) that finishes at the third look
    pipeline.provider.asynchronous = True
    pipeline.provider.polls_to_finish = 3
    account, principal = ready_account(50)
    job = pipeline.submit(principal, model="local-video", kind="video").job
    [start] = pipeline.queue.take()
    clock = SleptClock()
    # When the worker starts it with two minutes of budget
    with time_budget(120):
        status = pipeline.run(start, clock=clock, sleep=clock.sleep)
    # Then the same invocation looked at 2.1 s, then every 5 % of the expected duration, and finished it
    assert status is JobStatus.SUCCEEDED
    assert clock.waits == pytest.approx([2.1, 0.15, 0.15])
    assert pipeline.queue.take() == []
    assert get_job(account.id, job.id, jobs=get_services().jobs).status is JobStatus.SUCCEEDED


def test_a_callbacks_look_does_not_start_a_second_poll_chain(pipeline):
    # Given a running job whose provider calls back early (the job still runs)
    pipeline.provider.asynchronous = True
    pipeline.provider.polls_to_finish = 5
    account, principal = ready_account(50)
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    pipeline.run(start)
    pipeline.queue.take()
    # When the callback's check runs
    check = GenerationMessage(account_id=account.id, job_id=job.id, action="check")
    assert pipeline.run(check) is JobStatus.RUNNING
    # Then it looked, and scheduled nothing: the poll chain already on its way goes on alone
    assert pipeline.queue.take() == []


def test_a_callback_whose_url_names_another_job_prompts_nothing(pipeline):
    # Given a running job, and a callback whose URL was made for another job of ours
    pipeline.provider.asynchronous = True
    account, principal = ready_account(50)
    job = pipeline.submit(principal).job
    [start] = pipeline.queue.take()
    pipeline.run(start)
    pipeline.queue.take()
    services = get_services()

    def callback(query):
        return handle_provider_callback(
            "local",
            {"x-signature": "valid"},
            f"pj-{job.id}".encode(),
            query,
            provider=pipeline.provider,
            jobs=services.jobs,
            queue=pipeline.queue,  # type: ignore[arg-type]
        )

    # When it names this job's provider id, then it is ignored; the right job's URL prompts a check
    assert callback({"job": "job_someone_else"}) is False
    assert pipeline.queue.take() == []
    assert callback({"job": job.id}) is True
    assert pipeline.queue.take() == [GenerationMessage(account_id=account.id, job_id=job.id, action="check")]


def test_a_check_for_a_job_not_yet_started_submits_nothing(pipeline):
    # Given a queued job
    account, principal = ready_account(50)
    job = pipeline.submit(principal).job
    pipeline.queue.take()
    # When a check message comes for it (only a start message may submit)
    check = GenerationMessage(account_id=account.id, job_id=job.id, action="check")
    # Then nothing is submitted and the job stays queued, its hold in place
    assert pipeline.run(check) is JobStatus.QUEUED
    assert pipeline.provider.submitted == []
    assert (wallet(account).balance, wallet(account).held) == (48, 2)
