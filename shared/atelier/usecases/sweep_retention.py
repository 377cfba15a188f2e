"""The daily retention sweep (P11): log-like items past their expiry are deleted, not left to TTL.

Sent-email records, rate counters, payment inbox rows and sign-in states carry a TTL, which
DynamoDB honours days late. Every day this task Queries the expiry-day index (GSI1, written with
each such item, see `atelier.data.expiry`) for the last few days and today, and deletes what has
expired, 25 per BatchWriteItem. Never a Scan. A day missed is caught up the next day; anything
older than the look-back is left to TTL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

from atelier.clock import Clock
from atelier.data.privacy import Key
from atelier.data.retention import RetentionRepository
from atelier.observability import record_metric
from atelier.settings import Settings


def sweep_retention(*, retention: RetentionRepository, clock: Clock, settings: Settings) -> dict[str, int]:
    """Answers how many items of each kind were deleted."""
    now = clock.now()
    now_epoch = int(now.timestamp())
    deleted: Counter[str] = Counter()

    def expired() -> Iterator[Key]:
        for days_ago in range(settings.retention_lookback_days, -1, -1):
            day = (now - timedelta(days=days_ago)).strftime("%Y-%m-%d")
            for entity, key in retention.expired(day, now_epoch):
                deleted[entity] += 1
                yield key

    retention.delete(expired())
    record_metric("RetentionItemsDeleted", deleted.total())
    return dict(deleted)
