"""Messages to SQS queues (the generation and export queues)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from atelier import errors

MAX_DELAY_SECONDS = 900  # SQS's limit


class MessageQueue:
    def __init__(self, queue_url: str, client: Any = None):
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def send(self, message: BaseModel, *, delay_seconds: int = 0) -> None:
        try:
            self.client.send_message(
                QueueUrl=self.queue_url,
                MessageBody=message.model_dump_json(),
                DelaySeconds=max(0, min(delay_seconds, MAX_DELAY_SECONDS)),
            )
        except (BotoCoreError, ClientError) as exc:
            raise errors.DependencyUnavailableError("The queue is unavailable.") from exc
