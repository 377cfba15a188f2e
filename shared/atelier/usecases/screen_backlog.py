"""Screening the backlog: published or shared assets made before outputs were screened (P17).

Such an asset has neither `screened_at` nor a recorded provenance, and no public read path shows it
(the gallery's query, share links and the public copies all leave it out) until it passes: fail
closed from the moment this code is deployed, whether or not the sweep has run. The sweep (the
`screen-unscreened-media` schedule) walks every account through the sharded account index
(Queries, never a Scan) and, for each such asset that is public or behind a live share link:

1. withdraws its public copies (URLs handed out earlier stop working at once);
2. checks it as an output is checked (`OutputSafety.moderation`: known-bad hashes, then Rekognition);
3. acts on the verdict:
   - allowed: marked screened; a public one is listed again and its public copies made anew;
   - restricted: marked screened with the reason and made private (never published nor shared);
   - blocked: removed, as a moderator's "remove" does (its owner sees it as removed);
   - minor safety: quarantined exactly as the console does (the bytes moved out of the account, the
     legal-report record with an open report from the automatic checks, an alert), never served;
   - unreadable (no object, or one that does not decode): kept private with that reason.

The moderation service down stops the run with a retryable error (the task is counted as failed
and alarmed on); what was not checked stays hidden and the next run tries again. Older files are
not signed after the fact: their bytes (and the owner's export of them) stay as they were.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from atelier import errors
from atelier.clock import Clock
from atelier.data import keys
from atelier.data.gallery import UnscreenedAsset, unscreened_assets
from atelier.data.moderation import ModerationRepository
from atelier.data.policy_notices import PolicyNoticeRepository
from atelier.data.shares import ShareRepository
from atelier.ids import IdPrefix, derived_id
from atelier.integrations.media_moderation import MediaModerationUnavailableError, Verdict
from atelier.integrations.public_media import PublicMedia
from atelier.integrations.storage import ObjectStore
from atelier.models.gallery import Report, ReportReason, ReportStatus, TargetType
from atelier.observability import logger
from atelier.settings import Settings
from atelier.usecases.moderate import quarantine_key
from atelier.usecases.publish_media import republish, withdraw
from atelier.usecases.screen_media import AUTOMATIC_REVIEWER, OutputSafety

if TYPE_CHECKING:
    from atelier.services import Services

UNREADABLE = "restricted:unreadable"
_ACCOUNT_PAGE = 100


@dataclass(frozen=True)
class ScreenBacklogDeps:
    """What `screen_unscreened_media` works with, built once per function (`Services.dependencies`)."""

    accounts: PolicyNoticeRepository
    shares: ShareRepository
    moderation: ModerationRepository
    safety: OutputSafety
    storage: ObjectStore
    public_media: PublicMedia
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> ScreenBacklogDeps:
        return cls(
            accounts=services.policy_notices,
            shares=services.shares,
            moderation=services.moderation_actions,
            safety=services.output_safety,
            storage=services.asset_storage,
            public_media=services.public_media,
            clock=services.clock,
            settings=services.settings,
        )


def screen_unscreened_media(
    deps: ScreenBacklogDeps,
) -> dict[str, Any]:
    """Checks up to `settings.trust.screening_backlog_batch` waiting assets; answers what it did, and
    whether any were left for the next run."""
    outcome: Counter[str] = Counter()
    budget = deps.settings.trust.screening_backlog_batch
    for shard in keys.account_shards():
        after: str | None = None
        while True:
            account_ids, after = deps.accounts.account_page(shard, after=after, limit=_ACCOUNT_PAGE)
            for account_id in account_ids:
                waiting = _shown_unscreened(account_id, shares=deps.shares, clock=deps.clock)
                if len(waiting) > budget:
                    outcome["left"] += len(waiting) - budget
                for asset in waiting[:budget]:
                    verdict = _screen(
                        asset,
                        moderation=deps.moderation,
                        safety=deps.safety,
                        storage=deps.storage,
                        public_media=deps.public_media,
                        clock=deps.clock,
                        settings=deps.settings,
                    )
                    outcome[verdict] += 1
                    budget -= 1
            if after is None:
                break
    result: dict[str, Any] = {
        name: outcome[name] for name in ("allowed", "restricted", "removed", "quarantined", "unreadable")
    }
    result["checked"] = sum(result.values())
    result["left"] = outcome["left"]
    return result


def _shown_unscreened(account_id: str, *, shares: ShareRepository, clock: Clock) -> list[UnscreenedAsset]:
    """The account's waiting assets that would be shown to someone else: public, or behind a live link."""
    waiting = unscreened_assets(account_id)
    if not waiting:
        return []
    now = clock.now()
    shared = {
        share.target_id
        for share in shares.list(account_id)
        if share.target_type is TargetType.ASSET and share.is_live(now)
    }
    return [asset for asset in waiting if asset.public or asset.asset_id in shared]


