"""Screening media before anyone but its owner can see it (P17), and marking outputs as AI-made (P18).

Every output goes through `screen_output` before its job can succeed:

- minor-safety (a moderation rule, or a known-bad hash): the bytes go to the quarantine prefix
  (outside the account), the legal-report record is written beside an open report in the
  moderators' queue, an alert is logged, and the job fails as ``output_rejected``: no asset is
  ever made, so nothing can serve, share or export it;
- blocked: the output is discarded and the job fails as ``output_rejected``, saying why;
- restricted: kept, marked with the reason, and never published or shared;
- allowed: kept.

Kept outputs are marked (XMP digital source type, signed C2PA manifest) and their provenance read
back for the asset record. The moderation service or the signer being down raises a retryable
error: the job waits for the queue's redelivery, and its credits stay held, never lost.

Reference uploads are screened with `screen_reference` before a provider is given them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from atelier import errors
from atelier.clock import Clock
from atelier.data.assets import UploadRepository
from atelier.data.moderation import ModerationRepository
from atelier.data.reports import ReportRepository
from atelier.ids import IdPrefix, derived_id
from atelier.integrations.media_moderation import MediaModeration, MediaVerdict, Verdict
from atelier.integrations.provenance import ProvenanceSigner, read_provenance
from atelier.integrations.storage import ObjectStore
from atelier.models.gallery import Report, ReportReason, ReportStatus, TargetType
from atelier.models.generation import Provenance, UploadStatus
from atelier.observability import logger
from atelier.settings import Settings

# Who the automatic checks are, in reports and quarantine records.
AUTOMATIC_REVIEWER = "system:media-moderation"


class OutputRejectedError(errors.InvalidFieldError):
    code = "output_rejected"
    default_message = "The output broke the content policy and was discarded; nothing was charged."


class ReferenceRejectedError(errors.InvalidFieldError):
    code = "upload_rejected"
    default_message = "A reference image broke the content policy and cannot be used."


class ContentRestrictedError(errors.ForbiddenError):
    code = "content_restricted"
    default_message = "This item can be kept private but not published or shared."


def require_unrestricted(restriction: str | None) -> None:
    """Publishing and sharing refuse an item moderation keeps private, saying why."""
    if restriction:
        raise ContentRestrictedError(details={"reason": restriction})


@dataclass(frozen=True)
class OutputSafety:
    """The collaborators screening needs, built once per container (Services.output_safety)."""

    moderation: MediaModeration
    signer: ProvenanceSigner
    moderation_records: ModerationRepository
    reports: ReportRepository
    trust_anchors: str = ""


class ScreenedOutput(BaseModel):
    model_config = ConfigDict(frozen=True)

    content: bytes
    restriction: str | None = None
    provenance: Provenance


def screen_output(
    content: bytes,
    content_type: str,
    *,
    account_id: str,
    asset_id: str,
    model: str,
    provider: str,
    created_at: datetime,
    safety: OutputSafety,
    storage: ObjectStore,
    clock: Clock,
) -> ScreenedOutput:
    verdict = safety.moderation.check(content, content_type)
    if verdict.verdict is Verdict.MINOR_SAFETY:
        quarantine(
            content,
            content_type,
            account_id=account_id,
            item_id=asset_id,
            verdict=verdict,
            safety=safety,
            storage=storage,
            clock=clock,
        )
        raise OutputRejectedError(
            "An output was withheld by the safety checks; nothing was charged.", details={"reason": "minor_safety"}
        )
    if verdict.verdict is Verdict.BLOCKED:
        raise OutputRejectedError(
            f"An output was discarded by the content policy ({verdict.category}); nothing was charged.",
            details={"reason": verdict.reason},
        )
    marked = safety.signer.mark(
        content, content_type, title=asset_id, model=model, provider=provider, created_at=created_at
    )
    provenance = read_provenance(marked, content_type, trust_anchors=safety.trust_anchors)
    restriction = verdict.reason if verdict.verdict is Verdict.RESTRICTED else None
    return ScreenedOutput(content=marked, restriction=restriction, provenance=provenance)


def screen_reference(
    content: bytes,
    content_type: str,
    *,
    account_id: str,
    upload_id: str,
    safety: OutputSafety,
    storage: ObjectStore,
    clock: Clock,
) -> None:
    """A reference upload may go to a provider only if it is neither blocked nor a minor-safety
    hit (which is quarantined as an output is); restricted references are usable, privately."""
    verdict = safety.moderation.check(content, content_type)
    if verdict.verdict is Verdict.MINOR_SAFETY:
        quarantine(
            content,
            content_type,
            account_id=account_id,
            item_id=upload_id,
            verdict=verdict,
            safety=safety,
            storage=storage,
            clock=clock,
        )
        raise ReferenceRejectedError(details={"reason": "minor_safety"})
    if verdict.verdict is Verdict.BLOCKED:
        raise ReferenceRejectedError(details={"reason": verdict.reason})


def quarantine_key(account_id: str, item_id: str) -> str:
    from atelier.usecases.moderate import quarantine_key as console_key

    return console_key(account_id, item_id)


def quarantine(
    content: bytes,
    content_type: str,
    *,
    account_id: str,
    item_id: str,
    verdict: MediaVerdict,
    safety: OutputSafety,
    storage: ObjectStore,
    clock: Clock,
) -> None:
    """As the moderation console quarantines: the bytes outside the account, the legal-report
    record, and the moderators told (an open report in their queue, and an alert in the log).
    Safe to repeat: a redelivery finds the report and the record there already."""
    import hashlib

    now = clock.now()
    destination = quarantine_key(account_id, item_id)
    storage.put(destination, content, content_type, metadata={"reason": "minor_safety"})
    report = Report(
        id=derived_id(IdPrefix.REPORT, f"quarantine:{item_id}", now_ms=int(now.timestamp() * 1000)),
        reporter_id=AUTOMATIC_REVIEWER,
        owner_id=account_id,
        target_type=TargetType.ASSET,
        target_id=item_id,
        reason=ReportReason.MINOR_SAFETY,
        details=f"automatic media moderation: {verdict.category}",
        status=ReportStatus.OPEN,
        created_at=now,
    )
    with contextlib.suppress(errors.ConflictError):  # reported by an earlier delivery
        safety.reports.create(report)
    safety.moderation_records.record_quarantine(
        account_id,
        item_id,
        quarantine_key=destination,
        sha256=hashlib.sha256(content).hexdigest(),
        content_type=content_type,
        report=report,
        moderator_id=AUTOMATIC_REVIEWER,
        note=f"automatic: {verdict.category}",
        at=now,
    )
    logger.error(
        "moderation alert: minor-safety content quarantined",
        extra={"alert": "minor_safety", "account_id": account_id, "item_id": item_id, "report_id": report.id},
    )


def screen_references(
    account_id: str,
    upload_ids: list[str],
    *,
    uploads: UploadRepository,
    safety: OutputSafety,
    storage: ObjectStore,
    clock: Clock,
    settings: Settings,
) -> None:
    """Every (verified, cleaned) reference upload of a job, screened before a provider gets it."""
    for upload_id in upload_ids:
        upload = uploads.get(account_id, upload_id)
        if upload is None:
            raise ReferenceRejectedError("A reference upload is missing or unusable.")
        content = storage.get(upload.object_key, settings.uploads.upload_max_bytes)
        if content is None:
            raise ReferenceRejectedError("A reference upload is missing or unusable.")
        try:
            screen_reference(
                content,
                upload.content_type,
                account_id=account_id,
                upload_id=upload_id,
                safety=safety,
                storage=storage,
                clock=clock,
            )
        except ReferenceRejectedError:
            # Unusable for good; a quarantined one is also moved out of the account.
            uploads.mark(upload, UploadStatus.REJECTED, width=None, height=None, sha256=None, size_bytes=len(content))
            storage.delete([upload.object_key])
            raise
