"""What a moderator looks at before resolving a report (P7): the report, the item it names as it
stands now (its media through short-lived links, never for quarantined content), its owner's
status, and every report ever made on that item."""

from __future__ import annotations

from dataclasses import dataclass

from atelier import errors
from atelier.data.accounts import AccountRepository
from atelier.data.moderation import reported_asset
from atelier.data.reports import ReportRepository
from atelier.data.workflows import WorkflowRepository
from atelier.ids import IdPrefix, has_prefix
from atelier.integrations.storage import ObjectStore
from atelier.models.accounts import AccountStatus
from atelier.models.gallery import ItemState, Report, ReportedItem, TargetType
from atelier.settings import Settings


@dataclass(frozen=True)
class ReportReview:
    report: Report
    item: ReportedItem
    media_url: str | None
    preview_url: str | None
    # None once the owner's account is purged.
    owner_status: AccountStatus | None
    history: list[Report]


def review_report(
    report_id: str,
    *,
    reports: ReportRepository,
    accounts: AccountRepository,
    workflows: WorkflowRepository,
    storage: ObjectStore,
    settings: Settings,
) -> ReportReview:
    report = reports.get(report_id) if has_prefix(report_id, IdPrefix.REPORT) else None
    if report is None:
        raise errors.NotFoundError()
    item = _reported_item(report, workflows=workflows)
    owner = accounts.get(report.owner_id)

    def url(key: str | None) -> str | None:
        return storage.presigned_get(key, settings.download_url_seconds) if key else None

    return ReportReview(
        report=report,
        item=item,
        media_url=url(item.media_key),
        preview_url=url(item.preview_key),
        owner_status=owner.status if owner else None,
        history=reports.on_target(report.target_type, report.target_id),
    )


def _reported_item(report: Report, *, workflows: WorkflowRepository) -> ReportedItem:
    if report.target_type is TargetType.ASSET:
        return reported_asset(report.owner_id, report.target_id)
    workflow = workflows.get(report.owner_id, report.target_id)
    if workflow is None:
        return ReportedItem(
            target_type=report.target_type, target_id=report.target_id, owner_id=report.owner_id, state=ItemState.GONE
        )
    if workflow.removed:
        state = ItemState.REMOVED
    elif workflow.under_review:
        state = ItemState.UNDER_REVIEW
    else:
        state = ItemState.LIVE
    return ReportedItem(
        target_type=report.target_type,
        target_id=report.target_id,
        owner_id=report.owner_id,
        state=state,
        visibility=workflow.visibility,
        name=workflow.name,
    )
