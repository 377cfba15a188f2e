"""Admin: the report queue, a report with its item and that item's report history, resolving
reports (moderation), the audit trail, lifting suspensions, and publishing policy versions. Anyone
without the admin role gets 404: these routes are not confirmed to exist."""

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
from atelier.api.schemas.admin import AdminReportDetailResponse, AuditPage
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
from atelier.models.gallery import ModerationAction, ReportReason, ReportStatus
from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.moderate import ResolveReportDeps, lift_suspension, list_reports, require_admin, resolve_report
from atelier.usecases.publish_policy import PublishPolicyDeps, publish_policy
from atelier.usecases.read_audit_trail import read_audit_trail
from atelier.usecases.review_report import ReviewReportDeps, review_report

app = make_resolver()


def _admin_id() -> str:
    services = get_services()
    return require_admin(
        request_principal(app.current_event, services).account_id,
        accounts=services.accounts,
        settings=services.settings,
    )


Cursor = Annotated[str | None, Query(max_length=80, pattern=r"^[0-9A-Za-z_:.#-]+$")]


@app.get(
    "/v1/admin/reports",
    access=Access.admin(),
    operation_id="listReports",
    summary="Reports by status, newest first",
    description=(
        "The moderators' queue: open reports (minor-safety reports first, then newest first) or resolved"
        " ones, newest first; `reason` keeps only reports of that reason. Admins only: 404 to anyone else."
    ),
    tags=["admin"],
    responses=error_responses(404),
)
def get_reports(
    status: Annotated[Literal["open", "resolved"], Query()] = "open",
    reason: Annotated[
        Literal["spam", "sexual", "minor_safety", "violence", "hate", "copyright", "other"] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Cursor = None,
) -> AdminReportPage:
    _admin_id()
    services = get_services()
    reports, next_cursor = list_reports(
        ReportStatus(status),
        reason=ReportReason(reason) if reason else None,
        limit=limit,
        cursor=cursor,
        reports=services.reports,
    )
    return AdminReportPage(items=[AdminReportResponse.of(report) for report in reports], next_cursor=next_cursor)


@app.get(
    "/v1/admin/reports/<report_id>",
    access=Access.admin(),
    operation_id="getAdminReport",
    summary="A report, the item it names, and that item's report history",
    description=(
        "The report; the item as it stands now (state, visibility, owner, and short-lived links to its media"
        " unless quarantined); the owner's account status; and every report on that item, newest first."
        " Admins only: 404 to anyone else."
    ),
    tags=["admin"],
    responses=error_responses(404),
)
def get_report(report_id: Annotated[str, Path(max_length=64)]) -> AdminReportDetailResponse:
    _admin_id()
    services = get_services()
    review = review_report(services.dependencies(ReviewReportDeps), report_id)
    return AdminReportDetailResponse.of(review)


@app.get(
    "/v1/admin/audit",
    access=Access.admin(),
    operation_id="listModerationAudit",
    summary="The moderation audit trail, one month at a time, newest first",
    description=(
        "Every moderator action (report resolutions and lifted suspensions) of the month `month` (yyyy-mm;"
        " this month when absent): who, what, on what, when and the note. Admins only: 404 to anyone else."
    ),
    tags=["admin"],
    responses=error_responses(404),
)
def get_audit(
    month: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2026-12"])] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Cursor = None,
) -> AuditPage:
    _admin_id()
    services = get_services()
    page = read_audit_trail(
        month,
        limit=limit,
        cursor=cursor,
        moderation=services.moderation_actions,
        accounts=services.accounts,
        clock=services.clock,
    )
    return AuditPage.of(page)


@app.post(
    "/v1/admin/reports/<report_id>/resolve",
    access=Access.admin(),
    operation_id="resolveReport",
    description=(
        "Dismiss, remove, quarantine (assets only) or remove and suspend the owner's account, with a note;"
        " audited in the same write. 409 when already resolved. Admins only: 404 to anyone else."
    ),
    summary="Resolve a report: dismiss, remove, quarantine or suspend the account",
    tags=["admin"],
    responses=error_responses(404, 409, 422),
)
def post_resolve(report_id: Annotated[str, Path(max_length=64)], body: ResolveReportRequest) -> AdminReportResponse:
    moderator_id = _admin_id()
    services = get_services()
    report = resolve_report(
        services.dependencies(ResolveReportDeps), moderator_id, report_id, ModerationAction(body.action), body.note
    )
    return AdminReportResponse.of(report)


@app.post(
    "/v1/admin/accounts/<account_id>/lift-suspension",
    access=Access.admin(),
    operation_id="liftSuspension",
    description="Ends a moderator's suspension, with a note (audited); 409 when the account is not suspended.",
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
    access=Access.admin(),
    operation_id="publishPolicy",
    description=(
        "Publishes a terms or privacy version taking effect at `effective_at` (in the future); a material"
        " change must take effect at least 14 days after it is published (422 notice_too_short). Every"
        " account holder is emailed."
    ),
    summary="Publish a terms or privacy version and notify every account holder",
    tags=["admin"],
    responses=error_responses(404, 409, 422, 503, success={201: "Published"}),
)
def post_policy(body: PublishPolicyRequest) -> Response[PublishedPolicyResponse]:
    _admin_id()
    services = get_services()
    policy = publish_policy(
        services.dependencies(PublishPolicyDeps),
        PolicyKind(body.kind),
        body.version,
        body.summary,
        body.material,
        body.effective_at,
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
