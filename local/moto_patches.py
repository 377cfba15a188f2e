"""Where the embedded emulator departs from moto's own behaviour, and why.

moto's `TransactWriteItems` deep-copies every table a transaction touches, to roll back on failure.
That makes each transaction cost time proportional to all the data in those tables: a local stack
with a few thousand ledger entries slows to seconds per money movement. Because the emulator runs
one request at a time, a transaction can instead do what DynamoDB does: evaluate every condition
against the state before the transaction, refuse the whole of it if any fails, and otherwise apply
the writes, keeping copies of only the items it touches in case a write is invalid.

moto also ignores `ClientRequestToken`. DynamoDB applies a transaction once per token for ten
minutes, which is what makes botocore's retry of a call whose answer was lost safe; the emulator
keeps the tokens it applied so a retried money movement is not applied twice here either.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

_OPERATIONS = {"ConditionCheck", "Put", "Delete", "Update"}
_applied = False

_Failure = tuple[str, str, Any] | tuple[None, None, None]


def _parse(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    operations = []
    seen: set[tuple[str, str]] = set()
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        if op_type not in _OPERATIONS:
            raise ValueError("Unsupported transaction operation")
        if op_type == "Put":
            table = backend.get_table(op["TableName"])
            key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = op["Item"][table.range_key_attr]
        else:
            key = op["Key"]
        identity = (str(op["TableName"]), str(dict(sorted(key.items()))))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        operations.append((op_type, op, key))
    return operations


def _check(backend: DynamoDBBackend, op: dict[str, Any], key: dict[str, Any]) -> _Failure:
    condition = op.get("ConditionExpression")
    if condition is None:
        return (None, None, None)
    current = backend.get_item(op["TableName"], key)
    parsed = get_filter_expression(condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues"))
    if parsed.expr(current):
        return (None, None, None)
    old = None
    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", ConditionalCheckFailed(item=old).message, old)


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    names = op.get("ExpressionAttributeNames") or {}
    values = op.get("ExpressionAttributeValues") or {}
    if op_type == "Put":
        backend.put_item(
            op["TableName"], op["Item"], expression_attribute_names=names, expression_attribute_values=values
        )
    elif op_type == "Delete":
        backend.delete_item(op["TableName"], key, expression_attribute_names=names, expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(
            op["TableName"],
            key,
            update_expression=op["UpdateExpression"],
            expression_attribute_names=names,
            expression_attribute_values=values,
        )


def _restore(backend: DynamoDBBackend, snapshots: list[tuple[str, dict[str, Any], Any]]) -> None:
    for table_name, key, original in reversed(snapshots):
        if original is None:
            if backend.get_item(table_name, key) is not None:
                backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, original.to_json()["Attributes"])


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    operations = _parse(self, transact_items)

    failures: list[_Failure] = []
    for _, op, key in operations:
        try:
            failures.append(_check(self, op, key))
        except MockValidationException:
            raise
        except Exception as exc:  # moto reports other failures per operation, as DynamoDB does
            failures.append((type(exc).__name__, str(exc), None))
    if any(code is not None for code, _, _ in failures):
        raise TransactionCanceledException(failures)

    snapshots: list[tuple[str, dict[str, Any], Any]] = []
    for index, (op_type, op, key) in enumerate(operations):
        if op_type == "ConditionCheck":
            continue
        snapshots.append((op["TableName"], key, copy.deepcopy(self.get_item(op["TableName"], key))))
        try:
            _apply(self, op_type, op, key)
        except MockValidationException:
            _restore(self, snapshots)
            raise
        except Exception as exc:
            _restore(self, snapshots)
            failed: list[_Failure] = [(None, None, None)] * len(operations)
            failed[index] = (type(exc).__name__, str(exc), None)
            raise TransactionCanceledException(failed) from exc


_TOKEN_LIFETIME_SECONDS = 600
_applied_tokens: dict[str, tuple[str, float]] = {}
_original_handler = DynamoHandler.transact_write_items


class IdempotentParameterMismatchError(MockValidationException):
    def __init__(self) -> None:
        super().__init__("The request uses the same client token as a previous, but non-identical request.")
        self.error_type = "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"


def transact_write_items_once_per_token(self: DynamoHandler) -> Any:
    token = self.body.get("ClientRequestToken")
    if not token:
        return _original_handler(self)
    now = time.monotonic()
    for stale in [t for t, (_, at) in _applied_tokens.items() if now - at > _TOKEN_LIFETIME_SECONDS]:
        del _applied_tokens[stale]
    fingerprint = hashlib.sha256(json.dumps(self.body.get("TransactItems"), sort_keys=True).encode()).hexdigest()
    seen = _applied_tokens.get(token)
    if seen is not None:
        if seen[0] != fingerprint:
            raise IdempotentParameterMismatchError()
        return _success()
    answer = _original_handler(self)
    _applied_tokens[token] = (fingerprint, now)
    return answer


def _success() -> Any:
    from moto.core.responses import ActionResult

    return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})


def apply() -> None:
    """Installs the patches; safe to call more than once."""
    global _applied
    if not _applied:
        DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
        DynamoHandler.transact_write_items = transact_write_items_once_per_token  # type: ignore[method-assign]
        _applied = True
