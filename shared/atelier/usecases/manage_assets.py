"""The owner's library: list, read (with a short-lived download URL), label, rate, publish, delete."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.assets import AssetRepository
from atelier.data.policies import PolicyRepository
from atelier.ids import IdPrefix, has_prefix
from atelier.integrations.public_media import PublicMedia
from atelier.integrations.storage import ObjectStore
from atelier.models.generation import Asset, Visibility
from atelier.settings import Settings
from atelier.usecases.publish_media import expose
from atelier.usecases.require_consent import require_consent, require_good_standing
from atelier.usecases.screen_media import require_unrestricted

if TYPE_CHECKING:
    from atelier.services import Services


@dataclass(frozen=True)
class AssetView:
    asset: Asset
    download_url: str | None
    thumbnail_url: str | None = None
    poster_url: str | None = None


def _view(asset: Asset, storage: ObjectStore, settings: Settings) -> AssetView:
    # A removed item is shown to its owner as removed, never served (nor its previews).
    if asset.removed:
        return AssetView(asset=asset, download_url=None)

    def url(key: str | None) -> str | None:
        return storage.presigned_get(key, settings.media.download_url_seconds) if key else None

    return AssetView(
        asset=asset,
        download_url=url(asset.object_key),
        thumbnail_url=url(asset.thumbnail_key),
        poster_url=url(asset.poster_key),
    )


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


@dataclass(frozen=True)
class UpdateAssetDeps:
    """What `update_asset` works with, built once per function (`Services.dependencies`)."""

    assets: AssetRepository
    accounts: AccountRepository
    policies: PolicyRepository
    storage: ObjectStore
    public_media: PublicMedia
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> UpdateAssetDeps:
        return cls(
            assets=services.assets,
            accounts=services.accounts,
            policies=services.policies,
            storage=services.asset_storage,
            public_media=services.public_media,
            clock=services.clock,
            settings=services.settings,
        )


def update_asset(
    deps: UpdateAssetDeps,
    account_id: str,
    asset_id: str,
    *,
    labels: Sequence[str] | None,
    rating: int | None,
    clear_rating: bool,
    visibility: Visibility | None,
) -> AssetView:
    asset = get_asset(account_id, asset_id, assets=deps.assets)
    published_at = None
    public_prefix = None
    if visibility is Visibility.PUBLIC and asset.visibility is not Visibility.PUBLIC:
        # Publishing needs the terms accepted and the age attested (P14), and a removed item stays down.
        account = deps.accounts.require(account_id)
        require_consent(account, policies=deps.policies, clock=deps.clock, settings=deps.settings)
        require_good_standing(account)
        if asset.removed:
            raise errors.ForbiddenError("This item was removed by moderation.")
        require_unrestricted(asset.restriction)
        # Listed in the gallery by the same write that makes it public, with its public copies
        # made just before (and removed again if that write is refused).
        published_at = deps.clock.now()
        # An item made before outputs were screened is listed once the backlog sweep passes it
        # (which makes its public copies then); until then nothing of it is public.
        if not asset.awaits_screening:
            public_prefix = expose(
                asset.id, asset.object_key, asset.thumbnail_key, asset.poster_key, public_media=deps.public_media
            )
    elif visibility is asset.visibility and visibility is not Visibility.PRIVATE:
        visibility = None
    try:
        updated = deps.assets.update(
            account_id,
            asset_id,
            labels=labels,
            rating=rating,
            clear_rating=clear_rating,
            visibility=visibility,
            published_at=published_at,
            public_prefix=public_prefix,
        )
    except errors.AtelierError:
        if public_prefix is not None:
            deps.public_media.withdraw(asset.id)
        raise
    if visibility is Visibility.PRIVATE:
        # Every public copy goes at once (and again on a repeated request, so none can linger).
        deps.public_media.withdraw(asset.id)
    return _view(updated, deps.storage, deps.settings)


def delete_asset(
    account_id: str, asset_id: str, *, assets: AssetRepository, storage: ObjectStore, public_media: PublicMedia
) -> None:
    asset = get_asset(account_id, asset_id, assets=assets)
    public_media.withdraw(asset.id)
    storage.delete([key for key in (asset.object_key, asset.thumbnail_key, asset.poster_key) if key])
    assets.delete(asset)
