"""The local payments sandbox: stand-ins for the parts of Stripe, PayPal and Creem that Atelier
uses, and a checkout page that pays. Never deployed.

Mounted at:

- ``/_local/stripe/v1/...``: Checkout Sessions (form-encoded, as Stripe's API is), subscription
  cancel, customer delete, invoice payments, charges (retrieve);
- ``/_local/paypal/v1/oauth2/token``, ``/_local/paypal/v2/checkout/orders[/{id}[/capture]]``,
  ``/_local/paypal/v1/notifications/verify-webhook-signature`` (SUCCESS only for a delivery this
  sandbox signed, with its body unchanged) and the signing certificate;
- ``/_local/creem/v1/checkouts``, ``/_local/creem/v1/subscriptions/{id}/cancel``,
  ``/_local/creem/v1/transactions?transaction_id=...``;
- ``/_local/checkout``: every checkout the stand-ins create is paid at
  ``/_local/checkout/{provider checkout id}``. ``POST .../pay``, ``/renew`` (plans), ``/refund``
  (optional JSON ``{"amount_minor": n}``), ``/dispute`` (Stripe: ``{"charge_only": true}`` names
  the charge and no payment intent) and ``/cancel-subscription`` send the
  provider's own webhook events, in its own JSON shapes and signed as it signs them, to
  ``{runtime}/v1/webhooks/{stripe|paypal|creem}``. With ``?deliver=false`` nothing is sent and the
  answer is ``{"events": [{provider, type, url, headers, body}]}`` for a test to replay, reorder or
  duplicate. ``GET /_local/checkout`` lists the checkouts, ``GET .../{id}/events`` every event
  issued for one. Paying at Creem takes ``{"tax_percent": n}`` (sales tax on top of the price, for
  that payment and the renewals) and ``{"amount_paid": false}`` (orders without ``amount_paid`` and
  its breakdown, as Creem's documented ``checkout.completed`` reads).

PayPal is paid the PayPal way: paying approves the order and sends the browser to the return URL
with ``?token=<order id>``; the application captures, and the capture sends
``PAYMENT.CAPTURE.COMPLETED``. Events caused by API calls (a capture, a cancellation) are delivered
in the background, as the providers do.

The secrets below are documented local-only values, shared by the sandbox and the settings its
``environment`` hook gives the functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import re
import secrets
import string
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode

from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn

logger = logging.getLogger(__name__)

CHECKOUT_PREFIX = "/_local/checkout"
STRIPE_PREFIX = "/_local/stripe"
PAYPAL_PREFIX = "/_local/paypal"
CREEM_PREFIX = "/_local/creem"

# Documented local-only secrets: these providers exist only inside the local runtime.
STRIPE_SECRET_KEY = "sk_test_atelier_local"  # noqa: S105
STRIPE_WEBHOOK_SECRET = "whsec_atelier_local"  # noqa: S105
PAYPAL_CLIENT_ID = "atelier-local-paypal"
PAYPAL_CLIENT_SECRET = "atelier-local-paypal-secret"  # noqa: S105
PAYPAL_WEBHOOK_ID = "WH-ATELIER-LOCAL"
CREEM_API_KEY = "creem_test_atelier_local"
CREEM_WEBHOOK_SECRET = "whsec_creem_atelier_local"  # noqa: S105

# The payload shapes the Stripe stand-in writes are those of this API version and later ones.
STRIPE_API_VERSION = "2025-03-31.basil"
PAYPAL_CERT_ID = "CERT-atelier-local"
PAYPAL_TOKEN_SECONDS = 32400
_PERIOD_SECONDS = {"month": 30 * 24 * 3600, "year": 365 * 24 * 3600}
_ZERO_DECIMAL = frozenset({"huf", "jpy", "twd"})  # currencies PayPal takes without decimals
_BUYER = {"email": "buyer@example.com", "name": "Local Buyer", "country": "NL"}


def _local_catalog() -> dict[str, Any]:
    """The default catalog, with the product ids Creem needs (products are made in advance there)."""
    usd = "usd"
    items = {
        "packs": [
            {"id": "pack_starter", "name": "Starter", "credits": 100, "price": {"value_minor": 999, "currency": usd}},
            {"id": "pack_studio", "name": "Studio", "credits": 550, "price": {"value_minor": 4499, "currency": usd}},
        ],
        "plans": [
            {
                "id": "plan_monthly",
                "name": "Monthly",
                "credits": 400,
                "price": {"value_minor": 2499, "currency": usd},
                "interval": "month",
            }
        ],
    }
    for group in items.values():
        for item in group:
            item["provider_product_ids"] = {"creem": f"prod_local_{item['id']}"}
    return items


LOCAL_CATALOG = _local_catalog()

# url, headers, body -> the receiver's HTTP status (0 when it could not be reached).
Deliverer = Callable[[str, Mapping[str, str], bytes], int]


def http_deliverer(url: str, headers: Mapping[str, str], body: bytes) -> int:
    import httpx

    try:
        return httpx.post(url, content=body, headers=dict(headers), timeout=30.0).status_code
    except httpx.HTTPError as exc:
        logger.warning("webhook delivery to %s failed: %s", url, type(exc).__name__)
        return 0


def local_payments_environment(base_url: str) -> dict[str, str]:
    """The settings that point Atelier's payment adapters at this sandbox."""
    return {
        "STRIPE_API_BASE": f"{base_url}{STRIPE_PREFIX}",
        "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "PAYPAL_API_BASE": f"{base_url}{PAYPAL_PREFIX}",
        "PAYPAL_CLIENT_ID": PAYPAL_CLIENT_ID,
        "PAYPAL_CLIENT_SECRET": PAYPAL_CLIENT_SECRET,
        "PAYPAL_WEBHOOK_ID": PAYPAL_WEBHOOK_ID,
        "CREEM_API_BASE": f"{base_url}{CREEM_PREFIX}",
        "CREEM_API_KEY": CREEM_API_KEY,
        "CREEM_WEBHOOK_SECRET": CREEM_WEBHOOK_SECRET,
        # Back to the web studio's billing page after paying, as a real provider returns the buyer.
        "CHECKOUT_SUCCESS_URL": f"{base_url}/billing?checkout=success",
        "CHECKOUT_CANCEL_URL": f"{base_url}/billing?checkout=canceled",
        "CATALOG": json.dumps(LOCAL_CATALOG),
    }


# ------------------------------------------------------------------------------------------
# State.
# ------------------------------------------------------------------------------------------
@dataclass
class Webhook:
    """One webhook delivery as the provider sends it."""

    provider: str
    type: str
    url: str
    headers: dict[str, str]
    body: bytes
    delivery_status: int | None = None  # the receiver's last answer (0: unreachable), None if never sent

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "type": self.type,
            "url": self.url,
            "headers": self.headers,
            "body": self.body.decode("utf-8"),
            "delivery_status": self.delivery_status,
        }


@dataclass
class Payment:
    """Money that moved: a Stripe payment intent (+ charge, + invoice for plans), a PayPal capture,
    or a Creem transaction (+ order)."""

    id: str
    amount_minor: int
    created: int
    charge: str | None = None
    invoice: str | None = None
    order: str | None = None
    period_start: int | None = None
    period_end: int | None = None
    refunded_minor: int = 0
    tax_minor: int = 0  # Creem: the sales tax within amount_minor (what the buyer paid, tax included)

    @property
    def refundable_minor(self) -> int:
        return self.amount_minor - self.refunded_minor


