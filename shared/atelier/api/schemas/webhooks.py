"""HTTP shapes of outbound webhook endpoints and their delivery logs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from atelier.api.schemas.common import StrictRequest, WholeNumber
from atelier.clock import isoformat
from atelier.models.webhooks import DEFAULT_CREDITS_LOW_THRESHOLD, WebhookDelivery, WebhookEndpoint

EventName = Literal[
    "job.succeeded", "job.failed", "job.canceled", "export.ready", "export.failed", "credits.low", "deletion.scheduled"
]
EndpointUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$")
]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Threshold = Annotated[int, Field(ge=1, le=1_000_000_000), WholeNumber]
Events = Annotated[list[EventName], Field(min_length=1, max_length=7)]


class CreateWebhookEndpointRequest(StrictRequest):
    url: EndpointUrl = Field(
        description="An https:// URL on a public address (in `make dev`, also http://127.0.0.1:<port>)."
    )
    events: Events
    description: Description = ""
    enabled: bool = True
    include_prompt: bool = Field(default=False, description="Job events carry the job's prompt only when true.")
    credits_low_threshold: Threshold = Field(
        default=DEFAULT_CREDITS_LOW_THRESHOLD,
        description="`credits.low` is sent when a new job takes the balance from at least this to below it.",
    )


class UpdateWebhookEndpointRequest(StrictRequest):
    url: EndpointUrl | None = None
    events: Events | None = None
    description: Description | None = None
    enabled: bool | None = None
    include_prompt: bool | None = None
    credits_low_threshold: Threshold | None = None


class WebhookEndpointResponse(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    include_prompt: bool
    credits_low_threshold: int
    disabled_reason: str | None = Field(default=None, description="`failing` when disabled after 3 days of failures.")
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> WebhookEndpointResponse:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            events=[event.value for event in endpoint.events],
            description=endpoint.description,
            enabled=endpoint.enabled,
            include_prompt=endpoint.include_prompt,
            credits_low_threshold=endpoint.credits_low_threshold,
            disabled_reason=None if endpoint.enabled else endpoint.disabled_reason,
            created_at=isoformat(endpoint.created_at),
            updated_at=isoformat(endpoint.updated_at),
        )


class CreatedWebhookEndpointResponse(WebhookEndpointResponse):
    secret: str = Field(description="The Standard Webhooks signing secret (`whsec_...`), shown this once.")

    @classmethod
    def created(cls, endpoint: WebhookEndpoint) -> CreatedWebhookEndpointResponse:
        return cls(**WebhookEndpointResponse.of(endpoint).model_dump(), secret=endpoint.signing_secret)


class RotatedSecretResponse(BaseModel):
    secret: str = Field(description="The new signing secret, shown this once.")
    previous_secret_expires_at: str = Field(description="Until then deliveries are signed with both secrets.")


class DefaultSecretResponse(BaseModel):
    endpoint_id: str = Field(description="`default`: its delivery log lists the per-job deliveries.")
    secret: str = Field(description="Signs deliveries to the `webhook_url` a job names.")


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpointResponse]
    next_cursor: str | None = None


class WebhookDeliveryResponse(BaseModel):
    id: str = Field(description="The message id: the `webhook-id` header of every attempt.")
    endpoint_id: str
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status: int | None = Field(default=None, description="The HTTP status the last attempt was answered with.")
    last_error: str | None = None
    last_attempt_at: str | None = None
    next_retry_at: str | None = None
    delivered_at: str | None = None
    created_at: str

    @classmethod
    def of(cls, delivery: WebhookDelivery) -> WebhookDeliveryResponse:
        return cls(
            id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            event=delivery.event_type.value,
            status=delivery.status.value,
            attempts=delivery.attempts,
            last_status=delivery.last_status,
            last_error=delivery.last_error,
            last_attempt_at=isoformat(delivery.last_attempt_at) if delivery.last_attempt_at else None,
            next_retry_at=isoformat(delivery.next_attempt_at) if delivery.next_attempt_at else None,
            delivered_at=isoformat(delivery.delivered_at) if delivery.delivered_at else None,
            created_at=isoformat(delivery.created_at),
        )


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDeliveryResponse]
    next_cursor: str | None = None
