"""Privacy's data access: reading everything an account owns (for its export), the deletion
countdown on the account row, and the purge's deletes, all by Queries of the account's partition,
its ledger partition and the pointers listed in it. Never a Scan.

Rows are handed out as plain dictionaries (`StoredRow`), whatever their item type, so that an item
type added later is exported and purged without this module knowing it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pynamodb.connection import TableConnection
from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.pagination import PageIterator

from atelier import errors
from atelier.clock import isoformat
from atelier.data import item_types, keys
from atelier.data.accounts import identity_hash
from atelier.data.base import (
    epoch_seconds,
    is_conditional_failure,
    main_table_connection,
    transaction,
    translate_errors,
)
from atelier.data.items import AccountItem, DeletionReceiptItem, JobItem, PointerItem
from atelier.data.ledger_items import LedgerEntryItem, PaymentRecordItem
from atelier.data.wallets import LEDGER_RETENTION
from atelier.models.accounts import AccountStatus, effective_status
from atelier.models.privacy import DeletionReceipt, DeletionState, ProviderAction

_KEY_ATTRIBUTES = frozenset({"PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"})
_BATCH_WRITE_LIMIT = 25
_BATCH_GET_LIMIT = 100

Key = tuple[str, str]


class DeletionAlreadyScheduledError(errors.ConflictError):
    code = "deletion_scheduled"
    default_message = "This account is already scheduled for deletion."


class DeletionNotScheduledError(errors.ConflictError):
    code = "deletion_not_scheduled"
    default_message = "No deletion is scheduled for this account."


class PurgeStartedError(errors.ConflictError):
    code = "purge_started"
    default_message = "The deletion has started and can no longer be cancelled."


@dataclass(frozen=True)
class StoredRow:
    """One item as stored: its entity name, its keys, and its other attributes as plain values."""

    entity: str
    pk: str
    sk: str
    attributes: dict[str, Any]


def _number(text: str) -> int | float:
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


def _plain(value: dict[str, Any]) -> Any:
    """A DynamoDB attribute value ({"S": ...}, {"N": ...}...) as a JSON-ready Python value."""
    ((kind, inner),) = value.items()
    if kind == "S" or kind == "BOOL":
        return inner
    if kind == "N":
        return _number(inner)
    if kind == "NULL":
        return None
    if kind == "B":
        return base64.b64encode(inner).decode() if isinstance(inner, bytes | bytearray) else inner
    if kind == "M":
        return {name: _plain(item) for name, item in inner.items()}
    if kind == "L":
        return [_plain(item) for item in inner]
    if kind == "SS":
        return sorted(inner)
    if kind == "NS":
        return sorted(_number(item) for item in inner)
    if kind == "BS":
        return sorted(base64.b64encode(item).decode() for item in inner)
    raise ValueError(f"unknown DynamoDB type {kind}")


def _row(raw: dict[str, Any]) -> StoredRow:
    values = {name: _plain(value) for name, value in raw.items()}
    pk, sk = str(values.get("PK", values.get("ledger_id", ""))), str(values.get("SK", values.get("entry_id", "")))
    attributes = {name: value for name, value in values.items() if name not in _KEY_ATTRIBUTES}
    return StoredRow(entity=str(values.get("entity", "unknown")), pk=pk, sk=sk, attributes=attributes)


def _pages(connection: TableConnection, hash_key: str, **query: Any) -> Iterator[list[dict[str, Any]]]:
    """The raw items of a Query, one page (up to 1 MB) at a time."""
    pages: PageIterator[dict[str, Any]] = PageIterator(connection.query, (hash_key,), query)
    for page in pages:
        yield page.get("Items", [])


def _deletion_state(item: AccountItem) -> DeletionState:
    actions = [ProviderAction(**action) for action in (item.purge_provider_actions or [])]
    return DeletionState(
        account_id=item.account_id,
        status=AccountStatus(item.status),
        ledger_id=item.ledger_id,
        identity_issuer=item.identity_issuer,
        identity_subject=item.identity_subject,
        requested_at=item.deletion_requested_at,
        purge_at=item.purge_at,
        previous_status=AccountStatus(item.status_before_deletion) if item.status_before_deletion else None,
        purge_started_at=item.purge_started_at,
        steps_done=list(item.purge_steps or []),
        counts={str(name): int(count) for name, count in (item.purge_counts or {}).items()},
        pending_provider_actions=actions,
    )


def _receipt(item: DeletionReceiptItem) -> DeletionReceipt:
    return DeletionReceipt(
        account_hash=item.pk.removeprefix("DELETION#"),
        requested_at=item.requested_at,
        purge_at=item.purge_at,
        purged_at=item.purged_at,
        counts={str(name): int(count) for name, count in (item.counts or {}).items()},
        pending_provider_actions=[ProviderAction(**action) for action in (item.provider_actions or [])],
        provider_attempts=int(item.provider_attempts or 0),
        provider_actions_abandoned={str(k): int(v) for k, v in (item.provider_actions_abandoned or {}).items()},
        next_provider_try_at=_due_time(item.gsi2sk),
    )


class PrivacyRepository:
    # -- reading what an account owns ------------------------------------------------------------
    def partition_rows(self, account_id: str) -> Iterator[StoredRow]:
        """Every item of the account's partition, in key order, a page at a time."""
        with translate_errors():
            for page in _pages(main_table_connection(), keys.account_pk(account_id), consistent_read=True):
                yield from (_row(raw) for raw in page)

    def ledger_rows(self, ledger_id: str) -> Iterator[StoredRow]:
        """Every item of the account's ledger partition: entries, payment records, reversals."""
        with translate_errors():
            for page in _pages(LedgerEntryItem._get_connection(), ledger_id, consistent_read=True):
                yield from (_row(raw) for raw in page)

    def rows_at(self, item_keys: Sequence[Key]) -> list[StoredRow]:
        """The main-table items at these keys (pointers, say), in batches; missing ones are skipped."""
        found: list[StoredRow] = []
        connection = main_table_connection()
        with translate_errors():
            for start in range(0, len(item_keys), _BATCH_GET_LIMIT):
                wanted = [_typed_key(key) for key in item_keys[start : start + _BATCH_GET_LIMIT]]
                for _attempt in range(8):
                    answer = connection.batch_get_item(wanted, consistent_read=True)  # type: ignore[arg-type]
                    found.extend(_row(raw) for raw in answer.get("Responses", {}).get(connection.table_name, []))
                    wanted = answer.get("UnprocessedKeys", {}).get(connection.table_name, {}).get("Keys", [])
                    if not wanted:
                        break
                    _back_off(_attempt)
                else:
                    raise errors.DependencyUnavailableError("DynamoDB did not answer a batch of reads.")
        return found

    def count_partition(self, account_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        with translate_errors():
            for page in _pages(
                main_table_connection(), keys.account_pk(account_id), attributes_to_get=["entity"], consistent_read=True
            ):
                for raw in page:
                    entity = raw.get("entity", {}).get("S", "unknown")
                    counts[entity] = counts.get(entity, 0) + 1
        return counts

    def identity_link_key(self, issuer: str, subject: str) -> Key:
        return keys.identity_pointer_pk(identity_hash(issuer, subject)), keys.POINTER_SK

    def pointers_listed_by(self, row: StoredRow) -> list[Key]:
        """The keys of the pointer items a row of an account's partition lists: the account row its
        identity link, session and API-key rows their token pointers, jobs their provider job.

        The one rule both the export (pointers.json) and the purge (its access step) follow, kept
        with each item type in the registry (atelier.data.item_types)."""
        return item_types.pointers_listed_by(row.entity, row.attributes)

    # -- the deletion countdown ------------------------------------------------------------------
    def deletion_state(self, account_id: str) -> DeletionState | None:
        with translate_errors():
            try:
                item = AccountItem.get(keys.account_pk(account_id), keys.ACCOUNT_SK, consistent_read=True)
            except AccountItem.DoesNotExist:
                return None
        return _deletion_state(item)

    def schedule_deletion(self, account_id: str, *, requested_at: datetime, purge_at: datetime) -> DeletionState:
        """active or restricted -> deletion_scheduled, remembering which, and lists the account as
        due at `purge_at` (sparse GSI2)."""
        item = AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK)
        can_schedule = AccountItem.status.is_in(AccountStatus.ACTIVE.value, AccountStatus.RESTRICTED.value)
        with translate_errors():
            try:
                item.update(
                    actions=[
                        AccountItem.status_before_deletion.set(AccountItem.status),
                        AccountItem.status.set(AccountStatus.DELETION_SCHEDULED.value),
                        AccountItem.deletion_requested_at.set(requested_at),
                        AccountItem.purge_at.set(purge_at),
                        AccountItem.gsi2pk.set(keys.PURGE_DUE),
                        AccountItem.gsi2sk.set(keys.due_sk(isoformat(purge_at), account_id)),
                    ],
                    condition=AccountItem.pk.exists() & can_schedule,
                )
            except UpdateError as exc:
                if not is_conditional_failure(exc):
                    raise
                current = self.deletion_state(account_id)
                if current is None:
                    raise errors.NotFoundError() from exc
                if current.scheduled:
                    raise DeletionAlreadyScheduledError() from exc
                raise errors.ConflictError() from exc
        return _deletion_state(item)

    def cancel_deletion(self, account_id: str) -> DeletionState:
        """Restores the status from before the deletion was scheduled and removes every trace of the
        countdown, unless the purge has started."""
        item = AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK)
        with translate_errors():
            try:
                item.update(
                    actions=[
                        AccountItem.status.set(AccountItem.status_before_deletion | AccountStatus.ACTIVE.value),
                        AccountItem.status_before_deletion.remove(),
                        AccountItem.deletion_requested_at.remove(),
                        AccountItem.purge_at.remove(),
                        AccountItem.gsi2pk.remove(),
                        AccountItem.gsi2sk.remove(),
                    ],
                    condition=(AccountItem.status == AccountStatus.DELETION_SCHEDULED.value)
                    & AccountItem.purge_started_at.does_not_exist(),
                )
            except UpdateError as exc:
                if not is_conditional_failure(exc):
                    raise
                current = self.deletion_state(account_id)
                if current is None:
                    raise errors.NotFoundError() from exc
                if current.purge_started_at is not None:
                    raise PurgeStartedError() from exc
                raise DeletionNotScheduledError() from exc
        return _deletion_state(item)

    def owner_statuses(self, account_ids: Iterable[str]) -> dict[str, AccountStatus]:
        """The status of each of these accounts (missing ones are absent), for public read paths."""
        wanted = sorted(set(account_ids))
        statuses: dict[str, AccountStatus] = {}
        with translate_errors():
            for start in range(0, len(wanted), _BATCH_GET_LIMIT):
                batch = [
                    (keys.account_pk(account_id), keys.ACCOUNT_SK)
                    for account_id in wanted[start : start + _BATCH_GET_LIMIT]
                ]
                for item in AccountItem.batch_get(batch, attributes_to_get=["account_id", "status", "suspended_at"]):
                    statuses[item.account_id] = effective_status(item.status, item.suspended_at)
        return statuses

    # -- the purge -------------------------------------------------------------------------------
    def due_for_purge(self, now: datetime, *, limit: int) -> list[str]:
        """Account ids whose purge is due, oldest deadline first (a Query of the sparse GSI2 list)."""
        with translate_errors():
            items = AccountItem.due.query(
                keys.PURGE_DUE, AccountItem.gsi2sk <= keys.due_sk(isoformat(now), "~"), limit=limit
            )
            return [item.gsi2sk.rsplit("#", 1)[-1] for item in items if item.gsi2sk]

    def begin_purge(self, account_id: str, now: datetime, counts: dict[str, int]) -> bool:
        """Marks the purge started, once, with what there is to remove; from then on it cannot be
        cancelled. False when the account is not (or no longer) due."""
        item = AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK)
        with translate_errors():
            try:
                item.update(
                    actions=[
                        AccountItem.purge_started_at.set(now),
                        AccountItem.purge_steps.set([]),
                        AccountItem.purge_counts.set(counts),
                    ],
                    condition=(AccountItem.status == AccountStatus.DELETION_SCHEDULED.value)
                    & (AccountItem.purge_at <= now)
                    & AccountItem.purge_started_at.does_not_exist(),
                )
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

    def record_step(
        self,
        account_id: str,
        step: str,
        *,
        provider_actions: list[ProviderAction] | None = None,
    ) -> None:
        actions: list[Action] = [AccountItem.purge_steps.set(AccountItem.purge_steps.append([step]))]
        if provider_actions is not None:
            actions.append(AccountItem.purge_provider_actions.set([action.model_dump() for action in provider_actions]))
        with translate_errors():
            AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK).update(
                actions=actions, condition=AccountItem.purge_started_at.exists()
            )

    def job_ids_in(self, account_id: str, statuses: tuple[str, ...]) -> Iterator[str]:
        """The ids of the account's jobs in one of `statuses`."""
        with translate_errors():
            for item in JobItem.query(
                keys.account_pk(account_id),
                JobItem.sk.startswith(keys.JOB_PREFIX),
                filter_condition=JobItem.status.is_in(*statuses),
                attributes_to_get=["job_id"],
            ):
                yield item.job_id

    def delete_identity_link(self, issuer: str, subject: str, account_id: str) -> None:
        """Deletes the account's identity link, and only if it is still this account's: after the
        access step a new sign-in with the same identity creates a new account with a new link."""
        pk, sk = self.identity_link_key(issuer, subject)
        with translate_errors():
            try:
                PointerItem(pk, sk).delete(condition=PointerItem.account_id == account_id)
            except DeleteError as exc:
                if not is_conditional_failure(exc):
                    raise

    def delete_keys(self, item_keys: Iterable[Key]) -> int:
        return delete_main_items(item_keys)

    def partition_keys(self, account_id: str, *, keep_account: bool) -> Iterator[Key]:
        with translate_errors():
            for page in _pages(
                main_table_connection(),
                keys.account_pk(account_id),
                attributes_to_get=["PK", "SK"],
                consistent_read=True,
            ):
                for raw in page:
                    key = raw["PK"]["S"], raw["SK"]["S"]
                    if keep_account and key[1] == keys.ACCOUNT_SK:
                        continue
                    yield key

    def strip_payment_records(self, ledger_id: str) -> int:
        """Removes the account id from the account's payment records (kept 7 years, P10)."""
        stripped = 0
        with translate_errors():
            for record in PaymentRecordItem.query(
                ledger_id,
                PaymentRecordItem.entry_id.startswith(keys.PAYMENT_PREFIX),
                filter_condition=PaymentRecordItem.account_id.exists(),
                attributes_to_get=["ledger_id", "entry_id"],
            ):
                PaymentRecordItem(record.ledger_id, record.entry_id).update(
                    actions=[PaymentRecordItem.account_id.remove()]
                )
                stripped += 1
        return stripped

    def finish_purge(self, account_id: str, receipt: DeletionReceipt) -> bool:
        """Writes the receipt and deletes the account row together. False when already done."""
        receipt_item = _receipt_item(receipt)
        with translate_errors():
            try:
                with transaction() as tx:
                    tx.save(receipt_item)
                    tx.delete(
                        AccountItem(keys.account_pk(account_id), keys.ACCOUNT_SK),
                        condition=AccountItem.purge_started_at.exists(),
                    )
            except TransactWriteError as exc:
                if "ConditionalCheckFailed" in [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]:
                    return False
                raise
        return True

    # -- receipts and what payment providers still owe -----------------------------------------
    def receipt(self, account_hash: str) -> DeletionReceipt | None:
        with translate_errors():
            try:
                item = DeletionReceiptItem.get(keys.deletion_receipt_pk(account_hash), keys.RECEIPT_SK)
            except DeletionReceiptItem.DoesNotExist:
                return None
        return _receipt(item)

    def receipts_due(self, now: datetime, *, limit: int) -> list[DeletionReceipt]:
        with translate_errors():
            items = DeletionReceiptItem.cleanup_due.query(
                keys.PROVIDER_CLEANUP_DUE,
                DeletionReceiptItem.gsi2sk <= keys.due_sk(isoformat(now), "~"),
                limit=limit,
            )
            return [_receipt(item) for item in items]

    def save_receipt(self, receipt: DeletionReceipt) -> None:
        with translate_errors():
            _receipt_item(receipt).save()


