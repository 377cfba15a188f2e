"""The API's resources as typed models.

Written by hand from the OpenAPI document the API serves (``/v1/openapi.json``); the repository's
drift test compares each model here with its schema there (field names, which are required, types
and enumerations), so the two cannot disagree unnoticed. Answers may gain fields: unknown ones are
ignored, so an older client keeps working against a newer API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

GenerationKind = Literal["image", "video"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "canceled"]
AssetKind = Literal["image", "video", "upload"]
Visibility = Literal["private", "public"]
ExportStatus = Literal["queued", "running", "ready", "failed", "expired"]
DeliveryStatus = Literal["pending", "delivered", "failed"]
WebhookEventType = Literal[
    "job.succeeded",
    "job.failed",
    "job.canceled",
    "export.ready",
    "export.failed",
    "credits.low",
    "deletion.scheduled",
]
ParamValue = int | float | str | bool

FINISHED_JOB_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "canceled"})
FINISHED_EXPORT_STATUSES: frozenset[str] = frozenset({"ready", "failed", "expired"})


class Resource(BaseModel):
    """An answer of the API: read-only, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class RequestBody(BaseModel):
    """A body sent to the API: unknown fields are a mistake of the caller, caught before sending."""

    model_config = ConfigDict(extra="forbid")


# -- jobs ---------------------------------------------------------------------------------------
class JobError(Resource):
    code: str
    message: str


class Job(Resource):
    id: str
    workspace_id: str
    kind: GenerationKind
    model: str
    prompt: str
    negative_prompt: str | None
    params: dict[str, Any]
    status: JobStatus
    queue_position: int | None = None
    progress: float | None = None
    error: JobError | None = None
    outputs: list[str]
    cost_credits: int
    charged_credits: int
    compute_seconds: float | None
    workflow_version_id: str | None = None
    webhook_url: str | None = None
    cancel_at: datetime | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        """Succeeded, failed or canceled: its status will not change again."""
        return self.status in FINISHED_JOB_STATUSES


class JobPage(Resource):
    items: list[Job]
    next_cursor: str | None


class SubmitJob(RequestBody):
    kind: GenerationKind
    model: str = Field(min_length=1, max_length=64)
    prompt: str = Field(min_length=1, max_length=2000)
    negative_prompt: str | None = Field(default=None, max_length=2000)
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=20)
    reference_upload_ids: list[str] = Field(default_factory=list, max_length=8)
    workflow_version_id: str | None = Field(default=None, max_length=64)
    webhook_url: str | None = Field(default=None, min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$")


# -- assets -------------------------------------------------------------------------------------
class Provenance(Resource):
    c2pa: Literal["valid", "invalid", "absent"]
    digital_source_type: str | None


class Asset(Resource):
    id: str
    job_id: str | None
    workspace_id: str
    kind: AssetKind
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    sha256: str
    labels: list[str]
    rating: int | None
    visibility: Visibility
    removed: bool
    download_url: str | None
    thumbnail_url: str | None
    poster_url: str | None
    created_at: datetime
    restriction: str | None = None
    provenance: Provenance


class AssetPage(Resource):
    items: list[Asset]
    next_cursor: str | None


# -- models on offer ----------------------------------------------------------------------------
class Model(Resource):
    id: str
    kind: GenerationKind
    provider: str
    name: str
    price_credits: dict[str, int]
    params: dict[str, dict[str, Any]]
    max_reference_images: int


class ModelList(Resource):
    items: list[Model]


# -- exports ------------------------------------------------------------------------------------
class Export(Resource):
    id: str
    status: ExportStatus
    requested_at: datetime
    download_url: str | None = None
    expires_at: datetime | None = None
    size_bytes: int | None = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        """Ready, failed or expired: its status will not change again."""
        return self.status in FINISHED_EXPORT_STATUSES


# -- webhook endpoints --------------------------------------------------------------------------
class WebhookEndpoint(Resource):
    id: str
    url: str
    events: list[str]
    description: str
    enabled: bool
    include_prompt: bool
    credits_low_threshold: int
    disabled_reason: str | None = None
    created_at: datetime
    updated_at: datetime


class CreatedWebhookEndpoint(WebhookEndpoint):
    secret: str


class WebhookEndpointList(Resource):
    items: list[WebhookEndpoint]
    next_cursor: str | None = None


class CreateWebhookEndpoint(RequestBody):
    url: str = Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$")
    events: list[WebhookEventType] = Field(min_length=1, max_length=7)
    description: str = Field(default="", max_length=200)
    enabled: bool = True
    include_prompt: bool = False
    credits_low_threshold: int = Field(default=100, ge=1, le=1_000_000_000)


class UpdateWebhookEndpoint(RequestBody):
    url: str | None = Field(default=None, min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$")
    events: list[WebhookEventType] | None = Field(default=None, min_length=1, max_length=7)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None
    include_prompt: bool | None = None
    credits_low_threshold: int | None = Field(default=None, ge=1, le=1_000_000_000)


class RotatedSecret(Resource):
    secret: str
    previous_secret_expires_at: str


class DefaultSecret(Resource):
    endpoint_id: str
    secret: str


class WebhookDelivery(Resource):
    id: str
    endpoint_id: str
    event: str
    status: DeliveryStatus
    attempts: int
    last_status: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    next_retry_at: datetime | None = None
    delivered_at: datetime | None = None
    created_at: datetime


class WebhookDeliveryPage(Resource):
    items: list[WebhookDelivery]
    next_cursor: str | None = None
