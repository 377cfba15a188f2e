"""Runs a generation job, one step per queue message.

`start` submits to the provider; a synchronous provider answers with the result at once, others
are looked at again from 70 % of the model's expected duration, then at steps of 5 % of the time
the job has run (never under 0.1 s): a look due within `generation_inline_wait_seconds` is waited
for in the same invocation (inside its time budget; never for a provider that will call back), a
later one is a delayed `poll` message, so no Lambda waits on a long job. Providers that can call
back are asked to (`<ApiBaseUrl>/v1/webhooks/providers/{provider}`); a callback sends a `check`
message, which looks at once but schedules nothing, the `poll` chain going on by itself. A
provider whose circuit is open is not called: the message comes back when the circuit may let a
call through, and past `provider_outage_limit_seconds` of outage the job fails with
`provider_unavailable`, its hold released. When the job is
done its outputs are copied into the assets bucket at once (providers delete theirs within hours),
then the job, its assets and its credits change in one transaction: success settles the cost,
failure or cancellation releases the hold. Each of those happens once whatever is redelivered: the
transaction only finishes an unfinished job, and output keys and asset ids derive from the job.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from atelier import errors
from atelier.clock import Clock
from atelier.data.assets import UploadRepository
from atelier.data.jobs import JobRepository
from atelier.data.wallets import WalletRepository
from atelier.ids import IdPrefix, derived_id
from atelier.integrations.inference.base import (
    GenerationRequest,
    InferenceProvider,
    ProviderError,
    ProviderJob,
    ProviderRejectedError,
    ProviderStatus,
)
from atelier.integrations.previews import PREVIEW_CONTENT_TYPE, make_previews, poster_key, thumbnail_key
from atelier.integrations.provenance import ProvenanceSigner
from atelier.integrations.queue import MAX_DELAY_SECONDS, MessageQueue
from atelier.integrations.resilience import CircuitOpenError, remaining_seconds
from atelier.integrations.storage import ObjectStore, output_key, output_prefix
from atelier.models.generation import Asset, Job, JobError, JobStatus
from atelier.observability import logger, record_metric
from atelier.settings import Settings
from atelier.usecases.screen_media import (
    OutputRejectedError,
    OutputSafety,
    ReferenceRejectedError,
    screen_output,
    screen_references,
)

if TYPE_CHECKING:
    from atelier.services import Services
    from atelier.usecases.deliver_webhooks import WebhookEvents

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "video/mp4": "mp4"}
# The first look comes at this share of the expected duration (so a job up to 30 % quicker than usual
# is still seen within a step); later looks every STEP_SHARE of the time the job has run (or of the
# expected duration while that is longer), within these bounds.
FIRST_LOOK_SHARE = 0.7
STEP_SHARE = 0.05
MIN_STEP_SECONDS = 0.1
MAX_STEP_SECONDS = 60.0
MAX_QUEUE_DELAY_SECONDS = MAX_DELAY_SECONDS  # SQS's longest DelaySeconds

# Providers that call back when a job ends, when asked to.
CALLBACK_PROVIDERS = frozenset({"replicate", "runpod", "modelark"})


class GenerationMessage(BaseModel):
    account_id: str
    job_id: str
    # start: submit; poll: look and schedule the next look; check: look now (a provider's callback);
    # deadline: the job's Cancel-After moment has come (or a hop towards it)
    action: Literal["start", "poll", "check", "deadline"]


def next_look_in(expected_seconds: float, elapsed_seconds: float) -> float:
    """Seconds until the next look at a job that has run `elapsed_seconds` and usually takes
    `expected_seconds`: near the expected end first, then every 5 % of the time run so far, so a
    finished job is noticed within about 5 % of its duration."""
    first = FIRST_LOOK_SHARE * expected_seconds
    if elapsed_seconds < first:
        return first - elapsed_seconds
    step = STEP_SHARE * max(expected_seconds, elapsed_seconds)
    return min(max(step, MIN_STEP_SECONDS), MAX_STEP_SECONDS)


def expected_seconds(job: Job, settings: Settings) -> float:
    from atelier.usecases.list_models import list_models

    for model in list_models(settings):
        if model.id == job.model and model.expected_seconds is not None:
            return model.expected_seconds
    return (
        settings.generation.video_expected_seconds
        if job.kind == "video"
        else settings.generation.image_expected_seconds
    )


def callback_url(provider: str, settings: Settings) -> str | None:
    """Where a provider that can call back is asked to (None without a public API address)."""
    if provider not in CALLBACK_PROVIDERS or not settings.platform.api_base_url:
        return None
    return f"{settings.platform.api_base_url.rstrip('/')}/v1/webhooks/providers/{provider}"


@dataclass(frozen=True)
class RunGenerationDeps:
    """What running a generation step works with; the worker builds it once (`Services.dependencies`)."""

    jobs: JobRepository
    wallets: WalletRepository
    uploads: UploadRepository
    storage: ObjectStore
    queue: MessageQueue
    provider_for: Callable[[str], InferenceProvider]
    clock: Clock
    settings: Settings
    safety: OutputSafety
    # How an in-process wait for a job about to finish waits.
    sleep: Callable[[float], None] = time.sleep
    # The account's `job.*` webhooks; None sends none.
    events: WebhookEvents | None = None

    @classmethod
    def from_services(cls, services: Services) -> RunGenerationDeps:
        return cls(
            jobs=services.jobs,
            wallets=services.wallets,
            uploads=services.uploads,
            storage=services.asset_storage,
            queue=services.generation_queue,
            provider_for=services.inference_provider,
            clock=services.clock,
            settings=services.settings,
            safety=services.output_safety,
            events=services.webhook_events,
        )


def run_generation(deps: RunGenerationDeps, message: GenerationMessage, *, receive_count: int) -> JobStatus | None:
    """Answers the job's status after this step (None when the job no longer exists). Raises on
    a passing failure so the queue redelivers; on the last delivery the job fails and its hold is
    released before the message goes to the dead-letter queue."""
    job = deps.jobs.get(message.account_id, message.job_id)
    if job is None or job.status.is_final:
        return None if job is None else job.status
    if job.cancel_at is not None and deps.clock.now() >= job.cancel_at:
        return cancel_at_deadline(
            job,
            provider_for=deps.provider_for,
            jobs=deps.jobs,
            wallets=deps.wallets,
            storage=deps.storage,
            clock=deps.clock,
            events=deps.events,
        )
    if message.action == "deadline":
        # A hop towards a deadline beyond SQS's longest delay.
        if job.cancel_at is not None:
            wait = math.ceil((job.cancel_at - deps.clock.now()).total_seconds())
            deps.queue.send(message, delay_seconds=min(max(wait, 1), MAX_DELAY_SECONDS))
        return job.status
    try:
        return _step(
            job,
            message,
            jobs=deps.jobs,
            wallets=deps.wallets,
            uploads=deps.uploads,
            storage=deps.storage,
            queue=deps.queue,
            provider_for=deps.provider_for,
            clock=deps.clock,
            settings=deps.settings,
            safety=deps.safety,
            sleep=deps.sleep,
            events=deps.events,
        )
    except CircuitOpenError as exc:
        return _provider_down(
            job,
            message,
            exc,
            jobs=deps.jobs,
            wallets=deps.wallets,
            queue=deps.queue,
            clock=deps.clock,
            settings=deps.settings,
            events=deps.events,
        )
    except (ProviderRejectedError, OutputRejectedError, ReferenceRejectedError) as exc:
        # Refused for good, perhaps after some outputs were stored (a later one too large, say).
        return fail(
            job,
            exc.code,
            exc.message,
            jobs=deps.jobs,
            wallets=deps.wallets,
            clock=deps.clock,
            discard_from=deps.storage,
            events=deps.events,
        )
    except errors.InvalidFieldError as exc:
        # The job's own input is unusable (a reference upload that is not the image it claimed to
        # be): every delivery would fail the same way, so the job fails now, saying why.
        return fail(
            job, exc.code, exc.message, jobs=deps.jobs, wallets=deps.wallets, clock=deps.clock, events=deps.events
        )
    except Exception as exc:
        if isinstance(exc, ProviderError):
            # Each attempt the provider failed (down, timing out) counts toward its error rate at
            # once, not only when the job gives up after its last delivery.
            record_metric("ProviderCalls", provider=job.provider)
            record_metric("ProviderErrors", provider=job.provider)
        if job.status is JobStatus.QUEUED:
            _give_back_start(job, deps.jobs)
        if receive_count >= deps.settings.generation.generation_max_receives:
            logger.exception("generation gave up", extra={"job_id": job.id})
            fail(
                job,
                "generation_failed",
                "The job failed after several attempts; nothing was charged.",
                jobs=deps.jobs,
                wallets=deps.wallets,
                clock=deps.clock,
                discard_from=deps.storage,
                events=deps.events,
            )
        raise


def cancel_at_deadline(
    job: Job,
    *,
    provider_for: Callable[[str], InferenceProvider],
    jobs: JobRepository,
    wallets: WalletRepository,
    storage: ObjectStore,
    clock: Clock,
    events: WebhookEvents | None = None,
    provider_job_id: str | None = None,
) -> JobStatus:
    """The job's Cancel-After has passed: it is canceled at its provider and its hold released,
    once (the release finishes only an unfinished job), reported `canceled` with code `deadline`.
    `provider_job_id` names the provider's job when `job` was read before it was submitted."""
    running = provider_job_id or (job.provider_job_id if job.status is JobStatus.RUNNING else None)
    if running:
        try:
            provider_for(job.provider).cancel(running)
        except errors.AtelierError:
            # The hold is released whatever the provider says; a late result is discarded.
            logger.warning("provider cancel at deadline failed", extra={"job_id": job.id, "provider": job.provider})
    return fail(
        job,
        "deadline",
        "The job was not finished by its Cancel-After deadline and was canceled; nothing was charged.",
        jobs=jobs,
        wallets=wallets,
        clock=clock,
        status=JobStatus.CANCELED,
        discard_from=storage,
        events=events,
    )


