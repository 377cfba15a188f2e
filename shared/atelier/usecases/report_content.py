"""Reports of content (P7): anyone signed in may report a public or shared asset or workflow; one
open report per reporter and target. A minor-safety report hides the item at once, pending review
(P17)."""

from __future__ import annotations

from atelier import errors
from atelier.clock import Clock
from atelier.data.gallery import GalleryRepository, asset_exposure
from atelier.data.moderation import ModerationRepository
from atelier.data.rate_limits import RateLimiter
from atelier.data.reports import ReportRepository
from atelier.data.shares import ShareRepository
from atelier.data.workflows import WorkflowRepository
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.integrations.public_media import PublicMedia
from atelier.models.accounts import AccountStatus
from atelier.models.gallery import Report, ReportReason, ReportStatus, TargetType
from atelier.models.generation import Visibility
from atelier.observability import logger
from atelier.settings import Settings
from atelier.usecases.manage_shares import resolve_share
from atelier.usecases.publish_media import withdraw


def _target_owner(
    target_type: TargetType,
    target_id: str,
    owner_hint: str | None,
    *,
    shares: ShareRepository,
    workflows: WorkflowRepository,
    gallery: GalleryRepository,
    clock: Clock,
) -> tuple[str, str]:
    """(owner id, target id) of something the reporter can see: public, or reached by a live link.
    Anything else is 404, so a report never confirms that a private item exists."""
    if not (has_prefix(target_id, IdPrefix.ASSET) or has_prefix(target_id, IdPrefix.WORKFLOW)):
        share = resolve_share(target_id, shares=shares, clock=clock)
        if share.target_type is not target_type:
            raise errors.NotFoundError()
        return share.account_id, share.target_id
    if target_type is TargetType.WORKFLOW:
        workflow = workflows.find(target_id) if has_prefix(target_id, IdPrefix.WORKFLOW) else None
        if workflow is None or workflow.visibility is not Visibility.PUBLIC:
            raise errors.NotFoundError()
        return workflow.account_id, workflow.id
    exposure = asset_exposure(owner_hint, target_id) if owner_hint and has_prefix(target_id, IdPrefix.ASSET) else None
    if exposure is None or exposure.visibility is not Visibility.PUBLIC:
        raise errors.NotFoundError()
    owner = gallery.public_owners([exposure.owner_id]).get(exposure.owner_id)
    if owner is None or owner.status is AccountStatus.DELETION_SCHEDULED:
        raise errors.NotFoundError()
    return exposure.owner_id, exposure.asset_id


def report_content(
    reporter_id: str,
    target_type: TargetType,
    target_id: str,
    reason: ReportReason,
    details: str | None,
    *,
    owner_id: str | None,
    reports: ReportRepository,
    moderation: ModerationRepository,
    shares: ShareRepository,
    workflows: WorkflowRepository,
    gallery: GalleryRepository,
    rate_limiter: RateLimiter,
    public_media: PublicMedia,
    clock: Clock,
    settings: Settings,
) -> Report:
    now = clock.now()
    rate_limiter.hit("report", reporter_id, limit=settings.reports_per_hour, window_seconds=3600, now=now)
    owner, resolved_id = _target_owner(
        target_type, target_id, owner_id, shares=shares, workflows=workflows, gallery=gallery, clock=clock
    )
    report = Report(
        id=new_id(IdPrefix.REPORT),
        reporter_id=reporter_id,
        owner_id=owner,
        target_type=target_type,
        target_id=resolved_id,
        reason=reason,
        details=details,
        status=ReportStatus.OPEN,
        created_at=now,
    )
    reports.create(report)
    if reason is ReportReason.MINOR_SAFETY:
        if target_type is TargetType.ASSET:
            moderation.hold_asset(owner, resolved_id)
            withdraw(owner, resolved_id, public_media=public_media)
        else:
            workflows.set_takedown(owner, resolved_id, removed=None, under_review=True)
        logger.warning("content held for review", extra={"report_id": report.id, "target_type": target_type.value})
    return report
