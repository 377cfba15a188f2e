"""Jobs: models, reference uploads, job submission, status and cancellation, and the asset library."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.api.access import Access
from atelier.api.errors import error_responses
from atelier.api.requests import IdempotencyKey, signed_in_account_id, workspace_choice
from atelier.api.requests import principal as request_principal
from atelier.api.resolver import make_resolver, serve
from atelier.api.schemas.generation import (
    AssetPageResponse,
    AssetResponse,
    CreateUploadRequest,
    JobPageResponse,
    JobResponse,
    ModelBody,
    ModelList,
    PresignedPost,
    SubmitJobRequest,
    UpdateAssetRequest,
    UploadResponse,
)
from atelier.clock import isoformat
from atelier.models.accounts import Scope
from atelier.models.generation import Visibility
from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.list_models import list_models
from atelier.usecases.manage_assets import UpdateAssetDeps, delete_asset, list_assets, read_asset, update_asset
from atelier.usecases.manage_jobs import CancelJobDeps, cancel_job, get_job, list_jobs
from atelier.usecases.manage_uploads import StartUploadDeps, start_upload
from atelier.usecases.submit_job import JobSubmission, SubmitJobDeps, submit_job

app = make_resolver()

Id = Annotated[str, Path(max_length=64)]
Cursor = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-z_]+$")]
Limit = Annotated[int, Query(ge=1, le=100)]


@app.get(
    "/v1/models",
    operation_id="listModels",
    description=(
        "The image and video models on offer: their provider, price in credits and the parameters"
        " each accepts. No sign-in needed."
    ),
    access=Access.public(),
    summary="Models on offer, their prices and parameters",
    tags=["generation"],
)
def get_models() -> ModelList:
    return ModelList(items=[ModelBody.of(model) for model in list_models(get_services().settings)])


@app.post(
    "/v1/uploads",
    operation_id="createUpload",
    description=(
        "Starts uploading a reference image: answers a presigned POST that the object store "
        "itself limits to the declared type and size. Use the upload's id in "
        "`reference_upload_ids`."
    ),
    access=Access.scoped(Scope.GENERATE),
    summary="Start a reference-image upload (a presigned POST)",
    tags=["generation"],
    responses=error_responses(401, 403, 409, 413, 422, 429, success={201: "Upload started"}),
)
def post_upload(body: CreateUploadRequest) -> Response[UploadResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    started = start_upload(
        services.dependencies(StartUploadDeps), account_id, body.filename, body.content_type, body.size_bytes
    )
    payload = UploadResponse(
        id=started.upload.id,
        upload=PresignedPost(url=started.url, fields={k: str(v) for k, v in started.fields.items()}),
        expires_at=isoformat(started.expires_at),
    )
    return Response(status_code=201, content_type="application/json", body=payload)


@app.post(
    "/v1/jobs",
    operation_id="createJob",
    description=(
        "Submits an image or video generation: the price is held from the balance and the job is "
        "queued (202). Poll GET /v1/jobs/{job_id}, or receive a `job.*` webhook. An "
        "`Idempotency-Key` makes a retried submission answer the same job; `Cancel-After` sets a "
        "deadline."
    ),
    access=Access.scoped(Scope.GENERATE),
    summary="Submit a generation job",
    tags=["generation"],
    responses=error_responses(401, 402, 403, 404, 409, 422, 429, 503, success={202: "Accepted"}),
)
def post_job(
    body: SubmitJobRequest,
    idempotency_key: IdempotencyKey = None,
    cancel_after: Annotated[
        str | None,
        Header(
            alias="Cancel-After",
            max_length=32,
            pattern=r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
            description="Cancel the job if it has not finished this long after it was accepted: `300s`, `5m`, `1h30m`.",
        ),
    ] = None,
) -> Response[JobResponse]:
    services = get_services()
    event = app.current_event
    header_workspace, cookie_workspace = workspace_choice(event)
    submitted = submit_job(
        services.dependencies(SubmitJobDeps),
        request_principal(event, services),
        JobSubmission(
            kind=body.kind,
            model=body.model,
            prompt=body.prompt,
            negative_prompt=body.negative_prompt,
            params=dict(body.params),
            reference_upload_ids=list(body.reference_upload_ids),
            workflow_version_id=body.workflow_version_id,
            webhook_url=body.webhook_url,
            cancel_after=cancel_after,
        ),
        workspace_id=header_workspace or cookie_workspace,
        idempotency_key=idempotency_key,
    )
    return Response(status_code=202, content_type="application/json", body=JobResponse.of(submitted.job))


@app.get(
    "/v1/jobs",
    operation_id="listJobs",
    description="The account's generation jobs, newest first, filtered by status or workspace.",
    access=Access.scoped(Scope.LIBRARY_READ),
    summary="Jobs, newest first",
    tags=["generation"],
    responses=error_responses(401),
)
def get_jobs(
    limit: Limit = 20,
    cursor: Cursor = None,
    status: Annotated[Literal["queued", "running", "succeeded", "failed", "canceled"] | None, Query()] = None,
    workspace_id: Annotated[str | None, Query(max_length=64)] = None,
) -> JobPageResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    page = list_jobs(
        account_id, limit=limit, cursor=cursor, status=status, workspace_id=workspace_id, jobs=services.jobs
    )
    return JobPageResponse(items=[JobResponse.of(job) for job in page.jobs], next_cursor=page.next_cursor)


@app.get(
    "/v1/jobs/<job_id>",
    operation_id="getJob",
    description=(
        "One job: its status, queue position and progress while it runs, and its output asset "
        "ids, cost and error once it ends."
    ),
    access=Access.scoped(Scope.LIBRARY_READ),
    summary="One job",
    tags=["generation"],
    responses=error_responses(401, 404),
)
def get_one_job(job_id: Id) -> JobResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return JobResponse.of(get_job(account_id, job_id, jobs=services.jobs))


@app.post(
    "/v1/jobs/<job_id>/cancel",
    operation_id="cancelJob",
    description=(
        "Cancels a job that is still queued or running, at the provider too, and releases its "
        "held credits. A finished job answers 409 `job_finished`."
    ),
    access=Access.scoped(Scope.GENERATE),
    summary="Cancel a job that has not finished; its hold is released",
    tags=["generation"],
    responses=error_responses(401, 403, 404, 409),
)
def post_cancel(job_id: Id) -> JobResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    job = cancel_job(services.dependencies(CancelJobDeps), account_id, job_id)
    return JobResponse.of(job)


@app.get(
    "/v1/assets",
    operation_id="listAssets",
    description=(
        "The signed-in account's assets (images, videos and reference uploads), newest first, "
        "filtered by kind or workspace. Download URLs are short-lived."
    ),
    access=Access.scoped(Scope.LIBRARY_READ),
    summary="The asset library, newest first",
    tags=["assets"],
    responses=error_responses(401),
)
def get_assets(
    limit: Limit = 20,
    cursor: Cursor = None,
    kind: Annotated[Literal["image", "video", "upload"] | None, Query()] = None,
    workspace_id: Annotated[str | None, Query(max_length=64)] = None,
) -> AssetPageResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    views, next_cursor = list_assets(
        account_id,
        limit=limit,
        cursor=cursor,
        kind=kind,
        workspace_id=workspace_id,
        assets=services.assets,
        storage=services.asset_storage,
        settings=services.settings,
    )
    return AssetPageResponse(items=[AssetResponse.of(view) for view in views], next_cursor=next_cursor)


@app.get(
    "/v1/assets/<asset_id>",
    operation_id="getAsset",
    description=(
        "One of your assets, with a short-lived download URL. Another account's private asset "
        "answers 404, as for one that does not exist."
    ),
    access=Access.scoped(Scope.LIBRARY_READ),
    summary="One asset, with a short-lived download URL",
    tags=["assets"],
    responses=error_responses(401, 404),
)
def get_one_asset(asset_id: Id) -> AssetResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return AssetResponse.of(
        read_asset(
            account_id, asset_id, assets=services.assets, storage=services.asset_storage, settings=services.settings
        )
    )


@app.patch(
    "/v1/assets/<asset_id>",
    operation_id="updateAsset",
    description=(
        "Sets an asset's labels, rating (1 to 5, or null to clear it) or visibility. Publishing "
        "needs the terms accepted and an account in good standing."
    ),
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Label, rate or publish an asset",
    tags=["assets"],
    responses=error_responses(401, 403, 404),
)
def patch_asset(asset_id: Id, body: UpdateAssetRequest) -> AssetResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    view = update_asset(
        services.dependencies(UpdateAssetDeps),
        account_id,
        asset_id,
        labels=body.labels,
        rating=body.rating,
        clear_rating="rating" in body.model_fields_set and body.rating is None,
        visibility=Visibility(body.visibility) if body.visibility else None,
    )
    return AssetResponse.of(view)


@app.delete(
    "/v1/assets/<asset_id>",
    operation_id="deleteAsset",
    description=(
        "Deletes an asset: its stored object, its public copy if published, and every pointer to "
        "it (shares, gallery). Cannot be undone."
    ),
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Delete an asset: the object and every pointer to it",
    tags=["assets"],
    responses=error_responses(401, 403, 404, success={204: "Deleted"}),
)
def remove_asset(asset_id: Id):
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    delete_asset(
        account_id, asset_id, assets=services.assets, storage=services.asset_storage, public_media=services.public_media
    )
    return Response(status_code=204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)


prepare("jobs", resolver=app)
