"""The owner's library: list, read (with a short-lived download URL), label, rate, publish, delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.assets import AssetRepository
from atelier.data.policies import PolicyRepository
from atelier.ids import IdPrefix, has_prefix
from atelier.integrations.storage import ObjectStore
from atelier.models.accounts import AccountStatus
from atelier.models.generation import Asset, Visibility
from atelier.settings import Settings
from atelier.usecases.require_consent import require_consent
from atelier.usecases.screen_media import require_unrestricted


@dataclass(frozen=True)
class AssetView:
    asset: Asset
    download_url: str | None


def _view(asset: Asset, storage: ObjectStore, settings: Settings) -> AssetView:
    # A removed item is shown to its owner as removed, never served.
    url = None if asset.removed else storage.presigned_get(asset.object_key, settings.download_url_seconds)
    return AssetView(asset=asset, download_url=url)


def get_asset(account_id: str, asset_id: str, *, assets: AssetRepository) -> Asset:
    asset = assets.get(account_id, asset_id) if has_prefix(asset_id, IdPrefix.ASSET) else None
    if asset is None:
        raise errors.NotFoundError()
    return asset


def read_asset(
    account_id: str, asset_id: str, *, assets: AssetRepository, storage: ObjectStore, settings: Settings
) -> AssetView:
    return _view(get_asset(account_id, asset_id, assets=assets), storage, settings)


def list_assets(
    account_id: str,
    *,
    limit: int,
    cursor: str | None,
    kind: str | None,
    workspace_id: str | None,
    assets: AssetRepository,
    storage: ObjectStore,
    settings: Settings,
) -> tuple[list[AssetView], str | None]:
    page, next_cursor = assets.page(account_id, limit=limit, after=cursor, kind=kind, workspace_id=workspace_id)
    return [_view(asset, storage, settings) for asset in page], next_cursor


def update_asset(
    account_id: str,
    asset_id: str,
    *,
    labels: Sequence[str] | None,
    rating: int | None,
    clear_rating: bool,
    visibility: Visibility | None,
    assets: AssetRepository,
    accounts: AccountRepository,
    policies: PolicyRepository,
    storage: ObjectStore,
    clock: Clock,
    settings: Settings,
) -> AssetView:
    asset = get_asset(account_id, asset_id, assets=assets)
    published_at = None
    if visibility is Visibility.PUBLIC and asset.visibility is not Visibility.PUBLIC:
        # Publishing needs the terms accepted and the age attested (P14), and a removed item stays down.
        account = accounts.require(account_id)
        require_consent(account, policies=policies, clock=clock, settings=settings)
        if account.status is not AccountStatus.ACTIVE:
            raise errors.AccountRestrictedError()
        if asset.removed:
            raise errors.ForbiddenError("This item was removed by moderation.")
        require_unrestricted(asset.restriction)
        # Listed in the gallery by the same write that makes it public.
        published_at = clock.now()
    elif visibility is asset.visibility:
        visibility = None
    updated = assets.update(
        account_id,
        asset_id,
        labels=labels,
        rating=rating,
        clear_rating=clear_rating,
        visibility=visibility,
        published_at=published_at,
    )
    return _view(updated, storage, settings)


def delete_asset(account_id: str, asset_id: str, *, assets: AssetRepository, storage: ObjectStore) -> None:
    asset = get_asset(account_id, asset_id, assets=assets)
    storage.delete([asset.object_key])
    assets.delete(asset)
