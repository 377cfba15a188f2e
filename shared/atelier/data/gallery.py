"""The public gallery: keys written on the asset row when it is published, the page Query, and the
switches the deletion countdown and moderation flip.

Scheme: a published asset carries GSI1 = GALLERY#<kind>#<yyyy-mm> / <published at>#<asset id> and
GSI2 = GALLERY#<yyyy-mm> / <published at>#<asset id>, so a page (by kind or of every kind) is one
Query of one month's partition, newest first; when a month runs out the cursor moves to the month
before. Publications spread over one partition per kind (and month) instead of one forever; a
month is the unit because a page must stay a single Query (hash shards would need one Query per
shard and a merge). Owners' display names are read live with one BatchGetItem of the account rows,
projected to name and status (never the email), so a rename needs no fan-out and an owner whose
deletion is scheduled is dropped even before `hide_public_content` has run.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from atelier import errors
from atelier.clock import isoformat
from atelier.data import keys
from atelier.data.base import is_conditional_failure, translate_errors
from atelier.data.items import AccountItem, GalleryEntryItem
from atelier.models.accounts import AccountStatus, effective_status
from atelier.models.gallery import GalleryEntry
from atelier.models.generation import Visibility

_BATCH_GET_LIMIT = 100


def publish_actions(kind: str, asset_id: str, published_at: datetime) -> list[Action]:
    """The update actions that list an asset in the gallery (written with the visibility change)."""
    at = isoformat(published_at)
    month = keys.gallery_month(at)
    sort_key = keys.gallery_sk(at, asset_id)
    return [
        GalleryEntryItem.published_at.set(published_at),
        GalleryEntryItem.listed.set(True),
        GalleryEntryItem.gsi1pk.set(keys.gallery_kind_pk(kind, month)),
        GalleryEntryItem.gsi1sk.set(sort_key),
        GalleryEntryItem.gsi2pk.set(keys.gallery_all_pk(month)),
        GalleryEntryItem.gsi2sk.set(sort_key),
    ]


def unpublish_actions() -> list[Action]:
    """The update actions that take an asset out of the gallery (the row stays)."""
    return [
        GalleryEntryItem.gsi1pk.remove(),
        GalleryEntryItem.gsi1sk.remove(),
        GalleryEntryItem.gsi2pk.remove(),
        GalleryEntryItem.gsi2sk.remove(),
    ]


# What `month_page` writes into a cursor: a month, and "<index sort key>|<owner id>|<asset id>".
_CURSOR_MONTH = re.compile(r"[12][0-9]{3}-(0[1-9]|1[0-2])")
_CURSOR_AFTER = re.compile(r"[0-9A-Za-z:.+#_-]{1,100}\|[0-9a-z_]{1,64}\|[0-9a-z_]{1,64}")


@dataclass(frozen=True)
class GalleryCursor:
    month: str
    after: str | None

    def encode(self) -> str:
        raw = json.dumps({"m": self.month, "a": self.after}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> GalleryCursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
            month, after = raw["m"], raw["a"]
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise errors.InvalidFieldError(
                "Invalid cursor.", details=[{"field": "cursor", "location": "query"}]
            ) from exc
        if not isinstance(month, str) or not _CURSOR_MONTH.fullmatch(month):
            raise errors.InvalidFieldError("Invalid cursor.", details=[{"field": "cursor", "location": "query"}])
        if after is not None and not (isinstance(after, str) and _CURSOR_AFTER.fullmatch(after)):
            raise errors.InvalidFieldError("Invalid cursor.", details=[{"field": "cursor", "location": "query"}])
        return cls(month=month, after=after)


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _to_entry(item: GalleryEntryItem) -> GalleryEntry:
    assert item.published_at is not None
    return GalleryEntry(
        asset_id=item.asset_id,
        owner_id=item.pk.removeprefix(keys.ACCOUNT),
        kind=item.kind,
        content_type=item.content_type,
        width=None if item.width is None else int(item.width),
        height=None if item.height is None else int(item.height),
        duration_s=None if item.duration_s is None else float(item.duration_s),
        object_key=item.object_key,
        published_at=item.published_at,
        thumbnail_key=item.thumbnail_key,
        poster_key=item.poster_key,
        public_prefix=item.public_prefix,
    )


@dataclass(frozen=True)
class PublicOwner:
    name: str
    status: AccountStatus


class GalleryRepository:
    def month_page(self, kind: str | None, cursor: GalleryCursor, limit: int) -> tuple[list[GalleryEntry], str | None]:
        """One Query of one month's partition: (entries, the sort key to continue after, if any)."""
        if kind:
            index_name, hash_key, range_name, hash_name = (
                "GSI1",
                keys.gallery_kind_pk(kind, cursor.month),
                "GSI1SK",
                "GSI1PK",
            )
        else:
            index_name, hash_key, range_name, hash_name = "GSI2", keys.gallery_all_pk(cursor.month), "GSI2SK", "GSI2PK"
        request: dict[str, Any] = {
            "index_name": index_name,
            "limit": limit,
            "scan_index_forward": False,
            "filter_condition": (GalleryEntryItem.listed == True)  # noqa: E712 - a DynamoDB condition
            & (GalleryEntryItem.removed == False)  # noqa: E712
            & (GalleryEntryItem.visibility == Visibility.PUBLIC.value)
            & (GalleryEntryItem.screened_at.exists() | GalleryEntryItem.provenance_c2pa.exists()),
        }
        if cursor.after:
            request["exclusive_start_key"] = {
                "PK": {"S": keys.account_pk(cursor.after.split("|", 2)[1])},
                "SK": {"S": keys.asset_sk(cursor.after.split("|", 2)[2])},
                hash_name: {"S": hash_key},
                range_name: {"S": cursor.after.split("|", 2)[0]},
            }
        with translate_errors():
            answer = GalleryEntryItem._get_connection().query(hash_key, **request)
        entries = [_to_entry(GalleryEntryItem.from_raw_data(raw)) for raw in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        if not last:
            return entries, None
        owner = last["PK"]["S"].removeprefix(keys.ACCOUNT)
        asset = last["SK"]["S"].removeprefix(keys.ASSET_PREFIX)
        return entries, f"{last[range_name]['S']}|{owner}|{asset}"

    def public_owners(self, account_ids: Iterable[str]) -> dict[str, PublicOwner]:
        """Display name and status of each owner: one BatchGetItem, projected so no email is read."""
        wanted = sorted(set(account_ids))
        found: dict[str, PublicOwner] = {}
        with translate_errors():
            for start in range(0, len(wanted), _BATCH_GET_LIMIT):
                batch = [(keys.account_pk(account_id), keys.ACCOUNT_SK) for account_id in wanted[start : start + 100]]
                for item in AccountItem.batch_get(
                    batch, attributes_to_get=["account_id", "name", "status", "suspended_at"]
                ):
                    found[item.account_id] = PublicOwner(
                        name=item.name, status=effective_status(item.status, item.suspended_at)
                    )
        return found


def _public_asset_rows(account_id: str) -> Iterable[GalleryEntryItem]:
    return GalleryEntryItem.query(
        keys.account_pk(account_id),
        GalleryEntryItem.sk.startswith(keys.ASSET_PREFIX),
        filter_condition=GalleryEntryItem.published_at.exists(),
        attributes_to_get=["PK", "SK", "asset_id"],
    )


def _set_listed(account_id: str, listed: bool) -> int:
    changed = 0
    with translate_errors():
        for row in _public_asset_rows(account_id):
            item = GalleryEntryItem(row.pk, row.sk)
            try:
                item.update(actions=[GalleryEntryItem.listed.set(listed)], condition=GalleryEntryItem.pk.exists())
            except UpdateError as exc:
                if not is_conditional_failure(exc):
                    raise
                continue
            changed += 1
    from atelier.data.workflows import set_workflows_listed

    return changed + set_workflows_listed(account_id, listed)


def hide_public_content(account_id: str) -> int:
    """Takes every public asset and workflow of the account out of public view (gallery, share
    links) without touching its visibility: for the deletion countdown. Answers how many rows changed."""
    return _set_listed(account_id, False)


def restore_public_content(account_id: str) -> int:
    """Undoes `hide_public_content` (a cancelled deletion)."""
    return _set_listed(account_id, True)


@dataclass(frozen=True)
class AssetExposure:
    """What a public read path needs of one asset: what to show, and whether it may be shown."""

    asset_id: str
    owner_id: str
    kind: str
    content_type: str
    width: int | None
    height: int | None
    duration_s: float | None
    object_key: str
    visibility: Visibility
    taken_down: bool
    created_at: datetime
    restriction: str | None = None
    thumbnail_key: str | None = None
    poster_key: str | None = None
    public_prefix: str | None = None
    # Made before outputs were screened and not checked since: shown to its owner only.
    awaiting_screening: bool = False


def awaits_screening(item: GalleryEntryItem) -> bool:
    return item.screened_at is None and item.provenance_c2pa is None


def asset_exposure(account_id: str, asset_id: str) -> AssetExposure | None:
    with translate_errors():
        try:
            item = GalleryEntryItem.get(keys.account_pk(account_id), keys.asset_sk(asset_id), consistent_read=True)
        except GalleryEntryItem.DoesNotExist:
            return None
    return AssetExposure(
        asset_id=item.asset_id,
        owner_id=account_id,
        kind=item.kind,
        content_type=item.content_type,
        width=None if item.width is None else int(item.width),
        height=None if item.height is None else int(item.height),
        duration_s=None if item.duration_s is None else float(item.duration_s),
        object_key=item.object_key,
        visibility=Visibility(item.visibility),
        taken_down=bool(item.removed) or bool(item.under_review) or bool(item.quarantined),
        created_at=item.created_at,
        restriction=item.restriction,
        thumbnail_key=item.thumbnail_key,
        poster_key=item.poster_key,
        public_prefix=item.public_prefix,
        awaiting_screening=awaits_screening(item),
    )


@dataclass(frozen=True)
class PublishedMedia:
    """An asset of the account that was ever published, as its public copies need it."""

    asset_id: str
    object_key: str
    thumbnail_key: str | None
    poster_key: str | None
    public_prefix: str | None
    showable: bool  # public, listed, screened and not taken down


def published_media(account_id: str) -> list[PublishedMedia]:
    """The account's assets that were ever published (one Query of its partition)."""
    found = []
    with translate_errors():
        for item in GalleryEntryItem.query(
            keys.account_pk(account_id),
            GalleryEntryItem.sk.startswith(keys.ASSET_PREFIX),
            filter_condition=GalleryEntryItem.published_at.exists(),
        ):
            taken_down = bool(item.removed) or bool(item.under_review) or bool(item.quarantined)
            found.append(
                PublishedMedia(
                    asset_id=item.asset_id,
                    object_key=item.object_key,
                    thumbnail_key=item.thumbnail_key,
                    poster_key=item.poster_key,
                    public_prefix=item.public_prefix,
                    showable=item.visibility == Visibility.PUBLIC.value
                    and item.listed is not False
                    and not taken_down
                    and not awaits_screening(item),
                )
            )
    return found


def set_public_prefix(account_id: str, asset_id: str, prefix: str | None) -> None:
    """Records (or forgets, with None) where the asset's public copies are; an asset gone meanwhile
    is left alone."""
    action = GalleryEntryItem.public_prefix.set(prefix) if prefix else GalleryEntryItem.public_prefix.remove()
    with translate_errors():
        try:
            GalleryEntryItem(keys.account_pk(account_id), keys.asset_sk(asset_id)).update(
                actions=[action], condition=GalleryEntryItem.pk.exists()
            )
        except UpdateError as exc:
            if not is_conditional_failure(exc):
                raise


@dataclass(frozen=True)
class UnscreenedAsset:
    """An asset made before outputs were screened and not checked since, as the backlog sweep needs it."""

    asset_id: str
    owner_id: str
    content_type: str
    object_key: str
    thumbnail_key: str | None
    poster_key: str | None
    public: bool


def unscreened_assets(account_id: str) -> list[UnscreenedAsset]:
    """The account's assets awaiting screening that are not taken down (one Query of its partition)."""
    found = []
    with translate_errors():
        for item in GalleryEntryItem.query(
            keys.account_pk(account_id),
            GalleryEntryItem.sk.startswith(keys.ASSET_PREFIX),
            filter_condition=GalleryEntryItem.screened_at.does_not_exist()
            & GalleryEntryItem.provenance_c2pa.does_not_exist(),
        ):
            if item.removed or item.quarantined:
                continue
            found.append(
                UnscreenedAsset(
                    asset_id=item.asset_id,
                    owner_id=account_id,
                    content_type=item.content_type,
                    object_key=item.object_key,
                    thumbnail_key=item.thumbnail_key,
                    poster_key=item.poster_key,
                    public=item.visibility == Visibility.PUBLIC.value,
                )
            )
    return found