@dataclass
class Checkout:
    id: str  # the provider's: a Stripe session, a PayPal order, a Creem checkout
    provider: str
    kind: str  # pack | plan
    item_name: str
    amount_minor: int
    currency: str  # lower case
    interval: str | None
    metadata: dict[str, str]  # ours, as given to the provider
    success_url: str
    cancel_url: str
    created: int
    status: str = "open"  # open, then paid (PayPal: approved, then captured)
    object_metadata: dict[str, str] = field(default_factory=dict)  # Stripe: on the payment / subscription
    client_reference_id: str | None = None  # Stripe
    product_id: str | None = None  # Creem
    request_id: str | None = None  # Creem
    custom_id: str | None = None  # PayPal
    invoice_id: str | None = None  # PayPal
    customer: str | None = None
    subscription: str | None = None
    subscription_status: str | None = None
    # Creem: the sales tax charged on top of the price (tax_mode exclusive), in percent, and whether
    # orders omit amount_paid and its breakdown, as Creem's documented checkout.completed does.
    tax_percent: int = 0
    bare_orders: bool = False
    payments: list[Payment] = field(default_factory=list)
    events: list[Webhook] = field(default_factory=list)

    @property
    def latest_payment(self) -> Payment | None:
        return self.payments[-1] if self.payments else None

    def summary(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "kind": self.kind,
            "item_name": self.item_name,
            "amount": {"value_minor": self.amount_minor, "currency": self.currency},
            "status": self.status,
            "metadata": self.metadata,
            "subscription": self.subscription,
            "subscription_status": self.subscription_status,
            "payments": [payment.id for payment in self.payments],
            "events": len(self.events),
            "url": f"{base_url}{CHECKOUT_PREFIX}/{self.id}",
        }


