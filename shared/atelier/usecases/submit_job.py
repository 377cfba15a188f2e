"""Submits a generation job: validate, moderate, then write the job and its credit hold in one
transaction (with the consent check and the in-flight limit as conditions of that same transaction),
and enqueue it.

AWS calls on the way: the authentication read, the per-minute rate counter, the transaction and the
queue message. The account is read only when something is refused, to say why.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.assets import UploadRepository
from atelier.data.jobs import IdempotencyConflictError, JobRepository
from atelier.data.policies import PolicyRepository
from atelier.data.rate_limits import RateLimiter
from atelier.data.wallets import WalletRepository
from atelier.data.workflows import WorkflowRepository
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.integrations.moderation import BlocklistModeration, ModerationCategory
from atelier.integrations.queue import MessageQueue
from atelier.integrations.storage import ObjectStore
from atelier.integrations.webhooks import url_problem
from atelier.models.accounts import AccountStatus, Principal
from atelier.models.generation import Job, JobError, JobStatus
from atelier.models.submission import AccountMayNotGenerateError, IdempotencyKeyTakenError
from atelier.observability import logger, record_metric
from atelier.settings import Settings
from atelier.usecases.list_models import find_model, validate_params
from atelier.usecases.manage_uploads import prepare_references
from atelier.usecases.read_policy import terms_in_force
from atelier.usecases.require_consent import require_consent
from atelier.usecases.run_generation import GenerationMessage

if TYPE_CHECKING:
    from atelier.services import Services
    from atelier.usecases.deliver_webhooks import WebhookEvents


class PromptRejectedError(errors.InvalidFieldError):
    code = "prompt_rejected"
    default_message = "This prompt cannot be generated."


@dataclass(frozen=True)
class JobSubmission:
    kind: str
    model: str
    prompt: str
    negative_prompt: str | None
    params: dict[str, Any]
    reference_upload_ids: list[str]
    workflow_version_id: str | None = None
    webhook_url: str | None = None
    # The `Cancel-After` header as sent (`300s`, `5m`, `1h30m`); None for the model's default.
    cancel_after: str | None = None


@dataclass(frozen=True)
class SubmittedJob:
    job: Job
    replayed: bool


def body_hash(submission: JobSubmission) -> str:
    canonical = json.dumps(submission.__dict__, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _require_own_version(account_id: str, version_id: str, workflows: WorkflowRepository | None) -> None:
    """A job may name only a version of one of the caller's own workflows, as running a workflow
    does (someone else's public or shared workflow is run by forking it first); any other id is
    answered as not found, like anything that is not the caller's."""
    version = workflows.version_by_id(account_id, version_id) if workflows is not None else None
    workflow = workflows.get(account_id, version.workflow_id) if workflows is not None and version else None
    if workflow is None:
        raise errors.NotFoundError(
            "No such workflow version.", details=[{"field": "workflow_version_id", "location": "body"}]
        )
    if workflow.taken_down:
        raise errors.ForbiddenError("This item was removed by moderation.")


@dataclass(frozen=True)
class SubmitJobDeps:
    """What submitting a job works with; a function builds it once (`Services.dependencies`)."""

    jobs: JobRepository
    wallets: WalletRepository
    accounts: AccountRepository
    policies: PolicyRepository
    rate_limiter: RateLimiter
    moderation: BlocklistModeration
    uploads: UploadRepository
    storage: ObjectStore
    queue: MessageQueue
    clock: Clock
    settings: Settings
    workflows: WorkflowRepository
    # The account's `credits.held` webhook; None sends none.
    events: WebhookEvents | None = None

    @classmethod
    def from_services(cls, services: Services) -> SubmitJobDeps:
        return cls(
            jobs=services.jobs,
            wallets=services.wallets,
            accounts=services.accounts,
            policies=services.policies,
            rate_limiter=services.rate_limiter,
            moderation=services.moderation,
            uploads=services.uploads,
            storage=services.asset_storage,
            queue=services.generation_queue,
            clock=services.clock,
            settings=services.settings,
            workflows=services.workflows,
            events=services.webhook_events,
        )


def submit_job(
    deps: SubmitJobDeps,
    principal: Principal,
    submission: JobSubmission,
    *,
    workspace_id: str | None,
    idempotency_key: str | None,
) -> SubmittedJob:
    if not principal.is_signed_in or principal.account_id is None:
        raise errors.NotSignedInError()
    account_id = principal.account_id
    now = deps.clock.now()

    # The request schema bounds a prompt sent as is; one filled in from a workflow's template and
    # variables is bounded here, so every prompt a provider receives is held to the same limit.
    if len(submission.prompt) > deps.settings.generation.max_prompt_length:
        raise errors.InvalidFieldError(
            f"A prompt has at most {deps.settings.generation.max_prompt_length} characters.",
            details=[{"field": "prompt", "location": "body"}],
        )
    model = find_model(submission.model, deps.settings)
    if model.kind != submission.kind:
        raise errors.InvalidFieldError(
            f"{model.id} makes {model.kind}s.", details=[{"field": "kind", "location": "body"}]
        )
    params = validate_params(model, submission.params)
    cancel_after = (
        parse_duration(submission.cancel_after)
        if submission.cancel_after is not None
        else (timedelta(seconds=model.cancel_after_seconds) if model.cancel_after_seconds else None)
    )
    if len(submission.reference_upload_ids) > model.max_reference_images:
        raise errors.InvalidFieldError(
            f"{model.id} takes at most {model.max_reference_images} reference images.",
            details=[{"field": "reference_upload_ids", "location": "body"}],
        )
    if any(not has_prefix(upload_id, IdPrefix.UPLOAD) for upload_id in submission.reference_upload_ids):
        raise errors.InvalidFieldError(
            "Unknown upload.", details=[{"field": "reference_upload_ids", "location": "body"}]
        )

    if submission.workflow_version_id is not None:
        _require_own_version(account_id, submission.workflow_version_id, deps.workflows)
    if submission.webhook_url is not None:
        problem = url_problem(submission.webhook_url, allow_local=deps.settings.platform.local_runtime)
        if problem is not None:
            raise errors.InvalidFieldError(problem, details=[{"field": "webhook_url", "location": "body"}])

    verdict = deps.moderation.check(submission.prompt, submission.negative_prompt)
    if not verdict.allowed:
        # Counted, never logged with the prompt; minor-safety refusals also reach moderators' queue.
        logger.warning("prompt refused", extra={"category": verdict.category.value if verdict.category else None})
        if verdict.category is ModerationCategory.MINOR_SAFETY:
            raise PromptRejectedError(details={"category": verdict.category.value})
        raise PromptRejectedError()

    deps.rate_limiter.hit(
        "job-submit", account_id, limit=deps.settings.generation.job_submissions_per_minute, window_seconds=60, now=now
    )
    references = prepare_references(
        account_id,
        submission.reference_upload_ids,
        uploads=deps.uploads,
        storage=deps.storage,
        clock=deps.clock,
        settings=deps.settings,
    )

    ledger_id = principal.ledger_id or deps.accounts.require(account_id).ledger_id
    workspace = workspace_id or principal.default_workspace_id or deps.accounts.require(account_id).default_workspace_id
    if not has_prefix(workspace, IdPrefix.WORKSPACE):
        raise errors.NotFoundError("No such workspace.")
    cost = model.price.credits(params)
    deadline = timedelta(
        seconds=deps.settings.generation.video_job_deadline_seconds
        if model.kind == "video"
        else deps.settings.generation.image_job_deadline_seconds
    )
    cancel_at = now + cancel_after if cancel_after is not None else None
    job = Job(
        id=new_id(IdPrefix.JOB),
        account_id=account_id,
        ledger_id=ledger_id,
        workspace_id=workspace,
        kind=model.kind,
        model=model.id,
        prompt=submission.prompt,
        negative_prompt=submission.negative_prompt,
        params=params,
        reference_upload_ids=submission.reference_upload_ids,
        workflow_version_id=submission.workflow_version_id,
        webhook_url=submission.webhook_url,
        cancel_at=cancel_at,
        status=JobStatus.QUEUED,
        provider=model.provider,
        cost_credits=cost,
        created_at=now,
        # The overdue sweep also finds a job past its Cancel-After (and cancels it, reason `deadline`).
        deadline_at=min(now + deadline, cancel_at) if cancel_at is not None else now + deadline,
    )
    key_hash = hashlib.sha256(idempotency_key.encode()).hexdigest() if idempotency_key else None
    fingerprint = body_hash(submission)
    terms_version = terms_in_force(policies=deps.policies, clock=deps.clock, settings=deps.settings)
    job_steps = deps.jobs.submission_steps(job, idempotency_key_hash=key_hash, body_hash=fingerprint, now=now)
    # In the order their refusals win: a replayed request first, then what stops the account, then
    # a missing workspace, then references used meanwhile; the job itself last.
    steps = [
        *([job_steps.idempotency] if job_steps.idempotency else []),
        deps.accounts.may_generate_step(account_id, terms_version),
        job_steps.workspace,
        # The job's references become used with the job, and only if it is accepted.
        deps.uploads.first_use_step(account_id, references, now),
        job_steps.job,
    ]
    try:
        deps.wallets.hold(
            account_id,
            ledger_id,
            job.id,
            cost,
            now,
            generation_kind=model.kind,
            max_in_flight=deps.settings.generation.max_jobs_in_flight,
            extra=steps,
        )
    except IdempotencyKeyTakenError as refused:
        return _replay(refused, job, key_hash, fingerprint, jobs=deps.jobs, queue=deps.queue)
    except AccountMayNotGenerateError as refused:
        _explain_account_refusal(
            refused, job, accounts=deps.accounts, policies=deps.policies, clock=deps.clock, settings=deps.settings
        )

    try:
        deps.queue.send(GenerationMessage(account_id=account_id, job_id=job.id, action="start"))
    except errors.DependencyUnavailableError:
        deps.wallets.release(
            account_id,
            ledger_id,
            job.id,
            deps.clock.now(),
            extra=[
                deps.jobs.unqueued_step(
                    job,
                    idempotency_key_hash=key_hash,
                    now=deps.clock.now(),
                    error=JobError(
                        code="queue_unavailable", message="The job could not be queued; nothing was charged."
                    ),
                )
            ],
        )
        raise
    if cancel_after is not None:
        # On time, not only at the sweep's next run: the worker cancels it when this arrives (a
        # deadline beyond SQS's 15-minute delay takes several hops).
        deadline_message = GenerationMessage(account_id=account_id, job_id=job.id, action="deadline")
        try:
            deps.queue.send(deadline_message, delay_seconds=math.ceil(cancel_after.total_seconds()))
        except errors.DependencyUnavailableError:
            logger.warning("deadline message not queued; the sweep cancels the job", extra={"job_id": job.id})
    if deps.events is not None:
        deps.events.credits_held(
            account_id, held=cost, balance=lambda: deps.wallets.get(account_id).balance, key=job.id, occurred_at=now
        )
    record_metric("JobsSubmitted", provider=job.provider)
    record_metric("CreditsHeld", cost)
    return SubmittedJob(job=job, replayed=False)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
MIN_CANCEL_AFTER = timedelta(seconds=1)
MAX_CANCEL_AFTER = timedelta(hours=24)


def parse_duration(text: str) -> timedelta:
    """A `Cancel-After` value: one or more number-and-unit parts (`300s`, `5m`, `1h30m`, `1.5m`),
    between a second and a day."""
    value = text.strip().lower()
    parts = _DURATION.findall(value)
    if not value or "".join(number + unit for number, unit in parts) != value:
        raise errors.InvalidFieldError(
            "Cancel-After is a duration such as 300s, 5m or 1h30m.",
            details=[{"field": "Cancel-After", "location": "header"}],
        )
    duration = timedelta(seconds=sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts))
    if not MIN_CANCEL_AFTER <= duration <= MAX_CANCEL_AFTER:
        raise errors.InvalidFieldError(
            "Cancel-After must be between 1 second and 24 hours.",
            details=[{"field": "Cancel-After", "location": "header"}],
        )
    return duration


