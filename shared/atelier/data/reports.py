"""Reports of content and their resolution. A report lives under its own key (it concerns someone
else's content); moderators list them by status on GSI1, never with a Scan. A guard item keyed on
(reporter, target) allows one open report per reporter and target."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from atelier import errors
from atelier.clock import isoformat
from atelier.data import keys
from atelier.data.base import transaction, translate_errors
from atelier.data.items import ModerationAuditItem, OpenReportItem, ReportItem
from atelier.ids import IdPrefix, new_id
from atelier.models.gallery import ModerationAction, Report, ReportReason, ReportStatus, TargetType


class ReportExistsError(errors.ConflictError):
    code = "report_exists"
    default_message = "You have already reported this; it is being reviewed."


def guard_hash(reporter_id: str, target_type: TargetType, target_id: str) -> str:
    return hashlib.sha256(f"{reporter_id}\n{target_type.value}\n{target_id}".encode()).hexdigest()


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
            gsi1sk=f"{isoformat(report.created_at)}#{report.id}",
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

    def page(self, status: ReportStatus, *, limit: int, after: str | None) -> tuple[list[Report], str | None]:
        condition = None
        if after:
            condition = ReportItem.gsi1sk < after
        found: list[Report] = []
        with translate_errors():
            results = ReportItem.by_status.query(
                keys.reports_by_status_pk(status.value),
                condition,
                scan_index_forward=False,
                limit=limit + 1,
            )
            items = list(results)
        for item in items[:limit]:
            found.append(_to_report(item))
        next_cursor = f"{isoformat(found[-1].created_at)}#{found[-1].id}" if len(items) > limit and found else None
        return found, next_cursor

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
        return report.model_copy(
            update={
                "status": ReportStatus.RESOLVED,
                "resolved_at": at,
                "action": action,
                "moderator_id": moderator_id,
                "note": note,
            }
        )

    def audit_entries(self, month: str) -> list[dict[str, str]]:
        with translate_errors():
            return [
                {
                    "moderator_id": item.moderator_id,
                    "action": item.action,
                    "report_id": item.report_id,
                    "target_id": item.target_id,
                    "note": item.note,
                    "at": isoformat(item.at),
                }
                for item in ModerationAuditItem.query(keys.moderation_audit_pk(month))
            ]
