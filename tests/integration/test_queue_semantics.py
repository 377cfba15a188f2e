"""The local runtime delivers SQS batches and schedules the way Lambda does.

The fixture stack (tests/fixtures/local_runtime/) has a work queue whose dead-letter queue takes a
record after 2 receives, a worker that records every delivery in a table and reports the "poison"
records as batch item failures, and a ticker function on two schedules.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from boto3.dynamodb.conditions import Key

from local.functions import ScheduleEvent
from local.runtime import LocalRuntime
from local.schedules import Scheduler, parse_expression

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "local_runtime"
MAX_RECEIVE_COUNT = 2  # the fixture queue's redrive policy
DEADLINE_SECONDS = 20


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(FIXTURE / "template.yaml", port=0, fire_schedules=False, retry_delay_seconds=1) as running:
        yield running


@pytest.fixture(scope="module")
def sqs(runtime: LocalRuntime) -> Any:
    return boto3.client("sqs", endpoint_url=runtime.emulator_url)


@pytest.fixture(scope="module")
def deliveries_table(runtime: LocalRuntime) -> Any:
    name = runtime.template.physical_name("DeliveriesTable") if runtime.template else ""
    return boto3.resource("dynamodb", endpoint_url=runtime.emulator_url).Table(name)


@pytest.fixture
def api(runtime: LocalRuntime) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=runtime.api_url, timeout=10) as client:
        yield client


def queue_url(runtime: LocalRuntime, logical_id: str) -> str:
    assert runtime.template is not None
    return str(runtime.template.ref(logical_id))


def deliveries_of(table: Any, name: str) -> list[dict[str, Any]]:
    return list(table.query(KeyConditionExpression=Key("PK").eq(f"DELIVERY#{name}"), ConsistentRead=True)["Items"])


def wait_for(condition: Callable[[], Any], seconds: float = DEADLINE_SECONDS) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not true within {seconds} s")


def wait_for_dead_letters(sqs: Any, runtime: LocalRuntime, names: set[str]) -> set[str]:
    """Takes the records named ``names`` off the dead-letter queue as they arrive there."""
    url = queue_url(runtime, "WorkDeadLetterQueue")
    found: set[str] = set()

    def all_found() -> bool:
        # A zero visibility timeout leaves other tests' records where they are.
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        for message in received.get("Messages", []):
            name = json.loads(message["Body"])["name"]
            if name in names:
                found.add(name)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return found == names

    wait_for(all_found)
    return found


def unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


# -- SQS ---------------------------------------------------------------------------------------
def test_poison_record_is_retried_alone_until_dead_lettered(
    runtime: LocalRuntime, sqs: Any, deliveries_table: Any
) -> None:
    # Given a batch of three good records and one poison record
    good = [unique("good") for _ in range(3)]
    poison = unique("poison")
    entries = [{"name": name} for name in good] + [{"name": poison, "poison": True}]
    sqs.send_message_batch(
        QueueUrl=queue_url(runtime, "WorkQueue"),
        Entries=[{"Id": str(index), "MessageBody": json.dumps(entry)} for index, entry in enumerate(entries)],
    )

    # When the worker reports the poison record as failed, every time
    wait_for_dead_letters(sqs, runtime, {poison})

    # Then the poison record ends in the dead-letter queue after maxReceiveCount deliveries
    poison_deliveries = sorted(deliveries_of(deliveries_table, poison), key=lambda item: item["SK"])
    assert [item["SK"].rsplit("#", 1)[1] for item in poison_deliveries] == ["1", "2"]
    # ... the first delivery carried the whole batch, the retry only the poison record
    assert sorted(poison_deliveries[0]["batch"]) == sorted([*good, poison])
    assert poison_deliveries[1]["batch"] == [poison]
    # ... and each good record was processed exactly once
    assert [len(deliveries_of(deliveries_table, name)) for name in good] == [1, 1, 1]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url(runtime, "WorkQueue"), AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_handler_exception_fails_the_whole_batch(runtime: LocalRuntime, sqs: Any, deliveries_table: Any) -> None:
    # Given a batch in which one record makes the worker raise
    bystander = unique("bystander")
    crasher = unique("crasher")
    sqs.send_message_batch(
        QueueUrl=queue_url(runtime, "WorkQueue"),
        Entries=[
            {"Id": "0", "MessageBody": json.dumps({"name": bystander})},
            {"Id": "1", "MessageBody": json.dumps({"name": crasher, "crash": True})},
        ],
    )

    # When the worker raises on every delivery
    wait_for_dead_letters(sqs, runtime, {bystander, crasher})

    # Then both records were delivered maxReceiveCount times, then dead-lettered
    assert len(deliveries_of(deliveries_table, bystander)) == MAX_RECEIVE_COUNT
    assert len(deliveries_of(deliveries_table, crasher)) == MAX_RECEIVE_COUNT


def test_record_has_lambda_sqs_event_shape(runtime: LocalRuntime, sqs: Any, deliveries_table: Any) -> None:
    # Given a message with a message attribute
    name = unique("shape")
    body = json.dumps({"name": name})
    sqs.send_message(
        QueueUrl=queue_url(runtime, "WorkQueue"),
        MessageBody=body,
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
    )

    # When it is delivered
    item = wait_for(lambda: deliveries_of(deliveries_table, name))[0]

    # Then the record looks like the one Lambda sends
    record = json.loads(item["record"])
    assert runtime.template is not None
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == runtime.template.get_att("WorkQueue", "Arn")
    assert record["awsRegion"] == "us-east-1"
    assert record["body"] == body
    assert record["md5OfBody"] == hashlib.md5(body.encode()).hexdigest()  # noqa: S324 - SQS's checksum
    assert {"ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert record["messageAttributes"]["kind"]["stringValue"] == "test"
    assert record["messageAttributes"]["kind"]["dataType"] == "String"
    assert record["receiptHandle"]
    assert record["messageId"]


def test_delayed_message_is_not_delivered_before_its_delay(
    runtime: LocalRuntime, sqs: Any, deliveries_table: Any
) -> None:
    # Given a message sent with a 2-second delay
    name = unique("delayed")
    sent_at = time.time()
    sqs.send_message(QueueUrl=queue_url(runtime, "WorkQueue"), MessageBody=json.dumps({"name": name}), DelaySeconds=2)

    # When it is delivered
    item = wait_for(lambda: deliveries_of(deliveries_table, name))[0]

    # Then not before the delay was over
    assert float(item["received_at"]) - sent_at >= 1.9


# -- Schedules ---------------------------------------------------------------------------------
def test_schedules_are_listed_by_name(api: httpx.Client) -> None:
    # When the schedules are listed
    response = api.get("/_local/schedules")

    # Then each has its Name, or <function>-<event> when it has none
    assert response.status_code == 200
    items = {item["name"]: item for item in response.json()["items"]}
    assert items["fixture-daily-tick"]["expression"] == "rate(1 day)"
    assert items["fixture-daily-tick"]["function"] == "Ticker"
    assert items["Ticker-Weekdays"]["expression"] == "cron(30 6 ? * MON-FRI *)"


def test_running_a_schedule_invokes_its_function_with_a_scheduled_event(
    api: httpx.Client, deliveries_table: Any
) -> None:
    # When a schedule is run on demand
    response = api.post("/_local/schedules/fixture-daily-tick/run")

    # Then its function ran with EventBridge's "Scheduled Event"
    assert response.status_code == 200
    outcome = response.json()
    assert outcome["status"] == "succeeded"
    item = deliveries_table.get_item(Key={"PK": "TICK", "SK": outcome["result"]["tick_id"]}, ConsistentRead=True)
    event = json.loads(item["Item"]["event"])
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/fixture-daily-tick"]


def test_schedule_with_input_sends_its_input(api: httpx.Client, deliveries_table: Any) -> None:
    # When a schedule that declares an Input is run
    outcome = api.post("/_local/schedules/Ticker-Weekdays/run").json()

    # Then the function receives that input instead of the scheduled event
    item = deliveries_table.get_item(Key={"PK": "TICK", "SK": outcome["result"]["tick_id"]}, ConsistentRead=True)
    assert json.loads(item["Item"]["event"]) == {"kind": "weekday"}


def test_running_an_unknown_schedule_is_not_found(api: httpx.Client) -> None:
    response = api.post("/_local/schedules/no-such-schedule/run")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("rate(5 minutes)", "2026-03-02T10:00:00", "2026-03-02T10:05:00"),
        ("cron(30 6 ? * MON-FRI *)", "2026-03-06T07:00:00", "2026-03-09T06:30:00"),  # Friday -> Monday
        ("cron(0/15 * * * ? *)", "2026-03-02T10:07:00", "2026-03-02T10:15:00"),
        ("cron(0 0 1 JAN ? *)", "2026-03-02T10:00:00", "2027-01-01T00:00:00"),
    ],
)
def test_schedule_expressions_fire_at_their_next_time(expression: str, after: str, expected: str) -> None:
    started = datetime.fromisoformat("2026-03-02T10:00:00").replace(tzinfo=UTC)
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)

    next_run = parse_expression(expression, started).next_after(moment)

    assert next_run == datetime.fromisoformat(expected).replace(tzinfo=UTC)


def test_due_schedule_fires_by_itself() -> None:
    # Given a one-time schedule due in a second
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    schedule = ScheduleEvent(
        function="Ticker",
        event="Once",
        name="once",
        expression=f"at({due.strftime('%Y-%m-%dT%H:%M:%S')})",
        input=None,
        enabled=True,
        timezone=None,
        kind="ScheduleV2",
    )
    fired = threading.Event()
    received: list[dict[str, Any]] = []

    def invoke(function: str, event: dict[str, Any]) -> None:
        received.append(event)
        fired.set()

    # When the scheduler runs past that time
    scheduler = Scheduler([schedule], invoke)
    scheduler.start()
    try:
        fired.wait(timeout=30)
    finally:
        scheduler.stop()

    # Then it invoked the function once, with a scheduled event
    assert len(received) == 1
    assert received[0]["detail-type"] == "Scheduled Event"
    assert received[0]["source"] == "aws.scheduler"
