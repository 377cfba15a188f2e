"""Webhooks: payment providers' events (no session; raw body; signature first), the return from a
provider's checkout page, and inference providers' callbacks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from atelier.api.access import Access
from atelier.api.errors import error_responses
from atelier.api.requests import lower_case_headers, public_base_url, raw_body
from atelier.api.resolver import make_resolver, serve
from atelier.api.schemas.billing import WebhookReceipt
from atelier.integrations.inference.base import CallbackSignatureError
from atelier.integrations.payments.base import WebhookSignatureError
from atelier.observability import counting_signature_failures, logger, metrics, tracer
from atelier.services import Services, get_services
from atelier.snapstart import prepare
from atelier.usecases.handle_payment_event import PaymentEventDeps, handle_payment_event
from atelier.usecases.handle_provider_callback import handle_provider_callback

app = make_resolver()

ProviderName = Literal["stripe", "paypal", "creem"]


def _receive(provider: ProviderName) -> WebhookReceipt:
    services = get_services()
    with counting_signature_failures(provider, WebhookSignatureError):
        event = services.payment_provider(provider).parse_webhook(
            lower_case_headers(app.current_event), raw_body(app.current_event)
        )
    outcome = _apply(services, event)
    logger.info("payment event", extra={"provider": provider, "event_type": event.event_type, "outcome": outcome})
    return WebhookReceipt(received=True, outcome=outcome)


def _apply(services: Services, event: Any) -> str:
    return handle_payment_event(services.dependencies(PaymentEventDeps), event).value


_WEBHOOK_ERRORS = error_responses(400, 503)
# The signature is verified by the provider's integration, chosen at run time.
_SIGNATURE_ERRORS = (WebhookSignatureError,)


@app.post(
    "/v1/webhooks/stripe",
    operation_id="receiveStripeEvent",
    description=(
        "Stripe's payment events. The signature is checked before anything is read; 2xx only once"
        " the event is durably recorded."
    ),
    access=Access.signed("stripeSignature"),
    summary="Stripe events",
    tags=["webhooks"],
    responses=_WEBHOOK_ERRORS,
    errors=_SIGNATURE_ERRORS,
)
def stripe_webhook() -> WebhookReceipt:
    return _receive("stripe")


@app.post(
    "/v1/webhooks/paypal",
    operation_id="receivePaypalEvent",
    description=(
        "PayPal's payment events, verified with PayPal before the body is read; 2xx only once the"
        " event is durably recorded."
    ),
    access=Access.signed("paypalSignature"),
    summary="PayPal events",
    tags=["webhooks"],
    responses=_WEBHOOK_ERRORS,
    errors=_SIGNATURE_ERRORS,
)
def paypal_webhook() -> WebhookReceipt:
    return _receive("paypal")


@app.post(
    "/v1/webhooks/creem",
    operation_id="receiveCreemEvent",
    description=(
        "Creem's payment events. The signature is checked before anything is read; 2xx only once "
        "the event is durably recorded."
    ),
    access=Access.signed("creemSignature"),
    summary="Creem events",
    tags=["webhooks"],
    responses=_WEBHOOK_ERRORS,
    errors=_SIGNATURE_ERRORS,
)
def creem_webhook() -> WebhookReceipt:
    return _receive("creem")


@app.get(
    "/v1/billing/return/<provider>",
    operation_id="completeCheckout",
    description=(
        "Where a payment provider's checkout page sends the buyer back; the payment is confirmed "
        "with the provider, then the browser goes to Billing."
    ),
    access=Access.public(),
    summary="Where a provider's checkout page sends the buyer back",
    tags=["webhooks"],
    responses=error_responses(400, 422, 503, success={302: "Back to the studio"}),
)
def checkout_return(
    provider: Annotated[ProviderName, Path()],
    token: Annotated[str | None, Query(max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")] = None,
):
    services = get_services()
    if token:
        # PayPal captures when the buyer returns; the capture is re-checked with PayPal itself.
        event = services.payment_provider(provider).complete_return(token)
        if event is not None:
            _apply(services, event)
    destination = (
        services.settings.billing.checkout_success_url or f"{public_base_url(app.current_event, services.settings)}/"
    )
    return Response(status_code=302, headers={"Location": destination})


class CallbackReceipt(BaseModel):
    received: bool
    known_job: bool


@app.post(
    "/v1/webhooks/providers/<provider>",
    operation_id="receiveProviderCallback",
    description=(
        "An inference provider says a job changed. Only a hint: the job is re-checked with the "
        "provider before anything is recorded."
    ),
    access=Access.signed("providerSignature", "providerToken"),
    summary="Inference providers' callbacks (hints: the job is re-checked with the provider)",
    tags=["webhooks"],
    responses=_WEBHOOK_ERRORS,
    errors=(CallbackSignatureError,),
)
def provider_callback(
    provider: Annotated[Literal["replicate", "runpod", "modelark", "openai", "local"], Path()],
) -> CallbackReceipt:
    services = get_services()
    known = handle_provider_callback(
        provider,
        lower_case_headers(app.current_event),
        raw_body(app.current_event),
        dict(app.current_event.query_string_parameters or {}),
        provider=services.inference_provider(provider),
        jobs=services.jobs,
        queue=services.generation_queue,
    )
    return CallbackReceipt(received=True, known_job=known)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context)


prepare("webhooks", resolver=app)
