"""Billing: the catalog, checkout, balance, spend cap, ledger and subscription."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier.api.access import Access
from atelier.api.errors import error_responses
from atelier.api.requests import public_base_url, signed_in_account_id
from atelier.api.resolver import make_resolver, serve
from atelier.api.schemas.billing import (
    BalanceResponse,
    CatalogResponse,
    CheckoutRequestBody,
    CheckoutResponse,
    LedgerEntryBody,
    LedgerPageResponse,
    SpendCapRequest,
    SubscriptionResponse,
)
from atelier.models.accounts import Scope
from atelier.observability import logger, metrics, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.manage_credits import current_subscription, list_ledger, read_balance, set_spend_cap
from atelier.usecases.read_catalog import catalog_items
from atelier.usecases.start_checkout import StartCheckoutDeps, start_checkout

app = make_resolver()


@app.get(
    "/v1/billing/catalog",
    operation_id="getCatalog",
    description="The credit packs and subscription plans on sale, with their prices. No sign-in needed.",
    access=Access.public(),
    summary="Credit packs and plans",
    tags=["billing"],
)
def get_catalog() -> CatalogResponse:
    return CatalogResponse.of(catalog_items(get_services().settings))


@app.post(
    "/v1/billing/checkout",
    operation_id="startCheckout",
    description=(
        "Starts buying a pack or plan at a payment provider; answers the provider's checkout URL "
        "to send the buyer to. Credits are added when the provider confirms the payment."
    ),
    access=Access.session(),
    summary="Start a purchase at a payment provider",
    tags=["billing"],
    responses=error_responses(401, 403, 422, 503, success={201: "Checkout started"}),
)
def post_checkout(body: CheckoutRequestBody) -> Response[CheckoutResponse]:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    base = public_base_url(app.current_event, services.settings)
    started = start_checkout(
        services.dependencies(StartCheckoutDeps),
        account_id,
        body.item_id,
        body.provider,
        provider=services.payment_provider(body.provider),
        success_url=f"{base}/v1/billing/return/{body.provider}",
        cancel_url=services.settings.billing.checkout_cancel_url or base,
    )
    payload = CheckoutResponse(checkout_id=started.checkout_id, url=started.url)
    return Response(status_code=201, content_type="application/json", body=payload)


@app.get(
    "/v1/billing/balance",
    operation_id="getBalance",
    description=(
        "The account's credits, the credits held by running jobs, and the monthly spend cap with "
        "what was spent this month."
    ),
    access=Access.scoped(Scope.BILLING_READ),
    summary="Credits, held credits and the spend cap",
    tags=["billing"],
    responses=error_responses(401),
)
def get_balance() -> BalanceResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return BalanceResponse.of(read_balance(account_id, wallets=services.wallets, clock=services.clock))


@app.put(
    "/v1/billing/spend-cap",
    operation_id="setSpendCap",
    description=(
        "Sets the most credits the account may spend in a calendar month, or removes the cap with"
        " null. A job that would pass it answers 429 `spend_cap_exceeded`."
    ),
    access=Access.session(),
    summary="Set or remove the monthly spend cap",
    tags=["billing"],
    responses=error_responses(401, 403, 409),
)
def put_spend_cap(body: SpendCapRequest) -> BalanceResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    return BalanceResponse.of(
        set_spend_cap(account_id, body.monthly_credits, wallets=services.wallets, clock=services.clock)
    )


@app.get(
    "/v1/billing/ledger",
    operation_id="listLedgerEntries",
    description=(
        "Every credit movement of the account (purchases, grants, holds, settlements, releases, refunds), newest first."
    ),
    access=Access.scoped(Scope.BILLING_READ),
    summary="Money entries, newest first",
    tags=["billing"],
    responses=error_responses(401),
)
def get_ledger(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9a-z_]+$")] = None,
) -> LedgerPageResponse:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    page = list_ledger(account_id, limit=limit, cursor=cursor, accounts=services.accounts, wallets=services.wallets)
    return LedgerPageResponse(items=[LedgerEntryBody.of(entry) for entry in page.entries], next_cursor=page.next_cursor)


@app.get(
    "/v1/billing/subscription",
    operation_id="getSubscription",
    description="The account's current subscription (plan, status, end of the period), or null.",
    access=Access.scoped(Scope.BILLING_READ),
    summary="The current subscription, if any",
    tags=["billing"],
    responses=error_responses(401),
)
def get_subscription() -> SubscriptionResponse | None:
    services = get_services()
    account_id = signed_in_account_id(app.current_event, services)
    subscription = current_subscription(account_id, payments=services.payments)
    return SubscriptionResponse.of(subscription) if subscription else None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)


prepare("billing", resolver=app)