def _screen(
    asset: UnscreenedAsset,
    *,
    moderation: ModerationRepository,
    safety: OutputSafety,
    storage: ObjectStore,
    public_media: PublicMedia,
    clock: Clock,
    settings: Settings,
) -> str:
    owner, asset_id = asset.owner_id, asset.asset_id
    # Whatever the verdict, nothing public of it stays up while it is being checked.
    withdraw(owner, asset_id, public_media=public_media)
    content = storage.get(asset.object_key, settings.generation.output_max_bytes)
    try:
        if content is None:
            raise errors.InvalidFieldError("The object is missing.")
        found = safety.moderation.check(content, asset.content_type)
    except MediaModerationUnavailableError:
        raise  # fail closed: it stays hidden, the next run checks it
    except errors.InvalidFieldError:
        moderation.record_screening(owner, asset_id, at=clock.now(), restriction=UNREADABLE)
        logger.warning("backlog item unreadable, kept private", extra={"asset_id": asset_id})
        return "unreadable"
    if found.verdict is Verdict.MINOR_SAFETY:
        assert content is not None
        _quarantine(
            asset,
            content,
            category=found.category or "",
            moderation=moderation,
            safety=safety,
            storage=storage,
            clock=clock,
        )
        return "quarantined"
    if found.verdict is Verdict.BLOCKED:
        moderation.remove_asset(owner, asset_id)
        logger.info("backlog item removed", extra={"asset_id": asset_id, "reason": found.reason})
        return "removed"
    restriction = found.reason if found.verdict is Verdict.RESTRICTED else None
    moderation.record_screening(owner, asset_id, at=clock.now(), restriction=restriction)
    if restriction:
        return "restricted"
    republish(owner, asset_id, public_media=public_media)
    return "allowed"


def _quarantine(
    asset: UnscreenedAsset,
    content: bytes,
    *,
    category: str,
    moderation: ModerationRepository,
    safety: OutputSafety,
    storage: ObjectStore,
    clock: Clock,
) -> None:
    """As the console's quarantine of an asset: the bytes to the quarantine prefix, the asset removed
    for good and pointed there, the legal-report record beside an open report, the originals and
    their previews deleted, moderators alerted. Safe to repeat."""
    now = clock.now()
    owner, asset_id = asset.owner_id, asset.asset_id
    destination = quarantine_key(owner, asset_id)
    storage.put(destination, content, asset.content_type, metadata={"reason": "minor_safety"})
    report = Report(
        id=derived_id(IdPrefix.REPORT, f"quarantine:{asset_id}", now_ms=int(now.timestamp() * 1000)),
        reporter_id=AUTOMATIC_REVIEWER,
        owner_id=owner,
        target_type=TargetType.ASSET,
        target_id=asset_id,
        reason=ReportReason.MINOR_SAFETY,
        details=f"automatic media moderation of an older item: {category}",
        status=ReportStatus.OPEN,
        created_at=now,
    )
    with contextlib.suppress(errors.ConflictError):  # reported by an earlier, interrupted run
        safety.reports.create(report)
    moderation.quarantine_asset(
        owner,
        asset_id,
        quarantine_key=destination,
        report=report,
        moderator_id=AUTOMATIC_REVIEWER,
        note=f"automatic: {category}; sha256 {hashlib.sha256(content).hexdigest()}",
        at=now,
    )
    storage.delete([key for key in (asset.object_key, asset.thumbnail_key, asset.poster_key) if key])
    logger.error(
        "moderation alert: minor-safety content quarantined",
        extra={"alert": "minor_safety", "account_id": owner, "item_id": asset_id, "report_id": report.id},
    )
