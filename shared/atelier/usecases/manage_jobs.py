"""Reading and cancelling jobs, and the sweeper that makes sure no job stays unfinished."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier import errors
from atelier.clock import Clock
from atelier.data.jobs import JobRepository
from atelier.data.wallets import WalletRepository
from atelier.ids import IdPrefix, has_prefix
from atelier.integrations.inference.base import InferenceProvider
from atelier.integrations.storage import ObjectStore
from atelier.models.generation import Job, JobError, JobStatus
from atelier.observability import logger
from atelier.settings import Settings
from atelier.usecases.run_generation import cancel_at_deadline, fail, finish
from atelier.usecases.screen_media import OutputRejectedError, OutputSafety

if TYPE_CHECKING:
    from atelier.services import Services
    from atelier.usecases.deliver_webhooks import WebhookEvents


class JobFinishedError(errors.ConflictError):
    code = "job_finished"
    default_message = "The job has already finished."


def get_job(account_id: str, job_id: str, *, jobs: JobRepository) -> Job:
    """The owner's job, or 404 (also for someone else's: never confirm it exists)."""
    job = jobs.get(account_id, job_id) if has_prefix(job_id, IdPrefix.JOB) else None
    if job is None:
        raise errors.NotFoundError()
    return job


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    next_cursor: str | None


def list_jobs(
    account_id: str,
    *,
    limit: int,
    cursor: str | None,
    status: str | None,
    workspace_id: str | None,
    jobs: JobRepository,
) -> JobPage:
    page, next_cursor = jobs.page(account_id, limit=limit, after=cursor, status=status, workspace_id=workspace_id)
    return JobPage(jobs=page, next_cursor=next_cursor)


@dataclass(frozen=True)
class CancelJobDeps:
    """What `cancel_job` works with, built once per function (`Services.dependencies`)."""

    jobs: JobRepository
    wallets: WalletRepository
    provider_for: Callable[[str], InferenceProvider]
    clock: Clock
    events: WebhookEvents | None = None

    @classmethod
    def from_services(cls, services: Services) -> CancelJobDeps:
        return cls(
            jobs=services.jobs,
            wallets=services.wallets,
            provider_for=services.inference_provider,
            clock=services.clock,
            events=services.webhook_events,
        )


def cancel_job(
    deps: CancelJobDeps,
    account_id: str,
    job_id: str,
) -> Job:
    job = get_job(account_id, job_id, jobs=deps.jobs)
    if job.status.is_final:
        raise JobFinishedError()
    if job.status is JobStatus.RUNNING and job.provider_job_id:
        try:
            deps.provider_for(job.provider).cancel(job.provider_job_id)
        except errors.AtelierError:
            # The hold is released whatever the provider says; a late result is discarded.
            logger.warning("provider cancel failed", extra={"job_id": job.id, "provider": job.provider})
    fail(
        job,
        "canceled",
        "Canceled by its owner.",
        jobs=deps.jobs,
        wallets=deps.wallets,
        clock=deps.clock,
        status=JobStatus.CANCELED,
        events=deps.events,
    )
    return get_job(account_id, job_id, jobs=deps.jobs)


@dataclass(frozen=True)
class SweepOverdueJobsDeps:
    """What `sweep_overdue_jobs` works with, built once per function (`Services.dependencies`)."""

    jobs: JobRepository
    wallets: WalletRepository
    storage: ObjectStore
    provider_for: Callable[[str], InferenceProvider]
    clock: Clock
    settings: Settings
    safety: OutputSafety
    events: WebhookEvents | None = None

    @classmethod
    def from_services(cls, services: Services) -> SweepOverdueJobsDeps:
        return cls(
            jobs=services.jobs,
            wallets=services.wallets,
            storage=services.asset_storage,
            provider_for=services.inference_provider,
            clock=services.clock,
            settings=services.settings,
            safety=services.output_safety,
            events=services.webhook_events,
        )


def sweep_overdue_jobs(
    deps: SweepOverdueJobsDeps,
) -> dict[str, int]:
    """Every job past its deadline is re-checked with its provider, then finished or failed and
    released. Nothing stays `running` forever."""
    outcomes: dict[str, int] = {}
    for job in deps.jobs.overdue(deps.clock.now()):
        status = _settle_overdue(
            job,
            jobs=deps.jobs,
            wallets=deps.wallets,
            storage=deps.storage,
            provider_for=deps.provider_for,
            clock=deps.clock,
            settings=deps.settings,
            events=deps.events,
            safety=deps.safety,
        )
        outcomes[status.value] = outcomes.get(status.value, 0) + 1
    return outcomes


def _settle_overdue(
    job: Job,
    *,
    jobs: JobRepository,
    wallets: WalletRepository,
    storage: ObjectStore,
    provider_for: Callable[[str], InferenceProvider],
    clock: Clock,
    settings: Settings,
    events: WebhookEvents | None = None,
    safety: OutputSafety,
) -> JobStatus:
    if job.cancel_at is not None and job.cancel_at <= clock.now():
        return cancel_at_deadline(
            job, provider_for=provider_for, jobs=jobs, wallets=wallets, storage=storage, clock=clock, events=events
        )
    if job.status is JobStatus.RUNNING and job.provider_job_id:
        provider = provider_for(job.provider)
        try:
            state = provider.status(job.provider_job_id)
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
            provider.cancel(job.provider_job_id)
        except OutputRejectedError as exc:
            return fail(job, exc.code, exc.message, jobs=jobs, wallets=wallets, clock=clock, discard_from=storage)
        except errors.AtelierError:
            logger.warning("overdue job could not be re-checked", extra={"job_id": job.id})
    error = JobError(code="timed_out", message="The job took too long and was stopped; nothing was charged.")
    return fail(
        job, error.code, error.message, jobs=jobs, wallets=wallets, clock=clock, discard_from=storage, events=events
    )
