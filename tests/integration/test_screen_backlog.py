"""Published and shared items made before outputs were screened: hidden from everyone but their
owner until the backlog sweep has checked them, then shown, kept private, removed or quarantined
by the verdict. Against the emulator and the local Rekognition stand-in, which recognise the
patterns the local provider draws (`flag:explicit`, `flag:suggestive`, `flag:minor`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from atelier import errors
from atelier.data.items import AssetItem
from atelier.ids import IdPrefix, new_id
from atelier.integrations.inference.local import ImageSpec, render_image
from atelier.integrations.media_moderation import MediaModerationUnavailableError
from atelier.models.gallery import ReportStatus, TargetType
from atelier.models.generation import Visibility
from atelier.services import get_services
from atelier.usecases.browse_gallery import BrowseGalleryDeps, browse_gallery
from atelier.usecases.manage_assets import UpdateAssetDeps, update_asset
from atelier.usecases.manage_shares import CreateShareDeps, OpenShareDeps, create_share, open_share
from atelier.usecases.publish_media import expose
from atelier.usecases.screen_backlog import UNREADABLE, ScreenBacklogDeps, screen_unscreened_media
from atelier.usecases.screen_media import AUTOMATIC_REVIEWER, quarantine_key
from tests.integration.test_generation import ready_account


@pytest.fixture
def services(stack) -> Any:
    return get_services()


def legacy_asset(account: Any, prompt: str, *, published: bool, shared: bool = False) -> tuple[str, str | None]:
    """An output stored as before outputs were screened (no screened_at, no provenance), published
    with its public copies and/or behind a share link as it could have been then; answers (asset
    id, share token)."""
    services = get_services()
    asset_id = new_id(IdPrefix.ASSET)
    key = f"accounts/{account.id}/outputs/job_legacy/{asset_id}.png"
    services.asset_storage.put(key, render_image(ImageSpec(prompt=prompt, width=128, height=128)), "image/png")
    AssetItem(
        f"ACCOUNT#{account.id}",
        f"ASSET#{asset_id}",
        entity="asset",
        asset_id=asset_id,
        workspace_id=account.default_workspace_id,
        kind="image",
        content_type="image/png",
        size_bytes=100,
        sha256="ab" * 32,
        object_key=key,
        created_at=datetime.now(UTC),
    ).save()
    if published:
        prefix = expose(asset_id, key, None, None, public_media=services.public_media)
        services.assets.update(
            account.id,
            asset_id,
            labels=None,
            rating=None,
            clear_rating=False,
            visibility=Visibility.PUBLIC,
            published_at=datetime.now(UTC),
            public_prefix=prefix,
        )
    token = None
    if shared:
        token = create_share(
            CreateShareDeps.from_services(services), account.id, TargetType.ASSET, asset_id, None
        ).token
    return asset_id, token


def sweep() -> dict[str, Any]:
    services = get_services()
    return screen_unscreened_media(ScreenBacklogDeps.from_services(services))


def gallery_ids() -> set[str]:
    services = get_services()
    page = browse_gallery(
        BrowseGalleryDeps.from_services(services), kind=None, cursor=None, limit=100, media_base_url=""
    )
    return {item.entry.asset_id for item in page.items}


def share_opens(token: str) -> bool:
    services = get_services()
    try:
        open_share(OpenShareDeps.from_services(services), token)
    except errors.NotFoundError:
        return False
    return True


def public_copies(asset_id: str) -> list[str]:
    services = get_services()
    public = services.public_media._public
    answer = public.client.list_objects_v2(Bucket=public.bucket, Prefix=f"media/{asset_id}/")
    return [item["Key"] for item in answer.get("Contents", [])]


@pytest.fixture
def moderation_outage(stack) -> Iterator[None]:
    def set_down(down: bool) -> None:
        httpx.post(f"{stack.api_url}/_local/rekognition/outage", json={"down": down}, timeout=10)

    set_down(True)
    try:
        yield
    finally:
        set_down(False)


def test_unscreened_items_are_hidden_until_the_sweep_passes_them_then_shown_again(services):
    # Given an older published and shared item that was never screened, with its public copies
    account, _ = ready_account(10)
    asset_id, token = legacy_asset(account, "a calm lake", published=True, shared=True)
    assert token is not None
    assert public_copies(asset_id)
    # Then neither the gallery nor the share link shows it (its owner still has it)
    assert asset_id not in gallery_ids()
    assert not share_opens(token)
    assert services.assets.get(account.id, asset_id).awaits_screening
    # When the sweep runs
    outcome = sweep()
    # Then it passed, and is shown again with public copies made anew
    assert outcome["allowed"] >= 1
    asset = services.assets.get(account.id, asset_id)
    assert asset.screened_at is not None
    assert not asset.awaits_screening
    assert asset_id in gallery_ids()
    assert share_opens(token)
    assert public_copies(asset_id)
    # And a second run finds nothing more to do for it
    again = sweep()
    assert again["left"] == 0
    assert services.assets.get(account.id, asset_id).screened_at == asset.screened_at


def test_the_verdicts_keep_private_remove_and_quarantine_and_private_items_are_left_alone(services):
    # Given older items: a suggestive shared one, an explicit published one, a known-bad published
    # one, an unreadable published one, and a private one nobody else can see
    account, _ = ready_account(10)
    restricted, restricted_token = legacy_asset(account, "a beach flag:suggestive", published=False, shared=True)
    blocked, _ = legacy_asset(account, "a room flag:explicit", published=True)
    minor, _ = legacy_asset(account, "flag:minor", published=True)
    unreadable, _ = legacy_asset(account, "a field", published=True)
    services.asset_storage.put(services.assets.get(account.id, unreadable).object_key, b"not an image", "image/png")
    private, _ = legacy_asset(account, "a private sketch", published=False)
    # When the sweep runs
    sweep()
    # Then the suggestive one is kept private with the reason, and its link shows nothing
    kept = services.assets.get(account.id, restricted)
    assert kept.restriction == "restricted:Non-Explicit Nudity of Intimate parts and Kissing"
    assert kept.visibility is Visibility.PRIVATE
    assert restricted_token is not None
    assert not share_opens(restricted_token)
    # And the explicit one is removed, as a moderator's removal leaves it, its copies gone
    assert services.assets.get(account.id, blocked).removed
    assert blocked not in gallery_ids()
    assert public_copies(blocked) == []
    # And the known-bad one is quarantined as the console does: out of the account, removed,
    # the legal-report record beside an open report from the automatic checks
    quarantined = services.assets.get(account.id, minor)
    assert quarantined.removed
    assert quarantined.object_key == quarantine_key(account.id, minor)
    assert services.asset_storage.get(quarantine_key(account.id, minor), 10_000_000) is not None
    assert services.asset_storage.get(f"accounts/{account.id}/outputs/job_legacy/{minor}.png", 10_000_000) is None
    assert public_copies(minor) == []
    record = services.moderation_actions.quarantine_record(minor)
    assert record is not None
    assert (record["owner_id"], record["reason"], record["moderator_id"]) == (
        account.id,
        "minor_safety",
        AUTOMATIC_REVIEWER,
    )
    report = services.reports.get(record["report_id"])
    assert report is not None
    assert report.status is ReportStatus.OPEN
    # And the unreadable one is kept private, never shown
    unread = services.assets.get(account.id, unreadable)
    assert (unread.restriction, unread.visibility) == (UNREADABLE, Visibility.PRIVATE)
    assert unreadable not in gallery_ids()
    # And the private item is not sent for checking (nobody but its owner sees it)
    assert services.assets.get(account.id, private).awaits_screening


def test_publishing_an_unscreened_item_lists_it_only_once_the_sweep_passes_it(services):
    # Given an older private item, never screened
    account, _ = ready_account(10)
    asset_id, _ = legacy_asset(account, "a mountain hut", published=False)
    # When its owner publishes it
    update_asset(
        UpdateAssetDeps.from_services(services),
        account.id,
        asset_id,
        labels=None,
        rating=None,
        clear_rating=False,
        visibility=Visibility.PUBLIC,
    )
    # Then nothing of it is public yet
    assert asset_id not in gallery_ids()
    assert public_copies(asset_id) == []
    # And once the sweep has passed it, it is listed with its public copies
    sweep()
    assert asset_id in gallery_ids()
    assert public_copies(asset_id)


@pytest.mark.usefixtures("moderation_outage")
def test_a_moderation_outage_leaves_unscreened_items_hidden_and_fails_the_run(services):
    # Given an older published item with public copies, and the moderation service down
    account, _ = ready_account(10)
    asset_id, token = legacy_asset(account, "a harbour at night", published=True, shared=True)
    assert token is not None
    # When the sweep runs
    with pytest.raises(MediaModerationUnavailableError):
        sweep()
    # Then the item stays unscreened and hidden everywhere, its public copies withdrawn
    assert services.assets.get(account.id, asset_id).awaits_screening
    assert asset_id not in gallery_ids()
    assert not share_opens(token)
    assert public_copies(asset_id) == []
