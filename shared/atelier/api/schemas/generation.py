"""HTTP shapes of models, uploads, jobs and assets."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from atelier.api.schemas.common import StrictRequest, WholeNumber, multi_line_text, single_line_text
from atelier.clock import isoformat
from atelier.models.generation import Job, ModelSpec
from atelier.usecases.manage_assets import AssetView

Prompt = Annotated[str, multi_line_text(2000)]
Label = Annotated[str, single_line_text(40)]
SafeFilename = Annotated[str, single_line_text(200, also_refused=r"/\\")]


class ModelBody(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "local-image",
                    "kind": "image",
                    "provider": "local",
                    "name": "Local image (CPU)",
                    "price_credits": {"base": 1, "per_megapixel": 1, "per_second": 0},
                    "params": {
                        "width": {"type": "integer", "minimum": 64, "maximum": 1024, "default": 512, "description": ""},
                        "height": {
                            "type": "integer",
                            "minimum": 64,
                            "maximum": 1024,
                            "default": 512,
                            "description": "",
                        },
                        "seed": {"type": "integer", "minimum": 0, "maximum": 2147483647, "description": ""},
                    },
                    "max_reference_images": 2,
                }
            ]
        }
    )

    id: str
    kind: Literal["image", "video"]
    provider: str
    name: str
    price_credits: dict[str, int] = Field(
        description="credits = base + per_megapixel * megapixels + per_second * seconds"
    )
    params: dict[str, dict[str, Any]]
    max_reference_images: int

    @classmethod
    def of(cls, model: ModelSpec) -> ModelBody:
        return cls(
            id=model.id,
            kind=model.kind,
            provider=model.provider,
            name=model.name,
            price_credits=model.price.model_dump(),
            params={name: spec.model_dump(exclude_none=True) for name, spec in model.params.items()},
            max_reference_images=model.max_reference_images,
        )


class ModelList(BaseModel):
    items: list[ModelBody]


class CreateUploadRequest(StrictRequest):
    filename: SafeFilename
    content_type: Literal["image/png", "image/jpeg", "image/webp"]
    size_bytes: Annotated[int, Field(ge=1, le=50 * 1024 * 1024), WholeNumber]


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]


class UploadResponse(BaseModel):
    id: str
    upload: PresignedPost
    expires_at: str


class SubmitJobRequest(StrictRequest):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "image",
                    "model": "local-image",
                    "prompt": "a lighthouse on a cliff at dawn, oil painting",
                    "params": {"width": 768, "height": 512, "seed": 42},
                }
            ]
        }
    )

    kind: Literal["image", "video"]
    model: Annotated[str, Field(min_length=1, max_length=64)]
    prompt: Prompt
    negative_prompt: Annotated[str, StringConstraints(max_length=2000)] | None = None
    params: dict[str, int | float | str | bool] = Field(default_factory=dict, max_length=20)
    reference_upload_ids: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=8)
    workflow_version_id: Annotated[str, Field(max_length=64)] | None = None
    webhook_url: Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$")] | None = Field(
        default=None,
        description="A receiver for this job's `job.succeeded`, `job.failed` or `job.canceled` event, signed "
        "with the account's default webhook secret (`GET /v1/webhook-endpoints/default/secret`).",
    )


class JobErrorBody(BaseModel):
    code: str
    message: str


class JobResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "job_01jt3v5k8m2n4p6r8t0w2y4a6c",
                    "workspace_id": "ws_01jt3v5k8m2n4p6r8t0w2y4a6c",
                    "kind": "image",
                    "model": "local-image",
                    "prompt": "a lighthouse on a cliff at dawn, oil painting",
                    "negative_prompt": None,
                    "params": {"width": 768, "height": 512, "seed": 42},
                    "status": "succeeded",
                    "queue_position": None,
                    "progress": 1.0,
                    "error": None,
                    "outputs": ["ast_01jt3v5k8m2n4p6r8t0w2y4a6c"],
                    "cost_credits": 2,
                    "charged_credits": 2,
                    "compute_seconds": 3.2,
                    "workflow_version_id": None,
                    "webhook_url": "https://example.com/atelier-events",
                    "cancel_at": None,
                    "created_at": "2026-05-01T12:00:00Z",
                    "started_at": "2026-05-01T12:00:01Z",
                    "finished_at": "2026-05-01T12:00:05Z",
                }
            ]
        }
    )

    id: str
    workspace_id: str
    kind: Literal["image", "video"]
    model: str
    prompt: str
    negative_prompt: str | None
    params: dict[str, Any]
    status: Literal["queued", "running", "succeeded", "failed", "canceled"]
    queue_position: int | None = None
    progress: float | None = None
    error: JobErrorBody | None = None
    outputs: list[str]
    cost_credits: int
    charged_credits: int
    compute_seconds: float | None
    workflow_version_id: str | None = None
    webhook_url: str | None = None
    cancel_at: str | None = Field(default=None, description="From `Cancel-After`: unfinished then, it is canceled.")
    created_at: str
    started_at: str | None
    finished_at: str | None

    @classmethod
    def of(cls, job: Job) -> JobResponse:
        return cls(
            id=job.id,
            workspace_id=job.workspace_id,
            kind=job.kind,
            model=job.model,
            prompt=job.prompt,
            negative_prompt=job.negative_prompt,
            params=job.params,
            status=job.status.value,
            queue_position=job.queue_position,
            progress=job.progress,
            error=JobErrorBody(code=job.error.code, message=job.error.message) if job.error else None,
            outputs=job.outputs,
            cost_credits=job.cost_credits,
            charged_credits=job.charged_credits,
            compute_seconds=job.compute_seconds,
            workflow_version_id=job.workflow_version_id,
            webhook_url=job.webhook_url,
            cancel_at=isoformat(job.cancel_at) if job.cancel_at else None,
            created_at=isoformat(job.created_at),
            started_at=isoformat(job.started_at) if job.started_at else None,
            finished_at=isoformat(job.finished_at) if job.finished_at else None,
        )


class JobPageResponse(BaseModel):
    items: list[JobResponse]
    next_cursor: str | None


class ProvenanceResponse(BaseModel):
    c2pa: Literal["valid", "invalid", "absent"]
    digital_source_type: str | None


class AssetResponse(BaseModel):
    id: str
    job_id: str | None
    workspace_id: str
    kind: Literal["image", "video", "upload"]
    content_type: str
    size_bytes: int
    width: int | None
    height: int | None
    duration_s: float | None
    sha256: str
    labels: list[str]
    rating: int | None
    visibility: Literal["private", "public"]
    removed: bool
    download_url: str | None
    thumbnail_url: str | None = Field(description="WebP, longest side 512 px; short-lived like download_url")
    poster_url: str | None = Field(description="A video's poster frame (WebP); null for an image")
    created_at: str
    # Set when media moderation keeps the item private: it can never be published or shared.
    restriction: str | None = None
    # Whether the file carries a valid C2PA manifest and the IPTC digital source type (P18).
    provenance: ProvenanceResponse

    @classmethod
    def of(cls, view: AssetView) -> AssetResponse:
        asset = view.asset
        return cls(
            id=asset.id,
            job_id=asset.job_id,
            workspace_id=asset.workspace_id,
            kind=asset.kind,
            content_type=asset.content_type,
            size_bytes=asset.size_bytes,
            width=asset.width,
            height=asset.height,
            duration_s=asset.duration_s,
            sha256=asset.sha256,
            labels=asset.labels,
            rating=asset.rating,
            visibility=asset.visibility.value,
            removed=asset.removed,
            download_url=view.download_url,
            thumbnail_url=view.thumbnail_url,
            poster_url=view.poster_url,
            created_at=isoformat(asset.created_at),
            restriction=asset.restriction,
            provenance=ProvenanceResponse(
                c2pa=asset.provenance.c2pa if asset.provenance else "absent",
                digital_source_type=asset.provenance.digital_source_type if asset.provenance else None,
            ),
        )


class AssetPageResponse(BaseModel):
    items: list[AssetResponse]
    next_cursor: str | None


class UpdateAssetRequest(StrictRequest):
    labels: list[Label] | None = Field(default=None, max_length=20)
    rating: Annotated[int, Field(ge=1, le=5), WholeNumber] | None = None
    visibility: Literal["private", "public"] | None = None
