"""Outbound webhooks: the endpoints an account registers and the deliveries of events to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class WebhookEventType(StrEnum):
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_CANCELED = "job.canceled"
    EXPORT_READY = "export.ready"
    EXPORT_FAILED = "export.failed"
    CREDITS_LOW = "credits.low"
    DELETION_SCHEDULED = "deletion.scheduled"
    # Sent only by the "send test event" action, to one endpoint, whatever it subscribes to.
    TEST = "webhook.test"


DEFAULT_CREDITS_LOW_THRESHOLD = 100
# The account's default endpoint: no URL of its own, it holds the secret that signs deliveries to
# per-job `webhook_url`s (each delivery names its URL) and keeps their delivery log.
DEFAULT_ENDPOINT_ID = "default"
SUBSCRIBABLE_EVENTS = tuple(event for event in WebhookEventType if event is not WebhookEventType.TEST)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookEndpoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    url: str
    events: list[WebhookEventType]
    description: str = ""
    enabled: bool = True
    include_prompt: bool = False
    # `credits.low` is sent when a hold takes the balance from at least this to below it.
    credits_low_threshold: int = DEFAULT_CREDITS_LOW_THRESHOLD
    signing_secret: str
    previous_signing_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    failing_since: datetime | None = None
    disabled_reason: str | None = None

    def secrets_at(self, now: datetime) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the previous one while
        its rotation's overlap window lasts."""
        signing = [self.signing_secret]
        if self.previous_signing_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            signing.append(self.previous_signing_secret)
        return signing


class WebhookDelivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # the message id: the `webhook-id` header of every attempt
    account_id: str
    endpoint_id: str
    event_type: WebhookEventType
    body: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    window_started_at: datetime
    last_attempt_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    # A per-job receiver; None for deliveries to the endpoint's own URL.
    url: str | None = None
