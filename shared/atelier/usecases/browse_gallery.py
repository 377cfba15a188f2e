"""The public gallery: published assets, newest first, one month partition per page (one Query) and
the owners' display names (one BatchGetItem). No sign-in; never the owner's email nor account id:
an owner is shown by display name and a public handle that does not lead back to the account. Media
are named by the public copies' plain URLs, so a page mints no presigned URL per item."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier.clock import Clock, isoformat
from atelier.data.gallery import GalleryCursor, GalleryRepository, previous_month
from atelier.integrations.public_media import POSTER, THUMBNAIL, file_name, public_url
from atelier.integrations.storage import ObjectStore
from atelier.models.gallery import GalleryEntry
from atelier.settings import Settings

if TYPE_CHECKING:
    from atelier.services import Services


@dataclass(frozen=True)
class GalleryItemView:
    entry: GalleryEntry
    owner_name: str
    owner_handle: str
    download_url: str
    thumbnail_url: str | None = None
    poster_url: str | None = None


def public_handle(account_id: str, settings: Settings) -> str:
    """A stable public name for an account's public items: a keyed hash, so it cannot be turned
    back into the account id (which authorises nothing, but is kept out of public view)."""
    digest = hmac.new(
        settings.platform.address_hash_salt.encode(), f"public-handle\n{account_id}".encode(), hashlib.sha256
    )
    return f"u_{digest.hexdigest()[:20]}"


@dataclass(frozen=True)
class GalleryPage:
    items: list[GalleryItemView]
    next_cursor: str | None


def media_view(
    entry: GalleryEntry,
    owner_name: str,
    owner_handle: str,
    *,
    storage: ObjectStore,
    media_base_url: str,
    settings: Settings,
) -> GalleryItemView:
    """Plain, cacheable URLs of the public copies; an entry published before they existed (no
    public prefix) falls back to short-lived presigned URLs of the private objects."""
    if entry.public_prefix:
        prefix = entry.public_prefix
        return GalleryItemView(
            entry=entry,
            owner_name=owner_name,
            owner_handle=owner_handle,
            download_url=public_url(media_base_url, prefix, file_name(entry.object_key)),
            thumbnail_url=public_url(media_base_url, prefix, THUMBNAIL) if entry.thumbnail_key else None,
            poster_url=public_url(media_base_url, prefix, POSTER) if entry.poster_key else None,
        )

    def url(key: str | None) -> str | None:
        return storage.presigned_get(key, settings.media.download_url_seconds) if key else None

    return GalleryItemView(
        entry=entry,
        owner_name=owner_name,
        owner_handle=owner_handle,
        download_url=storage.presigned_get(entry.object_key, settings.media.download_url_seconds),
        thumbnail_url=url(entry.thumbnail_key),
        poster_url=url(entry.poster_key),
    )


@dataclass(frozen=True)
class BrowseGalleryDeps:
    """What `browse_gallery` works with, built once per function (`Services.dependencies`)."""

    gallery: GalleryRepository
    storage: ObjectStore
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> BrowseGalleryDeps:
        return cls(
            gallery=services.gallery,
            storage=services.asset_storage,
            clock=services.clock,
            settings=services.settings,
        )


def browse_gallery(
    deps: BrowseGalleryDeps,
    *,
    kind: str | None,
    cursor: str | None,
    limit: int,
    media_base_url: str,
) -> GalleryPage:
    position = (
        GalleryCursor.decode(cursor) if cursor else GalleryCursor(month=isoformat(deps.clock.now())[:7], after=None)
    )
    entries, after = deps.gallery.month_page(kind, position, limit)
    if after is not None:
        next_position: GalleryCursor | None = GalleryCursor(month=position.month, after=after)
    elif position.month > deps.settings.community.gallery_first_month:
        # This month is done: the next page starts at the end of the month before.
        next_position = GalleryCursor(month=previous_month(position.month), after=None)
    else:
        next_position = None
    owners = deps.gallery.public_owners(entry.owner_id for entry in entries) if entries else {}
    views = [
        media_view(
            entry,
            owners[entry.owner_id].name,
            public_handle(entry.owner_id, deps.settings),
            storage=deps.storage,
            media_base_url=media_base_url,
            settings=deps.settings,
        )
        for entry in entries
        # An owner gone, suspended, or whose deletion is scheduled, is never shown (for a deletion the
        # entry flag is the first line and this the second; a suspension is read here only, live).
        if entry.owner_id in owners and owners[entry.owner_id].status.shows_public_content
    ]
    return GalleryPage(items=views, next_cursor=next_position.encode() if next_position else None)
