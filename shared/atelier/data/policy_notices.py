"""Policy-change notices: account holders listed page by page from the sharded account index (GSI1
ACCOUNTS#<shard>, never a Scan), and the per-account, per-version marker that makes a notice go out
once however often its batch is delivered."""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from atelier.data import keys
from atelier.data.base import is_conditional_failure, translate_errors
from atelier.data.items import AccountItem, PolicyNoticeItem


class PolicyNoticeRepository:
    def account_page(self, shard_pk: str, *, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """Account ids of one shard, in id order, one Query page; and the id to continue after."""
        condition = AccountItem.gsi1sk > after if after else None
        with translate_errors():
            answer = AccountItem._get_connection().query(
                shard_pk,
                range_key_condition=condition,
                index_name="GSI1",
                limit=limit,
                attributes_to_get=["account_id"],
            )
        ids = [raw["account_id"]["S"] for raw in answer.get("Items", [])]
        last = answer.get("LastEvaluatedKey")
        return ids, (last["GSI1SK"]["S"] if last else None)

    def claim(self, account_id: str, kind: str, version: str, at: datetime) -> bool:
        """Writes the marker if absent: True when this delivery is the one that sends the notice."""
        item = PolicyNoticeItem(
            keys.account_pk(account_id), keys.notice_sk(kind, version), entity="policy_notice", sent_at=at
        )
        with translate_errors():
            try:
                item.save(condition=PolicyNoticeItem.pk.does_not_exist())
            except PutError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

    def release(self, account_id: str, kind: str, version: str) -> None:
        """Drops a marker whose email could not be sent, so the retried batch sends it."""
        with translate_errors():
            PolicyNoticeItem(keys.account_pk(account_id), keys.notice_sk(kind, version)).delete()

    def sent(self, account_id: str, kind: str, version: str) -> bool:
        with translate_errors():
            try:
                PolicyNoticeItem.get(keys.account_pk(account_id), keys.notice_sk(kind, version), consistent_read=True)
            except PolicyNoticeItem.DoesNotExist:
                return False
        return True
