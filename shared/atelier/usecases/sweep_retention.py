"""The daily retention sweep (P11): log-like items past their expiry are deleted, not left to TTL.

Sent-email records, rate counters, payment inbox rows and sign-in states carry a TTL, which
DynamoDB honours days late. Every day this task Queries the expiry-day index (GSI1, written with
each such item, see `atelier.data.expiry`) for the last few days and today, and deletes what has
expired, 25 per BatchWriteItem. Never a Scan. A day missed is caught up the next day; anything
older than the look-back is left to TTL.

Reference uploads no job has used are in the same index under the day they stop being kept; each
is deleted with its object and gives back its share of the account's upload quota (an upload a job
used meanwhile is left alone). They carry no TTL: the bucket's lifecycle rule is their backstop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from atelier.clock import Clock
from atelier.data.assets import UploadRepository
from atelier.data.privacy import Key
from atelier.data.retention import RetentionRepository
from atelier.integrations.storage import ObjectStore
from atelier.observability import record_metric
from atelier.settings import Settings

if TYPE_CHECKING:
    from atelier.services import Services

UPLOAD_ENTITY = "upload"


@dataclass(frozen=True)
class SweepRetentionDeps:
    """What `sweep_retention` works with, built once per function (`Services.dependencies`)."""

    retention: RetentionRepository
    uploads: UploadRepository
    storage: ObjectStore
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> SweepRetentionDeps:
        return cls(
            retention=services.retention,
            uploads=services.uploads,
            storage=services.asset_storage,
            clock=services.clock,
            settings=services.settings,
        )


def sweep_retention(
    deps: SweepRetentionDeps,
) -> dict[str, int]:
    """Answers how many items of each kind were deleted."""
    now = deps.clock.now()
    now_epoch = int(now.timestamp())
    deleted: Counter[str] = Counter()
    unused_uploads: list[Key] = []

    def expired() -> Iterator[Key]:
        for days_ago in range(deps.settings.privacy.retention_lookback_days, -1, -1):
            day = (now - timedelta(days=days_ago)).strftime("%Y-%m-%d")
            for entity, key in deps.retention.expired(day, now_epoch):
                if entity == UPLOAD_ENTITY:
                    unused_uploads.append(key)
                    continue
                deleted[entity] += 1
                yield key

    deps.retention.delete(expired())
    for key in unused_uploads:
        if expire_unused_upload(key, uploads=deps.uploads, storage=deps.storage):
            deleted[UPLOAD_ENTITY] += 1
    record_metric("RetentionItemsDeleted", deleted.total())
    return dict(deleted)


def expire_unused_upload(key: Key, *, uploads: UploadRepository, storage: ObjectStore) -> bool:
    """Deletes one unused upload's record (giving back its quota), then its object; False when a
    job used it meanwhile. The record goes first, so no job can be accepted with a deleted object."""
    removed = uploads.delete_unused_at(key)
    if removed is None:
        return False
    storage.delete([removed.object_key])
    return True
