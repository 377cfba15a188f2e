"""The promises that must hold whatever happened before: read straight from the emulator's tables,
buckets and outbox, never through the code under test, and answered as a list of violations.

Call it once the platform is quiet (queues drained, the stuck-job sweep run): while work is in
flight a job is legitimately running and its hold legitimately open.

- money: every wallet's balance equals the sum of its ledger; `held` equals the credits of its open
  holds and `jobs_in_flight` their number; nothing is negative that cannot be;
- jobs: none is left queued or running; a succeeded job's hold was settled, a failed or canceled
  one's released, and no hold is open;
- objects: every object in the assets bucket is referenced by an asset, an upload or a quarantine
  record (a write that lost its record would otherwise be stored forever, unseen by the purge);
- email: no message went out twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
from boto3.dynamodb.types import TypeDeserializer

from atelier.settings import get_settings

_FINAL_JOB_STATES = {"succeeded", "failed", "canceled"}
_deserialize = TypeDeserializer().deserialize


@dataclass
class PlatformState:
    """Everything the invariants read, gathered once."""

    main_items: list[dict[str, Any]]
    ledger_items: list[dict[str, Any]]
    asset_object_keys: list[str]
    emails: list[dict[str, Any]]
    by_entity: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in self.main_items:
            grouped[str(item.get("entity", ""))].append(item)
        self.by_entity = dict(grouped)

    def entities(self, entity: str) -> list[dict[str, Any]]:
        return self.by_entity.get(entity, [])


def read_platform_state(emulator_url: str, api_url: str | None = None) -> PlatformState:
    """Reads the whole state of the emulator (test-side Scans: the platform itself never scans)."""
    settings = get_settings()
    dynamodb = boto3.client("dynamodb", endpoint_url=emulator_url, region_name=settings.platform.aws_region)
    s3 = boto3.client("s3", endpoint_url=emulator_url, region_name=settings.platform.aws_region)
    emails: list[dict[str, Any]] = []
    if api_url is not None:
        emails = httpx.get(f"{api_url}/_local/outbox", timeout=30).json()
    return PlatformState(
        main_items=list(_scan(dynamodb, settings.resources.main_table_name)),
        ledger_items=list(_scan(dynamodb, settings.resources.ledger_table_name)),
        asset_object_keys=list(_object_keys(s3, settings.resources.assets_bucket_name)),
        emails=emails,
    )


def violations(state: PlatformState) -> list[str]:
    """Every broken promise, one line each; empty when all hold."""
    return [*money_violations(state), *job_violations(state), *object_violations(state), *email_violations(state)]


def assert_invariants(emulator_url: str, api_url: str | None = None) -> PlatformState:
    state = read_platform_state(emulator_url, api_url)
    found = violations(state)
    assert not found, f"{len(found)} invariant violation(s):\n" + "\n".join(found[:50])
    return state


# -- the promises ----------------------------------------------------------------------------------
def money_violations(state: PlatformState) -> list[str]:
    ledger_sums: Counter[str] = Counter()
    for entry in state.ledger_items:
        if entry.get("entity") == "ledger_entry":
            ledger_sums[entry["ledger_id"]] += int(entry["credits"])
    open_holds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for hold in state.entities("hold"):
        if hold["status"] == "held":
            open_holds[hold["PK"]].append(hold)
    found = []
    for wallet in state.entities("wallet"):
        account = wallet["PK"]
        balance, held = int(wallet["balance"]), int(wallet["held"])
        if balance != ledger_sums[wallet["ledger_id"]]:
            found.append(f"{account}: balance {balance} != ledger sum {ledger_sums[wallet['ledger_id']]}")
        holds = open_holds.get(account, [])
        if held != sum(int(hold["credits"]) for hold in holds):
            found.append(f"{account}: held {held} != open holds {sum(int(hold['credits']) for hold in holds)}")
        if held < 0:
            found.append(f"{account}: held is negative ({held})")
        in_flight = wallet.get("jobs_in_flight")
        if in_flight is not None and int(in_flight) != len(holds):
            found.append(f"{account}: jobs_in_flight {int(in_flight)} != {len(holds)} open holds")
    return found


def job_violations(state: PlatformState) -> list[str]:
    holds = {(hold["PK"], hold["reference"]): hold for hold in state.entities("hold")}
    found = []
    for job in state.entities("job"):
        where = f"{job['PK']} job {job['job_id']}"
        if job["status"] not in _FINAL_JOB_STATES:
            found.append(f"{where}: left {job['status']}")
            continue
        hold = holds.get((job["PK"], job["job_id"]))
        if hold is None:
            continue  # refused before any credit was held
        expected = "settled" if job["status"] == "succeeded" else "released"
        if hold["status"] != expected:
            found.append(f"{where}: {job['status']} but its hold is {hold['status']}")
    for hold in state.entities("hold"):
        if hold["status"] == "held":
            found.append(f"{hold['PK']}: hold {hold['reference']} still open")
    return found


def object_violations(state: PlatformState) -> list[str]:
    # An asset's or upload's derived previews (thumbnail, poster) are referenced by its row too.
    referenced = {
        str(item[attribute])
        for entity in ("asset", "upload", "quarantine_record")
        for item in state.entities(entity)
        for attribute in ("object_key", "thumbnail_key", "poster_key")
        if item.get(attribute)
    }
    return [f"orphan object {key}" for key in state.asset_object_keys if key not in referenced]


def email_violations(state: PlatformState) -> list[str]:
    sent = Counter((mail["to"], mail["subject"], mail["text"]) for mail in state.emails)
    return [f"sent {count} times to {to}: {subject!r}" for (to, subject, _), count in sent.items() if count > 1]


# -- reading the emulator --------------------------------------------------------------------------
def _scan(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            yield {name: _deserialize(value) for name, value in raw.items()}


def _object_keys(s3: Any, bucket: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            yield str(item["Key"])