def _provider_down(
    job: Job,
    message: GenerationMessage,
    exc: CircuitOpenError,
    *,
    jobs: JobRepository,
    wallets: WalletRepository,
    queue: MessageQueue,
    clock: Clock,
    settings: Settings,
    events: WebhookEvents | None = None,
) -> JobStatus:
    """The provider's circuit is open: the job waits for it, or fails once the outage is too long."""
    if exc.outage_seconds >= settings.generation.provider_outage_limit_seconds:
        logger.warning("provider outage outlasted the limit", extra={"job_id": job.id, "provider": job.provider})
        return fail(
            job,
            "provider_unavailable",
            "The provider that makes this model has been unavailable for several minutes, so the job "
            "was stopped; nothing was charged. Try again later.",
            jobs=jobs,
            wallets=wallets,
            clock=clock,
            events=events,
        )
    if job.status is JobStatus.QUEUED:
        _give_back_start(job, jobs)
    if message.action != "check":  # a callback's look is not repeated: the poll chain goes on
        delay = min(max(1, exc.retry_after_seconds or 1), MAX_QUEUE_DELAY_SECONDS)
        queue.send(message, delay_seconds=delay)
    return job.status


def _give_back_start(job: Job, jobs: JobRepository) -> None:
    try:
        jobs.release_start(job)
    except errors.AtelierError:
        # The claim then lapses on its own, before the queue's redelivery.
        logger.warning("could not give back a job's start", extra={"job_id": job.id})


