"""Account: the profile, consent, terms and age, policies, workspaces, and privacy requests (data
exports and account deletion)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.api.access import Access
from atelier.api.errors import error_responses
from atelier.api.requests import public_base_url, signed_in_account_id
from atelier.api.resolver import make_resolver, serve
from atelier.api.schemas.accounts import (
    AcceptTermsRequest,
    CreateWorkspaceRequest,
    EmailConfirmationRequest,
    MeResponse,
    PolicyResponse,
    PolicyVersionBody,
    SetPictureRequest,
    UpdateConsentRequest,
    UpdateMeRequest,
    UpdateWorkspaceRequest,
    WorkspacePage,
    WorkspaceResponse,
)
from atelier.api.schemas.privacy import (
    DeletionScheduledResponse,
    DeletionStatusResponse,
    ExportPage,
    ExportResponse,
)
from atelier.clock import isoformat
from atelier.models.accounts import Account, PolicyKind, Scope
from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.accept_terms import accept_terms
from atelier.usecases.change_email import ConfirmEmailChangeDeps, confirm_email_change
from atelier.usecases.get_account import get_account
from atelier.usecases.manage_picture import SetPictureDeps, picture_url, remove_picture, set_picture
from atelier.usecases.manage_workspaces import (
    create_workspace,
    delete_workspace,
    get_workspace,
    list_workspaces,
    rename_workspace,
)
from atelier.usecases.read_policy import read_policy
from atelier.usecases.request_export import ExportView, RequestExportDeps, list_exports, read_export, request_export
from atelier.usecases.schedule_deletion import (
    CancelDeletionDeps,
    ScheduleDeletionDeps,
    cancel_deletion,
    deletion_state,
    schedule_deletion,
)
from atelier.usecases.update_consent import update_consent
from atelier.usecases.update_profile import UpdateProfileDeps, update_profile

app = make_resolver()

WorkspaceId = Annotated[str, Path(max_length=64)]
ExportId = Annotated[str, Path(max_length=64)]
Cursor = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-z_]+$")]
Limit = Annotated[int, Query(ge=1, le=100)]


@app.get(
    "/v1/me",
    operation_id="getMe",
    description=("The signed-in account: profile, status, consents, the terms version accepted and preferences."),
    access=Access.signed_in(),
    summary="The signed-in account",
    tags=["account"],
    responses=error_responses(401),
)
def get_me() -> MeResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    view = get_account(
        account_id, accounts=services.accounts, email_changes=services.email_changes, clock=services.clock
    )
    return _me(view.account, view.pending_email)


@app.patch(
    "/v1/me",
    operation_id="updateMe",
    description=(
        "Corrects the name, email or preferences. A new email takes effect once confirmed from the link sent to it."
    ),
    access=Access.session(),
    summary="Correct name, email or preferences (a new email takes effect once confirmed from it)",
    tags=["account"],
    responses=error_responses(401, 403, 429),
)
def patch_me(body: UpdateMeRequest) -> MeResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    view = update_profile(
        services.dependencies(UpdateProfileDeps),
        account_id,
        name=body.name,
        email=body.email,
        preferences=body.preferences.to_domain() if body.preferences else None,
        site_base_url=public_base_url(app.current_event, services.settings),
    )
    return _me(view.account, view.pending_email)


@app.post(
    "/v1/me/email-confirmations",
    operation_id="confirmEmail",
    description=(
        "Confirms a new email address with the token from the link sent to it; the address then replaces the old one."
    ),
    access=Access.session(),
    summary="Confirm a new email address with the token from the link sent to it",
    tags=["account"],
    responses=error_responses(401, 403, 422),
)
def post_email_confirmation(body: EmailConfirmationRequest) -> MeResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    account = confirm_email_change(services.dependencies(ConfirmEmailChangeDeps), account_id, body.token)
    return _me(account)


@app.put(
    "/v1/me/consent",
    operation_id="updateConsent",
    description=(
        "Turns the optional processing on or off: analytics, product improvement, marketing "
        "emails. Anything left out is off."
    ),
    access=Access.session(),
    summary="Turn optional processing on or off",
    tags=["account"],
    responses=error_responses(401, 403),
)
def put_consent(body: UpdateConsentRequest) -> MeResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    account = update_consent(
        account_id,
        analytics=body.analytics,
        product_improvement=body.product_improvement,
        marketing_emails=body.marketing_emails,
        accounts=services.accounts,
        clock=services.clock,
    )
    return _me(account)


@app.post(
    "/v1/me/terms",
    operation_id="acceptTerms",
    description=(
        "Accepts the terms version in force and attests the minimum age. Until done, generation, "
        "purchases, publishing and shares answer 403 `consent_required`."
    ),
    access=Access.session(),
    summary="Accept the terms in force and attest the minimum age",
    tags=["account"],
    responses=error_responses(401, 403, 409),
)
def post_terms(body: AcceptTermsRequest) -> MeResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    account = accept_terms(
        account_id,
        body.version,
        accounts=services.accounts,
        policies=services.policies,
        clock=services.clock,
        settings=services.settings,
    )
    return _me(account)


@app.put(
    "/v1/me/picture",
    operation_id="setPicture",
    description=(
        "Makes one of the caller's own image uploads their profile picture: the upload is checked and "
        "cleaned if it was not yet, screened by moderation (restricted or blocked images are refused with "
        "422 `picture_rejected`), and a 256 px square WebP copy is kept with the account."
    ),
    access=Access.session(),
    summary="Set the profile picture from an upload",
    tags=["account"],
    responses=error_responses(401, 403, 404, 422),
)
def put_picture(body: SetPictureRequest) -> MeResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return _me(set_picture(services.dependencies(SetPictureDeps), account_id, body.upload_id))


@app.delete(
    "/v1/me/picture",
    operation_id="removePicture",
    description="Removes the profile picture and its stored copy; the studio shows the name's initials again.",
    access=Access.session(),
    summary="Remove the profile picture",
    tags=["account"],
    responses=error_responses(401, 403),
)
def delete_picture() -> MeResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return _me(remove_picture(account_id, accounts=services.accounts, storage=services.asset_storage))


def _me(account: Account, pending_email: str | None = None) -> MeResponse:
    services = get_services()
    avatar = picture_url(account, storage=services.asset_storage, settings=services.settings)
    return MeResponse.of(account, pending_email, avatar_url=avatar)


@app.get(
    "/v1/policies/<kind>",
    operation_id="getPolicy",
    description=(
        "The terms or the privacy policy in force now, and the upcoming version if one is published. No sign-in needed."
    ),
    access=Access.public(),
    summary="The terms or privacy policy in force",
    tags=["account"],
    responses=error_responses(404),
)
def get_policy(kind: Annotated[Literal["terms", "privacy"], Path()]) -> PolicyResponse:
    services = get_services()
    status = read_policy(PolicyKind(kind), policies=services.policies, clock=services.clock, settings=services.settings)
    return PolicyResponse(
        kind=kind,
        version=status.in_force.version,
        effective_at=isoformat(status.in_force.effective_at),
        summary=status.in_force.summary,
        minimum_age=services.settings.sign_in.minimum_age,
        upcoming=PolicyVersionBody.of(status.upcoming) if status.upcoming else None,
    )


@app.post(
    "/v1/workspaces",
    operation_id="createWorkspace",
    description=(
        "Creates a workspace to keep jobs and assets apart. Choose the active one with the `X-Workspace-Id` header."
    ),
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Create a workspace",
    tags=["workspaces"],
    responses=error_responses(401, 403, 409, success={201: "Created"}),
)
def post_workspace(body: CreateWorkspaceRequest) -> Response[WorkspaceResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    workspace = create_workspace(
        account_id, body.name, workspaces=services.workspaces, clock=services.clock, settings=services.settings
    )
    return Response(status_code=201, content_type="application/json", body=WorkspaceResponse.of(workspace))


@app.get(
    "/v1/workspaces",
    operation_id="listWorkspaces",
    description="The account's workspaces; every account has a default one.",
    access=Access.scoped(Scope.LIBRARY_READ),
    summary="List workspaces",
    tags=["workspaces"],
    responses=error_responses(401),
)
def get_workspaces() -> WorkspacePage:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return WorkspacePage(
        items=[WorkspaceResponse.of(w) for w in list_workspaces(account_id, workspaces=services.workspaces)]
    )


@app.get(
    "/v1/workspaces/<workspace_id>",
    operation_id="getWorkspace",
    description="One workspace.",
    access=Access.scoped(Scope.LIBRARY_READ),
    summary="One workspace",
    tags=["workspaces"],
    responses=error_responses(401, 404),
)
def get_one_workspace(workspace_id: WorkspaceId) -> WorkspaceResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return WorkspaceResponse.of(get_workspace(account_id, workspace_id, workspaces=services.workspaces))


@app.patch(
    "/v1/workspaces/<workspace_id>",
    operation_id="renameWorkspace",
    description="Renames a workspace.",
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Rename a workspace",
    tags=["workspaces"],
    responses=error_responses(401, 403, 404),
)
def patch_workspace(workspace_id: WorkspaceId, body: UpdateWorkspaceRequest) -> WorkspaceResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return WorkspaceResponse.of(rename_workspace(account_id, workspace_id, body.name, workspaces=services.workspaces))


@app.delete(
    "/v1/workspaces/<workspace_id>",
    operation_id="deleteWorkspace",
    description="Deletes an empty workspace; never the default one.",
    access=Access.scoped(Scope.LIBRARY_WRITE),
    summary="Delete an empty workspace (never the default)",
    tags=["workspaces"],
    responses=error_responses(401, 403, 404, 409, success={204: "Deleted"}),
)
def remove_workspace(workspace_id: WorkspaceId):
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    delete_workspace(account_id, workspace_id, workspaces=services.workspaces)
    return Response(status_code=204)


@app.post(
    "/v1/me/exports",
    operation_id="createExport",
    description=(
        "Starts building an archive of all the account's data (access right); poll GET "
        "/v1/me/exports/{export_id} or receive `export.ready`. One at a time."
    ),
    access=Access.scoped(Scope.ACCOUNT_EXPORT),
    summary="Request a download of all your data",
    tags=["privacy"],
    responses=error_responses(401, 403, 409, 429, 503, success={202: "Queued"}),
)
def post_export() -> Response[ExportResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    export = request_export(
        services.dependencies(RequestExportDeps),
        account_id,
        site_base_url=public_base_url(app.current_event, services.settings),
    )
    view = ExportView(export=export, status=export.status, download_url=None)
    return Response(status_code=202, content_type="application/json", body=ExportResponse.of(view))


@app.get(
    "/v1/me/exports",
    access=Access.scoped(Scope.ACCOUNT_EXPORT),
    operation_id="listExports",
    summary="Your exports, newest first",
    description="Every export asked for, with its status now, its download link while the archive lasts, "
    "and when the archive expires.",
    tags=["privacy"],
    responses=error_responses(401),
)
def get_exports(limit: Limit = 20, cursor: Cursor = None) -> ExportPage:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    views, next_cursor = list_exports(
        account_id,
        limit=limit,
        cursor=cursor,
        exports=services.exports,
        storage=services.export_objects,
        clock=services.clock,
    )
    return ExportPage(items=[ExportResponse.of(view) for view in views], next_cursor=next_cursor)


@app.get(
    "/v1/me/exports/<export_id>",
    operation_id="getExport",
    description="An export's status and, once ready, a short-lived download link.",
    access=Access.scoped(Scope.ACCOUNT_EXPORT),
    summary="An export: its status and, once ready, its download link",
    tags=["privacy"],
    responses=error_responses(401, 404),
)
def get_export(export_id: ExportId) -> ExportResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return ExportResponse.of(
        read_export(
            account_id, export_id, exports=services.exports, storage=services.export_objects, clock=services.clock
        )
    )


@app.post(
    "/v1/me/deletion",
    operation_id="scheduleDeletion",
    description=(
        "Schedules the deletion of the account and everything it holds; it can be canceled for 72"
        " hours, then it is purged."
    ),
    access=Access.session(),
    summary="Schedule the deletion of your account (cancellable for 72 hours)",
    tags=["privacy"],
    responses=error_responses(401, 403, 409, success={202: "Scheduled"}),
)
def post_deletion() -> Response[DeletionScheduledResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    state = schedule_deletion(services.dependencies(ScheduleDeletionDeps), account_id)
    return Response(status_code=202, content_type="application/json", body=DeletionScheduledResponse.of(state))


@app.delete(
    "/v1/me/deletion",
    operation_id="cancelDeletion",
    description="Cancels a scheduled deletion before the purge starts.",
    access=Access.session(),
    summary="Cancel the scheduled deletion of your account",
    tags=["privacy"],
    responses=error_responses(401, 403, 409),
)
def delete_deletion() -> DeletionStatusResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    state = cancel_deletion(services.dependencies(CancelDeletionDeps), account_id)
    return DeletionStatusResponse.of(state)


@app.get(
    "/v1/me/deletion",
    operation_id="getDeletion",
    description="Whether the account's deletion is scheduled, and when it will be purged.",
    access=Access.session(),
    summary="Whether your account is scheduled for deletion, and when",
    tags=["privacy"],
    responses=error_responses(401),
)
def get_deletion() -> DeletionStatusResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return DeletionStatusResponse.of(deletion_state(account_id, privacy=services.privacy))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)


prepare("account", resolver=app)
