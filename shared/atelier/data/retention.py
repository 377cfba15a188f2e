"""The retention sweep's data access: log-like items past their expiry, found by Queries of the
expiry-day index (GSI1, see `atelier.data.expiry`), and their deletion in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from atelier.data import keys
from atelier.data.base import translate_errors
from atelier.data.expiry import ExpiringItem
from atelier.data.privacy import Key, delete_main_items


class RetentionRepository:
    def expired(self, day: str, now_epoch: int) -> Iterator[tuple[str, Key]]:
        """(entity, key) of every log-like item due to expire on `day` whose expiry has passed."""
        with translate_errors():
            for shard in keys.expiry_day_shards(day):
                for item in ExpiringItem.by_expiry.query(
                    shard,
                    ExpiringItem.gsi1sk < keys.expiry_sk(now_epoch),
                    attributes_to_get=["PK", "SK", "entity"],
                ):
                    yield item.entity, (item.pk, item.sk)

    def delete(self, item_keys: Iterable[Key]) -> int:
        return delete_main_items(item_keys)