def _step(
    job: Job,
    message: GenerationMessage,
    *,
    jobs: JobRepository,
    wallets: WalletRepository,
    uploads: UploadRepository,
    storage: ObjectStore,
    queue: MessageQueue,
    provider_for: Callable[[str], InferenceProvider],
    clock: Clock,
    settings: Settings,
    safety: OutputSafety,
    sleep: Callable[[float], None],
    events: WebhookEvents | None = None,
) -> JobStatus:
    provider = provider_for(job.provider)
    started: datetime
    if job.status is JobStatus.QUEUED:
        if message.action == "check":
            return JobStatus.QUEUED  # a callback only ever looks; the start message submits
        if not jobs.claim_start(
            job, clock.now(), timedelta(seconds=settings.generation.generation_start_lease_seconds)
        ):
            # Another delivery is starting this job; if it fails, its own redelivery starts it again.
            return JobStatus.QUEUED
        request = _request(job, uploads=uploads, storage=storage, settings=settings)
        screen_references(
            job.account_id,
            job.reference_upload_ids,
            uploads=uploads,
            safety=safety,
            storage=storage,
            clock=clock,
            settings=settings,
        )
        started = clock.now()
        state = provider.submit(request)
        if not state.status.is_final:
            jobs.mark_running(job, state.provider_job_id, clock.now())
    else:
        if job.provider_job_id is None:
            return fail(
                job,
                "generation_failed",
                "The provider lost the job.",
                jobs=jobs,
                wallets=wallets,
                clock=clock,
                events=events,
            )
        started = job.started_at or job.created_at
        state = provider.status(job.provider_job_id)
    expected = expected_seconds(job, settings)
    waited = 0.0
    while True:
        if job.cancel_at is not None and clock.now() >= job.cancel_at:
            # Its Cancel-After came while the provider worked (perhaps during a wait below): a
            # result seen only after it comes too late.
            return cancel_at_deadline(
                job,
                provider_for=provider_for,
                jobs=jobs,
                wallets=wallets,
                storage=storage,
                clock=clock,
                events=events,
                provider_job_id=state.provider_job_id,
            )
        if state.status.is_final:
            return finish(
                job,
                state,
                provider,
                jobs=jobs,
                wallets=wallets,
                storage=storage,
                clock=clock,
                settings=settings,
                events=events,
                safety=safety,
            )
        if clock.now() >= job.deadline_at:
            provider.cancel(state.provider_job_id)
            return fail(
                job,
                "timed_out",
                "The job took too long and was stopped; nothing was charged.",
                jobs=jobs,
                wallets=wallets,
                clock=clock,
                events=events,
            )
        if message.action == "check":
            return JobStatus.RUNNING  # a callback came early: the poll chain looks again
        delay = next_look_in(expected, (clock.now() - started).total_seconds())
        if job.cancel_at is not None:
            # The next look comes no later than the job's Cancel-After moment.
            delay = min(delay, max(0.0, (job.cancel_at - clock.now()).total_seconds()))
        if _may_wait(delay, waited, settings) and callback_url(job.provider, settings) is None:
            # (a provider that calls back is not waited for: its callback starts the look at once)
            sleep(delay)
            waited += delay
            state = provider.status(state.provider_job_id)
            continue
        jobs.record_progress(job, progress=state.progress, queue_position=state.queue_position)
        queue.send(
            GenerationMessage(account_id=job.account_id, job_id=job.id, action="poll"),
            delay_seconds=min(max(1, math.ceil(delay)), MAX_QUEUE_DELAY_SECONDS),
        )
        return JobStatus.RUNNING


