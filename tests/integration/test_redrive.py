"""`make redrive` moves a dead-letter queue's messages back to the source queue, never losing one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from scripts.redrive import dead_letter_url, main, queue_url, redrive

REGION = "us-east-1"


@pytest.fixture
def sqs(monkeypatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("sqs", region_name=REGION)
        dead = client.create_queue(QueueName="atelier-test-generation-dlq")["QueueUrl"]
        dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        client.create_queue(
            QueueName="atelier-test-generation",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "3"})},
        )
        yield client


def received(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every visible message of the queue (each hidden once read)."""
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
    ).get("Messages", []):
        found.extend(messages)
    return found


class FailingSends:
    """The SQS client, except that sends fail after `allowed` of them."""

    def __init__(self, sqs: Any, allowed: int) -> None:
        self.sqs = sqs
        self.allowed = allowed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sqs, name)

    def send_message(self, **kwargs: Any) -> Any:
        if self.allowed == 0:
            raise ConnectionError("the source queue is unreachable")
        self.allowed -= 1
        return self.sqs.send_message(**kwargs)


def test_every_message_goes_back_to_the_source_queue_with_its_attributes(sqs):
    # Given 23 messages in the generation dead-letter queue, one with attributes
    source = queue_url(sqs, "generation", "test")
    dead = dead_letter_url(sqs, source)
    for index in range(22):
        sqs.send_message(QueueUrl=dead, MessageBody=f"m{index:02d}")
    sqs.send_message(
        QueueUrl=dead, MessageBody="tagged", MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}}
    )
    # When it is redriven
    result = redrive(sqs, source, dead)
    # Then all of them are in the source queue, none is left behind, attributes kept
    assert (result.moved, result.failed, result.left) == (23, 0, 0)
    moved = received(sqs, source)
    assert sorted(m["Body"] for m in moved) == sorted([f"m{index:02d}" for index in range(22)] + ["tagged"])
    [tagged] = [m for m in moved if m["Body"] == "tagged"]
    assert tagged["MessageAttributes"]["kind"]["StringValue"] == "x"
    assert received(sqs, dead) == []


def test_a_send_that_fails_leaves_the_unsent_messages_in_the_dead_letter_queue(sqs):
    # Given 5 messages in the dead-letter queue and a source queue that stops accepting after 2
    source = queue_url(sqs, "atelier-test-generation", "ignored")
    dead = dead_letter_url(sqs, source)
    for index in range(5):
        sqs.send_message(QueueUrl=dead, MessageBody=f"m{index}")
    # When it is redriven
    result = redrive(FailingSends(sqs, allowed=2), source, dead)
    # Then 2 moved, the redrive stopped, and the other 3 are visible in the dead-letter queue: none lost
    assert (result.moved, result.failed, result.left) == (2, 1, 3)
    moved = [m["Body"] for m in received(sqs, source)]
    remaining = [m["Body"] for m in received(sqs, dead)]
    assert len(moved) == 2
    assert sorted(moved + remaining) == [f"m{index}" for index in range(5)]


def test_a_limit_moves_only_that_many_and_a_dry_run_moves_none(sqs, capsys):
    source = queue_url(sqs, "generation", "test")
    dead = dead_letter_url(sqs, source)
    for index in range(4):
        sqs.send_message(QueueUrl=dead, MessageBody=f"m{index}")
    assert main(["generation", "--stage", "test", "--dry-run"]) == 0
    assert "4 message(s) wait" in capsys.readouterr().out
    assert main(["generation", "--stage", "test", "--limit", "3"]) == 0
    assert len(received(sqs, source)) == 3
    assert len(received(sqs, dead)) == 1
