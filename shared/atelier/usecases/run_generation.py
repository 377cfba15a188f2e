"""Runs a generation job, one step per queue message.

`start` submits to the provider; a synchronous provider answers with the result at once, others
are looked at again by a delayed `poll` message, so no Lambda waits on a long job. When the job is
done its outputs are copied into the assets bucket at once (providers delete theirs within hours),
then the job, its assets and its credits change in one transaction: success settles the cost,
failure or cancellation releases the hold. Each of those happens once whatever is redelivered: the
transaction only finishes an unfinished job, and output keys and asset ids derive from the job.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Literal

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
from atelier.integrations.queue import MessageQueue
from atelier.integrations.storage import ObjectStore, output_key, output_prefix
from atelier.models.generation import Asset, Job, JobError, JobStatus
from atelier.observability import logger, record_metric
from atelier.settings import Settings

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "video/mp4": "mp4"}
_POLL_DELAYS = (2, 3, 5, 8, 13, 20, 30, 45, 60)


class GenerationMessage(BaseModel):
    account_id: str
    job_id: str
    action: Literal["start", "poll"]


def poll_delay(polls: int) -> int:
    return _POLL_DELAYS[min(polls, len(_POLL_DELAYS) - 1)]


def run_generation(
    message: GenerationMessage,
    *,
    receive_count: int,
    jobs: JobRepository,
    wallets: WalletRepository,
    uploads: UploadRepository,
    storage: ObjectStore,
    queue: MessageQueue,
    provider_for: Callable[[str], InferenceProvider],
    clock: Clock,
    settings: Settings,
) -> JobStatus | None:
    """Answers the job's status after this step (None when the job no longer exists). Raises on
    a passing failure so the queue redelivers; on the last delivery the job fails and its hold is
    released before the message goes to the dead-letter queue."""
    job = jobs.get(message.account_id, message.job_id)
    if job is None or job.status.is_final:
        return None if job is None else job.status
    try:
        return _step(
            job,
            jobs=jobs,
            wallets=wallets,
            uploads=uploads,
            storage=storage,
            queue=queue,
            provider_for=provider_for,
            clock=clock,
            settings=settings,
        )
    except ProviderRejectedError as exc:
        # Refused for good, perhaps after some outputs were stored (a later one too large, say).
        return fail(
            job, "provider_rejected", exc.message, jobs=jobs, wallets=wallets, clock=clock, discard_from=storage
        )
    except errors.InvalidFieldError as exc:
        # The job's own input is unusable (a reference upload that is not the image it claimed to
        # be): every delivery would fail the same way, so the job fails now, saying why.
        return fail(job, exc.code, exc.message, jobs=jobs, wallets=wallets, clock=clock)
    except Exception as exc:
        if isinstance(exc, ProviderError):
            # Each attempt the provider failed (down, timing out) counts toward its error rate at
            # once, not only when the job gives up after its last delivery.
            record_metric("ProviderCalls", provider=job.provider)
            record_metric("ProviderErrors", provider=job.provider)
        if job.status is JobStatus.QUEUED:
            _give_back_start(job, jobs)
        if receive_count >= settings.generation_max_receives:
            logger.exception("generation gave up", extra={"job_id": job.id})
            fail(
                job,
                "generation_failed",
                "The job failed after several attempts; nothing was charged.",
                jobs=jobs,
                wallets=wallets,
                clock=clock,
                discard_from=storage,
            )
        raise


def _give_back_start(job: Job, jobs: JobRepository) -> None:
    try:
        jobs.release_start(job)
    except errors.AtelierError:
        # The claim then lapses on its own, before the queue's redelivery.
        logger.warning("could not give back a job's start", extra={"job_id": job.id})


def _step(
    job: Job,
    *,
    jobs: JobRepository,
    wallets: WalletRepository,
    uploads: UploadRepository,
    storage: ObjectStore,
    queue: MessageQueue,
    provider_for: Callable[[str], InferenceProvider],
    clock: Clock,
    settings: Settings,
) -> JobStatus:
    provider = provider_for(job.provider)
    if job.status is JobStatus.QUEUED:
        if not jobs.claim_start(job, clock.now(), timedelta(seconds=settings.generation_start_lease_seconds)):
            # Another delivery is starting this job; if it fails, its own redelivery starts it again.
            return JobStatus.QUEUED
        state = provider.submit(_request(job, uploads=uploads, storage=storage, settings=settings))
        if not state.status.is_final:
            jobs.mark_running(job, state.provider_job_id, clock.now())
            queue.send(
                GenerationMessage(account_id=job.account_id, job_id=job.id, action="poll"), delay_seconds=poll_delay(0)
            )
            return JobStatus.RUNNING
    else:
        if job.provider_job_id is None:
            return fail(job, "generation_failed", "The provider lost the job.", jobs=jobs, wallets=wallets, clock=clock)
        state = provider.status(job.provider_job_id)
    if state.status.is_final:
        return finish(job, state, provider, jobs=jobs, wallets=wallets, storage=storage, clock=clock, settings=settings)
    if clock.now() >= job.deadline_at:
        provider.cancel(state.provider_job_id)
        return fail(
            job,
            "timed_out",
            "The job took too long and was stopped; nothing was charged.",
            jobs=jobs,
            wallets=wallets,
            clock=clock,
        )
    jobs.record_progress(job, progress=state.progress, queue_position=state.queue_position)
    queue.send(
        GenerationMessage(account_id=job.account_id, job_id=job.id, action="poll"),
        delay_seconds=poll_delay(job.polls + 1),
    )
    return JobStatus.RUNNING


def _request(job: Job, *, uploads: UploadRepository, storage: ObjectStore, settings: Settings) -> GenerationRequest:
    from atelier.usecases.manage_uploads import verified_reference_url

    references = [
        verified_reference_url(job.account_id, upload_id, uploads=uploads, storage=storage, settings=settings)
        for upload_id in job.reference_upload_ids
    ]
    params = dict(job.params)
    seed = params.pop("seed", None)
    from atelier.usecases.list_models import find_model

    return GenerationRequest(
        job_id=job.id,
        kind=job.kind,
        model=find_model(job.model, settings).provider_model,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        params=params,
        seed=seed,
        reference_image_urls=references,
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
) -> JobStatus:
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
            )
        return fail(
            job,
            state.error_code or "generation_failed",
            state.error_message or "The provider could not make this; nothing was charged.",
            jobs=jobs,
            wallets=wallets,
            clock=clock,
        )
    from atelier.integrations.inference.media import probe

    assets: list[Asset] = []
    created_ms = int(job.created_at.timestamp() * 1000)
    for index, output in enumerate(state.outputs):
        content = provider.fetch_output(output, max_bytes=settings.output_max_bytes)
        info = probe(content, output.content_type)
        key = output_key(job.account_id, job.id, index, _EXTENSIONS.get(info.content_type, "bin"))
        storage.put(key, content, info.content_type, metadata={"sha256": info.sha256, "job-id": job.id})
        assets.append(
            Asset(
                id=derived_id(IdPrefix.ASSET, f"{job.id}:{index}", now_ms=created_ms),
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
            )
        )
    now = clock.now()
    settled = wallets.settle(
        job.account_id,
        job.ledger_id,
        job.id,
        job.cost_credits,
        now,
        extra=jobs.completion_step(
            job,
            status=JobStatus.SUCCEEDED,
            now=now,
            assets=assets,
            charged=job.cost_credits,
            compute_seconds=state.compute_seconds,
        ),
    )
    if not settled:
        current = jobs.get(job.account_id, job.id)
        if current is not None and current.status is not JobStatus.SUCCEEDED:
            # Canceled while the provider worked: its outputs are discarded, not kept.
            storage.delete([asset.object_key for asset in assets])
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


# Failure reasons counted by name; any other code (a provider's own) is counted as "other", so
# the JobsFailed metric keeps a handful of dimension values.
_COUNTED_REASONS = frozenset(
    {"generation_failed", "provider_rejected", "timed_out", "no_output", "aborted", "invalid_field", "deadline_passed"}
)


def _count_ended(job: Job, code: str, status: JobStatus) -> None:
    if status is JobStatus.CANCELED:
        record_metric("JobsCanceled")
    else:
        record_metric("JobsFailed", reason=code if code in _COUNTED_REASONS else "other")
    record_metric("CreditsRefunded", job.cost_credits)


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
        extra=jobs.completion_step(job, status=status, now=now, error=JobError(code=code, message=message)),
    )
    if released:
        _count_ended(job, code, status)
    current = jobs.get(job.account_id, job.id)
    ended = current.status if current else status
    if discard_from is not None and ended is not JobStatus.SUCCEEDED:
        discard_outputs(job, discard_from)
    return ended