def _may_wait(delay: float, waited: float, settings: Settings) -> bool:
    """Whether the next look may be waited for here: it is soon, and the invocation's time budget
    (unknown outside a handler: then never) keeps room for the download and the store after it."""
    left = remaining_seconds()
    if left is None or waited + delay > settings.generation.generation_inline_wait_seconds:
        return False
    return left - delay > settings.generation.generation_reserve_seconds


def _request(job: Job, *, uploads: UploadRepository, storage: ObjectStore, settings: Settings) -> GenerationRequest:
    from atelier.usecases.manage_uploads import verified_reference_url

    references = [
        verified_reference_url(job.account_id, upload_id, uploads=uploads, storage=storage, settings=settings)
        for upload_id in job.reference_upload_ids
    ]
    params = dict(job.params)
    seed = params.pop("seed", None)
    from atelier.usecases.list_models import find_model

    model = find_model(job.model, settings)
    return GenerationRequest(
        job_id=job.id,
        kind=job.kind,
        model=model.provider_model,
        watermark=model.watermark,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        params=params,
        seed=seed,
        reference_image_urls=references,
        callback_url=callback_url(job.provider, settings),
    )


def finish(
    job: Job,
    state: ProviderJob,
    provider: InferenceProvider,
    *,
    jobs: JobRepository,
    wallets: WalletRepository,
    storage: ObjectStore,
    clock: Clock,
    settings: Settings,
    events: WebhookEvents | None = None,
    safety: OutputSafety,
) -> JobStatus:
    """Stores the outputs and settles a succeeded job, or fails it; a job this call (or a racing
    one) finished is announced to the account's webhook endpoints, once whatever repeats."""
    if state.status is not ProviderStatus.SUCCEEDED or not state.outputs:
        if state.status is not ProviderStatus.CANCELED:
            record_metric("ProviderCalls", provider=job.provider)
            record_metric("ProviderErrors", provider=job.provider)
        if state.status is ProviderStatus.CANCELED:
            return fail(
                job,
                "canceled",
                "The provider canceled the job.",
                jobs=jobs,
                wallets=wallets,
                clock=clock,
                status=JobStatus.CANCELED,
                events=events,
            )
        return fail(
            job,
            state.error_code or "generation_failed",
            state.error_message or "The provider could not make this; nothing was charged.",
            jobs=jobs,
            wallets=wallets,
            clock=clock,
            events=events,
        )
    from atelier.integrations.inference.media import probe

    assets: list[Asset] = []
    stored: list[str] = []
    created_ms = int(job.created_at.timestamp() * 1000)
    for index, output in enumerate(state.outputs):
        content = provider.fetch_output(output, max_bytes=settings.generation.output_max_bytes)
        asset_id = derived_id(IdPrefix.ASSET, f"{job.id}:{index}", now_ms=created_ms)
        # Moderated, then marked as AI-made, before anything is stored where its owner can reach it.
        screened = screen_output(
            content,
            probe(content, output.content_type).content_type,
            account_id=job.account_id,
            asset_id=asset_id,
            model=job.model,
            provider=job.provider,
            created_at=job.created_at,
            safety=safety,
            storage=storage,
            clock=clock,
        )
        content = screened.content
        info = probe(content, output.content_type)
        key = output_key(job.account_id, job.id, index, _EXTENSIONS.get(info.content_type, "bin"))
        storage.put(key, content, info.content_type, metadata={"sha256": info.sha256, "job-id": job.id})
        stored.append(key)
        thumbnail, poster = _store_previews(
            key, content, info.content_type, storage, asset_id=asset_id, signer=safety.signer
        )
        stored.extend(k for k in (thumbnail, poster) if k)
        assets.append(
            Asset(
                id=asset_id,
                account_id=job.account_id,
                workspace_id=job.workspace_id,
                job_id=job.id,
                kind=job.kind,
                content_type=info.content_type,
                size_bytes=info.size_bytes,
                width=info.width,
                height=info.height,
                duration_s=info.duration_s,
                sha256=info.sha256,
                object_key=key,
                created_at=clock.now(),
                restriction=screened.restriction,
                provenance=screened.provenance,
                screened_at=clock.now(),
                thumbnail_key=thumbnail,
                poster_key=poster,
            )
        )
    now = clock.now()
    settled = wallets.settle(
        job.account_id,
        job.ledger_id,
        job.id,
        job.cost_credits,
        now,
        extra=[
            jobs.completion_step(
                job,
                status=JobStatus.SUCCEEDED,
                now=now,
                assets=assets,
                charged=job.cost_credits,
                compute_seconds=state.compute_seconds,
            )
        ],
    )
    current = jobs.get(job.account_id, job.id) if events is not None or not settled else None
    _announce(current, events)
    if not settled:
        if current is not None and current.status is not JobStatus.SUCCEEDED:
            # Canceled while the provider worked: its outputs are discarded, not kept.
            storage.delete(stored)
        return current.status if current else JobStatus.CANCELED
    record_metric("ProviderCalls", provider=job.provider)
    record_metric("JobsSucceeded", provider=job.provider)
    record_metric(
        "GenerationLatency",
        (now - job.created_at).total_seconds() * 1000,
        unit=MetricUnit.Milliseconds,
        provider=job.provider,
        model=job.model,
    )
    return JobStatus.SUCCEEDED


