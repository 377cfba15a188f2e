"""Generation jobs, their idempotency keys and provider-job pointers.

Job writes that go with money (submission, completion, failure, cancellation) are transaction steps
handed to the wallet's hold/settle/release, so a job and its credits always change together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from atelier import errors
from atelier.clock import isoformat
from atelier.data import keys
from atelier.data.base import Transaction, epoch_seconds, is_conditional_failure, translate_errors
from atelier.data.items import AssetItem, IdempotencyItem, JobItem, PointerItem
from atelier.data.wallets import TransactionStep
from atelier.models.generation import Asset, Job, JobError, JobStatus

IDEMPOTENCY_RETENTION = timedelta(hours=24)
_UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def _to_job(item: JobItem) -> Job:
    return Job(
        id=item.job_id,
        account_id=item.pk.removeprefix(keys.ACCOUNT),
        ledger_id=item.ledger_id,
        workspace_id=item.workspace_id,
        kind=item.kind,
        model=item.model,
        prompt=item.prompt,
        negative_prompt=item.negative_prompt,
        params=dict(item.params or {}),
        reference_upload_ids=list(item.reference_upload_ids or []),
        workflow_version_id=item.workflow_version_id,
        webhook_url=item.webhook_url,
        cancel_at=item.cancel_at,
        status=JobStatus(item.status),
        provider=item.provider,
        provider_job_id=item.provider_job_id,
        progress=None if item.progress is None else float(item.progress),
        queue_position=None if item.queue_position is None else int(item.queue_position),
        error=JobError(code=item.error_code, message=item.error_message or "") if item.error_code else None,
        outputs=list(item.outputs or []),
        cost_credits=int(item.cost_credits),
        charged_credits=int(item.charged_credits or 0),
        compute_seconds=None if item.compute_seconds is None else float(item.compute_seconds),
        created_at=item.created_at,
        started_at=item.started_at,
        finished_at=item.finished_at,
        deadline_at=item.deadline_at,
        polls=int(item.polls or 0),
    )


def _job_item(job: Job) -> JobItem:
    return JobItem(
        keys.account_pk(job.account_id),
        keys.job_sk(job.id),
        entity="job",
        job_id=job.id,
        ledger_id=job.ledger_id,
        workspace_id=job.workspace_id,
        kind=job.kind,
        model=job.model,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        params=job.params,
        reference_upload_ids=job.reference_upload_ids,
        workflow_version_id=job.workflow_version_id,
        webhook_url=job.webhook_url,
        cancel_at=job.cancel_at,
        status=job.status.value,
        provider=job.provider,
        cost_credits=job.cost_credits,
        created_at=job.created_at,
        deadline_at=job.deadline_at,
        gsi2pk=keys.in_flight_pk(job.id),
        gsi2sk=f"{isoformat(job.deadline_at)}#{job.id}",
    )


def asset_item(asset: Asset) -> AssetItem:
    return AssetItem(
        keys.account_pk(asset.account_id),
        keys.asset_sk(asset.id),
        entity="asset",
        asset_id=asset.id,
        workspace_id=asset.workspace_id,
        job_id=asset.job_id,
        kind=asset.kind,
        content_type=asset.content_type,
        size_bytes=asset.size_bytes,
        width=asset.width,
        height=asset.height,
        duration_s=asset.duration_s,
        sha256=asset.sha256,
        object_key=asset.object_key,
        labels=asset.labels,
        rating=asset.rating,
        visibility=asset.visibility.value,
        removed=asset.removed,
        created_at=asset.created_at,
        restriction=asset.restriction,
        screened_at=asset.screened_at,
        provenance_c2pa=asset.provenance.c2pa if asset.provenance else None,
        digital_source_type=asset.provenance.digital_source_type if asset.provenance else None,
        thumbnail_key=asset.thumbnail_key,
        poster_key=asset.poster_key,
    )


class IdempotencyConflictError(errors.ConflictError):
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request."


class JobRepository:
    def submission_steps(
        self,
        job: Job,
        *,
        idempotency_key_hash: str | None,
        body_hash: str,
        consent_condition: object,
        now: datetime,
    ) -> TransactionStep:
        """The writes that go into the hold's transaction: the job, its idempotency record, the
        workspace's content count, and a check that the account may generate right now."""
        from atelier.data.items import AccountItem, WorkspaceItem

        def steps(tx: Transaction) -> None:
            tx.save(_job_item(job), condition=JobItem.sk.does_not_exist(), label="job")
            if idempotency_key_hash:
                tx.save(
                    IdempotencyItem(
                        keys.account_pk(job.account_id),
                        keys.idempotency_sk(idempotency_key_hash),
                        entity="idempotency_key",
                        job_id=job.id,
                        body_hash=body_hash,
                        expires_at=epoch_seconds(now + IDEMPOTENCY_RETENTION),
                    ),
                    condition=IdempotencyItem.sk.does_not_exist(),
                    label="idempotency",
                )
            tx.update(
                WorkspaceItem(keys.account_pk(job.account_id), keys.workspace_sk(job.workspace_id)),
                actions=[WorkspaceItem.content_count.add(1)],
                condition=WorkspaceItem.pk.exists(),
                label="workspace",
            )
            tx.condition_check(
                AccountItem, keys.account_pk(job.account_id), keys.ACCOUNT_SK, consent_condition, label="account"
            )

        return steps

    def find_idempotent(self, account_id: str, key_hash: str) -> tuple[str, str] | None:
        """(job id, body hash) of an earlier submission with this key, if it is still kept."""
        with translate_errors():
            try:
                item = IdempotencyItem.get(
                    keys.account_pk(account_id), keys.idempotency_sk(key_hash), consistent_read=True
                )
            except IdempotencyItem.DoesNotExist:
                return None
        return item.job_id, item.body_hash

    def get(self, account_id: str, job_id: str) -> Job | None:
        with translate_errors():
            try:
                item = JobItem.get(keys.account_pk(account_id), keys.job_sk(job_id), consistent_read=True)
            except JobItem.DoesNotExist:
                return None
        return _to_job(item)

    def page(
        self,
        account_id: str,
        *,
        limit: int,
        after: str | None,
        status: str | None,
        workspace_id: str | None,
    ) -> tuple[list[Job], str | None]:
        """Newest first (job ids are time-ordered); filters apply within each page read."""
        condition: Condition = JobItem.sk.startswith(keys.JOB_PREFIX)
        if after:
            condition = JobItem.sk.between(keys.JOB_PREFIX, keys.job_sk(after))
        filters: Condition | None = None
        if status:
            filters = JobItem.status == status
        if workspace_id:
            in_workspace = JobItem.workspace_id == workspace_id
            # `is not None`: a condition has no truth value (PynamoDB raises on bool()).
            filters = (filters & in_workspace) if filters is not None else in_workspace
        jobs: list[Job] = []
        with translate_errors():
            results = JobItem.query(
                keys.account_pk(account_id),
                condition,
                filter_condition=filters,
                scan_index_forward=False,
                page_size=max(limit * 2, 25),
            )
            for item in results:
                if item.job_id == after:
                    continue
                jobs.append(_to_job(item))
                if len(jobs) > limit:
                    break
        page = jobs[:limit]
        return page, (page[-1].id if len(jobs) > limit else None)

    def claim_start(self, job: Job, now: datetime, lease: timedelta) -> bool:
        """Takes the right to start a queued job for `lease`. Queue delivery is at least once, and a
        replayed submission sends its start again: the second delivery finds the job taken, so the
        provider is asked once and one set of outputs is stored."""
        item = JobItem(keys.account_pk(job.account_id), keys.job_sk(job.id))
        with translate_errors():
            try:
                item.update(
                    actions=[JobItem.start_claimed_until.set(now + lease)],
                    condition=(JobItem.status == JobStatus.QUEUED.value)
                    & (JobItem.start_claimed_until.does_not_exist() | (JobItem.start_claimed_until <= now)),
                )
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

    def release_start(self, job: Job) -> None:
        """Gives the claim back after a failed attempt, so the queue's redelivery can start the job."""
        item = JobItem(keys.account_pk(job.account_id), keys.job_sk(job.id))
        with translate_errors():
            try:
                item.update(
                    actions=[JobItem.start_claimed_until.remove()],
                    condition=JobItem.status == JobStatus.QUEUED.value,
                )
            except UpdateError as exc:
                if not is_conditional_failure(exc):
                    raise

    def mark_running(self, job: Job, provider_job_id: str, now: datetime) -> bool:
        """queued -> running, recording the provider's job id and its pointer (for callbacks)."""
        item = JobItem(keys.account_pk(job.account_id), keys.job_sk(job.id))
        with translate_errors():
            try:
                item.update(
                    actions=[
                        JobItem.status.set(JobStatus.RUNNING.value),
                        JobItem.provider_job_id.set(provider_job_id),
                        JobItem.started_at.set(now),
                    ],
                    condition=JobItem.status == JobStatus.QUEUED.value,
                )
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
            PointerItem(
                keys.provider_job_pk(job.provider, provider_job_id),
                keys.POINTER_SK,
                entity="provider_job",
                account_id=job.account_id,
                ref_id=job.id,
                created_at=now,
                expires_at=epoch_seconds(job.deadline_at + timedelta(days=2)),
            ).save()
        return True

    def record_progress(self, job: Job, *, progress: float | None, queue_position: int | None) -> None:
        item = JobItem(keys.account_pk(job.account_id), keys.job_sk(job.id))
        with translate_errors():
            try:
                item.update(
                    actions=[
                        JobItem.progress.set(progress) if progress is not None else JobItem.progress.remove(),
                        JobItem.queue_position.set(queue_position)
                        if queue_position is not None
                        else JobItem.queue_position.remove(),
                        JobItem.polls.add(1),
                    ],
                    condition=JobItem.status.is_in(*_UNFINISHED),
                )
            except UpdateError as exc:
                if not is_conditional_failure(exc):
                    raise

    def completion_step(
        self,
        job: Job,
        *,
        status: JobStatus,
        now: datetime,
        assets: Sequence[Asset] = (),
        charged: int = 0,
        compute_seconds: float | None = None,
        error: JobError | None = None,
    ) -> TransactionStep:
        """The job's final write, for the settle/release transaction: only an unfinished job
        finishes, so a repeated completion moves no money."""

        def step(tx: Transaction) -> None:
            actions = [
                JobItem.status.set(status.value),
                JobItem.finished_at.set(now),
                JobItem.started_at.set(JobItem.started_at | now),
                JobItem.charged_credits.set(charged),
                JobItem.outputs.set([asset.id for asset in assets]),  # type: ignore[misc]
                JobItem.gsi2pk.remove(),
                JobItem.gsi2sk.remove(),
            ]
            if compute_seconds is not None:
                actions.append(JobItem.compute_seconds.set(compute_seconds))
            if error is not None:
                actions += [JobItem.error_code.set(error.code), JobItem.error_message.set(error.message)]
            if status is JobStatus.SUCCEEDED:
                actions.append(JobItem.progress.set(1.0))
            tx.update(
                JobItem(keys.account_pk(job.account_id), keys.job_sk(job.id)),
                actions=actions,
                condition=JobItem.status.is_in(*_UNFINISHED),
                label="job",
            )
            for asset in assets:
                tx.save(asset_item(asset), label="asset")

        return step

    def unqueued_step(
        self, job: Job, *, idempotency_key_hash: str | None, now: datetime, error: JobError
    ) -> TransactionStep:
        """A submission that could not be queued, for its release transaction: the job fails, and its
        Idempotency-Key is freed, so the client's retry with the same key makes the job anew instead
        of answering this failed one."""
        fail = self.completion_step(job, status=JobStatus.FAILED, now=now, error=error)

        def step(tx: Transaction) -> None:
            fail(tx)
            if idempotency_key_hash:
                tx.delete(IdempotencyItem(keys.account_pk(job.account_id), keys.idempotency_sk(idempotency_key_hash)))

        return step

    def find_by_provider_job(self, provider: str, provider_job_id: str) -> tuple[str, str] | None:
        with translate_errors():
            try:
                pointer = PointerItem.get(keys.provider_job_pk(provider, provider_job_id), keys.POINTER_SK)
            except PointerItem.DoesNotExist:
                return None
        return (pointer.account_id, pointer.ref_id) if pointer.ref_id else None

    def overdue(self, now: datetime, *, limit: int = 100) -> list[Job]:
        """Unfinished jobs past their deadline: one Query per in-flight shard, never a Scan."""
        jobs: list[Job] = []
        with translate_errors():
            for shard in keys.in_flight_shards():
                for item in JobItem.in_flight.query(shard, JobItem.gsi2sk < f"{isoformat(now)}#~", limit=limit):
                    jobs.append(_to_job(item))
        return jobs
