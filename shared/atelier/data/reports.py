"""Reports of content and their resolution. A report lives under its own key (it concerns someone
else's content); moderators list them by status on GSI1, never with a Scan, open minor-safety
reports first (their sort key starts with a higher priority digit). A guard item keyed on (reporter,
target) allows one open report per reporter and target. Each resolution counts, on the reporter's
own account row, as upheld or dismissed: the reporter's record."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition

from atelier import errors
from atelier.clock import isoformat
from atelier.data import keys
from atelier.data.base import is_conditional_failure, transaction, translate_errors
from atelier.data.items import (
    AccountItem,
    ModerationAuditItem,
    MyReportItem,
    OpenReportItem,
    ReportItem,
    ReportSignalItem,
)
from atelier.ids import IdPrefix, new_id
from atelier.models.gallery import ModerationAction, Report, ReportReason, ReportStatus, TargetType


class ReportExistsError(errors.ConflictError):
    code = "report_exists"
    default_message = "You have already reported this; it is being reviewed."


def guard_hash(reporter_id: str, target_type: TargetType, target_id: str) -> str:
    return hashlib.sha256(f"{reporter_id}\n{target_type.value}\n{target_id}".encode()).hexdigest()


# Open reports sort by priority first (descending): minor-safety reports jump the queue.
_URGENT, _ROUTINE = "9", "5"
UPHELD_ACTIONS = frozenset({ModerationAction.REMOVE, ModerationAction.QUARANTINE, ModerationAction.SUSPEND_ACCOUNT})


def queue_sort_key(report: Report) -> str:
    """GSI1 sort key: open reports by priority, then time; resolved ones by time."""
    at = f"{isoformat(report.created_at)}#{report.id}"
    if report.status is not ReportStatus.OPEN:
        return at
    return f"{_URGENT if report.reason is ReportReason.MINOR_SAFETY else _ROUTINE}#{at}"


@dataclass(frozen=True)
class ReporterRecord:
    upheld: int
    dismissed: int


def _to_report(item: ReportItem) -> Report:
    return Report(
        id=item.report_id,
        reporter_id=item.reporter_id,
        owner_id=item.owner_id,
        target_type=TargetType(item.target_type),
        target_id=item.target_id,
        reason=ReportReason(item.reason),
        details=item.details,
        status=ReportStatus(item.status),
        created_at=item.created_at,
        resolved_at=item.resolved_at,
        action=ModerationAction(item.action) if item.action else None,
        moderator_id=item.moderator_id,
        note=item.note,
    )


class ReportRepository:
    def create(self, report: Report) -> None:
        guard = guard_hash(report.reporter_id, report.target_type, report.target_id)
        item = ReportItem(
            keys.report_pk(report.id),
            keys.REPORT_SK,
            entity="report",
            report_id=report.id,
            reporter_id=report.reporter_id,
            owner_id=report.owner_id,
            target_type=report.target_type.value,
            target_id=report.target_id,
            reason=report.reason.value,
            details=report.details,
            status=report.status.value,
            guard_hash=guard,
            created_at=report.created_at,
            gsi1pk=keys.reports_by_status_pk(report.status.value),
            gsi1sk=queue_sort_key(report),
            gsi2pk=keys.reports_on_target_pk(report.target_type.value, report.target_id),
            gsi2sk=f"{isoformat(report.created_at)}#{report.id}",
        )
        with translate_errors():
            try:
                with transaction() as tx:
                    tx.save(
                        OpenReportItem(
                            keys.open_report_pk(guard), keys.POINTER_SK, entity="open_report", report_id=report.id
                        ),
                        condition=OpenReportItem.pk.does_not_exist(),
                        label="guard",
                    )
                    tx.save(item, condition=ReportItem.pk.does_not_exist(), label="report")
                    tx.save(
                        MyReportItem(
                            keys.account_pk(report.reporter_id),
                            keys.my_report_sk(isoformat(report.created_at), report.id),
                            entity="my_report",
                            report_id=report.id,
                            created_at=report.created_at,
                        )
                    )
            except TransactWriteError as exc:
                if "guard" in tx.failures(exc):
                    raise ReportExistsError() from exc
                raise

    def get(self, report_id: str) -> Report | None:
        with translate_errors():
            try:
                item = ReportItem.get(keys.report_pk(report_id), keys.REPORT_SK, consistent_read=True)
            except ReportItem.DoesNotExist:
                return None
        return _to_report(item)

    def by_reporter(self, reporter_id: str, *, limit: int, after: str | None) -> tuple[list[Report], str | None]:
        """The reports an account made, newest first: its own listing rows (one Query of its
        partition), then the reports themselves for their current status (one BatchGetItem)."""
        condition: Condition = MyReportItem.sk.startswith(keys.MY_REPORT_PREFIX)
        if after:
            # Inclusive of the cursor's own row, which is dropped below.
            condition = MyReportItem.sk.between(keys.MY_REPORT_PREFIX, after)
        with translate_errors():
            rows = [
                row
                for row in MyReportItem.query(
                    keys.account_pk(reporter_id), condition, scan_index_forward=False, limit=limit + 2
                )
                if row.sk != after
            ]
            listed = rows[:limit]
            found = {
                item.report_id: _to_report(item)
                for item in ReportItem.batch_get([(keys.report_pk(row.report_id), keys.REPORT_SK) for row in listed])
            }
        reports = [found[row.report_id] for row in listed if row.report_id in found]
        next_cursor = listed[-1].sk if len(rows) > limit else None
        return reports, next_cursor

    def page(
        self, status: ReportStatus, *, limit: int, after: str | None, reason: ReportReason | None = None
    ) -> tuple[list[Report], str | None]:
        """One page of the queue for a status, in queue order; with `reason`, only reports of that
        reason (a filter on the status partition: the query reads on until the page is full or the
        partition ends)."""
        items: list[ReportItem] = []
        with translate_errors():
            for item in ReportItem.by_status.query(
                keys.reports_by_status_pk(status.value),
                ReportItem.gsi1sk < after if after else None,
                filter_condition=ReportItem.reason == reason.value if reason else None,
                scan_index_forward=False,
                page_size=max(limit * 2, 25),
            ):
                items.append(item)
                if len(items) > limit:
                    break
        page = items[:limit]
        next_cursor = page[-1].gsi1sk if len(items) > limit else None
        return [_to_report(item) for item in page], next_cursor

    def on_target(self, target_type: TargetType, target_id: str, *, limit: int = 100) -> list[Report]:
        """Every report naming one item, newest first: its report history."""
        with translate_errors():
            items = ReportItem.by_target.query(
                keys.reports_on_target_pk(target_type.value, target_id), scan_index_forward=False, limit=limit
            )
            return [_to_report(item) for item in items]

    def resolve(
        self, report: Report, *, action: ModerationAction, moderator_id: str, note: str, at: datetime
    ) -> Report:
        """Marks the report resolved, frees its reporter to report again, and writes the audit entry,
        in one transaction; a report resolved already is a conflict."""
        audit_id = new_id(IdPrefix.REPORT)
        at_iso = isoformat(at)
        item = ReportItem(keys.report_pk(report.id), keys.REPORT_SK)
        with translate_errors():
            try:
                with transaction() as tx:
                    tx.update(
                        item,
                        actions=[
                            ReportItem.status.set(ReportStatus.RESOLVED.value),
                            ReportItem.resolved_at.set(at),
                            ReportItem.action.set(action.value),
                            ReportItem.moderator_id.set(moderator_id),
                            ReportItem.note.set(note),
                            ReportItem.gsi1pk.set(keys.reports_by_status_pk(ReportStatus.RESOLVED.value)),
                            ReportItem.gsi1sk.set(
                                queue_sort_key(report.model_copy(update={"status": ReportStatus.RESOLVED}))
                            ),
                        ],
                        condition=ReportItem.status == ReportStatus.OPEN.value,
                        label="report",
                    )
                    tx.delete(
                        OpenReportItem(
                            keys.open_report_pk(guard_hash(report.reporter_id, report.target_type, report.target_id)),
                            keys.POINTER_SK,
                        )
                    )
                    tx.save(
                        ModerationAuditItem(
                            keys.moderation_audit_pk(at_iso[:7]),
                            keys.moderation_audit_sk(at_iso, audit_id),
                            entity="moderation_audit",
                            audit_id=audit_id,
                            moderator_id=moderator_id,
                            action=action.value,
                            report_id=report.id,
                            target_type=report.target_type.value,
                            target_id=report.target_id,
                            owner_id=report.owner_id,
                            note=note,
                            at=at,
                        )
                    )
            except TransactWriteError as exc:
                raise errors.ConflictError("This report is resolved already.") from exc
        self._count_outcome(report.reporter_id, upheld=action in UPHELD_ACTIONS)
        return report.model_copy(
            update={
                "status": ReportStatus.RESOLVED,
                "resolved_at": at,
                "action": action,
                "moderator_id": moderator_id,
                "note": note,
            }
        )

    def _count_outcome(self, reporter_id: str, *, upheld: bool) -> None:
        """Adds the resolution to the reporter's record, on their own account row (so their purge
        removes it), unless that account is gone. Best effort: a count missed by a crash between
        the resolution and this write only makes a reporter look less trusted than they are."""
        counter = AccountItem.reports_upheld if upheld else AccountItem.reports_dismissed
        with translate_errors():
            try:
                AccountItem(keys.account_pk(reporter_id), keys.ACCOUNT_SK).update(
                    actions=[counter.add(1)], condition=AccountItem.pk.exists()
                )
            except UpdateError as exc:
                if not is_conditional_failure(exc):
                    raise

    def reporter_record(self, reporter_id: str) -> ReporterRecord:
        with translate_errors():
            try:
                item = AccountItem.get(
                    keys.account_pk(reporter_id),
                    keys.ACCOUNT_SK,
                    attributes_to_get=["reports_upheld", "reports_dismissed"],
                    consistent_read=True,
                )
            except AccountItem.DoesNotExist:
                return ReporterRecord(upheld=0, dismissed=0)
        return ReporterRecord(upheld=int(item.reports_upheld or 0), dismissed=int(item.reports_dismissed or 0))

    def add_minor_safety_reporter(
        self, target_type: TargetType, target_id: str, reporter_hash: str, *, now: datetime, window_seconds: int
    ) -> int:
        """Records a distinct reporter of a minor-safety report on the target and answers how many
        distinct reporters it has in this fixed window and the one before (so a burst that straddles
        a window's end still counts whole)."""
        pk = keys.report_signal_pk(target_type.value, target_id)
        epoch = int(now.timestamp())
        start = epoch - epoch % window_seconds
        item = ReportSignalItem(pk, keys.rate_window_sk(start))
        with translate_errors():
            item.update(
                actions=[
                    ReportSignalItem.reporters.add({reporter_hash}),
                    ReportSignalItem.entity.set("report_signal"),
                    ReportSignalItem.expires_at.set(start + 2 * window_seconds + 3600),
                ]
            )
            try:
                previous = ReportSignalItem.get(pk, keys.rate_window_sk(start - window_seconds), consistent_read=True)
                earlier = set(previous.reporters or ())
            except ReportSignalItem.DoesNotExist:
                earlier = set()
        return len(set(item.reporters or ()) | earlier)

    def audit_entries(self, month: str) -> list[dict[str, str]]:
        with translate_errors():
            return [
                {
                    "moderator_id": item.moderator_id,
                    "action": item.action,
                    "report_id": item.report_id or "",
                    "target_type": item.target_type,
                    "owner_id": item.owner_id,
                    "target_id": item.target_id,
                    "note": item.note,
                    "at": isoformat(item.at),
                }
                for item in ModerationAuditItem.query(keys.moderation_audit_pk(month))
            ]
