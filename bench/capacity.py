"""DynamoDB request units of one call, estimated from its parameters and its answer as on-demand
billing counts them: a read unit per 4 KB read strongly consistent (half for eventually consistent
reads), a write unit per 1 KB written, and twice that for every item of a transaction.

The item size of an UpdateItem or a DeleteItem is not in the call: such items are taken to be under
1 KB (one unit), which holds for Atelier's wallet, job and pointer items.
"""

from __future__ import annotations

import json
import math
from typing import Any

READ_BLOCK = 4096
WRITE_BLOCK = 1024


def attribute_size(value: dict[str, Any]) -> int:
    """Approximate stored size of one DynamoDB-JSON attribute value, in bytes."""
    kind, content = next(iter(value.items()))
    if kind in ("S", "B"):
        return len(content.encode("utf-8")) if isinstance(content, str) else len(content)
    if kind == "N":
        return math.ceil(len(str(content).lstrip("-").replace(".", "")) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(item.encode("utf-8")) if isinstance(item, str) else len(item) for item in content)
    if kind == "NS":
        return sum(math.ceil(len(str(item)) / 2) + 1 for item in content)
    if kind == "L":
        return 3 + sum(attribute_size(item) + 1 for item in content)
    if kind == "M":
        return 3 + sum(len(name) + attribute_size(item) + 1 for name, item in content.items())
    return len(json.dumps(content, default=str))


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + attribute_size(value) for name, value in item.items())


def _read_units(size: int, consistent: bool) -> float:
    return max(1, math.ceil(size / READ_BLOCK)) * (1.0 if consistent else 0.5)


def _write_units(size: int) -> float:
    return float(max(1, math.ceil(size / WRITE_BLOCK)))


def request_units(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> tuple[float, float]:
    """(read request units, write request units) of one DynamoDB call."""
    consistent = bool(params.get("ConsistentRead"))
    if operation == "GetItem":
        return _read_units(item_size(parsed.get("Item")), consistent), 0.0
    if operation in ("Query", "Scan"):
        items = parsed.get("Items") or []
        size = sum(item_size(item) for item in items)
        returned, scanned = parsed.get("Count", len(items)), parsed.get("ScannedCount", len(items))
        if returned and scanned > returned:  # a filter: the items read and dropped count too
            size = size * scanned // returned
        return _read_units(size, consistent), 0.0
    if operation == "BatchGetItem":
        reads = 0.0
        for table, items in (parsed.get("Responses") or {}).items():
            table_consistent = bool((params.get("RequestItems") or {}).get(table, {}).get("ConsistentRead"))
            reads += sum(_read_units(item_size(item), table_consistent) for item in items)
        return reads, 0.0
    if operation == "PutItem":
        return 0.0, _write_units(item_size(params.get("Item")))
    if operation in ("UpdateItem", "DeleteItem"):
        return 0.0, 1.0
    if operation == "BatchWriteItem":
        writes = 0.0
        for requests in (params.get("RequestItems") or {}).values():
            for request in requests:
                put = request.get("PutRequest")
                writes += _write_units(item_size(put["Item"])) if put else 1.0
        return 0.0, writes
    if operation == "TransactWriteItems":
        writes = 0.0
        for entry in params.get("TransactItems") or []:
            put = entry.get("Put")
            writes += 2 * (_write_units(item_size(put["Item"])) if put else 1.0)
        return 0.0, writes
    if operation == "TransactGetItems":
        responses = parsed.get("Responses") or []
        return sum(2 * _read_units(item_size(entry.get("Item")), True) for entry in responses), 0.0
    return 0.0, 0.0
