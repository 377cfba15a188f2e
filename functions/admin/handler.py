"""Admin: the report queue, resolving reports (moderation), lifting suspensions, and publishing
policy versions. Anyone without the admin role gets 404: these routes are not confirmed to exist."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.api.access import Access
from atelier.api.errors import error_responses
from atelier.api.requests import principal as request_principal
from atelier.api.resolver import make_resolver, serve
from atelier.api.schemas.gallery import (
    AdminAccountStatusResponse,
    AdminReportPage,
    AdminReportResponse,
    LiftSuspensionRequest,
    PublishedPolicyResponse,
    PublishPolicyRequest,
    ResolveReportRequest,
)
from atelier.models.accounts import PolicyKind
from atelier.models.gallery import ModerationAction, ReportStatus
from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.moderate import lift_suspension, list_reports, require_admin, resolve_report
from atelier.usecases.publish_policy import publish_policy

app = make_resolver()


def _admin_id() -> str:
    services = get_services()
    return require_admin(
        request_principal(app.current_event, services).account_id,
        accounts=services.accounts,
        settings=services.settings,
    )


@app.get(
    "/v1/admin/reports",
    operation_id="listReports",
    description="Content reports with the given status, newest first, for moderators. Admins only.",
    access=Access.admin(),
    summary="Reports by status, newest first",
    tags=["admin"],
    responses=error_responses(404),
)
def get_reports(
    status: Annotated[Literal["open", "resolved"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=80, pattern=r"^[0-9A-Za-z_:.#-]+$")] = None,
) -> AdminReportPage:
    _admin_id()
    services = get_services()
    reports, next_cursor = list_reports(ReportStatus(status), limit=limit, cursor=cursor, reports=services.reports)
    return AdminReportPage(items=[AdminReportResponse.of(report) for report in reports], next_cursor=next_cursor)


@app.post(
    "/v1/admin/reports/<report_id>/resolve",
    operation_id="resolveReport",
    description=(
        "Resolves a content report: dismiss it, remove or quarantine the item, or suspend its "
        "owner's account. Admins only; the action is audited."
    ),
    access=Access.admin(),
    summary="Resolve a report: dismiss, remove, quarantine or suspend the account",
    tags=["admin"],
    responses=error_responses(404, 409, 422),
)
def post_resolve(report_id: Annotated[str, Path(max_length=64)], body: ResolveReportRequest) -> AdminReportResponse:
    moderator_id = _admin_id()
    services = get_services()
    report = resolve_report(
        moderator_id,
        report_id,
        ModerationAction(body.action),
        body.note,
        reports=services.reports,
        moderation=services.moderation_actions,
        workflows=services.workflows,
        storage=services.asset_storage,
        public_media=services.public_media,
        clock=services.clock,
        settings=services.settings,
    )
    return AdminReportResponse.of(report)


@app.post(
    "/v1/admin/accounts/<account_id>/lift-suspension",
    operation_id="liftSuspension",
    description=(
        "Lifts a moderation suspension from an account, with a note kept in the audit log. Admins"
        " only; anyone else is answered 404."
    ),
    access=Access.admin(),
    summary="Lift an account's suspension, with a note (audited)",
    tags=["admin"],
    responses=error_responses(404, 409, 422),
)
def post_lift_suspension(
    account_id: Annotated[str, Path(max_length=64)], body: LiftSuspensionRequest
) -> AdminAccountStatusResponse:
    moderator_id = _admin_id()
    services = get_services()
    account = lift_suspension(
        moderator_id,
        account_id,
        body.note,
        accounts=services.accounts,
        moderation=services.moderation_actions,
        clock=services.clock,
    )
    return AdminAccountStatusResponse.of(account)


@app.post(
    "/v1/admin/policies",
    operation_id="publishPolicy",
    description=(
        "Publishes a new version of the terms or the privacy policy, effective after the notice "
        "period, and emails every account holder about it. Admins only."
    ),
    access=Access.admin(),
    summary="Publish a terms or privacy version and notify every account holder",
    tags=["admin"],
    responses=error_responses(404, 409, 422, 503, success={201: "Published"}),
)
def post_policy(body: PublishPolicyRequest) -> Response[PublishedPolicyResponse]:
    _admin_id()
    services = get_services()
    policy = publish_policy(
        PolicyKind(body.kind),
        body.version,
        body.summary,
        body.material,
        body.effective_at,
        policies=services.policies,
        queue=services.policy_notice_queue,
        clock=services.clock,
        settings=services.settings,
    )
    payload = PublishedPolicyResponse.of(
        policy.kind.value, policy.version, policy.summary, policy.material, policy.effective_at, policy.published_at
    )
    return Response(status_code=201, content_type="application/json", body=payload)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)


prepare("admin", resolver=app)
