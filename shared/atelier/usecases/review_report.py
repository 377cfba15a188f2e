"""What a moderator looks at before resolving a report (P7): the report, the item it names as it
stands now (its media through short-lived links, never for quarantined content), its owner's
status, and every report ever made on that item."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier import errors
from atelier.data.accounts import AccountRepository
from atelier.data.moderation import ModerationRepository
from atelier.data.reports import ReportRepository
from atelier.data.workflows import WorkflowRepository
from atelier.ids import IdPrefix, has_prefix
from atelier.integrations.storage import ObjectStore
from atelier.models.accounts import AccountStatus
from atelier.models.gallery import ItemState, Report, ReportedItem, TargetType
from atelier.settings import Settings

if TYPE_CHECKING:
    from atelier.services import Services


@dataclass(frozen=True)
class ReportReview:
    report: Report
    item: ReportedItem
    media_url: str | None
    preview_url: str | None
    # None once the owner's account is purged.
    owner_status: AccountStatus | None
    history: list[Report]


@dataclass(frozen=True)
class ReviewReportDeps:
    """What `review_report` works with, built once per function (`Services.dependencies`)."""

    reports: ReportRepository
    accounts: AccountRepository
    moderation: ModerationRepository
    workflows: WorkflowRepository
    storage: ObjectStore
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> ReviewReportDeps:
        return cls(
            reports=services.reports,
            accounts=services.accounts,
            moderation=services.moderation_actions,
            workflows=services.workflows,
            storage=services.asset_storage,
            settings=services.settings,
        )


def review_report(
    deps: ReviewReportDeps,
    report_id: str,
) -> ReportReview:
    report = deps.reports.get(report_id) if has_prefix(report_id, IdPrefix.REPORT) else None
    if report is None:
        raise errors.NotFoundError()
    item = _reported_item(report, moderation=deps.moderation, workflows=deps.workflows)
    owner = deps.accounts.get(report.owner_id)

    def url(key: str | None) -> str | None:
        # Quarantined content is never served, to moderators included (P17).
        if key is None or item.state is ItemState.QUARANTINED:
            return None
        return deps.storage.presigned_get(key, deps.settings.media.download_url_seconds)

    return ReportReview(
        report=report,
        item=item,
        media_url=url(item.media_key),
        preview_url=url(item.preview_key),
        owner_status=owner.status if owner else None,
        history=deps.reports.on_target(report.target_type, report.target_id),
    )


def _reported_item(report: Report, *, moderation: ModerationRepository, workflows: WorkflowRepository) -> ReportedItem:
    if report.target_type is TargetType.ASSET:
        item = moderation.reported_asset(report.owner_id, report.target_id)
        if item.state is ItemState.GONE and moderation.quarantine_record(report.target_id) is not None:
            # Stopped by the automatic checks before it ever became an asset: only its record exists.
            return item.model_copy(update={"state": ItemState.QUARANTINED})
        return item
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
