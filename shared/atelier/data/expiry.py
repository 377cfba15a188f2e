"""Log-like items, indexed by the day they expire.

Sent-email records, rate counters, payment inbox rows and sign-in states carry a TTL (`expires_at`),
but TTL is a backstop: DynamoDB deletes expired items days late. The daily retention sweep deletes
them itself, and finds them with Queries of GSI1 (never a Scan): each such item is in the index under
`EXPIRES#<yyyy-mm-dd>#<shard>` (the day it expires) with its expiry as the sort key.

The index entry is derived from `expires_at` on every write, whatever code writes the item: on a
put (a save, a transaction or a batch, which all serialize the item) from the attribute, and on an
update (alone or in a transaction) from the `expires_at` value the update sets. An update that sets
no expiry leaves the entry as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path, Value
from pynamodb.expressions.update import Action, SetAction
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from atelier.data import keys
from atelier.data.base import MainTableModel


def expiry_index_keys(pk: str, expires_at: int) -> tuple[str, str]:
    """(GSI1PK, GSI1SK) of an item with partition key `pk` that expires at `expires_at` (epoch s)."""
    day = datetime.fromtimestamp(expires_at, UTC).strftime("%Y-%m-%d")
    return keys.expiry_day_pk(day, pk), keys.expiry_sk(expires_at)


class ExpiryIndex(GlobalSecondaryIndex["ExpiringItem"]):
    """GSI1 over log-like items, by the day they expire."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True, attr_name="GSI1PK")
    gsi1sk = UnicodeAttribute(range_key=True, attr_name="GSI1SK")


class ExpiringItem(MainTableModel):
    """Base of the log-like item types: keeps their GSI1 expiry entry in step with `expires_at`."""

    gsi1pk = UnicodeAttribute(attr_name="GSI1PK", null=True)
    gsi1sk = UnicodeAttribute(attr_name="GSI1SK", null=True)
    by_expiry = ExpiryIndex()

    def serialize(self, null_check: bool = True) -> dict[str, dict[str, Any]]:
        if self.expires_at is not None and self.pk is not None:
            self.gsi1pk, self.gsi1sk = expiry_index_keys(self.pk, int(self.expires_at))
        return super().serialize(null_check=null_check)

    def update(
        self, actions: list[Action], condition: Condition | None = None, *, add_version_condition: bool = True
    ) -> Any:
        return super().update(self._indexed(actions), condition, add_version_condition=add_version_condition)

    def get_update_kwargs_from_instance(
        self,
        actions: list[Action],
        condition: Condition | None = None,
        return_values_on_condition_failure: str | None = None,
        *,
        add_version_condition: bool = True,
    ) -> dict[str, Any]:
        return super().get_update_kwargs_from_instance(
            self._indexed(actions),
            condition,
            return_values_on_condition_failure,
            add_version_condition=add_version_condition,
        )

    def _indexed(self, actions: list[Action]) -> list[Action]:
        expires_at = _expiry_set_by(actions)
        if expires_at is None or self.pk is None:
            return actions
        pk, sk = expiry_index_keys(self.pk, expires_at)
        cls = type(self)
        return [*actions, cls.gsi1pk.set(pk), cls.gsi1sk.set(sk)]


def _expiry_set_by(actions: list[Action]) -> int | None:
    for action in actions:
        if not isinstance(action, SetAction):
            continue
        path, value = action.values
        if isinstance(path, Path) and path.path == ["expires_at"] and isinstance(value, Value):
            number = value.value.get("N")
            if number is not None:
                return int(number)
    return None
