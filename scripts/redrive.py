"""Moves the messages of a dead-letter queue back to its source queue, safely.

    python -m scripts.redrive QUEUE [--stage STAGE] [--limit N] [--dry-run]
    make redrive QUEUE=generation STAGE=prod

QUEUE is the source queue: a short name (generation, export, policy-notice), its physical name
(atelier-prod-generation) or its URL. Its dead-letter queue is the one its RedrivePolicy names.
Each message is sent to the source queue first and deleted from the dead-letter queue only once that
send succeeded, so a failure part-way leaves every message in one queue or the other (at worst in
both, which the consumers' idempotency absorbs), never in neither. Fix the cause first (docs/runbook.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

import boto3

# While a batch is being moved, no other reader of the dead-letter queue sees it.
_VISIBILITY_SECONDS = 120


@dataclass
class RedriveResult:
    moved: int = 0
    failed: int = 0
    left: int = 0


def queue_url(sqs: Any, queue: str, stage: str) -> str:
    if queue.startswith("https://") or queue.startswith("http://"):
        return queue
    name = queue if queue.startswith("atelier-") else f"atelier-{stage}-{queue}"
    return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])


def dead_letter_url(sqs: Any, source_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attributes:
        raise SystemExit(f"{source_url} has no dead-letter queue")
    arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    return str(sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])


def visible_messages(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def redrive(sqs: Any, source_url: str, dead_letter: str, *, limit: int | None = None) -> RedriveResult:
    """Moves up to `limit` messages (all when None); stops at the first send that fails."""
    result = RedriveResult()
    while limit is None or result.moved < limit:
        wanted = 10 if limit is None else min(10, limit - result.moved)
        received = sqs.receive_message(
            QueueUrl=dead_letter,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=_VISIBILITY_SECONDS,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            break
        for position, message in enumerate(received):
            send: dict[str, Any] = {"QueueUrl": source_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                send["MessageAttributes"] = message["MessageAttributes"]
            try:
                sqs.send_message(**send)
            except Exception as exc:  # the message stays in the dead-letter queue
                print(f"send failed, stopping: {exc}", file=sys.stderr)
                result.failed += 1
                # What this batch did not move is visible again at once, for the next attempt.
                for unsent in received[position:]:
                    sqs.change_message_visibility(
                        QueueUrl=dead_letter, ReceiptHandle=unsent["ReceiptHandle"], VisibilityTimeout=0
                    )
                result.left = visible_messages(sqs, dead_letter)
                return result
            sqs.delete_message(QueueUrl=dead_letter, ReceiptHandle=message["ReceiptHandle"])
            result.moved += 1
    result.left = visible_messages(sqs, dead_letter)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("queue")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--limit", type=int, default=None, help="move at most this many messages")
    parser.add_argument("--dry-run", action="store_true", help="only say how many messages wait")
    parser.add_argument("--endpoint-url", default=None, help="an emulator's URL (local runs)")
    arguments = parser.parse_args(argv)
    sqs = boto3.client("sqs", endpoint_url=arguments.endpoint_url)
    source = queue_url(sqs, arguments.queue, arguments.stage)
    dead_letter = dead_letter_url(sqs, source)
    if arguments.dry_run:
        print(f"{visible_messages(sqs, dead_letter)} message(s) wait in {dead_letter}")
        return 0
    result = redrive(sqs, source, dead_letter, limit=arguments.limit)
    print(f"moved {result.moved} to {source}; {result.left} left in {dead_letter}; {result.failed} send(s) failed")
    return 1 if result.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
