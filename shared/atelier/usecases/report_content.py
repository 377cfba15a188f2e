"""Reports of content (P7): an account that accepted the terms may report a public or shared asset
or workflow, named by its id (or a share link's token); one open report per reporter and target.

A minor-safety report jumps the moderators' queue, and hides the item at once, pending review (P17),
only on a signal stronger than one account's word: several distinct reporters within a window, or a
reporter with a good record (settings `report_hold_*`, `report_trusted_*`). A burst of reports
alerts the moderators (an email to each admin address, and a metric)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.assets import AssetRepository
from atelier.data.gallery import GalleryRepository, asset_exposure
from atelier.data.moderation import ModerationRepository
from atelier.data.policies import PolicyRepository
from atelier.data.rate_limits import RateLimiter, hashed_subject
from atelier.data.reports import ReporterRecord, ReportRepository
from atelier.data.shares import ShareRepository
from atelier.data.workflows import WorkflowRepository
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.integrations.email import Mailer
from atelier.integrations.public_media import PublicMedia
from atelier.models.accounts import AccountStatus
from atelier.models.email import EmailKind, OutgoingEmail
from atelier.models.gallery import Report, ReportReason, ReportStatus, TargetType
from atelier.models.generation import Visibility
from atelier.observability import logger, metrics, record_metric
from atelier.settings import Settings
from atelier.usecases.manage_shares import resolve_share
from atelier.usecases.publish_media import withdraw
from atelier.usecases.require_consent import require_consent

if TYPE_CHECKING:
    from atelier.services import Services

_BURST_SCOPE = "report_burst"


def _public_owner_or_404(owner_id: str, gallery: GalleryRepository) -> None:
    owner = gallery.public_owners([owner_id]).get(owner_id)
    if owner is None or not owner.status.shows_public_content:
        raise errors.NotFoundError()


def _target_owner(
    target_type: TargetType,
    target_id: str,
    *,
    assets: AssetRepository,
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
        if workflow is None or workflow.visibility is not Visibility.PUBLIC or workflow.taken_down:
            raise errors.NotFoundError()
        _public_owner_or_404(workflow.account_id, gallery)
        return workflow.account_id, workflow.id
    owner_id = assets.owner_of(target_id) if has_prefix(target_id, IdPrefix.ASSET) else None
    exposure = asset_exposure(owner_id, target_id) if owner_id else None
    if exposure is None or exposure.visibility is not Visibility.PUBLIC or exposure.taken_down:
        raise errors.NotFoundError()
    _public_owner_or_404(exposure.owner_id, gallery)
    return exposure.owner_id, exposure.asset_id


def is_trusted_reporter(record: ReporterRecord, settings: Settings) -> bool:
    resolved = record.upheld + record.dismissed
    return (
        record.upheld >= settings.community.report_trusted_min_upheld
        and record.upheld >= settings.community.report_trusted_min_precision * resolved
    )


@dataclass(frozen=True)
class ReportContentDeps:
    """What `report_content` works with, built once per function (`Services.dependencies`)."""

    accounts: AccountRepository
    policies: PolicyRepository
    assets: AssetRepository
    reports: ReportRepository
    moderation: ModerationRepository
    shares: ShareRepository
    workflows: WorkflowRepository
    gallery: GalleryRepository
    rate_limiter: RateLimiter
    mailer: Mailer
    public_media: PublicMedia
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> ReportContentDeps:
        return cls(
            accounts=services.accounts,
            policies=services.policies,
            assets=services.assets,
            reports=services.reports,
            moderation=services.moderation_actions,
            shares=services.shares,
            workflows=services.workflows,
            gallery=services.gallery,
            rate_limiter=services.rate_limiter,
            mailer=services.mailer,
            public_media=services.public_media,
            clock=services.clock,
            settings=services.settings,
        )


def report_content(
    deps: ReportContentDeps,
    reporter_id: str,
    target_type: TargetType,
    target_id: str,
    reason: ReportReason,
    details: str | None,
) -> Report:
    now = deps.clock.now()
    reporter = deps.accounts.require(reporter_id)
    require_consent(reporter, policies=deps.policies, clock=deps.clock, settings=deps.settings)
    if reporter.status is AccountStatus.SUSPENDED:
        raise errors.AccountSuspendedError()
    deps.rate_limiter.hit(
        "report", reporter_id, limit=deps.settings.community.reports_per_hour, window_seconds=3600, now=now
    )
    owner, resolved_id = _target_owner(
        target_type,
        target_id,
        assets=deps.assets,
        shares=deps.shares,
        workflows=deps.workflows,
        gallery=deps.gallery,
        clock=deps.clock,
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
    deps.reports.create(report)
    record_metric("ReportsOpened", reason=reason.value)
    if reason is ReportReason.MINOR_SAFETY:
        _hold_on_a_strong_signal(
            report,
            reports=deps.reports,
            moderation=deps.moderation,
            workflows=deps.workflows,
            public_media=deps.public_media,
            settings=deps.settings,
        )
    alert_on_a_burst(rate_limiter=deps.rate_limiter, mailer=deps.mailer, clock=deps.clock, settings=deps.settings)
    return report


def _hold_on_a_strong_signal(
    report: Report,
    *,
    reports: ReportRepository,
    moderation: ModerationRepository,
    workflows: WorkflowRepository,
    public_media: PublicMedia,
    settings: Settings,
) -> None:
    reporters = reports.add_minor_safety_reporter(
        report.target_type,
        report.target_id,
        hashed_subject(report.reporter_id),
        now=report.created_at,
        window_seconds=settings.community.report_hold_window_seconds,
    )
    trusted = is_trusted_reporter(reports.reporter_record(report.reporter_id), settings)
    if reporters < settings.community.report_hold_min_reporters and not trusted:
        return
    if report.target_type is TargetType.ASSET:
        moderation.hold_asset(report.owner_id, report.target_id)
        withdraw(report.owner_id, report.target_id, public_media=public_media)
    else:
        workflows.set_takedown(report.owner_id, report.target_id, removed=None, under_review=True)
    logger.warning(
        "content held for review",
        extra={"report_id": report.id, "target_type": report.target_type.value, "distinct_reporters": reporters},
    )


def alert_on_a_burst(*, rate_limiter: RateLimiter, mailer: Mailer, clock: Clock, settings: Settings) -> None:
    """Counts the report in the burst window; the one that fills it alerts the moderators, once."""
    window = settings.community.report_burst_window_seconds
    try:
        counted = rate_limiter.count(_BURST_SCOPE, "all", window_seconds=window, now=clock.now())
    except errors.DependencyUnavailableError:
        # The report is recorded; failing it now would only make its retry a conflict.
        logger.warning("report burst not counted")
        return
    threshold = settings.community.report_burst_threshold
    if counted != threshold:
        return
    metrics.add_metric(name="ReportBurst", unit=MetricUnit.Count, value=1)
    logger.warning("report burst", extra={"reports": threshold, "window_seconds": window})
    text = (
        f"Atelier received {threshold} reports of content within {window // 60} minutes.\n\n"
        "Review the open reports in the moderation console (GET /v1/admin/reports); minor-safety "
        "reports are listed first."
    )
    for address in settings.sign_in.admin_emails:
        message = OutgoingEmail(
            to=address.strip(), kind=EmailKind.MODERATION, subject="Atelier: a burst of reports", text=text
        )
        try:
            mailer.send(message)
        except errors.DependencyUnavailableError:
            logger.warning("moderator alert not sent", extra={"email_kind": EmailKind.MODERATION.value})