class SandboxError(Exception):
    def __init__(self, response: LocalResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _random(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _now() -> int:
    return int(time.time())


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------
# The sandbox.
# ------------------------------------------------------------------------------------------
class LocalPaymentsSandbox:
    def __init__(self, deliver: Deliverer | None = None, *, background_delay_seconds: float = 0.2) -> None:
        self._deliver = deliver or http_deliverer
        self._background_delay = background_delay_seconds
        self._lock = threading.RLock()
        self._checkouts: dict[str, Checkout] = {}
        self._idempotent: dict[tuple[str, str], LocalResponse] = {}
        self._paypal_tokens: dict[str, float] = {}
        self._paypal_key: Any = None
        self._paypal_cert_pem: bytes = b""
        self._deliveries: list[threading.Thread] = []

    # -- mounting --------------------------------------------------------------------------
    def stand_ins(self) -> list[StandIn]:
        return [
            StandIn(
                CHECKOUT_PREFIX,
                self.checkout_routes(),
                "payments sandbox: checkout pages that pay and send signed webhooks",
                local_payments_environment,
            ),
            StandIn(STRIPE_PREFIX, self.stripe_routes(), "Stripe API stand-in (checkout sessions)"),
            StandIn(PAYPAL_PREFIX, self.paypal_routes(), "PayPal API stand-in (orders v2, webhook verification)"),
            StandIn(CREEM_PREFIX, self.creem_routes(), "Creem API stand-in (checkouts)"),
        ]

    def checkout(self, checkout_id: str) -> Checkout | None:
        with self._lock:
            return self._checkouts.get(checkout_id)

    def checkouts(self) -> list[Checkout]:
        with self._lock:
            return list(self._checkouts.values())

    def _add(self, checkout: Checkout) -> Checkout:
        with self._lock:
            self._checkouts[checkout.id] = checkout
        return checkout

    # -- delivery --------------------------------------------------------------------------
    def _issue(self, checkout: Checkout, webhooks: list[Webhook]) -> list[Webhook]:
        with self._lock:
            checkout.events.extend(webhooks)
        return webhooks

    def deliver(self, webhooks: list[Webhook]) -> list[dict[str, Any]]:
        delivered = []
        for webhook in webhooks:
            status = self._deliver(webhook.url, webhook.headers, webhook.body)
            webhook.delivery_status = status
            logger.info("webhook %s %s -> %s", webhook.provider, webhook.type, status)
            delivered.append({"provider": webhook.provider, "type": webhook.type, "status": status})
        return delivered

    def _deliver_in_background(self, webhooks: list[Webhook]) -> None:
        def run() -> None:
            time.sleep(self._background_delay)
            self.deliver(webhooks)

        thread = threading.Thread(target=run, name="payments-sandbox-delivery", daemon=True)
        with self._lock:
            self._deliveries = [running for running in self._deliveries if running.is_alive()]
            self._deliveries.append(thread)
        thread.start()

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        """Waits for the background deliveries under way (tests)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            pending = list(self._deliveries)
        for thread in pending:
            thread.join(max(0.0, deadline - time.monotonic()))

    # ======================================================================================
    # /_local/checkout: the pages, and the buttons that make money move.
    # ======================================================================================
    def checkout_routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.get("/")(self._list)
        routes.get("/done")(self._done_page)
        routes.get("/canceled")(self._canceled_page)
        routes.get("/{checkout_id}")(self._page)
        routes.get("/{checkout_id}/events")(self._events)
        for action, handler in (
            ("pay", self._pay),
            ("renew", self._renew),
            ("refund", self._refund),
            ("dispute", self._dispute),
            ("cancel-subscription", self._cancel_subscription_action),
        ):
            routes.post(f"/{{checkout_id}}/{action}")(self._action(handler))
        return routes

    def _list(self, request: LocalRequest) -> LocalResponse:
        return LocalResponse.json({"items": [checkout.summary(request.base_url) for checkout in self.checkouts()]})

    def _find(self, request: LocalRequest) -> Checkout:
        checkout = self.checkout(request.params["checkout_id"])
        if checkout is None:
            raise SandboxError(LocalResponse.error(404, "not_found", "No such sandbox checkout."))
        return checkout

    def _events(self, request: LocalRequest) -> LocalResponse:
        try:
            checkout = self._find(request)
        except SandboxError as error:
            return error.response
        return LocalResponse.json({"events": [webhook.as_json() for webhook in checkout.events]})

    def _page(self, request: LocalRequest) -> LocalResponse:
        try:
            checkout = self._find(request)
        except SandboxError as error:
            return error.response
        return LocalResponse.html(_checkout_page(checkout))

    @staticmethod
    def _done_page(request: LocalRequest) -> LocalResponse:
        return LocalResponse.html(_small_page("Payment received", "The sandbox took the payment. You can close this."))

    @staticmethod
    def _canceled_page(request: LocalRequest) -> LocalResponse:
        return LocalResponse.html(_small_page("Checkout canceled", "Nothing was charged."))

    def _action(
        self, handler: Callable[[LocalRequest, Checkout], tuple[list[Webhook], str | None]]
    ) -> Callable[[LocalRequest], LocalResponse]:
        def run(request: LocalRequest) -> LocalResponse:
            try:
                checkout = self._find(request)
                with self._lock:
                    webhooks, redirect = handler(request, checkout)
                self._issue(checkout, webhooks)
            except SandboxError as error:
                return error.response
            extra = {"return_url": redirect} if checkout.provider == "paypal" and redirect else {}
            if request.query_value("deliver", "true") == "false":
                return LocalResponse.json({"events": [webhook.as_json() for webhook in webhooks], **extra})
            delivered = self.deliver(webhooks)
            from_page = (request.header("content-type") or "").startswith("application/x-www-form-urlencoded")
            if from_page:  # a button on the page: on to the provider's next page, or back to this one
                return LocalResponse.redirect(redirect or f"{CHECKOUT_PREFIX}/{checkout.id}", status=303)
            return LocalResponse.json({"delivered": delivered, **extra})

        return run

    def _pay(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        if checkout.status != "open":
            raise SandboxError(LocalResponse.error(409, "conflict", "This checkout is already paid."))
        if checkout.provider == "stripe":
            return self._stripe_pay(request.base_url, checkout)
        if checkout.provider == "creem":
            checkout.tax_percent, checkout.bare_orders = _creem_pay_options(request)
            return self._creem_pay(request.base_url, checkout)
        checkout.status = "approved"  # PayPal: the application captures when the buyer is back
        return [], f"{checkout.success_url}{_joiner(checkout.success_url)}" + urlencode(
            {"token": checkout.id, "PayerID": "LOCALPAYER0001"}
        )

    def _renew(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        if checkout.kind != "plan" or checkout.subscription is None:
            raise SandboxError(LocalResponse.error(409, "conflict", "Only a paid plan renews."))
        if checkout.subscription_status != "active":
            raise SandboxError(LocalResponse.error(409, "conflict", "This subscription is not active."))
        previous = checkout.latest_payment
        start = previous.period_end if previous and previous.period_end else _now()
        if checkout.provider == "stripe":
            return [self._stripe_period(request.base_url, checkout, start, "subscription_cycle")], None
        return [self._creem_period(request.base_url, checkout, start)], None

    def _refund(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        payment = self._reversible(checkout)
        asked = _amount_asked(request)
        amount = payment.refundable_minor if asked is None else asked
        if not 0 < amount <= payment.refundable_minor:
            raise SandboxError(
                LocalResponse.error(422, "invalid_amount", f"Refund between 1 and {payment.refundable_minor}.")
            )
        before = payment.refunded_minor
        payment.refunded_minor += amount
        if checkout.provider == "stripe":
            return [self._stripe_refund(request.base_url, checkout, payment, before)], None
        if checkout.provider == "paypal":
            return [self._paypal_refund(request.base_url, checkout, payment, amount)], None
        return [self._creem_reversal(request.base_url, checkout, payment, "refund.created", amount)], None

    def _dispute(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        payment = self._reversible(checkout)
        amount = payment.refundable_minor
        if checkout.provider == "stripe":
            charge_only = _option(request, "charge_only", bool, False)
            return [self._stripe_dispute(request.base_url, checkout, payment, amount, charge_only=charge_only)], None
        if checkout.provider == "paypal":
            return [self._paypal_dispute(request.base_url, checkout, payment, amount)], None
        return [self._creem_reversal(request.base_url, checkout, payment, "dispute.created", amount)], None

    def _cancel_subscription_action(
        self, request: LocalRequest, checkout: Checkout
    ) -> tuple[list[Webhook], str | None]:
        if checkout.subscription is None:
            raise SandboxError(LocalResponse.error(409, "conflict", "This checkout has no subscription."))
        if checkout.subscription_status == "canceled":
            raise SandboxError(LocalResponse.error(409, "conflict", "This subscription is already canceled."))
        return self._cancel_subscription(request.base_url, checkout), None

    def _cancel_subscription(self, base_url: str, checkout: Checkout) -> list[Webhook]:
        checkout.subscription_status = "canceled"
        if checkout.provider == "stripe":
            obj = self._stripe_subscription(checkout)
            return [self.stripe_event(base_url, "customer.subscription.deleted", obj)]
        return [self.creem_event(base_url, "subscription.canceled", self._creem_subscription(checkout, full=True))]

    @staticmethod
    def _reversible(checkout: Checkout) -> Payment:
        payment = checkout.latest_payment
        if payment is None:
            raise SandboxError(LocalResponse.error(409, "conflict", "Nothing was paid yet."))
        if payment.refundable_minor <= 0:
            raise SandboxError(LocalResponse.error(409, "conflict", "The payment was returned in full already."))
        return payment

    # ======================================================================================
    # Stripe.
    # ======================================================================================
    def stripe_routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/checkout/sessions")(self._stripe_api(self._stripe_create_session))
        routes.get("/v1/checkout/sessions/{session_id}")(self._stripe_api(self._stripe_get_session))
        routes.route("DELETE", "/v1/subscriptions/{subscription_id}")(self._stripe_api(self._stripe_cancel))
        routes.route("DELETE", "/v1/customers/{customer_id}")(self._stripe_api(self._stripe_delete_customer))
        routes.get("/v1/invoice_payments")(self._stripe_api(self._stripe_invoice_payments))
        routes.get("/v1/charges/{charge_id}")(self._stripe_api(self._stripe_get_charge))
        return routes

    def _stripe_api(self, handler: Callable[[LocalRequest], LocalResponse]) -> Callable[[LocalRequest], LocalResponse]:
        def run(request: LocalRequest) -> LocalResponse:
            key = (request.header("authorization") or "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(key.encode(), STRIPE_SECRET_KEY.encode()):
                return _stripe_error(401, "invalid_request_error", "Invalid API Key provided.", code="api_key_invalid")
            idempotency_key = request.header("idempotency-key")
            remembered = ("stripe", idempotency_key) if idempotency_key and request.method == "POST" else None
            with self._lock:
                if remembered and remembered in self._idempotent:
                    return self._idempotent[remembered]
                try:
                    response = handler(request)
                except SandboxError as error:
                    response = error.response
                if remembered:
                    self._idempotent[remembered] = response
            return LocalResponse(
                response.status, response.body, [*response.headers, ("Request-Id", f"req_{_random(14)}")]
            )

        return run

    def _stripe_create_session(self, request: LocalRequest) -> LocalResponse:
        params = decode_stripe_form(request.body)
        mode = params.get("mode")
        if mode not in ("payment", "subscription"):
            return _stripe_error(400, "invalid_request_error", "mode must be payment or subscription.", param="mode")
        try:
            line = params["line_items"][0]
            price = line["price_data"]
            currency = str(price["currency"]).lower()
            amount = int(price["unit_amount"])
            name = str(price["product_data"]["name"])
            success_url = str(params["success_url"])
        except (KeyError, IndexError, TypeError, ValueError):
            return _stripe_error(400, "invalid_request_error", "line_items[0][price_data] and success_url are needed.")
        interval = (price.get("recurring") or {}).get("interval")
        if (mode == "subscription") != (interval in _PERIOD_SECONDS):
            return _stripe_error(400, "invalid_request_error", "A subscription needs a recurring price.")
        data_key = "subscription_data" if mode == "subscription" else "payment_intent_data"
        checkout = self._add(
            Checkout(
                id=f"cs_test_{_random(58)}",
                provider="stripe",
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
                created=_now(),
            )
        )
        return LocalResponse.json(self._stripe_session(checkout, request.base_url))

    def _stripe_get_session(self, request: LocalRequest) -> LocalResponse:
        checkout = self.checkout(request.params["session_id"])
        if checkout is None or checkout.provider != "stripe":
            return _stripe_missing("checkout.session", request.params["session_id"])
        return LocalResponse.json(self._stripe_session(checkout, request.base_url))

    def _stripe_cancel(self, request: LocalRequest) -> LocalResponse:
        subscription_id = request.params["subscription_id"]
        checkout = next((c for c in self.checkouts() if c.subscription == subscription_id), None)
        if checkout is None or checkout.provider != "stripe":
            return _stripe_missing("subscription", subscription_id)
        if checkout.subscription_status == "canceled":
            return _stripe_error(
                400,
                "invalid_request_error",
                f"A canceled subscription can only update its cancellation_details: {subscription_id}",
            )
        webhooks = self._issue(checkout, self._cancel_subscription(request.base_url, checkout))
        self._deliver_in_background(webhooks)
        return LocalResponse.json(self._stripe_subscription(checkout))

    def _stripe_delete_customer(self, request: LocalRequest) -> LocalResponse:
        customer_id = request.params["customer_id"]
        owned = [c for c in self.checkouts() if c.provider == "stripe" and c.customer == customer_id]
        if not owned or any(c.customer is None for c in owned):
            return _stripe_missing("customer", customer_id)
        for checkout in owned:
            # Deleting a customer cancels its subscriptions, as Stripe does.
            if checkout.subscription and checkout.subscription_status != "canceled":
                self._deliver_in_background(
                    self._issue(checkout, self._cancel_subscription(request.base_url, checkout))
                )
            checkout.customer = None
        return LocalResponse.json({"id": customer_id, "object": "customer", "deleted": True})

    def _stripe_invoice_payments(self, request: LocalRequest) -> LocalResponse:
        invoice = request.query_value("invoice")
        status = request.query_value("status")
        data = [
            self._stripe_invoice_payment(checkout, payment)
            for checkout in self.checkouts()
            if checkout.provider == "stripe"
            for payment in checkout.payments
            if payment.invoice and (invoice is None or payment.invoice == invoice)
        ]
        data = [item for item in data if status is None or item["status"] == status]
        return LocalResponse.json({"object": "list", "data": data, "has_more": False, "url": "/v1/invoice_payments"})

    def _stripe_get_charge(self, request: LocalRequest) -> LocalResponse:
        charge_id = request.params["charge_id"]
        for checkout in self.checkouts():
            for payment in checkout.payments:
                if checkout.provider == "stripe" and payment.charge == charge_id:
                    return LocalResponse.json(self._stripe_charge(checkout, payment))
        return _stripe_missing("charge", charge_id)

    # -- Stripe objects --------------------------------------------------------------------
    def _stripe_session(self, checkout: Checkout, base_url: str) -> dict[str, Any]:
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

    def _stripe_charge(self, checkout: Checkout, payment: Payment) -> dict[str, Any]:
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

    def _stripe_subscription(self, checkout: Checkout) -> dict[str, Any]:
        latest = checkout.latest_payment
        start = latest.period_start if latest else checkout.created
        end = latest.period_end if latest else checkout.created
        canceled = checkout.subscription_status == "canceled"
        return {
            "id": checkout.subscription,
            "object": "subscription",
            "cancel_at_period_end": False,
            "canceled_at": _now() if canceled else None,
            "created": checkout.created,
            "currency": checkout.currency,
            "customer": checkout.customer,
            "ended_at": _now() if canceled else None,
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": f"si_{_random(14)}",
                        "object": "subscription_item",
                        "current_period_start": start,
                        "current_period_end": end,
                        "price": {
                            "id": f"price_{_random(24)}",
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

    def _stripe_invoice(self, checkout: Checkout, payment: Payment, billing_reason: str) -> dict[str, Any]:
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
                        "id": f"il_{_random(24)}",
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

    def _stripe_invoice_payment(self, checkout: Checkout, payment: Payment) -> dict[str, Any]:
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
    def stripe_event(
        self, base_url: str, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> Webhook:
        """A delivery of a Stripe event about ``obj``, signed as Stripe signs (any type: tests use it too)."""
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": f"evt_{_random(24)}",
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": _now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        body = json.dumps(event, indent=2).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": stripe_signature(body)}
        return Webhook("stripe", event_type, f"{base_url}/v1/webhooks/stripe", headers, body)

    def _stripe_pay(self, base_url: str, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        checkout.status = "paid"
        redirect = checkout.success_url.replace("{CHECKOUT_SESSION_ID}", checkout.id)
        if checkout.kind == "pack":
            checkout.payments.append(
                Payment(
                    id=f"pi_{_random(24)}",
                    charge=f"ch_{_random(24)}",
                    amount_minor=checkout.amount_minor,
                    created=_now(),
                )
            )
            payment = checkout.payments[0]
            return [
                self.stripe_event(base_url, "checkout.session.completed", self._stripe_session(checkout, base_url)),
                self.stripe_event(base_url, "charge.succeeded", self._stripe_charge(checkout, payment)),
            ], redirect
        checkout.customer = f"cus_{_random(14)}"
        checkout.subscription = f"sub_{_random(24)}"
        checkout.subscription_status = "active"
        invoice_paid = self._stripe_period(base_url, checkout, _now(), "subscription_create")
        return [
            self.stripe_event(base_url, "checkout.session.completed", self._stripe_session(checkout, base_url)),
            self.stripe_event(base_url, "customer.subscription.created", self._stripe_subscription(checkout)),
            invoice_paid,
        ], redirect

    def _stripe_period(self, base_url: str, checkout: Checkout, start: int, billing_reason: str) -> Webhook:
        payment = Payment(
            id=f"pi_{_random(24)}",
            charge=f"ch_{_random(24)}",
            invoice=f"in_{_random(24)}",
            amount_minor=checkout.amount_minor,
            created=_now(),
            period_start=start,
            period_end=start + _PERIOD_SECONDS[checkout.interval or "month"],
        )
        checkout.payments.append(payment)
        return self.stripe_event(base_url, "invoice.paid", self._stripe_invoice(checkout, payment, billing_reason))

    def _stripe_refund(self, base_url: str, checkout: Checkout, payment: Payment, before: int) -> Webhook:
        previous = {"amount_refunded": before, "refunded": False}
        return self.stripe_event(base_url, "charge.refunded", self._stripe_charge(checkout, payment), previous)

    def _stripe_dispute(
        self, base_url: str, checkout: Checkout, payment: Payment, amount: int, *, charge_only: bool = False
    ) -> Webhook:
        """``charge_only``: the dispute names its charge and no payment intent, as disputes of
        charges made without one do (and as Stripe's own ``charge.dispute.created`` fixture reads)."""
        dispute = {
            "id": f"dp_{_random(24)}",
            "object": "dispute",
            "amount": amount,
            "charge": payment.charge,
            "created": _now(),
            "currency": checkout.currency,
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": None if charge_only else payment.id,
            "reason": "fraudulent",
            "status": "needs_response",
        }
        return self.stripe_event(base_url, "charge.dispute.created", dispute)

    # ======================================================================================
    # PayPal.
    # ======================================================================================
    def paypal_routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/oauth2/token")(self._paypal_token)
        routes.post("/v2/checkout/orders")(self._paypal_api(self._paypal_create_order))
        routes.get("/v2/checkout/orders/{order_id}")(self._paypal_api(self._paypal_get_order))
        routes.post("/v2/checkout/orders/{order_id}/capture")(self._paypal_api(self._paypal_capture))
        routes.post("/v1/notifications/verify-webhook-signature")(self._paypal_api(self._paypal_verify))
        routes.get("/v1/notifications/certs/{cert_id}")(self._paypal_cert)
        return routes

    def _paypal_token(self, request: LocalRequest) -> LocalResponse:
        authorization = request.header("authorization") or ""
        try:
            client_id, _, client_secret = base64.b64decode(authorization.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            client_id = client_secret = ""
        if client_id != PAYPAL_CLIENT_ID or not hmac.compare_digest(
            client_secret.encode(), PAYPAL_CLIENT_SECRET.encode()
        ):
            return LocalResponse.json(
                {"error": "invalid_client", "error_description": "Client Authentication failed"}, status=401
            )
        if request.form().get("grant_type") != "client_credentials":
            return LocalResponse.json({"error": "unsupported_grant_type"}, status=400)
        token = f"A21AA{_random(80)}"
        with self._lock:
            self._paypal_tokens[token] = time.time() + PAYPAL_TOKEN_SECONDS
        return LocalResponse.json(
            {
                "scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-ATELIERLOCAL",
                "expires_in": PAYPAL_TOKEN_SECONDS,
                "nonce": f"{_iso(time.time())}{_random(12)}",
            }
        )

    def _paypal_api(self, handler: Callable[[LocalRequest], LocalResponse]) -> Callable[[LocalRequest], LocalResponse]:
        def run(request: LocalRequest) -> LocalResponse:
            token = (request.header("authorization") or "").removeprefix("Bearer ").strip()
            with self._lock:
                expires = self._paypal_tokens.get(token)
            if expires is None or expires < time.time():
                return _paypal_error(401, "AUTHENTICATION_FAILURE", "Authentication failed due to invalid credentials.")
            request_id = request.header("paypal-request-id")
            remembered = ("paypal", f"{request.path}:{request_id}") if request_id and request.method == "POST" else None
            with self._lock:
                if remembered and remembered in self._idempotent:
                    return self._idempotent[remembered]
                try:
                    response = handler(request)
                except SandboxError as error:
                    response = error.response
                if remembered and response.status < 300:
                    self._idempotent[remembered] = response
            debug_id = ("Paypal-Debug-Id", _random(13, string.hexdigits.lower()))
            return LocalResponse(response.status, response.body, [*response.headers, debug_id])

        return run

    def _paypal_create_order(self, request: LocalRequest) -> LocalResponse:
        try:
            order = request.json()
            unit = order["purchase_units"][0]
            currency = str(unit["amount"]["currency_code"]).lower()
            amount = _to_minor(str(unit["amount"]["value"]), currency)
        except (ValueError, KeyError, IndexError, TypeError):
            return _paypal_error(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect.")
        if order.get("intent") != "CAPTURE":
            return _paypal_error(
                422, "UNPROCESSABLE_ENTITY", "The sandbox captures only.", issue="INTENT_NOT_SUPPORTED"
            )
        experience = ((order.get("payment_source") or {}).get("paypal") or {}).get("experience_context")
        context = experience or order.get("application_context") or {}
        if not context.get("return_url"):
            return _paypal_error(422, "UNPROCESSABLE_ENTITY", "return_url is needed.", issue="MISSING_RETURN_URL")
        checkout = self._add(
            Checkout(
                id=_random(17, string.ascii_uppercase + string.digits),
                provider="paypal",
                kind="pack",
                item_name=str(unit.get("description") or unit.get("reference_id") or "PayPal order"),
                amount_minor=amount,
                currency=currency,
                interval=None,
                metadata={
                    "custom_id": str(unit.get("custom_id") or ""),
                    "invoice_id": str(unit.get("invoice_id") or ""),
                },
                custom_id=unit.get("custom_id"),
                invoice_id=unit.get("invoice_id"),
                success_url=str(context["return_url"]),
                cancel_url=str(context.get("cancel_url") or ""),
                created=_now(),
            )
        )
        payer_action = "payer-action" if experience else "approve"
        return LocalResponse.json(self._paypal_order(checkout, request.base_url, payer_action), status=201)

    def _paypal_get_order(self, request: LocalRequest) -> LocalResponse:
        checkout = self.checkout(request.params["order_id"])
        if checkout is None or checkout.provider != "paypal":
            return _paypal_missing()
        return LocalResponse.json(self._paypal_order(checkout, request.base_url))

    def _paypal_capture(self, request: LocalRequest) -> LocalResponse:
        checkout = self.checkout(request.params["order_id"])
        if checkout is None or checkout.provider != "paypal":
            return _paypal_missing()
        if checkout.status == "captured":
            return _paypal_error(422, "UNPROCESSABLE_ENTITY", "Order already captured.", issue="ORDER_ALREADY_CAPTURED")
        if checkout.status != "approved":
            return _paypal_error(
                422, "UNPROCESSABLE_ENTITY", "Payer has not yet approved the Order.", issue="ORDER_NOT_APPROVED"
            )
        checkout.status = "captured"
        capture = Payment(
            id=_random(17, string.ascii_uppercase + string.digits), amount_minor=checkout.amount_minor, created=_now()
        )
        checkout.payments.append(capture)
        webhook = self.paypal_event(
            request.base_url,
            "PAYMENT.CAPTURE.COMPLETED",
            "capture",
            self._paypal_capture_resource(checkout, capture, request.base_url),
            f"Payment completed for {_paypal_money(checkout, capture.amount_minor)['value']} {checkout.currency}",
        )
        self._deliver_in_background(self._issue(checkout, [webhook]))
        return LocalResponse.json(self._paypal_order(checkout, request.base_url), status=201)

    def _paypal_verify(self, request: LocalRequest) -> LocalResponse:
        text = request.body.decode("utf-8", "replace")
        try:
            fields = json.loads(text)
        except ValueError:
            return _paypal_error(400, "INVALID_REQUEST", "Request is not well-formed.")
        raw_event = raw_json_member(text, "webhook_event")
        names = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id")
        if not isinstance(fields, dict) or raw_event is None or not all(isinstance(fields.get(n), str) for n in names):
            return _paypal_error(400, "VALIDATION_ERROR", "Invalid request - see details.")
        verified = (
            fields["auth_algo"] == "SHA256withRSA"
            and fields["cert_url"].endswith(f"{PAYPAL_PREFIX}/v1/notifications/certs/{PAYPAL_CERT_ID}")
            and fields["webhook_id"] == PAYPAL_WEBHOOK_ID
            and self._paypal_signature_valid(
                fields["transmission_sig"],
                _paypal_message(
                    fields["transmission_id"], fields["transmission_time"], PAYPAL_WEBHOOK_ID, raw_event.encode("utf-8")
                ),
            )
        )
        return LocalResponse.json({"verification_status": "SUCCESS" if verified else "FAILURE"})

    def _paypal_cert(self, request: LocalRequest) -> LocalResponse:
        if request.params["cert_id"] != PAYPAL_CERT_ID:
            return _paypal_missing()
        self._paypal_signing_key()
        return LocalResponse(200, self._paypal_cert_pem, [("Content-Type", "application/x-pem-file")])

    # -- PayPal signing --------------------------------------------------------------------
    def _paypal_signing_key(self) -> Any:
        with self._lock:
            if self._paypal_key is None:
                self._paypal_key, self._paypal_cert_pem = _make_signing_certificate()
            return self._paypal_key

    def _paypal_signature_valid(self, signature: str, message: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self._paypal_signing_key().public_key().verify(
                base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def paypal_event(
        self, base_url: str, event_type: str, resource_type: str, resource: dict[str, Any], summary: str
    ) -> Webhook:
        """A delivery of a PayPal event about ``resource``, with the transmission headers PayPal signs."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        upper = string.ascii_uppercase + string.digits
        event_id = f"WH-{_random(17, upper)}-{_random(17, upper)}"
        api = f"{base_url}{PAYPAL_PREFIX}"
        event = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": _iso(time.time()),
            "resource_type": resource_type,
            "resource_version": "1.1" if resource_type == "dispute" else "2.0",
            "event_type": event_type,
            "summary": summary,
            "resource": resource,
            "links": [
                {"href": f"{api}/v1/notifications/webhooks-events/{event_id}", "rel": "self", "method": "GET"},
                {
                    "href": f"{api}/v1/notifications/webhooks-events/{event_id}/resend",
                    "rel": "resend",
                    "method": "POST",
                },
            ],
        }
        body = json.dumps(event, separators=(",", ":")).encode()  # PayPal sends compact JSON
        transmission_id = str(uuid.uuid4())
        transmission_time = _iso(time.time())
        message = _paypal_message(transmission_id, transmission_time, PAYPAL_WEBHOOK_ID, body)
        signature = self._paypal_signing_key().sign(message, padding.PKCS1v15(), hashes.SHA256())
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": f"{api}/v1/notifications/certs/{PAYPAL_CERT_ID}",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
        }
        return Webhook("paypal", event_type, f"{base_url}/v1/webhooks/paypal", headers, body)

    # -- PayPal objects --------------------------------------------------------------------
    def _paypal_order(self, checkout: Checkout, base_url: str, payer_action: str = "payer-action") -> dict[str, Any]:
        api = f"{base_url}{PAYPAL_PREFIX}/v2/checkout/orders/{checkout.id}"
        unit: dict[str, Any] = {
            "reference_id": "default",
            "amount": _paypal_money(checkout, checkout.amount_minor),
            "custom_id": checkout.custom_id,
            "invoice_id": checkout.invoice_id,
            "description": checkout.item_name,
        }
        status = {"open": "PAYER_ACTION_REQUIRED", "approved": "APPROVED", "captured": "COMPLETED"}[checkout.status]
        links = [{"href": api, "rel": "self", "method": "GET"}]
        if checkout.status == "open":
            links.append({"href": f"{base_url}{CHECKOUT_PREFIX}/{checkout.id}", "rel": payer_action, "method": "GET"})
        if checkout.status == "approved":
            links.append({"href": f"{api}/capture", "rel": "capture", "method": "POST"})
        if checkout.payments:
            unit["payments"] = {
                "captures": [
                    self._paypal_capture_resource(checkout, capture, base_url) for capture in checkout.payments
                ]
            }
        order: dict[str, Any] = {
            "id": checkout.id,
            "intent": "CAPTURE",
            "status": status,
            "payment_source": {"paypal": {}},
            "purchase_units": [unit],
            "create_time": _iso(checkout.created),
            "links": links,
        }
        if checkout.status != "open":
            order["payer"] = {"payer_id": "LOCALPAYER0001", "email_address": _BUYER["email"]}
        return order

    def _paypal_capture_resource(self, checkout: Checkout, capture: Payment, base_url: str) -> dict[str, Any]:
        api = f"{base_url}{PAYPAL_PREFIX}"
        refunded = capture.refunded_minor
        return {
            "id": capture.id,
            "status": "COMPLETED"
            if refunded == 0
            else "PARTIALLY_REFUNDED"
            if refunded < capture.amount_minor
            else "REFUNDED",
            "amount": _paypal_money(checkout, capture.amount_minor),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE"},
            "custom_id": checkout.custom_id,
            "invoice_id": checkout.invoice_id,
            "supplementary_data": {"related_ids": {"order_id": checkout.id}},
            "create_time": _iso(capture.created),
            "update_time": _iso(capture.created),
            "links": [
                {"href": f"{api}/v2/payments/captures/{capture.id}", "rel": "self", "method": "GET"},
                {"href": f"{api}/v2/payments/captures/{capture.id}/refund", "rel": "refund", "method": "POST"},
                {"href": f"{api}/v2/checkout/orders/{checkout.id}", "rel": "up", "method": "GET"},
            ],
        }

    def _paypal_refund(self, base_url: str, checkout: Checkout, capture: Payment, amount: int) -> Webhook:
        api = f"{base_url}{PAYPAL_PREFIX}"
        refund_id = _random(17, string.ascii_uppercase + string.digits)
        money = _paypal_money(checkout, amount)
        zero = _paypal_money(checkout, 0)
        resource = {
            "id": refund_id,
            "amount": money,
            "status": "COMPLETED",
            "seller_payable_breakdown": {
                "gross_amount": money,
                "paypal_fee": zero,
                "net_amount": money,
                "total_refunded_amount": _paypal_money(checkout, capture.refunded_minor),
            },
            "invoice_id": checkout.invoice_id,
            "custom_id": checkout.custom_id,
            "create_time": _iso(time.time()),
            "update_time": _iso(time.time()),
            "links": [
                {"href": f"{api}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
                {"href": f"{api}/v2/payments/captures/{capture.id}", "rel": "up", "method": "GET"},
            ],
        }
        summary = f"A {money['value']} {money['currency_code']} capture payment was refunded"
        return self.paypal_event(base_url, "PAYMENT.CAPTURE.REFUNDED", "refund", resource, summary)

    def _paypal_dispute(self, base_url: str, checkout: Checkout, capture: Payment, amount: int) -> Webhook:
        api = f"{base_url}{PAYPAL_PREFIX}"
        dispute_id = f"PP-D-{_random(5, string.digits)}"
        money = _paypal_money(checkout, amount)
        resource = {
            "dispute_id": dispute_id,
            "create_time": _iso(time.time()),
            "update_time": _iso(time.time()),
            "disputed_transactions": [
                {
                    "seller_transaction_id": capture.id,
                    "create_time": _iso(capture.created),
                    "transaction_status": "COMPLETED",
                    "gross_amount": _paypal_money(checkout, capture.amount_minor),
                    "invoice_number": checkout.invoice_id,
                    "custom": checkout.custom_id,
                }
            ],
            "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
            "status": "OPEN",
            "dispute_amount": money,
            "dispute_life_cycle_stage": "INQUIRY",
            "dispute_channel": "INTERNAL",
            "links": [{"href": f"{api}/v1/customer/disputes/{dispute_id}", "rel": "self", "method": "GET"}],
        }
        summary = f"A new dispute opened with Case # {dispute_id}"
        return self.paypal_event(base_url, "CUSTOMER.DISPUTE.CREATED", "dispute", resource, summary)

    # ======================================================================================
    # Creem.
    # ======================================================================================
    def creem_routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/checkouts")(self._creem_api(self._creem_create_checkout))
        routes.get("/v1/checkouts")(self._creem_api(self._creem_get_checkout))
        routes.post("/v1/subscriptions/{subscription_id}/cancel")(self._creem_api(self._creem_cancel))
        routes.get("/v1/transactions")(self._creem_api(self._creem_get_transaction))
        return routes

    def _creem_api(self, handler: Callable[[LocalRequest], LocalResponse]) -> Callable[[LocalRequest], LocalResponse]:
        def run(request: LocalRequest) -> LocalResponse:
            key = request.header("x-api-key") or ""
            if not hmac.compare_digest(key.encode(), CREEM_API_KEY.encode()):
                return _creem_error(403, "Forbidden", "Invalid API key.")
            with self._lock:
                try:
                    return handler(request)
                except SandboxError as error:
                    return error.response

        return run

    def _creem_create_checkout(self, request: LocalRequest) -> LocalResponse:
        try:
            body = request.json()
            product_id = str(body["product_id"])
        except (ValueError, KeyError, TypeError):
            return _creem_error(400, "Bad Request", "product_id must be a string.")
        product = _creem_products().get(product_id)
        if product is None:
            return _creem_error(404, "Not Found", "Product not found.")
        checkout = self._add(
            Checkout(
                id=f"ch_{_random(22)}",
                provider="creem",
                kind=product["kind"],
                item_name=product["name"],
                amount_minor=product["price"],
                currency=product["currency"],
                interval=product["interval"],
                metadata={str(k): str(v) for k, v in (body.get("metadata") or {}).items()},
                product_id=product_id,
                request_id=body.get("request_id"),
                success_url=str(body.get("success_url") or ""),
                cancel_url="",
                created=_now(),
            )
        )
        return LocalResponse.json(self._creem_checkout(checkout, request.base_url))

    def _creem_get_checkout(self, request: LocalRequest) -> LocalResponse:
        checkout = self.checkout(request.query_value("checkout_id") or "")
        if checkout is None or checkout.provider != "creem":
            return _creem_error(404, "Not Found", "Checkout not found.")
        return LocalResponse.json(self._creem_checkout(checkout, request.base_url))

    def _creem_cancel(self, request: LocalRequest) -> LocalResponse:
        subscription_id = request.params["subscription_id"]
        checkout = next((c for c in self.checkouts() if c.subscription == subscription_id), None)
        if checkout is None or checkout.provider != "creem":
            return _creem_error(404, "Not Found", "Subscription not found.")
        if checkout.subscription_status != "canceled":
            self._deliver_in_background(self._issue(checkout, self._cancel_subscription(request.base_url, checkout)))
        return LocalResponse.json(self._creem_subscription(checkout, full=True))

    def _creem_get_transaction(self, request: LocalRequest) -> LocalResponse:
        transaction_id = request.query_value("transaction_id") or ""
        for checkout in self.checkouts():
            for payment in checkout.payments:
                if checkout.provider == "creem" and payment.id == transaction_id:
                    return LocalResponse.json(self._creem_transaction(checkout, payment))
        return _creem_error(404, "Not Found", "Transaction not found.")

    # -- Creem objects ---------------------------------------------------------------------
    def _creem_checkout(self, checkout: Checkout, base_url: str) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": checkout.id,
            "object": "checkout",
            "product": checkout.product_id,
            "units": 1,
            "status": "completed" if checkout.status == "paid" else "pending",
            "checkout_url": f"{base_url}{CHECKOUT_PREFIX}/{checkout.id}",
            "success_url": checkout.success_url,
            "request_id": checkout.request_id,
            "metadata": checkout.metadata,
            "mode": "test",
        }
        return answer

    def _creem_product(self, checkout: Checkout) -> dict[str, Any]:
        return {
            "id": checkout.product_id,
            "object": "product",
            "name": checkout.item_name,
            "description": checkout.item_name,
            "price": checkout.amount_minor,
            "currency": checkout.currency.upper(),
            "billing_type": "recurring" if checkout.kind == "plan" else "onetime",
            "billing_period": f"every-{checkout.interval}" if checkout.interval else "once",
            "status": "active",
            "tax_mode": "exclusive" if checkout.tax_percent else "inclusive",
            "tax_category": "saas",
            "mode": "test",
        }

    def _creem_customer(self, checkout: Checkout) -> dict[str, Any]:
        return {"id": checkout.customer, "object": "customer", **_BUYER, "mode": "test"}

    def _creem_order(self, checkout: Checkout, payment: Payment) -> dict[str, Any]:
        before_tax = payment.amount_minor - payment.tax_minor
        breakdown = {
            "sub_total": before_tax,
            "tax_amount": payment.tax_minor,
            "amount_due": payment.amount_minor,
            "amount_paid": payment.amount_minor,
        }
        return {
            "object": "order",
            "id": payment.order,
            "customer": checkout.customer,
            "product": checkout.product_id,
            "amount": before_tax,  # the price before tax, as Creem's orders give it
            "currency": checkout.currency.upper(),
            **({} if checkout.bare_orders else breakdown),
            "status": "paid",
            "type": "recurring" if checkout.kind == "plan" else "onetime",
            "transaction": payment.id,
            "created_at": _iso(payment.created),
            "updated_at": _iso(payment.created),
            "mode": "test",
        }

    def _creem_subscription(self, checkout: Checkout, *, full: bool) -> dict[str, Any]:
        latest = checkout.latest_payment
        canceled = checkout.subscription_status == "canceled"
        subscription: dict[str, Any] = {
            "id": checkout.subscription,
            "object": "subscription",
            "product": self._creem_product(checkout) if full else checkout.product_id,
            "customer": self._creem_customer(checkout) if full else checkout.customer,
            "collection_method": "charge_automatically",
            "status": checkout.subscription_status,
            "canceled_at": _iso(time.time()) if canceled else None,
            "created_at": _iso(checkout.created),
            "updated_at": _iso(time.time()),
            "metadata": checkout.metadata,
            "mode": "test",
        }
        if latest is not None:
            subscription |= {
                "last_transaction_id": latest.id,
                "last_transaction_date": _iso(latest.created),
                "current_period_start_date": _iso(latest.period_start or latest.created),
                "current_period_end_date": _iso(latest.period_end or latest.created),
            }
            if not canceled:
                subscription["next_transaction_date"] = _iso(latest.period_end or latest.created)
        return subscription

    def _creem_transaction(self, checkout: Checkout, payment: Payment) -> dict[str, Any]:
        refunded = payment.refunded_minor
        transaction: dict[str, Any] = {
            "id": payment.id,
            "object": "transaction",
            "amount": payment.amount_minor - payment.tax_minor,
            "amount_paid": payment.amount_minor,
            "discount_amount": 0,
            "currency": checkout.currency.upper(),
            "type": "invoice" if checkout.kind == "plan" else "payment",
            "tax_country": _BUYER["country"],
            "tax_amount": payment.tax_minor,
            "status": "paid"
            if refunded == 0
            else "refunded"
            if refunded >= payment.amount_minor
            else "partially_refunded",
            "refunded_amount": refunded,
            "order": payment.order,
            "customer": checkout.customer,
            "description": "Subscription payment" if checkout.kind == "plan" else "Payment",
            "created_at": payment.created * 1000,
            "mode": "test",
        }
        if checkout.kind == "plan":
            transaction |= {
                "subscription": checkout.subscription,
                "period_start": (payment.period_start or payment.created) * 1000,
                "period_end": (payment.period_end or payment.created) * 1000,
            }
        return transaction

    # -- Creem events ----------------------------------------------------------------------
    def creem_event(self, base_url: str, event_type: str, obj: dict[str, Any]) -> Webhook:
        """A delivery of a Creem event about ``obj``, with its ``creem-signature``."""
        event = {
            "id": f"evt_{_random(22)}",
            "eventType": event_type,
            "created_at": int(time.time() * 1000),
            "object": obj,
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "creem-signature": creem_signature(body)}
        return Webhook("creem", event_type, f"{base_url}/v1/webhooks/creem", headers, body)

    def _creem_pay(self, base_url: str, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        checkout.status = "paid"
        checkout.customer = f"cust_{_random(22)}"
        now = _now()
        tax = _tax(checkout)
        payment = Payment(
            id=f"tran_{_random(22)}",
            order=f"ord_{_random(22)}",
            amount_minor=checkout.amount_minor + tax,
            tax_minor=tax,
            created=now,
        )
        if checkout.kind == "plan":
            checkout.subscription = f"sub_{_random(22)}"
            checkout.subscription_status = "active"
            payment.period_start = now
            payment.period_end = now + _PERIOD_SECONDS[checkout.interval or "month"]
        checkout.payments.append(payment)
        completed: dict[str, Any] = {
            "id": checkout.id,
            "object": "checkout",
            "request_id": checkout.request_id,
            "order": self._creem_order(checkout, payment),
            "product": self._creem_product(checkout),
            "units": 1,
            "customer": self._creem_customer(checkout),
            "custom_fields": [],
            "status": "completed",
            "metadata": checkout.metadata,
            "mode": "test",
        }
        if checkout.kind == "plan":
            completed["subscription"] = self._creem_subscription(checkout, full=False)
        webhooks = [self.creem_event(base_url, "checkout.completed", completed)]
        if checkout.kind == "plan":
            webhooks.append(
                self.creem_event(base_url, "subscription.paid", self._creem_subscription(checkout, full=True))
            )
        redirect_query = {
            "checkout_id": checkout.id,
            "order_id": payment.order,
            "customer_id": checkout.customer,
            "subscription_id": checkout.subscription or "",
            "product_id": checkout.product_id,
            "request_id": checkout.request_id or "",
        }
        redirect = f"{checkout.success_url}{_joiner(checkout.success_url)}{urlencode(redirect_query)}"
        return webhooks, redirect if checkout.success_url else None

    def _creem_period(self, base_url: str, checkout: Checkout, start: int) -> Webhook:
        tax = _tax(checkout)
        checkout.payments.append(
            Payment(
                id=f"tran_{_random(22)}",
                order=f"ord_{_random(22)}",
                amount_minor=checkout.amount_minor + tax,
                tax_minor=tax,
                created=_now(),
                period_start=start,
                period_end=start + _PERIOD_SECONDS[checkout.interval or "month"],
            )
        )
        return self.creem_event(base_url, "subscription.paid", self._creem_subscription(checkout, full=True))

    def _creem_reversal(
        self, base_url: str, checkout: Checkout, payment: Payment, event_type: str, amount: int
    ) -> Webhook:
        common = {
            "transaction": self._creem_transaction(checkout, payment),
            "checkout": {
                "id": checkout.id,
                "object": "checkout",
                "request_id": checkout.request_id,
                "product": checkout.product_id,
                "units": 1,
                "custom_fields": [],
                "status": "completed",
                "metadata": checkout.metadata,
                "mode": "test",
            },
            "order": self._creem_order(checkout, payment),
            "customer": self._creem_customer(checkout),
            "created_at": int(time.time() * 1000),
            "mode": "test",
        }
        if checkout.subscription:
            common["subscription"] = self._creem_subscription(checkout, full=False)
        if event_type == "refund.created":
            obj = {
                "id": f"ref_{_random(22)}",
                "object": "refund",
                "status": "succeeded",
                "refund_amount": amount,
                "refund_currency": checkout.currency.upper(),
                "reason": "requested_by_customer",
                **common,
            }
        else:
            obj = {
                "id": f"disp_{_random(22)}",
                "object": "dispute",
                "amount": amount,
                "currency": checkout.currency.upper(),
                **common,
            }
        return self.creem_event(base_url, event_type, obj)


# ------------------------------------------------------------------------------------------
# Signatures, as each provider computes them.
# ------------------------------------------------------------------------------------------
def stripe_signature(body: bytes, secret: str = STRIPE_WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """``Stripe-Signature``: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    stamp = _now() if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def creem_signature(body: bytes, secret: str = CREEM_WEBHOOK_SECRET) -> str:
    """``creem-signature``: the hex HMAC-SHA256 of the body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _paypal_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    """What PayPal signs: ``<transmission id>|<time>|<webhook id>|<CRC32 of the body, decimal>``."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()


def _make_signing_certificate() -> tuple[Any, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.atelier.local")])
    now = datetime.now(tz=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


# ------------------------------------------------------------------------------------------
# Helpers.
# ------------------------------------------------------------------------------------------
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


def raw_json_member(text: str, name: str) -> str | None:
    """The exact text of a top-level member's value in a JSON object (as it was sent)."""
    decoder = json.JSONDecoder()
    position = _skip_space(text, 0)
    try:
        if text[position] != "{":
            return None
        position += 1
        while True:
            position = _skip_space(text, position)
            if text[position] == "}":
                return None
            key, position = decoder.raw_decode(text, position)
            position = _skip_space(text, position)
            if text[position] != ":":
                return None
            start = _skip_space(text, position + 1)
            _, end = decoder.raw_decode(text, start)
            if key == name:
                return text[start:end]
            position = _skip_space(text, end)
            if text[position] == ",":
                position += 1
            elif text[position] == "}":
                return None
            else:
                return None
    except (IndexError, ValueError):
        return None


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _creem_products() -> dict[str, dict[str, Any]]:
    products = {}
    for group, kind in (("packs", "pack"), ("plans", "plan")):
        for item in LOCAL_CATALOG[group]:
            products[item["provider_product_ids"]["creem"]] = {
                "kind": kind,
                "name": item["name"],
                "price": item["price"]["value_minor"],
                "currency": item["price"]["currency"],
                "interval": item.get("interval"),
            }
    return products


def _to_minor(value: str, currency: str) -> int:
    exponent = 0 if currency in _ZERO_DECIMAL else 2
    try:
        minor = Decimal(value).scaleb(exponent)
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if minor != minor.to_integral_value() or minor < 0:
        raise ValueError(value)
    return int(minor)


def _paypal_money(checkout: Checkout, minor: int) -> dict[str, str]:
    exponent = 0 if checkout.currency in _ZERO_DECIMAL else 2
    return {"currency_code": checkout.currency.upper(), "value": f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"}


def _amount_asked(request: LocalRequest) -> int | None:
    if not request.body or (request.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        amount = (request.json() or {}).get("amount_minor")
    except (ValueError, AttributeError) as exc:
        raise SandboxError(
            LocalResponse.error(400, "malformed_request", 'Send {"amount_minor": n} or nothing.')
        ) from exc
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)):
        raise SandboxError(LocalResponse.error(422, "invalid_amount", "amount_minor is an integer."))
    return amount


def _option(request: LocalRequest, name: str, kind: type, default: Any) -> Any:
    """An option of a sandbox button, from its optional JSON body."""
    if not request.body or (request.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
        return default
    try:
        value = (request.json() or {}).get(name, default)
    except (ValueError, AttributeError) as exc:
        raise SandboxError(LocalResponse.error(400, "malformed_request", "Send a JSON object or nothing.")) from exc
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SandboxError(LocalResponse.error(422, "invalid_option", f"{name} is a {kind.__name__}."))
    return value


def _creem_pay_options(request: LocalRequest) -> tuple[int, bool]:
    """Paying a Creem checkout: ``{"tax_percent": n}`` charges sales tax on top of the price (as a
    product with tax_mode ``exclusive`` does), and ``{"amount_paid": false}`` sends orders without
    ``amount_paid`` and its breakdown, as Creem's documented ``checkout.completed`` does."""
    tax_percent = _option(request, "tax_percent", int, 0)
    if not 0 <= tax_percent <= 100:
        raise SandboxError(LocalResponse.error(422, "invalid_option", "tax_percent is between 0 and 100."))
    return tax_percent, not _option(request, "amount_paid", bool, True)


def _tax(checkout: Checkout) -> int:
    """The sales tax on one payment of the checkout, rounded half up to a minor unit."""
    return (checkout.amount_minor * checkout.tax_percent + 50) // 100


def _joiner(url: str) -> str:
    return "&" if "?" in url else "?"


def _stripe_error(
    status: int, kind: str, message: str, *, code: str | None = None, param: str | None = None
) -> LocalResponse:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return LocalResponse.json({"error": error}, status=status)


def _stripe_missing(kind: str, object_id: str) -> LocalResponse:
    return _stripe_error(
        404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing", param="id"
    )


def _paypal_error(status: int, name: str, message: str, *, issue: str | None = None) -> LocalResponse:
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": _random(13, string.hexdigits.lower())}
    if issue:
        body["details"] = [{"issue": issue, "description": message}]
    return LocalResponse.json(body, status=status)


def _paypal_missing() -> LocalResponse:
    return _paypal_error(
        404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.", issue="INVALID_RESOURCE_ID"
    )


def _creem_error(status: int, error: str, message: str) -> LocalResponse:
    return LocalResponse.json(
        {
            "trace_id": str(uuid.uuid4()),
            "status": status,
            "error": error,
            "message": [message],
            "timestamp": int(time.time() * 1000),
        },
        status=status,
    )


def _small_page(title: str, text: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )


def _checkout_page(checkout: Checkout) -> str:
    exponent = 0 if checkout.currency in _ZERO_DECIMAL else 2
    price = f"{Decimal(checkout.amount_minor).scaleb(-exponent):.{exponent}f} {checkout.currency.upper()}"
    every = f" every {checkout.interval}" if checkout.interval else ""
    provider = {"stripe": "Stripe", "paypal": "PayPal", "creem": "Creem"}[checkout.provider]
    if checkout.status == "open":
        buttons = _button(checkout, "pay", f"Pay {price}")
    else:
        latest = checkout.latest_payment
        subscribed = checkout.subscription is not None and checkout.subscription_status == "active"
        offered = [
            ("renew", "Renew: pay the next period", subscribed),
            ("refund", "Refund in full", latest is not None and latest.refundable_minor > 0),
            ("dispute", "Open a dispute", latest is not None and latest.refundable_minor > 0),
            ("cancel-subscription", "Cancel the subscription", subscribed),
        ]
        buttons = f"<p>This checkout is {html.escape(checkout.status)}.</p>" + "".join(
            _button(checkout, action, label) for action, label, available in offered if available
        )
    cancel = (
        f'<p><a href="{html.escape(checkout.cancel_url)}">Cancel</a></p>'
        if checkout.cancel_url and checkout.status == "open"
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Pay with {provider} (local sandbox)</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem">'
        f"<h1>{html.escape(checkout.item_name)}</h1>"
        f"<p><strong>{html.escape(price)}</strong>{html.escape(every)}</p>"
        f"<p>Paid through {provider}'s local sandbox: no card, no money. Paying sends {provider}'s signed webhooks.</p>"
        f"{buttons}{cancel}</body></html>"
    )


def _button(checkout: Checkout, action: str, label: str) -> str:
    target = f"{CHECKOUT_PREFIX}/{html.escape(checkout.id)}/{action}"
    return (
        f'<form method="post" action="{target}" style="margin:.5rem 0">'
        f'<button type="submit" style="padding:.5rem 1rem">{html.escape(label)}</button></form>'
    )


def payments_stand_ins(deliver: Deliverer | None = None) -> list[StandIn]:
    """The sandbox's stand-ins, sharing one sandbox (the runtime mounts these by default)."""
    return LocalPaymentsSandbox(deliver).stand_ins()
