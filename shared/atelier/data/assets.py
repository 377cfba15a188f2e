"""Assets (stored outputs) and reference-image uploads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from atelier import errors
from atelier.data import gallery, keys
from atelier.data.base import Transaction, epoch_seconds, is_conditional_failure, transaction, translate_errors
from atelier.data.expiry import expiry_index_keys
from atelier.data.items import AssetItem, GalleryEntryItem, PointerItem, UploadItem, UploadQuotaItem, WorkspaceItem
from atelier.data.wallets import TransactionStep
from atelier.models.generation import Asset, Provenance, Upload, UploadStatus, Visibility


def _to_asset(item: AssetItem) -> Asset:
    return Asset(
        id=item.asset_id,
        account_id=item.pk.removeprefix(keys.ACCOUNT),
        workspace_id=item.workspace_id,
        job_id=item.job_id,
        kind=item.kind,
        content_type=item.content_type,
        size_bytes=int(item.size_bytes),
        width=None if item.width is None else int(item.width),
        height=None if item.height is None else int(item.height),
        duration_s=None if item.duration_s is None else float(item.duration_s),
        sha256=item.sha256,
        object_key=item.object_key,
        labels=list(item.labels or []),
        rating=None if item.rating is None else int(item.rating),
        visibility=Visibility(item.visibility),
        removed=bool(item.removed),
        created_at=item.created_at,
        restriction=item.restriction,
        provenance=(
            Provenance(c2pa=item.provenance_c2pa, digital_source_type=item.digital_source_type)
            if item.provenance_c2pa
            else None
        ),
        screened_at=item.screened_at,
        thumbnail_key=item.thumbnail_key,
        poster_key=item.poster_key,
        public_prefix=item.public_prefix,
    )


def _to_upload(item: UploadItem) -> Upload:
    return Upload(
        id=item.upload_id,
        account_id=item.pk.removeprefix(keys.ACCOUNT),
        filename=item.filename,
        content_type=item.content_type,
        size_bytes=int(item.size_bytes),
        object_key=item.object_key,
        status=UploadStatus(item.status),
        created_at=item.created_at,
        width=None if item.width is None else int(item.width),
        height=None if item.height is None else int(item.height),
        sha256=item.sha256,
        unused_until=item.unused_until,
        used_at=item.used_at,
        quota_bytes=_quota_bytes(item),
        thumbnail_key=item.thumbnail_key,
    )


def _quota_bytes(item: UploadItem) -> int:
    return int(item.quota_bytes if item.quota_bytes is not None else item.size_bytes)


class AssetRepository:
    def get(self, account_id: str, asset_id: str) -> Asset | None:
        with translate_errors():
            try:
                item = AssetItem.get(keys.account_pk(account_id), keys.asset_sk(asset_id))
            except AssetItem.DoesNotExist:
                return None
        return _to_asset(item)

    def page(
        self, account_id: str, *, limit: int, after: str | None, kind: str | None, workspace_id: str | None
    ) -> tuple[list[Asset], str | None]:
        condition: Condition = AssetItem.sk.startswith(keys.ASSET_PREFIX)
        if after:
            condition = AssetItem.sk.between(keys.ASSET_PREFIX, keys.asset_sk(after))
        filters = None
        if kind:
            filters = AssetItem.kind == kind
        if workspace_id:
            by_workspace = AssetItem.workspace_id == workspace_id
            filters = (filters & by_workspace) if filters is not None else by_workspace
        found: list[Asset] = []
        with translate_errors():
            for item in AssetItem.query(
                keys.account_pk(account_id),
                condition,
                filter_condition=filters,
                scan_index_forward=False,
                page_size=max(limit * 2, 25),
            ):
                if item.asset_id == after:
                    continue
                found.append(_to_asset(item))
                if len(found) > limit:
                    break
        page = found[:limit]
        return page, (page[-1].id if len(found) > limit else None)

    def update(
        self,
        account_id: str,
        asset_id: str,
        *,
        labels: Sequence[str] | None,
        rating: int | None,
        clear_rating: bool,
        visibility: Visibility | None,
        published_at: datetime | None = None,
        public_prefix: str | None = None,
    ) -> Asset:
        """`published_at` (with visibility public) lists the asset in the gallery in this same write,
        with `public_prefix` naming its public copies; visibility private takes it out (and forgets
        the copies). A removed or held asset cannot be published."""
        actions: list[Action] = []
        if labels is not None:
            actions.append(AssetItem.labels.set(list(labels)))  # type: ignore[arg-type]
        if clear_rating:
            actions.append(AssetItem.rating.remove())
        elif rating is not None:
            actions.append(AssetItem.rating.set(rating))
        condition: Condition = AssetItem.pk.exists()
        if visibility is not None:
            actions.append(AssetItem.visibility.set(visibility.value))
            if visibility is Visibility.PUBLIC and published_at is not None:
                existing = self.get(account_id, asset_id)
                if existing is None:
                    raise errors.NotFoundError()
                actions.extend(gallery.publish_actions(existing.kind, asset_id, published_at))
                if public_prefix is not None:
                    actions.append(AssetItem.public_prefix.set(public_prefix))
                condition = condition & (AssetItem.removed == False) & GalleryEntryItem.under_review.does_not_exist()  # noqa: E712
            elif visibility is Visibility.PRIVATE:
                actions.extend(gallery.unpublish_actions())
                actions.append(AssetItem.public_prefix.remove())
        if not actions:
            existing = self.get(account_id, asset_id)
            if existing is None:
                raise errors.NotFoundError()
            return existing
        item = AssetItem(keys.account_pk(account_id), keys.asset_sk(asset_id))
        if published_at is not None:
            self._publish(item, actions, condition, published_at)
            return self._require(account_id, asset_id)
        with translate_errors():
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    if published_at is not None and self.get(account_id, asset_id) is not None:
                        raise errors.ForbiddenError("This item was removed by moderation.") from exc
                    raise errors.NotFoundError() from exc
                raise
        return _to_asset(item)

    def _publish(self, item: AssetItem, actions: list[Action], condition: Condition, at: datetime) -> None:
        """The publishing update and the asset's id pointer, in one transaction."""
        account_id = item.pk.removeprefix(keys.ACCOUNT)
        asset_id = item.sk.removeprefix(keys.ASSET_PREFIX)
        pointer = PointerItem(
            keys.asset_pointer_pk(asset_id),
            keys.POINTER_SK,
            entity="asset_pointer",
            account_id=account_id,
            created_at=at,
        )
        tx = transaction()
        with translate_errors():
            try:
                with tx:
                    tx.update(item, actions=actions, condition=condition, label="asset")
                    tx.save(pointer)
            except TransactWriteError as exc:
                if "asset" in tx.failures(exc):
                    if self.get(account_id, asset_id) is not None:
                        raise errors.ForbiddenError("This item was removed by moderation.") from exc
                    raise errors.NotFoundError() from exc
                raise

    def _require(self, account_id: str, asset_id: str) -> Asset:
        with translate_errors():
            try:
                item = AssetItem.get(keys.account_pk(account_id), keys.asset_sk(asset_id), consistent_read=True)
            except AssetItem.DoesNotExist as exc:
                raise errors.NotFoundError() from exc
        return _to_asset(item)

    def owner_of(self, asset_id: str) -> str | None:
        """The owner of an asset published at some time (its id pointer), or None."""
        with translate_errors():
            try:
                pointer = PointerItem.get(keys.asset_pointer_pk(asset_id), keys.POINTER_SK, consistent_read=True)
            except PointerItem.DoesNotExist:
                return None
        return pointer.account_id

    def delete(self, asset: Asset) -> None:
        with translate_errors(), transaction() as tx:
            tx.delete(AssetItem(keys.account_pk(asset.account_id), keys.asset_sk(asset.id)))
            tx.delete(PointerItem(keys.asset_pointer_pk(asset.id), keys.POINTER_SK))
            tx.update(
                WorkspaceItem(keys.account_pk(asset.account_id), keys.workspace_sk(asset.workspace_id)),
                actions=[WorkspaceItem.content_count.add(-1)],
            )


