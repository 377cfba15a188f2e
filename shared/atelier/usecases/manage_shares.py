"""Share links (P6): one item to anyone holding the link, until revoked or expired. Tokens are 256
random bits, stored only as their SHA-256. A taken-down item, or one whose owner's deletion is
scheduled, is not served through a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from atelier import errors, tokens
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.gallery import AssetExposure, GalleryRepository, asset_exposure
from atelier.data.policies import PolicyRepository
from atelier.data.shares import ShareRepository
from atelier.data.workflows import WorkflowRepository
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.integrations.public_media import POSTER, THUMBNAIL, public_url
from atelier.integrations.storage import ObjectStore
from atelier.models.gallery import Share, TargetType, Workflow, WorkflowVersion
from atelier.settings import Settings
from atelier.usecases.require_consent import require_consent, require_good_standing
from atelier.usecases.screen_media import require_unrestricted

if TYPE_CHECKING:
    from atelier.services import Services


@dataclass(frozen=True)
class CreatedShare:
    share: Share
    token: str


@dataclass(frozen=True)
class SharedItem:
    share: Share
    asset: AssetExposure | None = None
    download_url: str | None = None
    thumbnail_url: str | None = None
    poster_url: str | None = None
    workflow: Workflow | None = None
    version: WorkflowVersion | None = None


def _owned_target(account_id: str, target_type: TargetType, target_id: str, *, workflows: WorkflowRepository) -> None:
    if target_type is TargetType.ASSET:
        exposure = asset_exposure(account_id, target_id) if has_prefix(target_id, IdPrefix.ASSET) else None
        if exposure is None:
            raise errors.NotFoundError()
        if exposure.taken_down:
            raise errors.ForbiddenError("This item was removed by moderation.")
        require_unrestricted(exposure.restriction)
        return
    workflow = workflows.get(account_id, target_id) if has_prefix(target_id, IdPrefix.WORKFLOW) else None
    if workflow is None:
        raise errors.NotFoundError()
    if workflow.taken_down:
        raise errors.ForbiddenError("This item was removed by moderation.")


@dataclass(frozen=True)
class CreateShareDeps:
    """What `create_share` works with, built once per function (`Services.dependencies`)."""

    shares: ShareRepository
    workflows: WorkflowRepository
    accounts: AccountRepository
    policies: PolicyRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> CreateShareDeps:
        return cls(
            shares=services.shares,
            workflows=services.workflows,
            accounts=services.accounts,
            policies=services.policies,
            clock=services.clock,
            settings=services.settings,
        )


def create_share(
    deps: CreateShareDeps,
    account_id: str,
    target_type: TargetType,
    target_id: str,
    expires_at: datetime | None,
) -> CreatedShare:
    now = deps.clock.now()
    account = deps.accounts.require(account_id)
    require_consent(account, policies=deps.policies, clock=deps.clock, settings=deps.settings)
    require_good_standing(account)
    if expires_at is not None and expires_at <= now:
        raise errors.InvalidFieldError(
            "The expiry must be in the future.", details=[{"field": "expires_at", "location": "body"}]
        )
    _owned_target(account_id, target_type, target_id, workflows=deps.workflows)
    token = tokens.new_token()
    share = Share(
        id=new_id(IdPrefix.SHARE),
        account_id=account_id,
        target_type=target_type,
        target_id=target_id,
        created_at=now,
        expires_at=expires_at,
    )
    deps.shares.create(share, tokens.hash_token(token))
    return CreatedShare(share=share, token=token)


def list_shares(account_id: str, *, shares: ShareRepository) -> list[Share]:
    return shares.list(account_id)


def revoke_share(account_id: str, share_id: str, *, shares: ShareRepository) -> None:
    if not has_prefix(share_id, IdPrefix.SHARE):
        raise errors.NotFoundError()
    shares.revoke(account_id, share_id)


def resolve_share(token: str, *, shares: ShareRepository, clock: Clock) -> Share:
    """The live share behind a token; 404 for an unknown, revoked or expired one."""
    if not token or len(token) > 128:
        raise errors.NotFoundError()
    share = shares.resolve(tokens.hash_token(token))
    if share is None or not share.is_live(clock.now()):
        raise errors.NotFoundError()
    return share


@dataclass(frozen=True)
class OpenShareDeps:
    """What `open_share` and `preview_share` work with, built once per function (`Services.dependencies`)."""

    shares: ShareRepository
    gallery: GalleryRepository
    workflows: WorkflowRepository
    storage: ObjectStore
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> OpenShareDeps:
        return cls(
            shares=services.shares,
            gallery=services.gallery,
            workflows=services.workflows,
            storage=services.asset_storage,
            clock=services.clock,
            settings=services.settings,
        )


def open_share(
    deps: OpenShareDeps,
    token: str,
) -> SharedItem:
    def url(key: str | None) -> str | None:
        return deps.storage.presigned_get(key, deps.settings.media.download_url_seconds) if key else None

    share = resolve_share(token, shares=deps.shares, clock=deps.clock)
    owner = deps.gallery.public_owners([share.account_id]).get(share.account_id)
    if owner is None or not owner.status.shows_public_content:
        raise errors.NotFoundError()
    if share.target_type is TargetType.ASSET:
        exposure = asset_exposure(share.account_id, share.target_id)
        if exposure is None or exposure.taken_down or exposure.awaiting_screening or exposure.restriction:
            raise errors.NotFoundError()
        return SharedItem(
            share=share,
            asset=exposure,
            download_url=url(exposure.object_key),
            thumbnail_url=url(exposure.thumbnail_key),
            poster_url=url(exposure.poster_key),
        )
    workflow = deps.workflows.get(share.account_id, share.target_id)
    if workflow is None or workflow.taken_down:
        raise errors.NotFoundError()
    return SharedItem(
        share=share,
        workflow=workflow,
        version=deps.workflows.version(share.account_id, workflow.id, workflow.latest_version),
    )


@dataclass(frozen=True)
class SharePreview:
    """What a posted link previews with: the item's kind, its owner's display name, its picture."""

    kind: str
    owner_name: str
    image_url: str | None
    image_width: int | None
    image_height: int | None


def preview_share(
    deps: OpenShareDeps,
    token: str,
    *,
    media_base_url: str,
) -> SharePreview | None:
    """The preview of a live link, None for one that shows nothing (unknown, revoked, expired, its
    item taken down or its owner's account on its way out: whatever `open_share` refuses). The
    picture is the public copy of the thumbnail (a video's poster) where the item is published,
    else a presigned URL that lives as long as a link preview is fetched for (a private item shared
    by link)."""
    try:
        item = open_share(deps, token)
    except errors.NotFoundError:
        return None
    owner = deps.gallery.public_owners([item.share.account_id]).get(item.share.account_id)
    if owner is None:
        return None
    if item.workflow is not None:
        return SharePreview(kind="workflow", owner_name=owner.name, image_url=None, image_width=None, image_height=None)
    asset = item.asset
    assert asset is not None
    picture_key, public_name = (asset.poster_key, POSTER) if asset.poster_key else (asset.thumbnail_key, THUMBNAIL)
    image_url = None
    if picture_key and asset.public_prefix:
        image_url = public_url(media_base_url, asset.public_prefix, public_name)
    elif picture_key:
        image_url = deps.storage.presigned_get(picture_key, deps.settings.media.share_preview_url_seconds)
    return SharePreview(
        kind=asset.kind, owner_name=owner.name, image_url=image_url, image_width=None, image_height=None
    )
