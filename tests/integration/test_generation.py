"""The generation pipeline against the emulator: submission, the worker, cancellation and the sweep.
Credits are taken for nothing that failed, and charged once whatever is redelivered."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from atelier import errors
from atelier.clock import SystemClock
from atelier.data.jobs import IdempotencyConflictError
from atelier.integrations.inference.base import CallbackSignatureError, ProviderStatus
from atelier.models.accounts import Principal, PrincipalKind
from atelier.models.generation import JobStatus
from atelier.services import get_services
from atelier.usecases.accept_terms import accept_terms
from atelier.usecases.handle_provider_callback import handle_provider_callback
from atelier.usecases.manage_jobs import cancel_job, get_job, sweep_overdue_jobs
from atelier.usecases.run_generation import GenerationMessage, run_generation
from atelier.usecases.submit_job import JobSubmission, PromptRejectedError, submit_job
from tests.support.generation import FakeProvider, KeptMessages
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
        services = get_services()
        return submit_job(
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
            jobs=services.jobs,
            wallets=services.wallets,
            accounts=services.accounts,
            policies=services.policies,
            rate_limiter=services.rate_limiter,
            moderation=services.moderation,
            queue=self.queue,  # type: ignore[arg-type]
            clock=services.clock,
            settings=services.settings,
        )

    def run(self, message, receive_count=1, storage=None, clock=None):
        services = get_services()
        return run_generation(
            message,
            receive_count=receive_count,
            jobs=services.jobs,
            wallets=services.wallets,
            uploads=services.uploads,
            storage=storage or services.asset_storage,
            queue=self.queue,  # type: ignore[arg-type]
            provider_for=lambda _: self.provider,
            clock=clock or SystemClock(),
            settings=services.settings,
            safety=services.output_safety,
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
        services.settings.initial_terms_version,
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
    max_receives = get_services().settings.generation_max_receives
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
        account.id,
        job.id,
        jobs=services.jobs,
        wallets=services.wallets,
        provider_for=lambda _: pipeline.provider,
        clock=services.clock,
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
    for _ in range(get_services().settings.max_jobs_in_flight):
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
        jobs=services.jobs,
        wallets=services.wallets,
        storage=services.asset_storage,
        provider_for=lambda _: pipeline.provider,
        clock=later,
        settings=services.settings,
        safety=services.output_safety,
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
    assert poll == GenerationMessage(account_id=account.id, job_id=job.id, action="poll")
