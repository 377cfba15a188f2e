"""Export requests: one record per request, and a lock row that lets one export at a time be queued
or running per account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition

from atelier import errors
from atelier.data import keys
from atelier.data.base import is_conditional_failure, transaction, translate_errors
from atelier.data.items import ExportItem, ExportLockItem
from atelier.models.privacy import Export, ExportStatus

_UNFINISHED = (ExportStatus.QUEUED.value, ExportStatus.RUNNING.value)


class ExportInProgressError(errors.ConflictError):
    code = "export_in_progress"
    default_message = "An export of this account is already queued or running."


def _to_export(account_id: str, item: ExportItem) -> Export:
    return Export(
        id=item.export_id,
        account_id=account_id,
        status=ExportStatus(item.status),
        requested_at=item.requested_at,
        started_at=item.started_at,
        finished_at=item.finished_at,
        object_key=item.object_key,
        size_bytes=None if item.size_bytes is None else int(item.size_bytes),
        available_until=item.available_until,
        error_code=item.error_code,
        error_message=item.error_message,
        attempts=int(item.attempts or 0),
    )


class ExportRepository:
    def in_progress(self, account_id: str, now: datetime) -> str | None:
        """The id of the export holding the account's lock, unless the lock has gone stale."""
        lock = self._lock(account_id)
        return lock.export_id if lock is not None and lock.stale_at > now else None

    def create(self, export: Export, *, stale_at: datetime) -> None:
        """Writes the request with the account's export lock, in one transaction. A stale lock (an
        export that died without finishing) is taken over and its export marked failed."""
        now = export.requested_at
        lock = self._lock(export.account_id)
        if lock is not None and lock.stale_at > now:
            raise ExportInProgressError()
        account_pk = keys.account_pk(export.account_id)
        new_lock = ExportLockItem(
            account_pk,
            keys.EXPORT_LOCK_SK,
            entity="export_lock",
            export_id=export.id,
            taken_at=now,
            stale_at=stale_at,
        )
        record = ExportItem(
            account_pk,
            keys.export_sk(export.id),
            entity="export",
            export_id=export.id,
            status=export.status.value,
            requested_at=export.requested_at,
            attempts=0,
        )
        tx = transaction()
        try:
            with translate_errors(), tx:
                free: Condition = ExportLockItem.pk.does_not_exist()
                if lock is not None:
                    free = ExportLockItem.export_id == lock.export_id
                tx.save(new_lock, condition=free, label="lock")
                tx.save(record, condition=ExportItem.pk.does_not_exist(), label="record")
                if lock is not None:
                    tx.update(
                        ExportItem(account_pk, keys.export_sk(lock.export_id)),
                        actions=[
                            ExportItem.status.set(ExportStatus.FAILED.value),
                            ExportItem.finished_at.set(now),
                            ExportItem.error_code.set("abandoned"),
                            ExportItem.error_message.set("The export did not finish; request a new one."),
                        ],
                        label="stale",
                    )
        except TransactWriteError as exc:
            if tx.failures(exc):
                raise ExportInProgressError() from exc
            raise

    def get(self, account_id: str, export_id: str) -> Export | None:
        with translate_errors():
            try:
                item = ExportItem.get(keys.account_pk(account_id), keys.export_sk(export_id), consistent_read=True)
            except ExportItem.DoesNotExist:
                return None
        return _to_export(account_id, item)

    def recent(self, account_id: str, *, limit: int, after: str | None) -> tuple[list[Export], str | None]:
        """The account's exports, newest first (ids sort by request time), `limit` at a time; the
        cursor is the last export id of the page."""
        condition: Condition = ExportItem.sk.startswith(keys.EXPORT_PREFIX)
        if after:
            condition = ExportItem.sk.between(keys.EXPORT_PREFIX, keys.export_sk(after))
        found: list[Export] = []
        with translate_errors():
            for item in ExportItem.query(
                keys.account_pk(account_id), condition, scan_index_forward=False, page_size=limit + 2
            ):
                if item.export_id == after:
                    continue
                found.append(_to_export(account_id, item))
                if len(found) > limit:
                    break
        if len(found) > limit:
            return found[:limit], found[limit - 1].id
        return found, None

    def start(self, account_id: str, export_id: str, now: datetime) -> Export | None:
        """queued (or running, on a redelivery) -> running, counting the attempt. None when the
        export is finished or gone (its account was purged)."""
        item = ExportItem(keys.account_pk(account_id), keys.export_sk(export_id))
        with translate_errors():
            try:
                item.update(
                    actions=[
                        ExportItem.status.set(ExportStatus.RUNNING.value),
                        ExportItem.started_at.set(now),
                        ExportItem.attempts.add(1),
                    ],
                    condition=ExportItem.status.is_in(*_UNFINISHED),
                )
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    return None
                raise
        return _to_export(account_id, item)

    def finish(
        self,
        account_id: str,
        export_id: str,
        *,
        object_key: str,
        size_bytes: int,
        available_until: datetime,
        now: datetime,
    ) -> bool:
        """running -> ready, releasing the lock. False when the export is no longer running (the
        account was purged meanwhile, say): its archive is then not wanted."""
        return self._close(
            account_id,
            export_id,
            [
                ExportItem.status.set(ExportStatus.READY.value),
                ExportItem.finished_at.set(now),
                ExportItem.object_key.set(object_key),
                ExportItem.size_bytes.set(size_bytes),
                ExportItem.available_until.set(available_until),
            ],
            ExportItem.status == ExportStatus.RUNNING.value,
        )

    def fail(self, account_id: str, export_id: str, *, code: str, message: str, now: datetime) -> None:
        failed = self._close(
            account_id,
            export_id,
            [
                ExportItem.status.set(ExportStatus.FAILED.value),
                ExportItem.finished_at.set(now),
                ExportItem.error_code.set(code),
                ExportItem.error_message.set(message),
            ],
            ExportItem.status.is_in(*_UNFINISHED),
        )
        if not failed:
            self.release(account_id, export_id)

    def _close(self, account_id: str, export_id: str, actions: list[Any], condition: Condition) -> bool:
        """Finishes an export and frees the account's lock in one transaction: a finished export
        never keeps the lock (which would refuse every new request until it went stale, and have
        its takeover mark a ready export failed), and a lost answer leaves both to be retried.
        False when the export's own condition fails; a lock held by another export (or by none)
        is left as it is."""
        account_pk = keys.account_pk(account_id)
        item = ExportItem(account_pk, keys.export_sk(export_id))
        tx = transaction()
        try:
            with translate_errors(), tx:
                tx.update(item, actions=actions, condition=condition, label="export")
                tx.delete(
                    ExportLockItem(account_pk, keys.EXPORT_LOCK_SK),
                    condition=ExportLockItem.export_id == export_id,
                    label="lock",
                )
            return True
        except TransactWriteError as exc:
            refused = tx.failures(exc)
            if "export" in refused:
                return False
            if "lock" not in refused:
                raise
        with translate_errors():
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

    def release(self, account_id: str, export_id: str) -> None:
        """Frees the account's export lock if this export holds it."""
        with translate_errors():
            try:
                ExportLockItem(keys.account_pk(account_id), keys.EXPORT_LOCK_SK).delete(
                    condition=ExportLockItem.export_id == export_id
                )
            except DeleteError as exc:
                if not is_conditional_failure(exc):
                    raise

    def _lock(self, account_id: str) -> ExportLockItem | None:
        with translate_errors():
            try:
                return ExportLockItem.get(keys.account_pk(account_id), keys.EXPORT_LOCK_SK, consistent_read=True)
            except ExportLockItem.DoesNotExist:
                return None