def _receipt_item(receipt: DeletionReceipt) -> DeletionReceiptItem:
    pending = [action.model_dump() for action in receipt.pending_provider_actions]
    item = DeletionReceiptItem(
        keys.deletion_receipt_pk(receipt.account_hash),
        keys.RECEIPT_SK,
        entity="deletion_receipt",
        requested_at=receipt.requested_at,
        purge_at=receipt.purge_at,
        purged_at=receipt.purged_at,
        counts=dict(receipt.counts),
        provider_actions=pending or None,
        provider_attempts=receipt.provider_attempts,
        provider_actions_abandoned=dict(receipt.provider_actions_abandoned) or None,
        # Kept as long as the money records it accounts for (P10).
        expires_at=epoch_seconds(receipt.purged_at + LEDGER_RETENTION),
    )
    if pending and receipt.next_provider_try_at is not None:
        item.gsi2pk = keys.PROVIDER_CLEANUP_DUE
        item.gsi2sk = keys.due_sk(isoformat(receipt.next_provider_try_at), receipt.account_hash)
    return item


def _due_time(due_sk: str | None) -> datetime | None:
    if not due_sk:
        return None
    return datetime.fromisoformat(due_sk.rsplit("#", 1)[0].replace("Z", "+00:00"))


def delete_main_items(item_keys: Iterable[Key]) -> int:
    """Deletes main-table items by key, 25 per BatchWriteItem; answers how many were asked for."""
    connection = main_table_connection()
    pending: list[dict[str, Any]] = []
    deleted = 0
    with translate_errors():
        for key in item_keys:
            pending.append(_typed_key(key))
            deleted += 1
            if len(pending) == _BATCH_WRITE_LIMIT:
                _batch_delete(connection, pending)
                pending = []
        if pending:
            _batch_delete(connection, pending)
    return deleted


def _typed_key(key: Key) -> dict[str, Any]:
    return {"PK": {"S": key[0]}, "SK": {"S": key[1]}}


def _back_off(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 2.0))


def _batch_delete(connection: Any, item_keys: list[dict[str, Any]]) -> None:
    """One BatchWriteItem of deletes, then its unprocessed items again, backing off."""
    remaining = item_keys
    for attempt in range(8):
        answer = connection.batch_write_item(delete_items=remaining) or {}
        remaining = [
            request["DeleteRequest"]["Key"]
            for request in answer.get("UnprocessedItems", {}).get(connection.table_name, [])
        ]
        if not remaining:
            return
        _back_off(attempt)
    raise errors.DependencyUnavailableError("DynamoDB did not process a batch of deletes.")