def _announce(job: Job | None, events: WebhookEvents | None) -> None:
    if events is not None and job is not None and job.status.is_final:
        events.job_finished(job)


# Failure reasons counted by name; any other code (a provider's own) is counted as "other", so
# the JobsFailed metric keeps a handful of dimension values.
_COUNTED_REASONS = frozenset(
    {
        "generation_failed",
        "provider_rejected",
        "timed_out",
        "no_output",
        "aborted",
        "invalid_field",
        "deadline_passed",
        "provider_unavailable",
    }
)


def _count_ended(job: Job, code: str, status: JobStatus) -> None:
    if status is JobStatus.CANCELED:
        record_metric("JobsCanceled")
    else:
        record_metric("JobsFailed", reason=code if code in _COUNTED_REASONS else "other")
    record_metric("CreditsRefunded", job.cost_credits)


def _store_previews(
    key: str, content: bytes, content_type: str, storage: ObjectStore, *, asset_id: str, signer: ProvenanceSigner
) -> tuple[str | None, str | None]:
    """Stores the output's thumbnail (and a video's poster) beside it, each marked as AI-made in its
    own right; answers their keys, None for what could not be made or marked."""
    previews = make_previews(content, content_type)
    from_video = content_type.startswith("video/")
    made: list[str | None] = []
    for preview, preview_key, kind, actions in (
        (
            previews.thumbnail,
            thumbnail_key(key),
            "thumbnail",
            ("c2pa.converted", "c2pa.resized") if from_video else ("c2pa.resized",),
        ),
        (previews.poster, poster_key(key), "poster", ("c2pa.converted",)),
    ):
        marked = None
        if preview is not None:
            marked = _marked_preview(
                preview, kind, actions, parent=content, parent_type=content_type, asset_id=asset_id, signer=signer
            )
        if marked is not None:
            storage.put(preview_key, marked, PREVIEW_CONTENT_TYPE)
        made.append(preview_key if marked is not None else None)
    return made[0], made[1]


