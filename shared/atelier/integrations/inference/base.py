"""The contract every inference provider adapter keeps.

Long jobs never keep a Lambda waiting: `submit` starts the work and answers at once with the
provider's state; the worker polls `status` later through a delayed message (or a provider's
callback prompts an early look, always re-checked with `status`). Outputs are fetched immediately
when a job succeeds, because providers delete them after 30 minutes to 24 hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from atelier import errors


class ProviderError(errors.DependencyUnavailableError):
    """The provider failed in a way that may pass (5xx, 429, timeout, malformed answer): retry."""

    code = "provider_unavailable"
    default_message = "The inference provider is unavailable."


class ProviderRejectedError(errors.InvalidFieldError):
    """The provider refused the request for good (4xx other than 429, content policy): do not retry."""

    code = "provider_rejected"
    default_message = "The inference provider refused the request."


class CallbackSignatureError(errors.MalformedRequestError):
    code = "invalid_signature"
    default_message = "The callback signature did not verify."


class GenerationRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    job_id: str  # ours; sent as the provider's idempotency key / metadata where it has one
    kind: Literal["image", "video"]
    model: str  # the provider's own model name
    prompt: str
    negative_prompt: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)  # validated against the model's schema already
    seed: int | None = None
    # Short-lived HTTPS URLs of reference images, for providers that fetch them.
    reference_image_urls: list[str] = Field(default_factory=list)
    # Where the provider may call back (providers with webhooks), or None.
    callback_url: str | None = None
    # A visible or invisible provider watermark, where the provider offers one (P18).
    watermark: bool = True


class ProviderStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (ProviderStatus.SUCCEEDED, ProviderStatus.FAILED, ProviderStatus.CANCELED)


class ProviderOutput(BaseModel):
    """One output: inline bytes (base64-answering providers, the local provider) or a URL to fetch."""

    model_config = ConfigDict(frozen=True)

    content: bytes | None = None
    url: str | None = None
    content_type: str | None = None


class ProviderJob(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider_job_id: str
    status: ProviderStatus
    progress: float | None = None  # 0..1 where the provider tells
    queue_position: int | None = None
    outputs: list[ProviderOutput] = Field(default_factory=list)
    error_code: str | None = None
    error_message: str | None = None
    # False when the provider did not charge for this job (failed before running, canceled while
    # queued): the hold is then released in full.
    charged: bool = True
    compute_seconds: float | None = None


class InferenceProvider(Protocol):
    name: str

    def submit(self, request: GenerationRequest) -> ProviderJob:
        """Starts the job. Synchronous providers answer the final state; others QUEUED/RUNNING."""
        ...

    def status(self, provider_job_id: str) -> ProviderJob: ...

    def cancel(self, provider_job_id: str) -> bool:
        """Asks the provider to stop; True when it accepted (some only cancel queued jobs)."""
        ...

    def fetch_output(self, output: ProviderOutput, *, max_bytes: int) -> bytes:
        """The output's bytes: inline content, or a download from the provider's own HTTPS host,
        refusing anything larger than max_bytes."""
        ...

    def verify_callback(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str] | None = None
    ) -> str:
        """Verifies a provider callback (the provider's signature, or for providers that sign
        nothing the token in the callback URL's ``query``) and answers the provider job id it names;
        the job is then re-checked with `status`, never trusted from the body."""
        ...
