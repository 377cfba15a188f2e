"""Generation: models and their prices, jobs, uploads and assets."""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

GenerationKind = Literal["image", "video"]


class ParamSpec(BaseModel):
    """One parameter a model accepts."""

    model_config = ConfigDict(frozen=True)

    type: Literal["integer", "number", "string", "boolean"]
    minimum: float | None = None
    maximum: float | None = None
    choices: list[Any] | None = None
    default: Any = None
    description: str = ""


class PriceRule(BaseModel):
    """credits = base + per_megapixel * ceil(width * height / 1e6) + per_second * ceil(duration_s)."""

    model_config = ConfigDict(frozen=True)

    base: int = Field(ge=0)
    per_megapixel: int = Field(default=0, ge=0)
    per_second: int = Field(default=0, ge=0)

    def credits(self, params: dict[str, Any]) -> int:
        cost = self.base
        if self.per_megapixel and "width" in params and "height" in params:
            cost += self.per_megapixel * math.ceil(int(params["width"]) * int(params["height"]) / 1_000_000)
        if self.per_second and "duration_s" in params:
            cost += self.per_second * math.ceil(float(params["duration_s"]))
        return max(cost, 1)


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: GenerationKind
    provider: str
    provider_model: str
    name: str
    price: PriceRule
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    max_reference_images: int = 0
    # A job of this model not finished this long after it was accepted is canceled (reason
    # `deadline`), unless the request's `Cancel-After` says otherwise.
    cancel_after_seconds: float | None = Field(default=None, gt=0)
    # Providers that can watermark their outputs (ModelArk) are asked to, unless a model says not (P18).
    watermark: bool = True
    # How long the provider usually takes (seconds, queue included): the worker first looks near it.
    expected_seconds: float | None = Field(default=None, gt=0)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED)


class JobError(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    message: str


class Job(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    ledger_id: str
    workspace_id: str
    kind: GenerationKind
    model: str
    prompt: str
    negative_prompt: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    reference_upload_ids: list[str] = Field(default_factory=list)
    workflow_version_id: str | None = None
    webhook_url: str | None = None
    # Cancel-After: unfinished at this moment, the job is canceled (error code `deadline`).
    cancel_at: datetime | None = None
    status: JobStatus
    provider: str
    provider_job_id: str | None = None
    progress: float | None = None
    queue_position: int | None = None
    error: JobError | None = None
    outputs: list[str] = Field(default_factory=list)
    cost_credits: int
    charged_credits: int = 0
    compute_seconds: float | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    deadline_at: datetime
    polls: int = 0


class UploadStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Upload(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    filename: str
    content_type: str
    size_bytes: int
    object_key: str
    status: UploadStatus
    created_at: datetime
    width: int | None = None
    height: int | None = None
    sha256: str | None = None
    # Until a job first uses it, an upload is kept until `unused_until` and counts against the
    # account's unused-upload quota with its declared size.
    unused_until: datetime | None = None
    used_at: datetime | None = None
    # The size declared when it was started, which it holds of the quota while unused.
    quota_bytes: int = 0
    thumbnail_key: str | None = None

    @property
    def is_used(self) -> bool:
        return self.used_at is not None or self.unused_until is None

    def expired(self, now: datetime) -> bool:
        return not self.is_used and self.unused_until is not None and now >= self.unused_until


class Visibility(StrEnum):
    PRIVATE = "private"
    PUBLIC = "public"


class Provenance(BaseModel):
    """What a stored file carries (P18): a C2PA manifest that validates, one that does not, or
    none; and the IPTC digital source type its metadata names."""

    model_config = ConfigDict(frozen=True)

    c2pa: Literal["valid", "invalid", "absent"]
    digital_source_type: str | None = None


class Asset(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    workspace_id: str
    job_id: str | None
    kind: Literal["image", "video", "upload"]
    content_type: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    sha256: str
    object_key: str
    labels: list[str] = Field(default_factory=list)
    rating: int | None = None
    visibility: Visibility = Visibility.PRIVATE
    removed: bool = False
    created_at: datetime
    # Why moderation keeps it private (never published or shared), e.g. "restricted:Suggestive".
    restriction: str | None = None
    provenance: Provenance | None = None
    # When media moderation passed it (None on items made before outputs were screened, until the
    # backlog sweep checks them; see usecases/screen_backlog.py).
    screened_at: datetime | None = None
    # Derived previews beside the object (None where none could be made), and the prefix of the
    # public copies while published (see integrations/public_media.py).
    thumbnail_key: str | None = None
    poster_key: str | None = None
    public_prefix: str | None = None

    @property
    def awaits_screening(self) -> bool:
        """Made before outputs were screened and not checked since (see ``screened_at``)."""
        return self.screened_at is None and self.provenance is None