class UploadRepository:
    def create(self, upload: Upload, *, max_unused: int, max_unused_bytes: int) -> bool:
        """Saves a new, unused upload and counts it against the account's quota in one transaction;
        False (nothing written) when the account already holds `max_unused` unused uploads or
        this one would take their declared bytes past `max_unused_bytes`."""
        assert upload.unused_until is not None
        day_pk, day_sk = expiry_index_keys(keys.account_pk(upload.account_id), epoch_seconds(upload.unused_until))
        item = UploadItem(
            keys.account_pk(upload.account_id),
            keys.upload_sk(upload.id),
            entity="upload",
            upload_id=upload.id,
            filename=upload.filename,
            content_type=upload.content_type,
            size_bytes=upload.size_bytes,
            object_key=upload.object_key,
            status=upload.status.value,
            created_at=upload.created_at,
            quota_bytes=upload.size_bytes,
            unused_until=upload.unused_until,
            gsi1pk=day_pk,
            gsi1sk=day_sk,
        )
        quota = UploadQuotaItem(keys.account_pk(upload.account_id), keys.UPLOAD_QUOTA_SK)
        room = (UploadQuotaItem.unused_count.does_not_exist() | (UploadQuotaItem.unused_count < max_unused)) & (
            UploadQuotaItem.unused_bytes.does_not_exist()
            | (UploadQuotaItem.unused_bytes <= max_unused_bytes - upload.size_bytes)
        )
        tx = transaction()
        try:
            with translate_errors(), tx:
                tx.save(item, condition=UploadItem.pk.does_not_exist(), label="upload")
                tx.update(
                    quota,
                    actions=[
                        UploadQuotaItem.entity.set("upload_quota"),
                        UploadQuotaItem.unused_count.add(1),
                        UploadQuotaItem.unused_bytes.add(upload.size_bytes),
                    ],
                    condition=room,
                    label="quota",
                )
        except TransactWriteError as exc:
            if "quota" in tx.failures(exc):
                return False
            raise
        return True

    def first_use_steps(self, account_id: str, uploads: Sequence[Upload], now: datetime) -> TransactionStep:
        """The writes that go into a job's submission transaction: each upload no job has used yet
        becomes used (off the expiry index, out of the quota). Its condition fails, labelled
        "upload", when another request used or expired one of them meanwhile."""
        # A job may name one upload twice; a transaction may touch an item only once.
        unused = list({upload.id: upload for upload in uploads if not upload.is_used}.values())

        def steps(tx: Transaction) -> None:
            if not unused:
                return
            freed = 0
            for upload in unused:
                item = UploadItem(keys.account_pk(account_id), keys.upload_sk(upload.id))
                tx.update(
                    item,
                    actions=[
                        UploadItem.used_at.set(now),
                        UploadItem.unused_until.remove(),
                        UploadItem.gsi1pk.remove(),
                        UploadItem.gsi1sk.remove(),
                    ],
                    condition=UploadItem.used_at.does_not_exist() & UploadItem.unused_until.exists(),
                    label="upload",
                )
                freed += upload.quota_bytes
            tx.update(
                UploadQuotaItem(keys.account_pk(account_id), keys.UPLOAD_QUOTA_SK),
                actions=[UploadQuotaItem.unused_count.add(-len(unused)), UploadQuotaItem.unused_bytes.add(-freed)],
                label="quota",
            )

        return steps

    def delete_unused(self, account_id: str, upload_id: str) -> Upload | None:
        """Deletes an upload no job has used and gives back its share of the quota, in one
        transaction; the upload it deleted, or None when there was none unused to delete."""
        upload_item = self._item(account_id, upload_id)
        if upload_item is None or upload_item.used_at is not None or upload_item.unused_until is None:
            return None
        tx = transaction()
        try:
            with translate_errors(), tx:
                tx.delete(
                    UploadItem(keys.account_pk(account_id), keys.upload_sk(upload_id)),
                    condition=UploadItem.used_at.does_not_exist() & UploadItem.unused_until.exists(),
                    label="upload",
                )
                tx.update(
                    UploadQuotaItem(keys.account_pk(account_id), keys.UPLOAD_QUOTA_SK),
                    actions=[
                        UploadQuotaItem.unused_count.add(-1),
                        UploadQuotaItem.unused_bytes.add(-_quota_bytes(upload_item)),
                    ],
                    label="quota",
                )
        except TransactWriteError as exc:
            if "upload" in tx.failures(exc):
                return None
            raise
        return _to_upload(upload_item)

    def delete_unused_at(self, item_key: tuple[str, str]) -> Upload | None:
        """`delete_unused` of the upload row at this (PK, SK), as the expiry index names it."""
        pk, sk = item_key
        return self.delete_unused(pk.removeprefix(keys.ACCOUNT), sk.removeprefix(keys.UPLOAD_PREFIX))

    def unused_quota(self, account_id: str) -> tuple[int, int]:
        """(count, declared bytes) of the account's unused uploads."""
        with translate_errors():
            try:
                quota = UploadQuotaItem.get(keys.account_pk(account_id), keys.UPLOAD_QUOTA_SK, consistent_read=True)
            except UploadQuotaItem.DoesNotExist:
                return 0, 0
        return int(quota.unused_count or 0), int(quota.unused_bytes or 0)

    def _item(self, account_id: str, upload_id: str) -> UploadItem | None:
        with translate_errors():
            try:
                return UploadItem.get(keys.account_pk(account_id), keys.upload_sk(upload_id), consistent_read=True)
            except UploadItem.DoesNotExist:
                return None

    def get(self, account_id: str, upload_id: str) -> Upload | None:
        item = self._item(account_id, upload_id)
        return None if item is None else _to_upload(item)

    def mark(
        self,
        upload: Upload,
        status: UploadStatus,
        *,
        width: int | None,
        height: int | None,
        sha256: str | None,
        size_bytes: int,
        thumbnail_key: str | None = None,
    ) -> None:
        item = UploadItem(keys.account_pk(upload.account_id), keys.upload_sk(upload.id))
        with translate_errors():
            item.update(
                actions=[
                    UploadItem.status.set(status.value),
                    UploadItem.width.set(width) if width is not None else UploadItem.width.remove(),
                    UploadItem.height.set(height) if height is not None else UploadItem.height.remove(),
                    UploadItem.sha256.set(sha256) if sha256 else UploadItem.sha256.remove(),
                    UploadItem.size_bytes.set(size_bytes),
                    UploadItem.thumbnail_key.set(thumbnail_key) if thumbnail_key else UploadItem.thumbnail_key.remove(),
                ]
            )
