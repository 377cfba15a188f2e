"""HTTP shapes of workflows, the gallery, share links, reports, moderation and policy publication."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from atelier.api.schemas.common import DisplayText, RequestTime, StrictRequest, multi_line_text
from atelier.clock import isoformat
from atelier.models.accounts import Account
from atelier.models.gallery import ModerationAction, Report, ReportStatus, Share, WorkflowDefinition, WorkflowVersion
from atelier.usecases.browse_gallery import GalleryItemView
from atelier.usecases.manage_shares import SharedItem
from atelier.usecases.manage_workflows import WorkflowView

PromptTemplate = Annotated[str, multi_line_text(2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Variable = Annotated[str, StringConstraints(max_length=500)]


class DefinitionBody(StrictRequest):
    kind: Literal["image", "video"]
    model: Annotated[str, Field(min_length=1, max_length=64)]
    prompt_template: PromptTemplate
    params: dict[str, int | float | str | bool] = Field(default_factory=dict, max_length=20)

    def to_domain(self) -> WorkflowDefinition:
        return WorkflowDefinition(
            kind=self.kind, model=self.model, prompt_template=self.prompt_template, params=dict(self.params)
        )


class CreateWorkflowRequest(StrictRequest):
    name: DisplayText
    description: Note | None = None
    definition: DefinitionBody
    note: Note | None = Field(default=None, description="The first version's note")


class CreateVersionRequest(StrictRequest):
    definition: DefinitionBody
    note: Note


class UpdateWorkflowRequest(StrictRequest):
    name: DisplayText | None = None
    description: Note | None = None
    visibility: Literal["private", "public"] | None = None


class ForkRequest(StrictRequest):
    share_token: Annotated[str, Field(max_length=128)] | None = None


class RunWorkflowRequest(StrictRequest):
    variables: dict[Annotated[str, Field(max_length=64)], Variable] = Field(default_factory=dict, max_length=50)
    params: dict[str, int | float | str | bool] | None = Field(default=None, max_length=20)


class DefinitionResponse(BaseModel):
    kind: str
    model: str
    prompt_template: str
    params: dict[str, Any]


class WorkflowVersionResponse(BaseModel):
    id: str
    workflow_id: str
    version: int
    definition: DefinitionResponse
    note: str | None
    created_at: str

    @classmethod
    def of(cls, version: WorkflowVersion) -> WorkflowVersionResponse:
        return cls(
            id=version.id,
            workflow_id=version.workflow_id,
            version=version.version,
            definition=DefinitionResponse(**version.definition.model_dump()),
            note=version.note,
            created_at=isoformat(version.created_at),
        )


class WorkflowResponse(BaseModel):
    id: str
    name: str
    description: str | None
    visibility: Literal["private", "public"]
    version: int
    version_id: str | None
    definition: DefinitionResponse | None
    forked_from: str | None
    removed: bool
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, view: WorkflowView) -> WorkflowResponse:
        workflow, latest = view.workflow, view.latest
        return cls(
            id=workflow.id,
            name=workflow.name,
            description=workflow.description,
            visibility=workflow.visibility.value,
            version=workflow.latest_version,
            version_id=latest.id if latest else None,
            definition=DefinitionResponse(**latest.definition.model_dump()) if latest else None,
            forked_from=workflow.forked_from,
            removed=workflow.taken_down,
            created_at=isoformat(workflow.created_at),
            updated_at=isoformat(workflow.updated_at),
        )


class WorkflowPageResponse(BaseModel):
    items: list[WorkflowResponse]
    next_cursor: str | None


class WorkflowVersionList(BaseModel):
    items: list[WorkflowVersionResponse]
    next_cursor: str | None = None


class GalleryOwner(BaseModel):
    name: str = Field(description="The owner's display name")
    handle: str = Field(description="A stable public handle of the owner; not the account id")


class GalleryItemResponse(BaseModel):
    id: str
    kind: str
    content_type: str
    width: int | None
    height: int | None
    duration_s: float | None
    owner: GalleryOwner
    download_url: str
    thumbnail_url: str | None = Field(description="WebP, longest side 512 px; a cacheable public URL")
    poster_url: str | None = Field(description="A video's poster frame (WebP); null for an image")
    published_at: str

    @classmethod
    def of(cls, view: GalleryItemView) -> GalleryItemResponse:
        entry = view.entry
        return cls(
            id=entry.asset_id,
            kind=entry.kind,
            content_type=entry.content_type,
            width=entry.width,
            height=entry.height,
            duration_s=entry.duration_s,
            owner=GalleryOwner(name=view.owner_name, handle=view.owner_handle),
            download_url=view.download_url,
            thumbnail_url=view.thumbnail_url,
            poster_url=view.poster_url,
            published_at=isoformat(entry.published_at),
        )


class GalleryPageResponse(BaseModel):
    items: list[GalleryItemResponse]
    next_cursor: str | None


class CreateShareRequest(StrictRequest):
    target_type: Literal["asset", "workflow"]
    target_id: Annotated[str, Field(max_length=64)]
    expires_at: RequestTime | None = None


class ShareResponse(BaseModel):
    id: str
    target_type: Literal["asset", "workflow"]
    target_id: str
    created_at: str
    expires_at: str | None

    @classmethod
    def of(cls, share: Share) -> ShareResponse:
        return cls(
            id=share.id,
            target_type=share.target_type.value,
            target_id=share.target_id,
            created_at=isoformat(share.created_at),
            expires_at=isoformat(share.expires_at) if share.expires_at else None,
        )


class CreatedShareResponse(ShareResponse):
    token: str
    url: str


class ShareList(BaseModel):
    items: list[ShareResponse]
    next_cursor: str | None = None


class SharedAssetBody(BaseModel):
    id: str
    kind: str
    content_type: str
    width: int | None
    height: int | None
    duration_s: float | None
    download_url: str | None
    thumbnail_url: str | None = None
    poster_url: str | None = None


class SharedItemResponse(BaseModel):
    target_type: Literal["asset", "workflow"]
    expires_at: str | None
    asset: SharedAssetBody | None = None
    workflow: WorkflowResponse | None = None

    @classmethod
    def of(cls, item: SharedItem) -> SharedItemResponse:
        asset = None
        if item.asset is not None:
            asset = SharedAssetBody(
                id=item.asset.asset_id,
                kind=item.asset.kind,
                content_type=item.asset.content_type,
                width=item.asset.width,
                height=item.asset.height,
                duration_s=item.asset.duration_s,
                download_url=item.download_url,
                thumbnail_url=item.thumbnail_url,
                poster_url=item.poster_url,
            )
        workflow = None
        if item.workflow is not None:
            workflow = WorkflowResponse.of(WorkflowView(workflow=item.workflow, latest=item.version))
        return cls(
            target_type=item.share.target_type.value,
            expires_at=isoformat(item.share.expires_at) if item.share.expires_at else None,
            asset=asset,
            workflow=workflow,
        )


class CreateReportRequest(StrictRequest):
    target_type: Literal["asset", "workflow"]
    target_id: Annotated[str, Field(min_length=1, max_length=128, description="An id, or a share token")]
    owner_id: Annotated[str | None, Field(max_length=64)] = Field(
        default=None, deprecated=True, description="Ignored: an asset is found by its id alone."
    )
    reason: Literal["spam", "sexual", "minor_safety", "violence", "hate", "copyright", "other"]
    details: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class ReportResponse(BaseModel):
    id: str
    target_type: Literal["asset", "workflow"]
    target_id: str
    reason: str
    status: Literal["open", "resolved"]
    created_at: str

    @classmethod
    def of(cls, report: Report) -> ReportResponse:
        return cls(
            id=report.id,
            target_type=report.target_type.value,
            target_id=report.target_id,
            reason=report.reason.value,
            status=report.status.value,
            created_at=isoformat(report.created_at),
        )


class AdminReportResponse(ReportResponse):
    owner_id: str
    reporter_id: str
    details: str | None
    action: str | None
    moderator_id: str | None
    note: str | None
    resolved_at: str | None

    @classmethod
    def of(cls, report: Report) -> AdminReportResponse:
        return cls(
            **ReportResponse.of(report).model_dump(),
            owner_id=report.owner_id,
            reporter_id=report.reporter_id,
            details=report.details,
            action=report.action.value if report.action else None,
            moderator_id=report.moderator_id,
            note=report.note,
            resolved_at=isoformat(report.resolved_at) if report.resolved_at else None,
        )


class AdminReportPage(BaseModel):
    items: list[AdminReportResponse]
    next_cursor: str | None


class ResolveReportRequest(StrictRequest):
    action: Literal["dismiss", "remove", "quarantine", "suspend_account"]
    note: Annotated[str, multi_line_text(2000)]


class LiftSuspensionRequest(StrictRequest):
    note: Annotated[str, multi_line_text(2000)]


class AdminAccountStatusResponse(BaseModel):
    id: str
    status: Literal["active", "restricted", "suspended", "deletion_scheduled"]

    @classmethod
    def of(cls, account: Account) -> AdminAccountStatusResponse:
        return cls(id=account.id, status=account.status.value)


class PublishPolicyRequest(StrictRequest):
    kind: Literal["terms", "privacy"]
    version: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[0-9A-Za-z._-]+$")
    ]
    summary: Annotated[str, multi_line_text(2000)]
    material: bool
    effective_at: RequestTime


class PublishedPolicyResponse(BaseModel):
    kind: str
    version: str
    summary: str
    material: bool
    effective_at: str
    published_at: str

    @classmethod
    def of(
        cls, kind: str, version: str, summary: str, material: bool, effective_at: datetime, published_at: datetime
    ) -> PublishedPolicyResponse:
        return cls(
            kind=kind,
            version=version,
            summary=summary,
            material=material,
            effective_at=isoformat(effective_at),
            published_at=isoformat(published_at),
        )


class MyReportResponse(BaseModel):
    """A report as its reporter sees it: what they reported and why, and whether it is decided
    (whether action was taken, never by whom or the moderator's note)."""

    id: str
    target_type: Literal["asset", "workflow"]
    target_id: str
    reason: Literal["spam", "sexual", "minor_safety", "violence", "hate", "copyright", "other"]
    details: str | None
    status: Literal["open", "resolved"]
    outcome: Literal["action_taken", "no_action"] | None = Field(
        description="Once resolved: whether the moderators acted on the item; null while open."
    )
    created_at: str
    resolved_at: str | None

    @classmethod
    def of(cls, report: Report) -> MyReportResponse:
        outcome: Literal["action_taken", "no_action"] | None = None
        if report.status is ReportStatus.RESOLVED:
            outcome = "no_action" if report.action in (None, ModerationAction.DISMISS) else "action_taken"
        return cls(
            id=report.id,
            target_type=report.target_type.value,
            target_id=report.target_id,
            reason=report.reason.value,
            details=report.details,
            status=report.status.value,
            outcome=outcome,
            created_at=isoformat(report.created_at),
            resolved_at=isoformat(report.resolved_at) if report.resolved_at else None,
        )


class MyReportPage(BaseModel):
    items: list[MyReportResponse]
    next_cursor: str | None = None
