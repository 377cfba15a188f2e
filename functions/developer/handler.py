"""Developer platform: outbound webhook endpoints, their delivery logs, redeliveries and test events."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.api.access import Access
from atelier.api.errors import error_responses
from atelier.api.requests import signed_in_account_id
from atelier.api.resolver import make_resolver, serve
from atelier.api.schemas.webhooks import (
    CreatedWebhookEndpointResponse,
    CreateWebhookEndpointRequest,
    DefaultSecretResponse,
    RotatedSecretResponse,
    UpdateWebhookEndpointRequest,
    WebhookDeliveryPage,
    WebhookDeliveryResponse,
    WebhookEndpointList,
    WebhookEndpointResponse,
)
from atelier.clock import isoformat
from atelier.models.accounts import Scope
from atelier.models.webhooks import WebhookEventType
from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases import manage_webhooks
from atelier.usecases.manage_webhooks import EndpointChanges

app = make_resolver()

Id = Annotated[str, Path(max_length=64)]
Cursor = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-z_]+$")]
Limit = Annotated[int, Query(ge=1, le=100)]
TAGS = ["webhooks"]


@app.post(
    "/v1/webhook-endpoints",
    operation_id="createWebhookEndpoint",
    description=(
        "Registers an https endpoint for the chosen events. Its `whsec_` signing secret is in "
        "this answer only; deliveries are signed with the Standard Webhooks scheme."
    ),
    access=Access.scoped(Scope.WEBHOOKS_WRITE),
    summary="Register a webhook endpoint; its signing secret is answered this once",
    tags=TAGS,
    responses=error_responses(401, 403, 409, 422, success={201: "Registered"}),
)
def post_endpoint(body: CreateWebhookEndpointRequest) -> Response[CreatedWebhookEndpointResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    endpoint = manage_webhooks.create_endpoint(
        account_id,
        url=body.url,
        events=[WebhookEventType(event) for event in body.events],
        description=body.description,
        enabled=body.enabled,
        include_prompt=body.include_prompt,
        credits_low_threshold=body.credits_low_threshold,
        webhooks=services.webhooks,
        clock=services.clock,
        settings=services.settings,
    )
    return Response(
        status_code=201, content_type="application/json", body=CreatedWebhookEndpointResponse.created(endpoint)
    )


@app.get(
    "/v1/webhook-endpoints",
    operation_id="listWebhookEndpoints",
    description="The account's webhook endpoints (never their secrets).",
    access=Access.scoped(Scope.WEBHOOKS_READ),
    summary="The account's webhook endpoints",
    tags=TAGS,
    responses=error_responses(401),
)
def get_endpoints() -> WebhookEndpointList:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    endpoints = manage_webhooks.list_endpoints(account_id, webhooks=services.webhooks)
    return WebhookEndpointList(items=[WebhookEndpointResponse.of(endpoint) for endpoint in endpoints])


@app.get(
    "/v1/webhook-endpoints/default/secret",
    operation_id="getDefaultWebhookSecret",
    description="The secret that signs deliveries to a job's own `webhook_url`, made on first use.",
    access=Access.scoped(Scope.WEBHOOKS_READ),
    summary="The secret that signs deliveries to a job's own `webhook_url` (made on first use)",
    tags=TAGS,
    responses=error_responses(401),
)
def get_default_secret() -> DefaultSecretResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    endpoint = manage_webhooks.default_endpoint(account_id, webhooks=services.webhooks, clock=services.clock)
    return DefaultSecretResponse(endpoint_id=endpoint.id, secret=endpoint.signing_secret)


@app.get(
    "/v1/webhook-endpoints/<endpoint_id>",
    operation_id="getWebhookEndpoint",
    description="One webhook endpoint, with why it was disabled if it was (never its secret).",
    access=Access.scoped(Scope.WEBHOOKS_READ),
    summary="One webhook endpoint (never its secret)",
    tags=TAGS,
    responses=error_responses(401, 404),
)
def get_one_endpoint(endpoint_id: Id) -> WebhookEndpointResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    endpoint = manage_webhooks.get_endpoint(account_id, endpoint_id, webhooks=services.webhooks, allow_default=True)
    return WebhookEndpointResponse.of(endpoint)


@app.patch(
    "/v1/webhook-endpoints/<endpoint_id>",
    operation_id="updateWebhookEndpoint",
    description=(
        "Changes an endpoint's URL, events, description, prompt opt-in or `credits.low` "
        "threshold, or enables or disables it."
    ),
    access=Access.scoped(Scope.WEBHOOKS_WRITE),
    summary="Change a webhook endpoint's URL, events, description, or enable or disable it",
    tags=TAGS,
    responses=error_responses(401, 403, 404, 422),
)
def patch_endpoint(endpoint_id: Id, body: UpdateWebhookEndpointRequest) -> WebhookEndpointResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    changes = EndpointChanges(
        url=body.url,
        events=None if body.events is None else [WebhookEventType(event) for event in body.events],
        description=body.description,
        enabled=body.enabled,
        include_prompt=body.include_prompt,
        credits_low_threshold=body.credits_low_threshold,
    )
    endpoint = manage_webhooks.update_endpoint(
        account_id, endpoint_id, changes, webhooks=services.webhooks, clock=services.clock, settings=services.settings
    )
    return WebhookEndpointResponse.of(endpoint)


@app.delete(
    "/v1/webhook-endpoints/<endpoint_id>",
    operation_id="deleteWebhookEndpoint",
    description="Removes a webhook endpoint and its delivery log; nothing more is sent to it.",
    access=Access.scoped(Scope.WEBHOOKS_WRITE),
    summary="Remove a webhook endpoint and its delivery log",
    tags=TAGS,
    responses=error_responses(401, 403, 404, success={204: "Removed"}),
)
def remove_endpoint(endpoint_id: Id):
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    manage_webhooks.delete_endpoint(account_id, endpoint_id, webhooks=services.webhooks)
    return Response(status_code=204)


@app.post(
    "/v1/webhook-endpoints/<endpoint_id>/rotate-secret",
    operation_id="rotateWebhookSecret",
    description=(
        "Makes a new signing secret, answered this once; the previous one keeps signing too "
        "during the overlap window, so receivers can switch without losing events."
    ),
    access=Access.scoped(Scope.WEBHOOKS_WRITE),
    summary="Rotate the signing secret; the previous one keeps signing during the overlap window",
    tags=TAGS,
    responses=error_responses(401, 403, 404, 409),
)
def post_rotate_secret(endpoint_id: Id) -> RotatedSecretResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    endpoint = manage_webhooks.rotate_secret(
        account_id, endpoint_id, webhooks=services.webhooks, clock=services.clock, settings=services.settings
    )
    expires = endpoint.previous_secret_expires_at
    return RotatedSecretResponse(
        secret=endpoint.signing_secret, previous_secret_expires_at=isoformat(expires) if expires else ""
    )


@app.get(
    "/v1/webhook-endpoints/<endpoint_id>/deliveries",
    operation_id="listWebhookDeliveries",
    description=(
        "The endpoint's deliveries of the last 30 days, newest first: event, attempts, last status and the next retry."
    ),
    access=Access.scoped(Scope.WEBHOOKS_READ),
    summary="The endpoint's delivery log (30 days), newest first",
    tags=TAGS,
    responses=error_responses(401, 404),
)
def get_deliveries(endpoint_id: Id, limit: Limit = 20, cursor: Cursor = None) -> WebhookDeliveryPage:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    deliveries, next_cursor = manage_webhooks.list_deliveries(
        account_id, endpoint_id, limit=limit, cursor=cursor, webhooks=services.webhooks, clock=services.clock
    )
    return WebhookDeliveryPage(
        items=[WebhookDeliveryResponse.of(delivery) for delivery in deliveries], next_cursor=next_cursor
    )


@app.post(
    "/v1/webhook-endpoints/<endpoint_id>/deliveries/<delivery_id>/redeliver",
    operation_id="redeliverWebhook",
    description=(
        "Sends a delivered or failed delivery again, with the same message id and body. One still"
        " pending answers 409 `delivery_pending`."
    ),
    access=Access.scoped(Scope.WEBHOOKS_WRITE),
    summary="Attempt a delivered or failed delivery again (same message id and body)",
    tags=TAGS,
    responses=error_responses(401, 403, 404, 409, success={202: "Queued"}),
)
def post_redeliver(endpoint_id: Id, delivery_id: Id) -> Response[WebhookDeliveryResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    delivery = manage_webhooks.redeliver(
        account_id,
        endpoint_id,
        delivery_id,
        webhooks=services.webhooks,
        queue=services.webhook_queue,
        clock=services.clock,
    )
    return Response(status_code=202, content_type="application/json", body=WebhookDeliveryResponse.of(delivery))


@app.post(
    "/v1/webhook-endpoints/<endpoint_id>/test",
    operation_id="sendTestWebhook",
    description="Queues a `webhook.test` event to this endpoint, whatever events it subscribes to.",
    access=Access.scoped(Scope.WEBHOOKS_WRITE),
    summary="Send a `webhook.test` event to this endpoint",
    tags=TAGS,
    responses=error_responses(401, 403, 404, success={202: "Queued"}),
)
def post_test_event(endpoint_id: Id) -> Response[WebhookDeliveryResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    delivery = manage_webhooks.send_test_event(account_id, endpoint_id, events=services.webhook_events)
    return Response(status_code=202, content_type="application/json", body=WebhookDeliveryResponse.of(delivery))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)


prepare("developer", resolver=app)