def _marked_preview(
    preview: bytes,
    kind: str,
    actions: tuple[str, ...],
    *,
    parent: bytes,
    parent_type: str,
    asset_id: str,
    signer: ProvenanceSigner,
) -> bytes | None:
    """The preview with its own marks, or None (logged): an unmarked preview is never stored, and a
    preview never fails the job whose output it is."""
    try:
        return signer.mark_preview(
            preview,
            PREVIEW_CONTENT_TYPE,
            parent=parent,
            parent_type=parent_type,
            parent_title=asset_id,
            title=f"{asset_id} {kind}",
            actions=actions,
        )
    except errors.AtelierError as exc:
        logger.warning("preview not marked, left out", extra={"kind": kind, "error_type": type(exc).__name__})
        return None


def discard_outputs(job: Job, storage: ObjectStore) -> None:
    """Removes what an attempt stored for a job that then failed: no asset refers to those objects,
    so nothing would ever show, export or delete them. Best effort; a failure is logged."""
    try:
        storage.delete_under(output_prefix(job.account_id, job.id))
    except errors.AtelierError:
        logger.warning("outputs of a failed job not removed", extra={"job_id": job.id})


def fail(
    job: Job,
    code: str,
    message: str,
    *,
    jobs: JobRepository,
    wallets: WalletRepository,
    clock: Clock,
    status: JobStatus = JobStatus.FAILED,
    discard_from: ObjectStore | None = None,
    events: WebhookEvents | None = None,
) -> JobStatus:
    """Ends an unfinished job without charging it and answers its status after (another delivery
    may have finished it first). Given `discard_from`, the outputs an attempt stored there are
    removed unless the job did succeed."""
    now = clock.now()
    released = wallets.release(
        job.account_id,
        job.ledger_id,
        job.id,
        now,
        extra=[jobs.completion_step(job, status=status, now=now, error=JobError(code=code, message=message))],
    )
    if released:
        _count_ended(job, code, status)
    current = jobs.get(job.account_id, job.id)
    _announce(current, events)
    ended = current.status if current else status
    if discard_from is not None and ended is not JobStatus.SUCCEEDED:
        discard_outputs(job, discard_from)
    return ended