def _replay(
    refused: IdempotencyKeyTakenError,
    job: Job,
    key_hash: str | None,
    fingerprint: str,
    *,
    jobs: JobRepository,
    queue: MessageQueue,
) -> SubmittedJob:
    """An earlier request holds the Idempotency-Key: its job is the answer, if it was the same
    request."""
    earlier = jobs.find_idempotent(job.account_id, key_hash) if key_hash else None
    if earlier is not None:
        earlier_job_id, earlier_fingerprint = earlier
        if earlier_fingerprint != fingerprint:
            raise IdempotencyConflictError() from refused
        existing = jobs.get(job.account_id, earlier_job_id)
        if existing is not None:
            if existing.status is JobStatus.QUEUED:
                # The earlier request may have written the job and then died before its queue
                # message was sent; a job nobody enqueued would wait for the sweeper to fail it. A
                # second start is harmless: the worker claims a job before starting it.
                queue.send(GenerationMessage(account_id=existing.account_id, job_id=existing.id, action="start"))
            return SubmittedJob(job=existing, replayed=True)
    raise errors.ConflictError("Retry the request.") from refused


def _explain_account_refusal(
    refused: AccountMayNotGenerateError,
    job: Job,
    *,
    accounts: AccountRepository,
    policies: PolicyRepository,
    clock: Clock,
    settings: Settings,
) -> NoReturn:
    """The account may not generate: says why, as the account now reads."""
    account = accounts.require(job.account_id)
    if account.status is AccountStatus.SUSPENDED:
        raise errors.AccountSuspendedError() from refused
    if account.status is AccountStatus.RESTRICTED:
        raise errors.AccountRestrictedError() from refused
    if account.status is AccountStatus.DELETION_SCHEDULED:
        raise errors.ForbiddenError("This account is scheduled for deletion; cancel that first.") from refused
    require_consent(account, policies=policies, clock=clock, settings=settings)
    raise errors.ConsentRequiredError() from refused
