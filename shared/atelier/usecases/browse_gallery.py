"""The public gallery: published assets, newest first, one month partition per page (one Query) and
the owners' display names (one BatchGetItem). No sign-in; never the owner's email."""

from __future__ import annotations

from dataclasses import dataclass

from atelier.clock import Clock, isoformat
from atelier.data.gallery import GalleryCursor, GalleryRepository, previous_month
from atelier.integrations.storage import ObjectStore
from atelier.models.accounts import AccountStatus
from atelier.models.gallery import GalleryEntry
from atelier.settings import Settings


@dataclass(frozen=True)
class GalleryItemView:
    entry: GalleryEntry
    owner_name: str
    download_url: str


@dataclass(frozen=True)
class GalleryPage:
    items: list[GalleryItemView]
    next_cursor: str | None


def browse_gallery(
    *,
    kind: str | None,
    cursor: str | None,
    limit: int,
    gallery: GalleryRepository,
    storage: ObjectStore,
    clock: Clock,
    settings: Settings,
) -> GalleryPage:
    position = GalleryCursor.decode(cursor) if cursor else GalleryCursor(month=isoformat(clock.now())[:7], after=None)
    entries, after = gallery.month_page(kind, position, limit)
    if after is not None:
        next_position: GalleryCursor | None = GalleryCursor(month=position.month, after=after)
    elif position.month > settings.gallery_first_month:
        # This month is done: the next page starts at the end of the month before.
        next_position = GalleryCursor(month=previous_month(position.month), after=None)
    else:
        next_position = None
    owners = gallery.public_owners(entry.owner_id for entry in entries) if entries else {}
    views = [
        GalleryItemView(
            entry=entry,
            owner_name=owners[entry.owner_id].name,
            download_url=storage.presigned_get(entry.object_key, settings.download_url_seconds),
        )
        for entry in entries
        # An owner gone, or whose deletion is scheduled, is never shown (the entry flag is the
        # first line; this is the second, for the moments before the flag is cleared).
        if entry.owner_id in owners and owners[entry.owner_id].status is not AccountStatus.DELETION_SCHEDULED
    ]
    return GalleryPage(items=views, next_cursor=next_position.encode() if next_position else None)
