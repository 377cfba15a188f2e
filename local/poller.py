"""Lambda's SQS event source mapping: polls a queue and invokes a function with batches.

Semantics follow Lambda's:
- a batch holds up to BatchSize records, gathered for at most MaximumBatchingWindowInSeconds;
- a handler that returns normally deletes the whole batch; one that raises fails the whole batch;
- with ReportBatchItemFailures, only the records listed in ``batchItemFailures`` fail (an answer
  naming an unknown record fails the whole batch, as Lambda does);
- a failed record becomes visible again. Lambda would leave it invisible for the rest of the
  queue's visibility timeout (minutes); locally it comes back after ``retry_delay_seconds`` so the
  feedback loop stays short;
- the dead-letter move is the emulator's: moto, like SQS, moves a message to the queue's
  dead-letter queue when it would be received more than maxReceiveCount times;
- DelaySeconds, per message or per queue, is honoured by the emulator.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local.emulator import emulator_client
from local.functions import SqsEvent
from local.template import REGION

logger = logging.getLogger(__name__)

DEFAULT_RETRY_DELAY_SECONDS = 1
_LONG_POLL_SECONDS = 1
_MAX_MESSAGES_PER_RECEIVE = 10
_ERROR_BACKOFF_SECONDS = 1.0

Invoker = Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> result


class SqsPoller:
    """Polls one SQS event source in a background thread."""

    def __init__(
        self,
        source: SqsEvent,
        invoke: Invoker,
        endpoint_url: str,
        retry_delay_seconds: int = DEFAULT_RETRY_DELAY_SECONDS,
    ) -> None:
        self.source = source
        self._invoke = invoke
        self._retry_delay = retry_delay_seconds
        self._sqs = emulator_client("sqs", endpoint_url, config=Config(retries={"max_attempts": 2}))
        self._queue_name = source.queue_arn.rsplit(":", 1)[-1]
        self._queue_url: str | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def queue_name(self) -> str:
        return self._queue_name

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"sqs-{self.source.function}-{self.source.event}", daemon=True
        )
        self._thread.start()

    def request_stop(self) -> None:
        """Asks the thread to stop after its current poll, without waiting for it."""
        self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except (BotoCoreError, ClientError):
                if self._stopping.is_set():
                    return
                logger.exception("polling %s failed; retrying", self._queue_name)
                self._stopping.wait(_ERROR_BACKOFF_SECONDS)

    def pending_messages(self) -> int:
        """Messages the queue still holds: waiting, delayed, or in a batch being processed."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self._url(),
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def poll_once(self) -> int:
        """Receives one batch and invokes the function with it; returns the batch size."""
        messages = self._receive_batch()
        if messages:
            self._process(messages)
        return len(messages)

    def _receive_batch(self) -> list[dict[str, Any]]:
        batch = self._receive(self.source.batch_size, _LONG_POLL_SECONDS)
        if not batch:
            return []
        # The batching window opens with the first record: more may join until it closes.
        window_ends = time.monotonic() + self.source.batching_window_seconds
        while len(batch) < self.source.batch_size and not self._stopping.is_set():
            remaining = window_ends - time.monotonic()
            if remaining <= 0:
                break
            batch.extend(self._receive(self.source.batch_size - len(batch), int(min(remaining, _LONG_POLL_SECONDS))))
        return batch

    def _receive(self, wanted: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._url(),
            MaxNumberOfMessages=min(_MAX_MESSAGES_PER_RECEIVE, wanted),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def _process(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(message) for message in messages]}
        failed_ids = self._failed_message_ids(event, messages)
        succeeded = [message for message in messages if message["MessageId"] not in failed_ids]
        failed = [message for message in messages if message["MessageId"] in failed_ids]
        for start in range(0, len(succeeded), _MAX_MESSAGES_PER_RECEIVE):
            chunk = succeeded[start : start + _MAX_MESSAGES_PER_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self._url(),
                Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(chunk)],
            )
        for start in range(0, len(failed), _MAX_MESSAGES_PER_RECEIVE):
            chunk = failed[start : start + _MAX_MESSAGES_PER_RECEIVE]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._url(),
                Entries=[
                    {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": self._retry_delay}
                    for index, m in enumerate(chunk)
                ],
            )
        if failed:
            logger.info(
                "%s: %d of %d records failed and will be retried", self.source.function, len(failed), len(messages)
            )

    def _failed_message_ids(self, event: dict[str, Any], messages: list[dict[str, Any]]) -> set[str]:
        all_ids = {message["MessageId"] for message in messages}
        try:
            result = self._invoke(self.source.function, event)
        except Exception:
            logger.exception("%s failed on a batch of %d records", self.source.function, len(messages))
            return all_ids
        if not self.source.report_batch_item_failures or not isinstance(result, dict):
            return set()
        failures = result.get("batchItemFailures") or []
        try:
            failed_ids = {str(failure["itemIdentifier"]) for failure in failures}
        except (KeyError, TypeError):
            failed_ids = {""}
        if not failed_ids <= all_ids:
            logger.error("%s reported failures for records not in its batch; failing all", self.source.function)
            return all_ids
        return failed_ids

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.source.queue_arn,
            "awsRegion": REGION,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def _url(self) -> str:
        if self._queue_url is None:
            self._queue_url = self._sqs.get_queue_url(QueueName=self._queue_name)["QueueUrl"]
        return self._queue_url


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS message attribute in the Lambda event's camelCase shape (binary values in base64)."""
    attribute: dict[str, Any] = {
        "stringListValues": value.get("StringListValues", []),
        "binaryListValues": [base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return attribute
