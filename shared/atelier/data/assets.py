"""Assets (stored outputs) and reference-image uploads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from atelier import errors
from atelier.data import gallery, keys
from atelier.data.base import is_conditional_failure, transaction, translate_errors
from atelier.data.items import AssetItem, GalleryEntryItem, UploadItem, WorkspaceItem
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
    )


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
    ) -> Asset:
        """`published_at` (with visibility public) lists the asset in the gallery in this same write;
        visibility private takes it out. A removed or held asset cannot be published."""
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
                condition = condition & (AssetItem.removed == False) & GalleryEntryItem.under_review.does_not_exist()  # noqa: E712
            elif visibility is Visibility.PRIVATE:
                actions.extend(gallery.unpublish_actions())
        if not actions:
            existing = self.get(account_id, asset_id)
            if existing is None:
                raise errors.NotFoundError()
            return existing
        item = AssetItem(keys.account_pk(account_id), keys.asset_sk(asset_id))
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

    def delete(self, asset: Asset) -> None:
        with translate_errors(), transaction() as tx:
            tx.delete(AssetItem(keys.account_pk(asset.account_id), keys.asset_sk(asset.id)))
            tx.update(
                WorkspaceItem(keys.account_pk(asset.account_id), keys.workspace_sk(asset.workspace_id)),
                actions=[WorkspaceItem.content_count.add(-1)],
            )


class UploadRepository:
    def create(self, upload: Upload) -> None:
        with translate_errors():
            UploadItem(
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
            ).save(condition=UploadItem.pk.does_not_exist())

    def get(self, account_id: str, upload_id: str) -> Upload | None:
        with translate_errors():
            try:
                item = UploadItem.get(keys.account_pk(account_id), keys.upload_sk(upload_id), consistent_read=True)
            except UploadItem.DoesNotExist:
                return None
        return _to_upload(item)

    def mark(
        self,
        upload: Upload,
        status: UploadStatus,
        *,
        width: int | None,
        height: int | None,
        sha256: str | None,
        size_bytes: int,
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
                ]
            )
