"""Outbound webhooks: the endpoints an account registers and the deliveries of events to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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


# The payloads on the wire: `{"type", "timestamp", "data"}` (the Standard Webhooks shape). The use
# case builds `data` from these models, and the OpenAPI document's `webhooks` are their schemas.
class JobEventError(BaseModel):
    code: str
    message: str


class JobEventData(BaseModel):
    object: Literal["job"] = "job"
    id: str
    account_id: str
    workspace_id: str
    kind: Literal["image", "video"]
    model: str
    status: Literal["succeeded", "failed", "canceled"]
    outputs: list[str] = Field(description="The ids of the output assets (GET /v1/assets/{asset_id}).")
    error: JobEventError | None
    cost_credits: int
    charged_credits: int
    finished_at: str
    prompt: str | None = Field(
        default=None, description="Present only when the endpoint opted in to prompts (`include_prompt`)."
    )


class ExportEventData(BaseModel):
    object: Literal["export"] = "export"
    id: str
    account_id: str
    status: Literal["ready", "failed"]
    expires_at: str | None = Field(description="When the archive's download expires (fetch it signed in).")
    size_bytes: int | None


class BalanceEventData(BaseModel):
    object: Literal["balance"] = "balance"
    account_id: str
    status: Literal["low"] = "low"
    credits: int = Field(description="The balance after the hold that took it below the endpoint's threshold.")


class AccountEventData(BaseModel):
    object: Literal["account"] = "account"
    id: str
    account_id: str
    status: Literal["deletion_scheduled"] = "deletion_scheduled"
    purge_at: str = Field(description="When the account and everything it holds is purged, unless canceled.")


class EndpointTestEventData(BaseModel):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    account_id: str
    status: Literal["test"] = "test"


class JobEvent(BaseModel):
    type: Literal["job.succeeded", "job.failed", "job.canceled"]
    timestamp: str
    data: JobEventData


class ExportEvent(BaseModel):
    type: Literal["export.ready", "export.failed"]
    timestamp: str
    data: ExportEventData


class CreditsLowEvent(BaseModel):
    type: Literal["credits.low"]
    timestamp: str
    data: BalanceEventData


class DeletionScheduledEvent(BaseModel):
    type: Literal["deletion.scheduled"]
    timestamp: str
    data: AccountEventData


class EndpointTestEvent(BaseModel):
    type: Literal["webhook.test"]
    timestamp: str
    data: EndpointTestEventData


PAYLOAD_MODELS: dict[WebhookEventType, type[BaseModel]] = {
    WebhookEventType.JOB_SUCCEEDED: JobEvent,
    WebhookEventType.JOB_FAILED: JobEvent,
    WebhookEventType.JOB_CANCELED: JobEvent,
    WebhookEventType.EXPORT_READY: ExportEvent,
    WebhookEventType.EXPORT_FAILED: ExportEvent,
    WebhookEventType.CREDITS_LOW: CreditsLowEvent,
    WebhookEventType.DELETION_SCHEDULED: DeletionScheduledEvent,
    WebhookEventType.TEST: EndpointTestEvent,
}
