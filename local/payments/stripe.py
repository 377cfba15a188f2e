"""The Stripe stand-in: Checkout Sessions (form-encoded, as Stripe's API is), subscription cancel,
customer delete, invoice payments and charges, and Stripe's events signed as Stripe signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from local.payments.common import (
    CHECKOUT_PREFIX,
    PERIOD_SECONDS,
    STRIPE_API_VERSION,
    STRIPE_PREFIX,
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    Checkout,
    Payment,
    SandboxError,
    Webhook,
    now,
    option,
    random_id,
)
from local.payments.core import SandboxCore
from local.standins import LocalRequest, LocalResponse, LocalRoutes


class StripeStandIn:
    name = "stripe"
    title = "Stripe"
    prefix = STRIPE_PREFIX
    description = "Stripe API stand-in (checkout sessions)"
    returns_to_application = False

    def __init__(self, core: SandboxCore) -> None:
        self.core = core

    # -- the checkout page's buttons -------------------------------------------------------
    def pay(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        return self._pay(request.base_url, checkout)

    def renew(self, base_url: str, checkout: Checkout, start: int) -> list[Webhook]:
        return [self._period(base_url, checkout, start, "subscription_cycle")]

    def refund(self, base_url: str, checkout: Checkout, payment: Payment, amount: int, before: int) -> list[Webhook]:
        return [self._refund(base_url, checkout, payment, before)]

    def dispute(self, request: LocalRequest, checkout: Checkout, payment: Payment, amount: int) -> list[Webhook]:
        charge_only = option(request, "charge_only", bool, False)
        return [self._dispute(request.base_url, checkout, payment, amount, charge_only=charge_only)]

    def cancel(self, base_url: str, checkout: Checkout) -> list[Webhook]:
        checkout.subscription_status = "canceled"
        return [self.event(base_url, "customer.subscription.deleted", self._subscription(checkout))]

    def sign(self, base_url: str, body: bytes) -> dict[str, str]:
        return {"Stripe-Signature": stripe_signature(body)}

    # -- the API ---------------------------------------------------------------------------
    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/checkout/sessions")(self._api(self._create_session))
        routes.get("/v1/checkout/sessions/{session_id}")(self._api(self._get_session))
        routes.route("DELETE", "/v1/subscriptions/{subscription_id}")(self._api(self._cancel))
        routes.route("DELETE", "/v1/customers/{customer_id}")(self._api(self._delete_customer))
        routes.get("/v1/invoice_payments")(self._api(self._invoice_payments))
        routes.get("/v1/charges/{charge_id}")(self._api(self._get_charge))
        return routes

    def _api(self, handler: Callable[[LocalRequest], LocalResponse]) -> Callable[[LocalRequest], LocalResponse]:
        def run(request: LocalRequest) -> LocalResponse:
            key = (request.header("authorization") or "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(key.encode(), STRIPE_SECRET_KEY.encode()):
                return _error(401, "invalid_request_error", "Invalid API Key provided.", code="api_key_invalid")
            idempotency_key = request.header("idempotency-key")
            remembered = ("stripe", idempotency_key) if idempotency_key and request.method == "POST" else None
            with self.core.lock:
                if remembered and remembered in self.core.idempotent:
                    return self.core.idempotent[remembered]
                try:
                    response = handler(request)
                except SandboxError as error:
                    response = error.response
                if remembered:
                    self.core.idempotent[remembered] = response
            return LocalResponse(
                response.status, response.body, [*response.headers, ("Request-Id", f"req_{random_id(14)}")]
            )

        return run

    def _create_session(self, request: LocalRequest) -> LocalResponse:
        params = decode_stripe_form(request.body)
        mode = params.get("mode")
        if mode not in ("payment", "subscription"):
            return _error(400, "invalid_request_error", "mode must be payment or subscription.", param="mode")
        try:
            line = params["line_items"][0]
            price = line["price_data"]
            currency = str(price["currency"]).lower()
            amount = int(price["unit_amount"])
            name = str(price["product_data"]["name"])
            success_url = str(params["success_url"])
        except (KeyError, IndexError, TypeError, ValueError):
            return _error(400, "invalid_request_error", "line_items[0][price_data] and success_url are needed.")
        interval = (price.get("recurring") or {}).get("interval")
        if (mode == "subscription") != (interval in PERIOD_SECONDS):
            return _error(400, "invalid_request_error", "A subscription needs a recurring price.")
        data_key = "subscription_data" if mode == "subscription" else "payment_intent_data"
        checkout = self.core.add(
            Checkout(
                id=f"cs_test_{random_id(58)}",
                provider=self.name,
                kind="plan" if mode == "subscription" else "pack",
                item_name=name,
                amount_minor=amount,
                currency=currency,
                interval=interval,
                metadata=dict(params.get("metadata") or {}),
                object_metadata=dict((params.get(data_key) or {}).get("metadata") or {}),
                client_reference_id=params.get("client_reference_id"),
                success_url=success_url,
                cancel_url=str(params.get("cancel_url") or ""),
                created=now(),
            )
        )
        return LocalResponse.json(self._session(checkout, request.base_url))

    def _get_session(self, request: LocalRequest) -> LocalResponse:
        checkout = self.core.checkout(request.params["session_id"], self.name)
        if checkout is None:
            return _missing("checkout.session", request.params["session_id"])
        return LocalResponse.json(self._session(checkout, request.base_url))

    def _cancel(self, request: LocalRequest) -> LocalResponse:
        subscription_id = request.params["subscription_id"]
        checkout = next((c for c in self.core.checkouts(self.name) if c.subscription == subscription_id), None)
        if checkout is None:
            return _missing("subscription", subscription_id)
        if checkout.subscription_status == "canceled":
            return _error(
                400,
                "invalid_request_error",
                f"A canceled subscription can only update its cancellation_details: {subscription_id}",
            )
        webhooks = self.core.issue(checkout, self.cancel(request.base_url, checkout))
        self.core.deliver_in_background(webhooks)
        return LocalResponse.json(self._subscription(checkout))

    def _delete_customer(self, request: LocalRequest) -> LocalResponse:
        customer_id = request.params["customer_id"]
        owned = [c for c in self.core.checkouts(self.name) if c.customer == customer_id]
        if not owned or any(c.customer is None for c in owned):
            return _missing("customer", customer_id)
        for checkout in owned:
            # Deleting a customer cancels its subscriptions, as Stripe does.
            if checkout.subscription and checkout.subscription_status != "canceled":
                self.core.deliver_in_background(self.core.issue(checkout, self.cancel(request.base_url, checkout)))
            checkout.customer = None
        return LocalResponse.json({"id": customer_id, "object": "customer", "deleted": True})

    def _invoice_payments(self, request: LocalRequest) -> LocalResponse:
        invoice = request.query_value("invoice")
        status = request.query_value("status")
        data = [
            self._invoice_payment(checkout, payment)
            for checkout in self.core.checkouts(self.name)
            for payment in checkout.payments
            if payment.invoice and (invoice is None or payment.invoice == invoice)
        ]
        data = [item for item in data if status is None or item["status"] == status]
        return LocalResponse.json({"object": "list", "data": data, "has_more": False, "url": "/v1/invoice_payments"})

    def _get_charge(self, request: LocalRequest) -> LocalResponse:
        charge_id = request.params["charge_id"]
        for checkout in self.core.checkouts(self.name):
            for payment in checkout.payments:
                if payment.charge == charge_id:
                    return LocalResponse.json(self._charge(checkout, payment))
        return _missing("charge", charge_id)

    # -- Stripe objects --------------------------------------------------------------------
    def _session(self, checkout: Checkout, base_url: str) -> dict[str, Any]:
        paid = checkout.status == "paid"
        first = checkout.payments[0] if checkout.payments else None
        return {
            "id": checkout.id,
            "object": "checkout.session",
            "amount_subtotal": checkout.amount_minor,
            "amount_total": checkout.amount_minor,
            "cancel_url": checkout.cancel_url,
            "client_reference_id": checkout.client_reference_id,
            "created": checkout.created,
            "currency": checkout.currency,
            "customer": checkout.customer,
            "expires_at": checkout.created + 24 * 3600,
            "invoice": first.invoice if first else None,
            "livemode": False,
            "metadata": checkout.metadata,
            "mode": "subscription" if checkout.kind == "plan" else "payment",
            "payment_intent": first.id if first and checkout.kind == "pack" else None,
            "payment_status": "paid" if paid else "unpaid",
            "status": "complete" if paid else "open",
            "subscription": checkout.subscription,
            "success_url": checkout.success_url,
            "url": None if paid else f"{base_url}{CHECKOUT_PREFIX}/{checkout.id}",
        }

    def _charge(self, checkout: Checkout, payment: Payment) -> dict[str, Any]:
        return {
            "id": payment.charge,
            "object": "charge",
            "amount": payment.amount_minor,
            "amount_captured": payment.amount_minor,
            "amount_refunded": payment.refunded_minor,
            "captured": True,
            "created": payment.created,
            "currency": checkout.currency,
            "customer": checkout.customer,
            "livemode": False,
            # A payment intent's metadata is copied to its charges; invoices' intents carry none.
            "metadata": checkout.object_metadata if checkout.kind == "pack" else {},
            "paid": True,
            "payment_intent": payment.id,
            "refunded": payment.refunded_minor >= payment.amount_minor,
            "status": "succeeded",
        }

    def _subscription(self, checkout: Checkout) -> dict[str, Any]:
        latest = checkout.latest_payment
        start = latest.period_start if latest else checkout.created
        end = latest.period_end if latest else checkout.created
        canceled = checkout.subscription_status == "canceled"
        return {
            "id": checkout.subscription,
            "object": "subscription",
            "cancel_at_period_end": False,
            "canceled_at": now() if canceled else None,
            "created": checkout.created,
            "currency": checkout.currency,
            "customer": checkout.customer,
            "ended_at": now() if canceled else None,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": f"si_{random_id(14)}",
                        "object": "subscription_item",
                        "current_period_start": start,
                        "current_period_end": end,
                        "price": {
                            "id": f"price_{random_id(24)}",
                            "object": "price",
                            "currency": checkout.currency,
                            "recurring": {"interval": checkout.interval, "interval_count": 1},
                            "type": "recurring",
                            "unit_amount": checkout.amount_minor,
                        },
                        "quantity": 1,
                    }
                ],
                "has_more": False,
            },
            "latest_invoice": latest.invoice if latest else None,
            "livemode": False,
            "metadata": checkout.object_metadata,
            "start_date": checkout.created,
            "status": checkout.subscription_status,
        }

    def _invoice(self, checkout: Checkout, payment: Payment, billing_reason: str) -> dict[str, Any]:
        return {
            "id": payment.invoice,
            "object": "invoice",
            "amount_due": payment.amount_minor,
            "amount_paid": payment.amount_minor,
            "amount_remaining": 0,
            "billing_reason": billing_reason,
            "collection_method": "charge_automatically",
            "created": payment.created,
            "currency": checkout.currency,
            "customer": checkout.customer,
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": f"il_{random_id(24)}",
                        "object": "line_item",
                        "amount": payment.amount_minor,
                        "currency": checkout.currency,
                        "description": f"1 x {checkout.item_name}",
                        "period": {"start": payment.period_start, "end": payment.period_end},
                    }
                ],
                "has_more": False,
            },
            "livemode": False,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"metadata": checkout.object_metadata, "subscription": checkout.subscription},
            },
            "period_end": payment.created,
            "period_start": payment.created,
            "status": "paid",
            "status_transitions": {"paid_at": payment.created, "finalized_at": payment.created},
        }

    def _invoice_payment(self, checkout: Checkout, payment: Payment) -> dict[str, Any]:
        return {
            "id": f"inpay_{hashlib.sha256(payment.id.encode()).hexdigest()[:24]}",
            "object": "invoice_payment",
            "amount_paid": payment.amount_minor,
            "amount_requested": payment.amount_minor,
            "created": payment.created,
            "currency": checkout.currency,
            "invoice": payment.invoice,
            "is_default": True,
            "livemode": False,
            "payment": {"type": "payment_intent", "payment_intent": payment.id},
            "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": payment.created},
        }

    # -- Stripe events ---------------------------------------------------------------------
    def event(
        self, base_url: str, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> Webhook:
        """A delivery of a Stripe event about ``obj``, signed as Stripe signs (any type: tests use it too)."""
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": f"evt_{random_id(24)}",
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        body = json.dumps(event, indent=2).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **self.sign(base_url, body)}
        return Webhook(self.name, event_type, f"{base_url}/v1/webhooks/stripe", headers, body)

    def _pay(self, base_url: str, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        checkout.status = "paid"
        redirect = checkout.success_url.replace("{CHECKOUT_SESSION_ID}", checkout.id)
        if checkout.kind == "pack":
            checkout.payments.append(
                Payment(
                    id=f"pi_{random_id(24)}",
                    charge=f"ch_{random_id(24)}",
                    amount_minor=checkout.amount_minor,
                    created=now(),
                )
            )
            payment = checkout.payments[0]
            return [
                self.event(base_url, "checkout.session.completed", self._session(checkout, base_url)),
                self.event(base_url, "charge.succeeded", self._charge(checkout, payment)),
            ], redirect
        checkout.customer = f"cus_{random_id(14)}"
        checkout.subscription = f"sub_{random_id(24)}"
        checkout.subscription_status = "active"
        invoice_paid = self._period(base_url, checkout, now(), "subscription_create")
        return [
            self.event(base_url, "checkout.session.completed", self._session(checkout, base_url)),
            self.event(base_url, "customer.subscription.created", self._subscription(checkout)),
            invoice_paid,
        ], redirect

    def _period(self, base_url: str, checkout: Checkout, start: int, billing_reason: str) -> Webhook:
        payment = Payment(
            id=f"pi_{random_id(24)}",
            charge=f"ch_{random_id(24)}",
            invoice=f"in_{random_id(24)}",
            amount_minor=checkout.amount_minor,
            created=now(),
            period_start=start,
            period_end=start + PERIOD_SECONDS[checkout.interval or "month"],
        )
        checkout.payments.append(payment)
        return self.event(base_url, "invoice.paid", self._invoice(checkout, payment, billing_reason))

    def _refund(self, base_url: str, checkout: Checkout, payment: Payment, before: int) -> Webhook:
        previous = {"amount_refunded": before, "refunded": False}
        return self.event(base_url, "charge.refunded", self._charge(checkout, payment), previous)

    def _dispute(
        self, base_url: str, checkout: Checkout, payment: Payment, amount: int, *, charge_only: bool = False
    ) -> Webhook:
        """``charge_only``: the dispute names its charge and no payment intent, as disputes of
        charges made without one do (and as Stripe's own ``charge.dispute.created`` fixture reads)."""
        dispute = {
            "id": f"dp_{random_id(24)}",
            "object": "dispute",
            "amount": amount,
            "charge": payment.charge,
            "created": now(),
            "currency": checkout.currency,
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": None if charge_only else payment.id,
            "reason": "fraudulent",
            "status": "needs_response",
        }
        return self.event(base_url, "charge.dispute.created", dispute)


def stripe_signature(body: bytes, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """``Stripe-Signature``: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    stamp = now() if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def decode_stripe_form(body: bytes) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
        path = re.findall(r"[^\[\]]+", key)
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        if path:
            node[path[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def _error(status: int, kind: str, message: str, *, code: str | None = None, param: str | None = None) -> LocalResponse:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return LocalResponse.json({"error": error}, status=status)


def _missing(kind: str, object_id: str) -> LocalResponse:
    return _error(404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing", param="id")
