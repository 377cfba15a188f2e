"""The public copies of published media (see integrations/public_media.py): made when an asset is
published, withdrawn at once by every path that hides it (unpublish, delete, a review hold,
moderation, the deletion countdown, suspension, the purge), and made again when a cancelled
countdown or a dismissed report shows it again."""

from __future__ import annotations

from atelier.data.gallery import published_media, set_public_prefix
from atelier.integrations import public_media as media
from atelier.integrations.public_media import PublicMedia
from atelier.observability import logger


def media_files(object_key: str, thumbnail_key: str | None, poster_key: str | None) -> dict[str, str]:
    """Public name -> key of the private object it copies."""
    files = {media.file_name(object_key): object_key}
    if thumbnail_key:
        files[media.THUMBNAIL] = thumbnail_key
    if poster_key:
        files[media.POSTER] = poster_key
    return files


def expose(
    asset_id: str,
    object_key: str,
    thumbnail_key: str | None,
    poster_key: str | None,
    *,
    public_media: PublicMedia,
    prefix: str | None = None,
) -> str:
    """Copies the asset's media to a new public prefix (or `prefix`) and answers it (not recorded)."""
    return public_media.publish(asset_id, media_files(object_key, thumbnail_key, poster_key), prefix=prefix)


def withdraw(account_id: str, asset_id: str, *, public_media: PublicMedia) -> None:
    """Deletes the asset's public copies and forgets where they were."""
    public_media.withdraw(asset_id)
    set_public_prefix(account_id, asset_id, None)


def republish(account_id: str, asset_id: str, *, public_media: PublicMedia) -> bool:
    """Makes the asset's public copies anew if it is public and showable (a review hold released);
    answers whether it did."""
    item = next((found for found in published_media(account_id) if found.asset_id == asset_id), None)
    if item is None or not item.showable:
        return False
    public_media.withdraw(asset_id)
    prefix = expose(asset_id, item.object_key, item.thumbnail_key, item.poster_key, public_media=public_media)
    set_public_prefix(account_id, asset_id, prefix)
    return True


def withdraw_account(account_id: str, *, public_media: PublicMedia) -> int:
    """Deletes the public copies of every asset the account ever published; answers how many. The
    rows keep their prefix (nothing lists them meanwhile: the countdown and suspension hide them),
    so a cancelled countdown puts the very same publication back."""
    found = published_media(account_id)
    for item in found:
        public_media.withdraw(item.asset_id)
    return len(found)


def restore_account(account_id: str, *, public_media: PublicMedia) -> int:
    """Copies again, under the prefix its row kept, the media of every public and showable asset of
    the account (a cancelled deletion); answers how many."""
    restored = 0
    for item in published_media(account_id):
        if not item.showable or not item.public_prefix:
            continue
        expose(
            item.asset_id,
            item.object_key,
            item.thumbnail_key,
            item.poster_key,
            public_media=public_media,
            prefix=item.public_prefix,
        )
        restored += 1
    logger.info("public media restored", extra={"assets": restored})
    return restored
