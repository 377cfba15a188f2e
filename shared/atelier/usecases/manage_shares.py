"""Share links (P6): one item to anyone holding the link, until revoked or expired. Tokens are 256
random bits, stored only as their SHA-256. A taken-down item, or one whose owner's deletion is
scheduled, is not served through a link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from atelier import errors, tokens
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.gallery import AssetExposure, GalleryRepository, asset_exposure
from atelier.data.policies import PolicyRepository
from atelier.data.shares import ShareRepository
from atelier.data.workflows import WorkflowRepository
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.integrations.storage import ObjectStore
from atelier.models.accounts import AccountStatus
from atelier.models.gallery import Share, TargetType, Workflow, WorkflowVersion
from atelier.settings import Settings
from atelier.usecases.require_consent import require_consent
from atelier.usecases.screen_media import require_unrestricted


@dataclass(frozen=True)
class CreatedShare:
    share: Share
    token: str


@dataclass(frozen=True)
class SharedItem:
    share: Share
    asset: AssetExposure | None = None
    download_url: str | None = None
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


def create_share(
    account_id: str,
    target_type: TargetType,
    target_id: str,
    expires_at: datetime | None,
    *,
    shares: ShareRepository,
    workflows: WorkflowRepository,
    accounts: AccountRepository,
    policies: PolicyRepository,
    clock: Clock,
    settings: Settings,
) -> CreatedShare:
    now = clock.now()
    account = accounts.require(account_id)
    require_consent(account, policies=policies, clock=clock, settings=settings)
    if account.status is not AccountStatus.ACTIVE:
        raise errors.AccountRestrictedError()
    if expires_at is not None and expires_at <= now:
        raise errors.InvalidFieldError(
            "The expiry must be in the future.", details=[{"field": "expires_at", "location": "body"}]
        )
    _owned_target(account_id, target_type, target_id, workflows=workflows)
    token = tokens.new_token()
    share = Share(
        id=new_id(IdPrefix.SHARE),
        account_id=account_id,
        target_type=target_type,
        target_id=target_id,
        created_at=now,
        expires_at=expires_at,
    )
    shares.create(share, tokens.hash_token(token))
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


def open_share(
    token: str,
    *,
    shares: ShareRepository,
    gallery: GalleryRepository,
    workflows: WorkflowRepository,
    storage: ObjectStore,
    clock: Clock,
    settings: Settings,
) -> SharedItem:
    share = resolve_share(token, shares=shares, clock=clock)
    owner = gallery.public_owners([share.account_id]).get(share.account_id)
    if owner is None or owner.status is AccountStatus.DELETION_SCHEDULED:
        raise errors.NotFoundError()
    if share.target_type is TargetType.ASSET:
        exposure = asset_exposure(share.account_id, share.target_id)
        if exposure is None or exposure.taken_down:
            raise errors.NotFoundError()
        url = storage.presigned_get(exposure.object_key, settings.download_url_seconds)
        return SharedItem(share=share, asset=exposure, download_url=url)
    workflow = workflows.get(share.account_id, share.target_id)
    if workflow is None or workflow.taken_down:
        raise errors.NotFoundError()
    return SharedItem(
        share=share,
        workflow=workflow,
        version=workflows.version(share.account_id, workflow.id, workflow.latest_version),
    )
