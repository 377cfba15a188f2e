"""Response models of the moderation console's reads: a report with the item it names and that
item's report history, and the audit trail."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from atelier.api.schemas.gallery import AdminReportResponse
from atelier.clock import isoformat
from atelier.models.gallery import AuditEntry
from atelier.usecases.read_audit_trail import AuditTrailPage
from atelier.usecases.review_report import ReportReview


class ReportedItemResponse(BaseModel):
    target_type: Literal["asset", "workflow"]
    target_id: str
    owner_id: str
    state: Literal["live", "under_review", "removed", "quarantined", "gone"]
    visibility: Literal["private", "public"] | None
    kind: str | None
    content_type: str | None
    name: str | None
    media_url: str | None
    preview_url: str | None


class ReportedOwnerResponse(BaseModel):
    id: str
    # None once the account is purged.
    status: Literal["active", "restricted", "suspended", "deletion_scheduled"] | None


class AdminReportDetailResponse(BaseModel):
    report: AdminReportResponse
    item: ReportedItemResponse
    owner: ReportedOwnerResponse
    history: list[AdminReportResponse]

    @classmethod
    def of(cls, review: ReportReview) -> AdminReportDetailResponse:
        item = review.item
        return cls(
            report=AdminReportResponse.of(review.report),
            item=ReportedItemResponse(
                target_type=item.target_type.value,
                target_id=item.target_id,
                owner_id=item.owner_id,
                state=item.state.value,
                visibility=item.visibility.value if item.visibility else None,
                kind=item.kind,
                content_type=item.content_type,
                name=item.name,
                media_url=review.media_url,
                preview_url=review.preview_url,
            ),
            owner=ReportedOwnerResponse(
                id=item.owner_id, status=review.owner_status.value if review.owner_status else None
            ),
            history=[AdminReportResponse.of(report) for report in review.history],
        )


class AuditEntryResponse(BaseModel):
    id: str
    at: str
    moderator_id: str
    moderator_email: str | None
    action: str
    report_id: str | None
    target_type: str
    target_id: str
    owner_id: str
    note: str

    @classmethod
    def of(cls, entry: AuditEntry, moderator_email: str | None) -> AuditEntryResponse:
        return cls(
            id=entry.id,
            at=isoformat(entry.at),
            moderator_id=entry.moderator_id,
            moderator_email=moderator_email,
            action=entry.action,
            report_id=entry.report_id,
            target_type=entry.target_type,
            target_id=entry.target_id,
            owner_id=entry.owner_id,
            note=entry.note,
        )


class AuditPage(BaseModel):
    month: str
    items: list[AuditEntryResponse]
    next_cursor: str | None

    @classmethod
    def of(cls, page: AuditTrailPage) -> AuditPage:
        return cls(
            month=page.month,
            items=[AuditEntryResponse.of(entry, page.moderators.get(entry.moderator_id)) for entry in page.entries],
            next_cursor=page.next_cursor,
        )
