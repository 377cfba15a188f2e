"""Moderation (P7, P17): the admin role, the report queue, and resolving a report. Every action is
audited with the resolution itself (one transaction); removal hides the item from every read path
in the same write; quarantine moves the object out of the owner's prefix and records what a report
to the authorities needs. A suspension stands until a moderator lifts it (P19), also audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.moderation import ModerationRepository
from atelier.data.reports import ReportRepository
from atelier.data.workflows import WorkflowRepository
from atelier.ids import IdPrefix, has_prefix
from atelier.integrations.public_media import PublicMedia
from atelier.integrations.storage import ObjectStore
from atelier.models.accounts import Account
from atelier.models.gallery import ModerationAction, Report, ReportReason, ReportStatus, TargetType
from atelier.observability import logger, record_metric
from atelier.settings import Settings
from atelier.usecases.publish_media import republish, withdraw, withdraw_account

if TYPE_CHECKING:
    from atelier.services import Services


def quarantine_key(account_id: str, asset_id: str) -> str:
    """Outside `accounts/<id>/`: only moderators reach it, and the account purge leaves it."""
    return f"quarantine/{account_id}/{asset_id}"


def is_admin_address(email: str, settings: Settings) -> bool:
    return email.strip().lower() in {admin.strip().lower() for admin in settings.sign_in.admin_emails}


def is_admin(account_id: str | None, *, accounts: AccountRepository, settings: Settings) -> bool:
    if account_id is None or not settings.sign_in.admin_emails:
        return False
    account = accounts.get(account_id)
    return account is not None and is_admin_address(account.email, settings)


def require_admin(account_id: str | None, *, accounts: AccountRepository, settings: Settings) -> str:
    """The admin's account id. Anyone else gets 404, so the admin routes are not confirmed to exist."""
    if not is_admin(account_id, accounts=accounts, settings=settings):
        raise errors.NotFoundError("No such route.")
    assert account_id is not None
    return account_id


def list_reports(
    status: ReportStatus,
    *,
    reason: ReportReason | None = None,
    limit: int,
    cursor: str | None,
    reports: ReportRepository,
) -> tuple[list[Report], str | None]:
    return reports.page(status, limit=limit, after=cursor, reason=reason)


@dataclass(frozen=True)
class ResolveReportDeps:
    """What `resolve_report` works with, built once per function (`Services.dependencies`)."""

    reports: ReportRepository
    moderation: ModerationRepository
    workflows: WorkflowRepository
    storage: ObjectStore
    public_media: PublicMedia
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> ResolveReportDeps:
        return cls(
            reports=services.reports,
            moderation=services.moderation_actions,
            workflows=services.workflows,
            storage=services.asset_storage,
            public_media=services.public_media,
            clock=services.clock,
            settings=services.settings,
        )


def resolve_report(
    deps: ResolveReportDeps,
    moderator_id: str,
    report_id: str,
    action: ModerationAction,
    note: str,
) -> Report:
    report = deps.reports.get(report_id) if has_prefix(report_id, IdPrefix.REPORT) else None
    if report is None:
        raise errors.NotFoundError()
    if report.status is not ReportStatus.OPEN:
        raise errors.ConflictError("This report is resolved already.")
    now = deps.clock.now()
    owner, target = report.owner_id, report.target_id
    if action is ModerationAction.QUARANTINE and report.target_type is not TargetType.ASSET:
        raise errors.InvalidFieldError(
            "Only assets can be quarantined.", details=[{"field": "action", "location": "body"}]
        )

    if action is ModerationAction.DISMISS:
        if report.target_type is TargetType.ASSET:
            deps.moderation.release_asset(owner, target)
            # A held public item goes back in the gallery: its public copies are made again.
            republish(owner, target, public_media=deps.public_media)
        else:
            deps.workflows.set_takedown(owner, target, removed=None, under_review=False)
    elif action in (ModerationAction.REMOVE, ModerationAction.SUSPEND_ACCOUNT):
        if report.target_type is TargetType.ASSET:
            deps.moderation.remove_asset(owner, target)
        else:
            deps.workflows.set_takedown(owner, target, removed=True, under_review=False)
        if action is ModerationAction.SUSPEND_ACCOUNT:
            deps.moderation.suspend_account(owner, now)
    else:
        _quarantine(
            report,
            moderator_id,
            note,
            moderation=deps.moderation,
            storage=deps.storage,
            clock=deps.clock,
            settings=deps.settings,
        )
    # What is taken down leaves the public media at once; a suspended account's every item does.
    if action is ModerationAction.SUSPEND_ACCOUNT:
        withdraw_account(owner, public_media=deps.public_media)
    elif action is not ModerationAction.DISMISS and report.target_type is TargetType.ASSET:
        withdraw(owner, target, public_media=deps.public_media)
    resolved = deps.reports.resolve(report, action=action, moderator_id=moderator_id, note=note, at=now)
    logger.info("report resolved", extra={"report_id": report.id, "action": action.value})
    record_metric("ReportsResolved", action=action.value)
    return resolved


def lift_suspension(
    moderator_id: str,
    account_id: str,
    note: str,
    *,
    accounts: AccountRepository,
    moderation: ModerationRepository,
    clock: Clock,
) -> Account:
    """Only a moderator ends a suspension (P19), with a note, audited in the same write. The
    account's public items and share links show again at once: every public read path reads the
    owner's suspension live, and nothing else was changed when it was suspended."""
    if not has_prefix(account_id, IdPrefix.ACCOUNT) or accounts.get(account_id) is None:
        raise errors.NotFoundError()
    moderation.lift_suspension(account_id, moderator_id=moderator_id, note=note, at=clock.now())
    logger.info("suspension lifted")
    return accounts.require(account_id)


def _quarantine(
    report: Report,
    moderator_id: str,
    note: str,
    *,
    moderation: ModerationRepository,
    storage: ObjectStore,
    clock: Clock,
    settings: Settings,
) -> None:
    from atelier.data.gallery import asset_exposure

    exposure = asset_exposure(report.owner_id, report.target_id)
    if exposure is None and moderation.quarantine_record(report.target_id) is not None:
        return  # quarantined by the automatic checks before it ever became an asset: confirmed as is
    if exposure is None:
        raise errors.NotFoundError()
    destination = quarantine_key(report.owner_id, report.target_id)
    if exposure.object_key != destination:
        body = storage.get(exposure.object_key, settings.generation.output_max_bytes)
        if body is not None:
            storage.put(destination, body, exposure.content_type, metadata={"report-id": report.id})
    moderation.quarantine_asset(
        report.owner_id,
        report.target_id,
        quarantine_key=destination,
        report=report,
        moderator_id=moderator_id,
        note=note,
        at=clock.now(),
    )
    if exposure.object_key != destination:
        # The previews are derived from the quarantined content: they go with it.
        storage.delete([key for key in (exposure.object_key, exposure.thumbnail_key, exposure.poster_key) if key])
