"""Takedowns: what moderation (and a minor-safety report) writes on the asset or workflow itself, so
every read path sees it at once: the gallery keys go in the same write, share reads and the owner's
library read the flags, and `read_asset` gives no URL for a removed asset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from atelier import errors
from atelier.clock import isoformat
from atelier.data import keys
from atelier.data.base import is_conditional_failure, transaction, translate_errors
from atelier.data.gallery import publish_actions, unpublish_actions
from atelier.data.items import AccountItem, AssetItem, ModerationAuditItem, QuarantineRecordItem
from atelier.ids import IdPrefix, new_id
from atelier.models.gallery import AuditEntry, ItemState, Report, ReportedItem, TargetType
from atelier.models.generation import Visibility

# The audit entry's action when a moderator lifts a suspension.
LIFT_SUSPENSION = "lift_suspension"


class NotSuspendedError(errors.ConflictError):
    code = "not_suspended"
    default_message = "This account is not suspended."


def _update_asset(account_id: str, asset_id: str, actions: list[Any]) -> None:
    item = AssetItem(keys.account_pk(account_id), keys.asset_sk(asset_id))
    with translate_errors():
        try:
            item.update(actions=actions, condition=AssetItem.pk.exists())
        except UpdateError as exc:
            if is_conditional_failure(exc):
                raise errors.NotFoundError() from exc
            raise


class ModerationRepository:
    def hold_asset(self, account_id: str, asset_id: str) -> None:
        """Hidden from everyone but its owner pending review (out of the gallery, share links dead)."""
        _update_asset(account_id, asset_id, [AssetItem.under_review.set(True), *unpublish_actions()])

    def release_asset(self, account_id: str, asset_id: str) -> None:
        """Ends a review hold; a public asset goes back in the gallery where it was."""
        with translate_errors():
            try:
                row = AssetItem.get(keys.account_pk(account_id), keys.asset_sk(asset_id), consistent_read=True)
            except AssetItem.DoesNotExist:
                return
        actions: list[Any] = [AssetItem.under_review.remove()]
        if row.visibility == Visibility.PUBLIC.value and not row.removed and row.published_at is not None:
            actions += publish_actions(row.kind, row.asset_id, row.published_at)
        _update_asset(account_id, asset_id, actions)

    def record_screening(self, account_id: str, asset_id: str, *, at: datetime, restriction: str | None) -> None:
        """An older asset checked by the backlog sweep: screened now, and if moderation keeps it
        private, made private with the reason (out of the gallery, its public copies forgotten)."""
        actions: list[Any] = [AssetItem.screened_at.set(at)]
        if restriction:
            actions += [
                AssetItem.restriction.set(restriction),
                AssetItem.visibility.set(Visibility.PRIVATE.value),
                AssetItem.public_prefix.remove(),
                *unpublish_actions(),
            ]
        _update_asset(account_id, asset_id, actions)

    def remove_asset(self, account_id: str, asset_id: str) -> None:
        _update_asset(
            account_id,
            asset_id,
            [AssetItem.removed.set(True), AssetItem.under_review.remove(), *unpublish_actions()],
        )

    def quarantine_asset(
        self,
        account_id: str,
        asset_id: str,
        *,
        quarantine_key: str,
        report: Report,
        moderator_id: str,
        note: str,
        at: datetime,
    ) -> None:
        """Removed for good, pointed at the restricted copy, with what a report to the authorities
        needs recorded outside the owner's partition; one transaction."""
        with translate_errors():
            row = AssetItem.get(keys.account_pk(account_id), keys.asset_sk(asset_id), consistent_read=True)
            record = QuarantineRecordItem(
                keys.quarantine_pk(asset_id),
                keys.QUARANTINE_SK,
                entity="quarantine_record",
                asset_id=asset_id,
                owner_id=account_id,
                sha256=row.sha256,
                object_key=quarantine_key,
                content_type=row.content_type,
                report_id=report.id,
                reporter_id=report.reporter_id,
                reason=report.reason.value,
                reported_at=report.created_at,
                moderator_id=moderator_id,
                note=note,
                quarantined_at=at,
            )
            with transaction() as tx:
                tx.update(
                    AssetItem(keys.account_pk(account_id), keys.asset_sk(asset_id)),
                    actions=[
                        AssetItem.removed.set(True),
                        AssetItem.quarantined.set(True),
                        AssetItem.under_review.remove(),
                        AssetItem.object_key.set(quarantine_key),
                        *unpublish_actions(),
                    ],
                    condition=AssetItem.pk.exists(),
                )
                tx.save(record)

    def record_quarantine(
        self,
        account_id: str,
        item_id: str,
        *,
        quarantine_key: str,
        sha256: str,
        content_type: str,
        report: Report,
        moderator_id: str,
        note: str,
        at: datetime,
    ) -> None:
        """The legal-report record of something quarantined before it ever became an asset (an
        output or upload stopped by the automatic checks); written once, kept by a redelivery."""
        record = QuarantineRecordItem(
            keys.quarantine_pk(item_id),
            keys.QUARANTINE_SK,
            entity="quarantine_record",
            asset_id=item_id,
            owner_id=account_id,
            sha256=sha256,
            object_key=quarantine_key,
            content_type=content_type,
            report_id=report.id,
            reporter_id=report.reporter_id,
            reason=report.reason.value,
            reported_at=report.created_at,
            moderator_id=moderator_id,
            note=note,
            quarantined_at=at,
        )
        with translate_errors():
            try:
                record.save(condition=QuarantineRecordItem.pk.does_not_exist())
            except PutError as exc:
                if not is_conditional_failure(exc):
                    raise

    def quarantine_record(self, asset_id: str) -> dict[str, Any] | None:
        with translate_errors():
            try:
                item = QuarantineRecordItem.get(keys.quarantine_pk(asset_id), keys.QUARANTINE_SK)
            except QuarantineRecordItem.DoesNotExist:
                return None
        return {name: getattr(item, name) for name in QuarantineRecordItem.get_attributes() if name not in ("pk", "sk")}

    def suspend_account(self, account_id: str, at: datetime) -> None:
        """Suspends the account whatever its status (active, restricted, counting down to deletion):
        an attribute of its own that no money or deletion flow writes, so only `lift_suspension`
        ends it (P19). Suspending a suspended account keeps the first time."""
        with translate_errors():
            try:
                AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK).update(
                    actions=[AccountItem.suspended_at.set(AccountItem.suspended_at | at)],
                    condition=AccountItem.pk.exists(),
                )
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    raise errors.NotFoundError("That account no longer exists.") from exc
                raise

    def lift_suspension(self, account_id: str, *, moderator_id: str, note: str, at: datetime) -> None:
        """Ends a suspension and writes the audit entry, in one transaction; an account that is not
        suspended is a conflict (and nothing is written)."""
        at_iso = isoformat(at)
        audit_id = new_id(IdPrefix.REPORT)
        tx = transaction()
        with translate_errors():
            try:
                with tx:
                    tx.update(
                        AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK),
                        actions=[AccountItem.suspended_at.remove()],
                        condition=AccountItem.suspended_at.exists(),
                        label="account",
                    )
                    tx.save(
                        ModerationAuditItem(
                            keys.moderation_audit_pk(at_iso[:7]),
                            keys.moderation_audit_sk(at_iso, audit_id),
                            entity="moderation_audit",
                            audit_id=audit_id,
                            moderator_id=moderator_id,
                            action=LIFT_SUSPENSION,
                            report_id=None,
                            target_type="account",
                            target_id=account_id,
                            owner_id=account_id,
                            note=note,
                            at=at,
                        )
                    )
            except TransactWriteError as exc:
                if "account" in tx.failures(exc):
                    raise NotSuspendedError() from exc
                raise

    def reported_asset(self, account_id: str, asset_id: str) -> ReportedItem:
        """The asset a report names, with its takedown state; `gone` when its row no longer exists."""
        with translate_errors():
            try:
                row = AssetItem.get(keys.account_pk(account_id), keys.asset_sk(asset_id), consistent_read=True)
            except AssetItem.DoesNotExist:
                return ReportedItem(
                    target_type=TargetType.ASSET, target_id=asset_id, owner_id=account_id, state=ItemState.GONE
                )
        if row.quarantined:
            state = ItemState.QUARANTINED
        elif row.removed:
            state = ItemState.REMOVED
        elif row.under_review:
            state = ItemState.UNDER_REVIEW
        else:
            state = ItemState.LIVE
        showable = state is not ItemState.QUARANTINED
        return ReportedItem(
            target_type=TargetType.ASSET,
            target_id=asset_id,
            owner_id=account_id,
            state=state,
            visibility=Visibility(row.visibility),
            kind=row.kind,
            content_type=row.content_type,
            media_key=row.object_key if showable else None,
            preview_key=(row.thumbnail_key or row.poster_key) if showable else None,
        )

    def audit_page(self, month: str, *, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        """One month's moderator actions, newest first; `after` is the sort key the last page ended on."""
        with translate_errors():
            results = ModerationAuditItem.query(
                keys.moderation_audit_pk(month),
                ModerationAuditItem.sk < after if after else None,
                scan_index_forward=False,
                limit=limit + 1,
            )
            items = list(results)
        page = items[:limit]
        next_cursor = page[-1].sk if len(items) > limit else None
        return [_to_audit_entry(item) for item in page], next_cursor


def _to_audit_entry(item: ModerationAuditItem) -> AuditEntry:
    return AuditEntry(
        id=item.audit_id,
        at=item.at,
        moderator_id=item.moderator_id,
        action=item.action,
        report_id=item.report_id,
        target_type=item.target_type,
        target_id=item.target_id,
        owner_id=item.owner_id,
        note=item.note,
    )
