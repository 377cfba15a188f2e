"""The data-access base: PynamoDB models bound to tables named by settings, and the translation of
DynamoDB failures into domain errors.

Table names are read lazily (when the first request needs a connection), never at import, so
importing a handler connects to nothing and tests can point the same models at the emulator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from botocore.exceptions import BotoCoreError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from atelier import errors
from atelier.settings import get_settings

_THROTTLING_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}
# Cancellation reasons of a transaction that no condition refused: trying again may succeed.
_TRANSIENT_CANCELLATIONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
CONDITIONAL_CHECK_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"


class _MainTableMeta(type):
    @property
    def table_name(cls) -> str:
        return get_settings().resources.main_table_name

    @property
    def region(cls) -> str:
        return get_settings().platform.aws_region


class _LedgerTableMeta(type):
    @property
    def table_name(cls) -> str:
        return get_settings().resources.ledger_table_name

    @property
    def region(cls) -> str:
        return get_settings().platform.aws_region


def _give_own_connection_slot(cls: type[Model], shared_base: type[Model]) -> None:
    """Makes the item type open its own table connection, on itself, instead of inheriting one.

    PynamoDB caches a connection on the class that opened it, and a subclass that has opened none
    reads its base's through inheritance. A connection knows only the indexes of the class that
    opened it, so a subclass querying one of its own indexes through a base's connection fails
    ("has no index"). Each type therefore starts from a connection slot of its own, and the shared
    bases, which no item is an instance of, refuse to open one at all.
    """
    if cls is shared_base:
        raise TypeError(
            f"{shared_base.__name__} is the base of item types and opens no connection; "
            "use an item type, or main_table_connection() for raw reads and writes."
        )
    if "_connection" not in vars(cls):
        cls._connection = None


class MainTableModel(Model):
    """Base of every item type in the single main table. Subclasses add their attributes."""

    class Meta(metaclass=_MainTableMeta):
        max_retry_attempts = 3

    @classmethod
    def _get_connection(cls) -> TableConnection:
        _give_own_connection_slot(cls, MainTableModel)
        return super()._get_connection()

    pk = UnicodeAttribute(hash_key=True, attr_name="PK")
    sk = UnicodeAttribute(range_key=True, attr_name="SK")
    entity = UnicodeAttribute()
    # Epoch seconds; the TTL backstop. Reads filter on it; purges delete explicitly.
    expires_at = NumberAttribute(null=True)


class LedgerTableModel(Model):
    class Meta(metaclass=_LedgerTableMeta):
        max_retry_attempts = 3

    @classmethod
    def _get_connection(cls) -> TableConnection:
        _give_own_connection_slot(cls, LedgerTableModel)
        return super()._get_connection()


class _AnyMainItem(MainTableModel):
    """Rows of any type, for the raw operations no one item type owns (whole-partition reads, batch
    reads and deletes by key). A leaf: nothing inherits its connection."""


def main_table_connection() -> TableConnection:
    """The main table's connection for raw operations; it knows the table's keys and no index."""
    return _AnyMainItem._get_connection()


def error_code(exc: PynamoDBException) -> str | None:
    code: str | None = getattr(exc, "cause_response_code", None)
    return code


def is_conditional_failure(exc: PynamoDBException) -> bool:
    return error_code(exc) == CONDITIONAL_CHECK_FAILED


def cancellation_codes(exc: PynamoDBException) -> list[str | None]:
    """Per-operation reasons of a cancelled transaction, in request order (None where it passed)."""
    reasons: list[Any] = getattr(exc, "cancellation_reasons", None) or []
    return [getattr(reason, "code", None) if reason else None for reason in reasons]


@contextmanager
def translate_errors() -> Iterator[None]:
    """Throttling and outages become DependencyUnavailableError; anything else propagates so the
    caller can turn the condition it expected into its own domain error."""
    try:
        yield
    except PynamoDBException as exc:
        if error_code(exc) in _THROTTLING_CODES or _is_transient(exc):
            raise errors.DependencyUnavailableError() from exc
        raise


def _is_transient(exc: PynamoDBException) -> bool:
    """No answer came (a timeout, a dropped connection), or a transaction was cancelled only by a
    conflicting transaction or throttling, not by any condition: the same request may succeed."""
    if isinstance(exc.cause, BotoCoreError):
        return True
    if error_code(exc) != TRANSACTION_CANCELED:
        return False
    reasons = {code for code in cancellation_codes(exc) if code and code != "None"}
    return bool(reasons) and reasons <= _TRANSIENT_CANCELLATIONS


@lru_cache(maxsize=1)
def _connection() -> Connection:
    return Connection(region=get_settings().platform.aws_region, max_retry_attempts=3)


class Transaction:
    """A write transaction across items and tables: all of it happens, or none of it.

    Each operation may carry a label; `failures` names the operations whose condition failed.
    (PynamoDB sends condition checks, deletes, puts and updates in that order, whatever order they
    were added in, and DynamoDB reports reasons in the order sent.)
    """

    def __init__(self) -> None:
        # botocore retries a call whose answer was lost; with the same token DynamoDB applies the
        # transaction once however often it arrives (for ten minutes).
        self._transaction = TransactWrite(connection=_connection(), client_request_token=str(uuid.uuid4()))
        self._labels: dict[str, list[str]] = {"check": [], "delete": [], "put": [], "update": []}

    def __enter__(self) -> Transaction:
        self._transaction.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._transaction.__exit__(*exc_info)

    def save(self, model: Model, condition: Any = None, *, label: str = "", return_values: str | None = None) -> None:
        self._transaction.save(model, condition=condition, return_values=return_values)
        self._labels["put"].append(label)

    def update(
        self,
        model: Model,
        actions: list[Any],
        condition: Any = None,
        *,
        label: str = "",
        return_values: str | None = None,
    ) -> None:
        self._transaction.update(model, actions=actions, condition=condition, return_values=return_values)
        self._labels["update"].append(label)

    def condition_check(
        self, model: type[Model], hash_key: str, range_key: str, condition: Any, *, label: str = ""
    ) -> None:
        self._transaction.condition_check(model, hash_key, range_key, condition=condition)
        self._labels["check"].append(label)

    def delete(self, model: Model, condition: Any = None, *, label: str = "") -> None:
        self._transaction.delete(model, condition=condition)
        self._labels["delete"].append(label)

    def failures(self, exc: PynamoDBException) -> dict[str, Any]:
        """Label -> cancellation reason, for every operation whose condition failed."""
        order = self._labels["check"] + self._labels["delete"] + self._labels["put"] + self._labels["update"]
        reasons: list[Any] = getattr(exc, "cancellation_reasons", None) or []
        return {
            label: reason
            for label, reason in zip(order, reasons, strict=False)
            if reason is not None and getattr(reason, "code", None) == "ConditionalCheckFailed"
        }


def transaction() -> Transaction:
    return Transaction()


def epoch_seconds(moment: datetime) -> int:
    return int(moment.timestamp())
