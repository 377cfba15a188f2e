"""Gallery: workflows and their versions, the public gallery, share links (and their public reads),
and reports of content."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.api import headers, share_page
from atelier.api.access import Access
from atelier.api.errors import error_responses
from atelier.api.requests import IdempotencyKey, public_base_url, signed_in_account_id, workspace_choice
from atelier.api.requests import principal as request_principal
from atelier.api.resolver import make_resolver, serve
from atelier.api.schemas.gallery import (
    CreatedShareResponse,
    CreateReportRequest,
    CreateShareRequest,
    CreateVersionRequest,
    CreateWorkflowRequest,
    ForkRequest,
    GalleryItemResponse,
    GalleryPageResponse,
    MyReportPage,
    MyReportResponse,
    ReportResponse,
    RunWorkflowRequest,
    SharedItemResponse,
    ShareList,
    ShareResponse,
    UpdateWorkflowRequest,
    WorkflowPageResponse,
    WorkflowResponse,
    WorkflowVersionList,
    WorkflowVersionResponse,
)
from atelier.api.schemas.generation import JobResponse
from atelier.models.accounts import Scope
from atelier.models.gallery import ReportReason, TargetType
from atelier.models.generation import Visibility
from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.browse_gallery import BrowseGalleryDeps, browse_gallery
from atelier.usecases.list_my_reports import list_my_reports
from atelier.usecases.manage_shares import (
    CreateShareDeps,
    OpenShareDeps,
    create_share,
    list_shares,
    open_share,
    preview_share,
    revoke_share,
)
from atelier.usecases.manage_workflows import (
    ForkWorkflowDeps,
    UpdateWorkflowDeps,
    WorkflowView,
    add_version,
    create_workflow,
    fork_workflow,
    list_versions,
    list_workflows,
    read_workflow,
    update_workflow,
)
from atelier.usecases.report_content import ReportContentDeps, report_content
from atelier.usecases.submit_from_workflow import submit_from_workflow
from atelier.usecases.submit_job import SubmitJobDeps

app = make_resolver()

Id = Annotated[str, Path(max_length=64)]
Cursor = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-z_]+$")]
GalleryCursor = Annotated[str | None, Query(max_length=400, pattern=r"^[0-9A-Za-z_-]+$")]
Limit = Annotated[int, Query(ge=1, le=100)]


@app.post(
    "/v1/workflows",
    operation_id="createWorkflow",
    description="Saves a workflow (a prompt template with variables and a model) as its version 1.",
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Save a workflow (version 1)",
    tags=["workflows"],
    responses=error_responses(401, 403, 422, success={201: "Created"}),
)
def post_workflow(body: CreateWorkflowRequest) -> Response[WorkflowResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    view = create_workflow(
        account_id,
        body.name,
        body.description,
        body.definition.to_domain(),
        workflows=services.workflows,
        clock=services.clock,
        settings=services.settings,
        note=body.note,
    )
    return Response(status_code=201, content_type="application/json", body=WorkflowResponse.of(view))


@app.get(
    "/v1/workflows",
    operation_id="listWorkflows",
    description="The account's saved workflows, newest first.",
    access=Access.scoped(Scope.LIBRARY_READ),
    summary="Your workflows, newest first",
    tags=["workflows"],
    responses=error_responses(401),
)
def get_workflows(limit: Limit = 20, cursor: Cursor = None) -> WorkflowPageResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    page, next_cursor = list_workflows(account_id, limit=limit, cursor=cursor, workflows=services.workflows)
    items = [WorkflowResponse.of(WorkflowView(workflow=workflow, latest=None)) for workflow in page]
    return WorkflowPageResponse(items=items, next_cursor=next_cursor)


@app.get(
    "/v1/workflows/<workflow_id>",
    operation_id="getWorkflow",
    description="One workflow: one of yours, or a public one (no sign-in needed for those).",
    access=Access.optional(Scope.LIBRARY_READ),
    summary="One workflow: yours, or a public one",
    tags=["workflows"],
    responses=error_responses(404),
)
def get_workflow(workflow_id: Id) -> WorkflowResponse:
    services = get_services()
    viewer = request_principal(app.current_event, services).account_id
    return WorkflowResponse.of(
        read_workflow(viewer, workflow_id, workflows=services.workflows, gallery=services.gallery)
    )


@app.patch(
    "/v1/workflows/<workflow_id>",
    operation_id="updateWorkflow",
    description=("Renames, describes, publishes or unpublishes a workflow. Publishing needs the terms accepted."),
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Rename, describe or publish a workflow",
    tags=["workflows"],
    responses=error_responses(401, 403, 404),
)
def patch_workflow(workflow_id: Id, body: UpdateWorkflowRequest) -> WorkflowResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    view = update_workflow(
        services.dependencies(UpdateWorkflowDeps),
        account_id,
        workflow_id,
        name=body.name,
        description=body.description,
        visibility=Visibility(body.visibility) if body.visibility else None,
    )
    return WorkflowResponse.of(view)


@app.post(
    "/v1/workflows/<workflow_id>/versions",
    operation_id="createWorkflowVersion",
    description="Adds a new, immutable version of a workflow.",
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Add an immutable version",
    tags=["workflows"],
    responses=error_responses(401, 404, 409, 422, success={201: "Created"}),
)
def post_version(workflow_id: Id, body: CreateVersionRequest) -> Response[WorkflowVersionResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    version = add_version(
        account_id,
        workflow_id,
        body.definition.to_domain(),
        body.note,
        workflows=services.workflows,
        clock=services.clock,
        settings=services.settings,
    )
    return Response(status_code=201, content_type="application/json", body=WorkflowVersionResponse.of(version))


@app.get(
    "/v1/workflows/<workflow_id>/versions",
    operation_id="listWorkflowVersions",
    description="Every version of a workflow, oldest first; versions never change once added.",
    access=Access.scoped(Scope.LIBRARY_READ),
    summary="Every version of a workflow, oldest first",
    tags=["workflows"],
    responses=error_responses(401, 404),
)
def get_versions(workflow_id: Id) -> WorkflowVersionList:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    versions = list_versions(account_id, workflow_id, workflows=services.workflows)
    return WorkflowVersionList(items=[WorkflowVersionResponse.of(version) for version in versions])


@app.post(
    "/v1/workflows/<workflow_id>/fork",
    operation_id="forkWorkflow",
    description="Copies a public or shared workflow into your account, as a new workflow of your own.",
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Copy a public or shared workflow into your account",
    tags=["workflows"],
    responses=error_responses(401, 404, success={201: "Forked"}),
)
def post_fork(workflow_id: Id, body: ForkRequest | None = None) -> Response[WorkflowResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    view = fork_workflow(
        services.dependencies(ForkWorkflowDeps), account_id, workflow_id, body.share_token if body else None
    )
    return Response(status_code=201, content_type="application/json", body=WorkflowResponse.of(view))


@app.post(
    "/v1/workflows/<workflow_id>/versions/<version>/jobs",
    operation_id="runWorkflow",
    description=(
        "Submits a job from a workflow version, its template's variables filled in from the body;"
        " otherwise as POST /v1/jobs, `Idempotency-Key` included."
    ),
    access=Access.scoped(Scope.GENERATE),
    summary="Run a workflow version with its template's variables filled in",
    tags=["workflows"],
    responses=error_responses(401, 402, 403, 404, 409, 422, 429, 503, success={202: "Accepted"}),
)
def post_workflow_job(
    workflow_id: Id,
    version: Annotated[int, Path(ge=1, le=999_999)],
    body: RunWorkflowRequest,
    idempotency_key: IdempotencyKey = None,
) -> Response[JobResponse]:
    services = get_services()
    event = app.current_event
    header_workspace, cookie_workspace = workspace_choice(event)
    submitted = submit_from_workflow(
        services.dependencies(SubmitJobDeps),
        request_principal(event, services),
        workflow_id,
        version,
        dict(body.variables),
        dict(body.params) if body.params is not None else None,
        workspace_id=header_workspace or cookie_workspace,
        idempotency_key=idempotency_key,
    )
    return Response(status_code=202, content_type="application/json", body=JobResponse.of(submitted.job))


@app.get(
    "/v1/gallery",
    operation_id="listGallery",
    description="Published assets from every account, newest first. No sign-in needed.",
    access=Access.public(),
    summary="Public assets, newest first (no sign-in)",
    tags=["gallery"],
    responses=error_responses(422),
)
def get_gallery(
    kind: Annotated[Literal["image", "video", "upload"] | None, Query()] = None,
    cursor: GalleryCursor = None,
    limit: Limit = 24,
) -> GalleryPageResponse:
    services = get_services()
    page = browse_gallery(
        services.dependencies(BrowseGalleryDeps),
        kind=kind,
        cursor=cursor,
        limit=limit,
        media_base_url=services.settings.media.media_base_url or public_base_url(app.current_event, services.settings),
    )
    return GalleryPageResponse(
        items=[GalleryItemResponse.of(view) for view in page.items], next_cursor=page.next_cursor
    )


@app.post(
    "/v1/shares",
    operation_id="createShare",
    description="Creates a link that shows one asset or workflow to anyone who has it, until revoked.",
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Share one asset or workflow by link",
    tags=["shares"],
    responses=error_responses(401, 403, 404, 422, success={201: "Created"}),
)
def post_share(body: CreateShareRequest) -> Response[CreatedShareResponse]:
    services = get_services()
    event = app.current_event
    account_id = signed_in_account_id(event, services)
    created = create_share(
        services.dependencies(CreateShareDeps),
        account_id,
        TargetType(body.target_type),
        body.target_id,
        body.expires_at,
    )
    payload = CreatedShareResponse(
        **ShareResponse.of(created.share).model_dump(),
        token=created.token,
        # The page people open (HTML with link-preview tags); the studio reads /v1/s/{token}.
        url=f"{public_base_url(event, services.settings)}/s/{created.token}",
    )
    return Response(status_code=201, content_type="application/json", body=payload)


@app.get(
    "/v1/shares",
    operation_id="listShares",
    description="The account's share links.",
    access=Access.scoped(Scope.LIBRARY_READ),
    summary="Your share links",
    tags=["shares"],
    responses=error_responses(401),
)
def get_shares() -> ShareList:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return ShareList(items=[ShareResponse.of(share) for share in list_shares(account_id, shares=services.shares)])


@app.delete(
    "/v1/shares/<share_id>",
    operation_id="revokeShare",
    description="Revokes a share link; it answers 404 from then on.",
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Revoke a share link",
    tags=["shares"],
    responses=error_responses(401, 404, success={204: "Revoked"}),
)
def delete_share(share_id: Id):
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    revoke_share(account_id, share_id, shares=services.shares)
    return Response(status_code=204)


@app.get(
    "/v1/s/<token>",
    operation_id="getSharedItem",
    description=("The asset or workflow a share link shows. No sign-in needed; a revoked or unknown link answers 404."),
    access=Access.public(),
    summary="The item a share link shows (no sign-in)",
    tags=["shares"],
    responses=error_responses(404),
)
def get_shared(token: Annotated[str, Path(max_length=128)]) -> SharedItemResponse:
    services = get_services()
    item = open_share(services.dependencies(OpenShareDeps), token)
    return SharedItemResponse.of(item)


@app.get("/s/<token>", access=Access.public(), include_in_schema=False)
def get_share_page(token: Annotated[str, Path(max_length=128)]) -> Response[str]:
    """The share link itself: the studio's page, with the item's link-preview tags (404 and no item
    tags when the link shows nothing)."""
    services = get_services()
    event = app.current_event
    base_url = public_base_url(event, services.settings)
    preview = preview_share(
        services.dependencies(OpenShareDeps), token, media_base_url=services.settings.media.media_base_url or base_url
    )
    tags = None
    if preview is not None:
        tags = share_page.PreviewTags(
            title=f"{_KIND_WORDS.get(preview.kind, 'An item')} by {preview.owner_name}",
            description=f"Shared from {share_page.SITE_NAME}.",
            url=f"{base_url}/s/{token}",
            image_url=preview.image_url,
        )
    return Response(
        status_code=200 if preview is not None else 404,
        content_type="text/html; charset=utf-8",
        body=share_page.render(services.web_index.html(), tags),
        headers={
            "Content-Security-Policy": headers.web_content_security_policy(services.settings),
            "Cache-Control": "no-store",
        },
    )


_KIND_WORDS = {"image": "An image", "video": "A video", "upload": "An image", "workflow": "A workflow"}


@app.post(
    "/v1/reports",
    operation_id="createReport",
    description="Reports a public asset or workflow to the moderators, once per item and account.",
    access=Access.session(),
    summary="Report an asset or workflow",
    tags=["reports"],
    responses=error_responses(401, 403, 404, 409, 422, 429, success={201: "Reported"}),
)
def post_report(body: CreateReportRequest) -> Response[ReportResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    report = report_content(
        services.dependencies(ReportContentDeps),
        account_id,
        TargetType(body.target_type),
        body.target_id,
        ReportReason(body.reason),
        body.details,
    )
    return Response(status_code=201, content_type="application/json", body=ReportResponse.of(report))


@app.get(
    "/v1/me/reports",
    access=Access.session(),
    operation_id="listMyReports",
    summary="Your own reports",
    description="The reports you made, newest first: what you reported, the reason, and whether the "
    "moderators have decided (and if they acted on the item).",
    tags=["reports"],
    responses=error_responses(401),
)
def get_my_reports(
    limit: Limit = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=120,
            pattern=r"^MYREPORT#[0-9A-Za-z_:.#+-]+$",
            examples=["MYREPORT#2026-12-06T10:15:00Z#rpt_01JABCDEF"],
        ),
    ] = None,
) -> MyReportPage:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    reports, next_cursor = list_my_reports(account_id, limit=limit, cursor=cursor, reports=services.reports)
    return MyReportPage(items=[MyReportResponse.of(report) for report in reports], next_cursor=next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)


prepare("gallery", resolver=app)
