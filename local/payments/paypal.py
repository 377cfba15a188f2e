"""The PayPal stand-in: OAuth tokens, Orders v2 (create, read, capture), webhook signature
verification (SUCCESS only for a delivery this sandbox signed, with its body unchanged) and the
signing certificate; and PayPal's events with the transmission headers PayPal signs.

PayPal is paid the PayPal way: paying approves the order and sends the browser to the return URL
with ``?token=<order id>``; the application captures, and the capture sends
``PAYMENT.CAPTURE.COMPLETED``. PayPal sells packs only here: there is no plan to renew or cancel.
"""

from __future__ import annotations

import base64
import hmac
import json
import string
import time
import uuid
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from local.payments.common import (
    BUYER,
    CHECKOUT_PREFIX,
    PAYPAL_CERT_ID,
    PAYPAL_CLIENT_ID,
    PAYPAL_CLIENT_SECRET,
    PAYPAL_PREFIX,
    PAYPAL_TOKEN_SECONDS,
    PAYPAL_WEBHOOK_ID,
    ZERO_DECIMAL,
    Checkout,
    Payment,
    SandboxError,
    Webhook,
    iso,
    joiner,
    now,
    random_id,
    raw_json_member,
)
from local.payments.core import SandboxCore
from local.standins import LocalRequest, LocalResponse, LocalRoutes


class PayPalStandIn:
    name = "paypal"
    title = "PayPal"
    prefix = PAYPAL_PREFIX
    description = "PayPal API stand-in (orders v2, webhook verification)"
    returns_to_application = True

    def __init__(self, core: SandboxCore) -> None:
        self.core = core
        self._tokens: dict[str, float] = {}
        self._key: Any = None
        self._cert_pem: bytes = b""

    # -- the checkout page's buttons -------------------------------------------------------
    def pay(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        checkout.status = "approved"  # the application captures when the buyer is back
        return [], f"{checkout.success_url}{joiner(checkout.success_url)}" + urlencode(
            {"token": checkout.id, "PayerID": "LOCALPAYER0001"}
        )

    def renew(self, base_url: str, checkout: Checkout, start: int) -> list[Webhook]:
        raise SandboxError(LocalResponse.error(409, "conflict", "PayPal orders are packs: nothing renews."))

    def refund(self, base_url: str, checkout: Checkout, payment: Payment, amount: int, before: int) -> list[Webhook]:
        return [self._refund(base_url, checkout, payment, amount)]

    def dispute(self, request: LocalRequest, checkout: Checkout, payment: Payment, amount: int) -> list[Webhook]:
        return [self._dispute(request.base_url, checkout, payment, amount)]

    def cancel(self, base_url: str, checkout: Checkout) -> list[Webhook]:
        raise SandboxError(LocalResponse.error(409, "conflict", "PayPal orders are packs: there is no subscription."))

    def sign(self, base_url: str, body: bytes) -> dict[str, str]:
        """PayPal's transmission headers: an RSA signature of the transmission and the body's CRC32."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        transmission_id = str(uuid.uuid4())
        transmission_time = iso(time.time())
        message = paypal_message(transmission_id, transmission_time, PAYPAL_WEBHOOK_ID, body)
        signature = self._signing_key().sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": f"{base_url}{PAYPAL_PREFIX}/v1/notifications/certs/{PAYPAL_CERT_ID}",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-SIG": base64.b64encode(signature).decode(),
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
        }

    # -- the API ---------------------------------------------------------------------------
    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/oauth2/token")(self._token)
        routes.post("/v2/checkout/orders")(self._api(self._create_order))
        routes.get("/v2/checkout/orders/{order_id}")(self._api(self._get_order))
        routes.post("/v2/checkout/orders/{order_id}/capture")(self._api(self._capture))
        routes.post("/v1/notifications/verify-webhook-signature")(self._api(self._verify))
        routes.get("/v1/notifications/certs/{cert_id}")(self._cert)
        return routes

    def _token(self, request: LocalRequest) -> LocalResponse:
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
        token = f"A21AA{random_id(80)}"
        with self.core.lock:
            self._tokens[token] = time.time() + PAYPAL_TOKEN_SECONDS
        return LocalResponse.json(
            {
                "scope": "https://uri.paypal.com/services/payments/payment",
                "access_token": token,
                "token_type": "Bearer",
                "app_id": "APP-ATELIERLOCAL",
                "expires_in": PAYPAL_TOKEN_SECONDS,
                "nonce": f"{iso(time.time())}{random_id(12)}",
            }
        )

    def _api(self, handler: Callable[[LocalRequest], LocalResponse]) -> Callable[[LocalRequest], LocalResponse]:
        def run(request: LocalRequest) -> LocalResponse:
            token = (request.header("authorization") or "").removeprefix("Bearer ").strip()
            with self.core.lock:
                expires = self._tokens.get(token)
            if expires is None or expires < time.time():
                return _error(401, "AUTHENTICATION_FAILURE", "Authentication failed due to invalid credentials.")
            request_id = request.header("paypal-request-id")
            remembered = ("paypal", f"{request.path}:{request_id}") if request_id and request.method == "POST" else None
            with self.core.lock:
                if remembered and remembered in self.core.idempotent:
                    return self.core.idempotent[remembered]
                try:
                    response = handler(request)
                except SandboxError as error:
                    response = error.response
                if remembered and response.status < 300:
                    self.core.idempotent[remembered] = response
            debug_id = ("Paypal-Debug-Id", random_id(13, string.hexdigits.lower()))
            return LocalResponse(response.status, response.body, [*response.headers, debug_id])

        return run

    def _create_order(self, request: LocalRequest) -> LocalResponse:
        try:
            order = request.json()
            unit = order["purchase_units"][0]
            currency = str(unit["amount"]["currency_code"]).lower()
            amount = _to_minor(str(unit["amount"]["value"]), currency)
        except (ValueError, KeyError, IndexError, TypeError):
            return _error(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect.")
        if order.get("intent") != "CAPTURE":
            return _error(422, "UNPROCESSABLE_ENTITY", "The sandbox captures only.", issue="INTENT_NOT_SUPPORTED")
        experience = ((order.get("payment_source") or {}).get("paypal") or {}).get("experience_context")
        context = experience or order.get("application_context") or {}
        if not context.get("return_url"):
            return _error(422, "UNPROCESSABLE_ENTITY", "return_url is needed.", issue="MISSING_RETURN_URL")
        checkout = self.core.add(
            Checkout(
                id=random_id(17, string.ascii_uppercase + string.digits),
                provider=self.name,
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
                created=now(),
            )
        )
        payer_action = "payer-action" if experience else "approve"
        return LocalResponse.json(self._order(checkout, request.base_url, payer_action), status=201)

    def _get_order(self, request: LocalRequest) -> LocalResponse:
        checkout = self.core.checkout(request.params["order_id"], self.name)
        if checkout is None:
            return _missing()
        return LocalResponse.json(self._order(checkout, request.base_url))

    def _capture(self, request: LocalRequest) -> LocalResponse:
        checkout = self.core.checkout(request.params["order_id"], self.name)
        if checkout is None:
            return _missing()
        if checkout.status == "captured":
            return _error(422, "UNPROCESSABLE_ENTITY", "Order already captured.", issue="ORDER_ALREADY_CAPTURED")
        if checkout.status != "approved":
            return _error(
                422, "UNPROCESSABLE_ENTITY", "Payer has not yet approved the Order.", issue="ORDER_NOT_APPROVED"
            )
        checkout.status = "captured"
        capture = Payment(
            id=random_id(17, string.ascii_uppercase + string.digits), amount_minor=checkout.amount_minor, created=now()
        )
        checkout.payments.append(capture)
        webhook = self.event(
            request.base_url,
            "PAYMENT.CAPTURE.COMPLETED",
            "capture",
            self._capture_resource(checkout, capture, request.base_url),
            f"Payment completed for {_money(checkout, capture.amount_minor)['value']} {checkout.currency}",
        )
        self.core.deliver_in_background(self.core.issue(checkout, [webhook]))
        return LocalResponse.json(self._order(checkout, request.base_url), status=201)

    def _verify(self, request: LocalRequest) -> LocalResponse:
        text = request.body.decode("utf-8", "replace")
        try:
            fields = json.loads(text)
        except ValueError:
            return _error(400, "INVALID_REQUEST", "Request is not well-formed.")
        raw_event = raw_json_member(text, "webhook_event")
        names = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id")
        if not isinstance(fields, dict) or raw_event is None or not all(isinstance(fields.get(n), str) for n in names):
            return _error(400, "VALIDATION_ERROR", "Invalid request - see details.")
        verified = (
            fields["auth_algo"] == "SHA256withRSA"
            and fields["cert_url"].endswith(f"{PAYPAL_PREFIX}/v1/notifications/certs/{PAYPAL_CERT_ID}")
            and fields["webhook_id"] == PAYPAL_WEBHOOK_ID
            and self._signature_valid(
                fields["transmission_sig"],
                paypal_message(
                    fields["transmission_id"], fields["transmission_time"], PAYPAL_WEBHOOK_ID, raw_event.encode("utf-8")
                ),
            )
        )
        return LocalResponse.json({"verification_status": "SUCCESS" if verified else "FAILURE"})

    def _cert(self, request: LocalRequest) -> LocalResponse:
        if request.params["cert_id"] != PAYPAL_CERT_ID:
            return _missing()
        self._signing_key()
        return LocalResponse(200, self._cert_pem, [("Content-Type", "application/x-pem-file")])

    # -- PayPal signing --------------------------------------------------------------------
    def _signing_key(self) -> Any:
        with self.core.lock:
            if self._key is None:
                self._key, self._cert_pem = _make_signing_certificate()
            return self._key

    def _signature_valid(self, signature: str, message: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            self._signing_key().public_key().verify(
                base64.b64decode(signature, validate=True), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True

    def event(
        self, base_url: str, event_type: str, resource_type: str, resource: dict[str, Any], summary: str
    ) -> Webhook:
        """A delivery of a PayPal event about ``resource``, with the transmission headers PayPal signs."""
        upper = string.ascii_uppercase + string.digits
        event_id = f"WH-{random_id(17, upper)}-{random_id(17, upper)}"
        api = f"{base_url}{PAYPAL_PREFIX}"
        event = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": iso(time.time()),
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
        headers = {"Content-Type": "application/json", **self.sign(base_url, body)}
        return Webhook(self.name, event_type, f"{base_url}/v1/webhooks/paypal", headers, body)

    # -- PayPal objects --------------------------------------------------------------------
    def _order(self, checkout: Checkout, base_url: str, payer_action: str = "payer-action") -> dict[str, Any]:
        api = f"{base_url}{PAYPAL_PREFIX}/v2/checkout/orders/{checkout.id}"
        unit: dict[str, Any] = {
            "reference_id": "default",
            "amount": _money(checkout, checkout.amount_minor),
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
                "captures": [self._capture_resource(checkout, capture, base_url) for capture in checkout.payments]
            }
        order: dict[str, Any] = {
            "id": checkout.id,
            "intent": "CAPTURE",
            "status": status,
            "payment_source": {"paypal": {}},
            "purchase_units": [unit],
            "create_time": iso(checkout.created),
            "links": links,
        }
        if checkout.status != "open":
            order["payer"] = {"payer_id": "LOCALPAYER0001", "email_address": BUYER["email"]}
        return order

    def _capture_resource(self, checkout: Checkout, capture: Payment, base_url: str) -> dict[str, Any]:
        api = f"{base_url}{PAYPAL_PREFIX}"
        refunded = capture.refunded_minor
        return {
            "id": capture.id,
            "status": "COMPLETED"
            if refunded == 0
            else "PARTIALLY_REFUNDED"
            if refunded < capture.amount_minor
            else "REFUNDED",
            "amount": _money(checkout, capture.amount_minor),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE"},
            "custom_id": checkout.custom_id,
            "invoice_id": checkout.invoice_id,
            "supplementary_data": {"related_ids": {"order_id": checkout.id}},
            "create_time": iso(capture.created),
            "update_time": iso(capture.created),
            "links": [
                {"href": f"{api}/v2/payments/captures/{capture.id}", "rel": "self", "method": "GET"},
                {"href": f"{api}/v2/payments/captures/{capture.id}/refund", "rel": "refund", "method": "POST"},
                {"href": f"{api}/v2/checkout/orders/{checkout.id}", "rel": "up", "method": "GET"},
            ],
        }

    def _refund(self, base_url: str, checkout: Checkout, capture: Payment, amount: int) -> Webhook:
        api = f"{base_url}{PAYPAL_PREFIX}"
        refund_id = random_id(17, string.ascii_uppercase + string.digits)
        money = _money(checkout, amount)
        zero = _money(checkout, 0)
        resource = {
            "id": refund_id,
            "amount": money,
            "status": "COMPLETED",
            "seller_payable_breakdown": {
                "gross_amount": money,
                "paypal_fee": zero,
                "net_amount": money,
                "total_refunded_amount": _money(checkout, capture.refunded_minor),
            },
            "invoice_id": checkout.invoice_id,
            "custom_id": checkout.custom_id,
            "create_time": iso(time.time()),
            "update_time": iso(time.time()),
            "links": [
                {"href": f"{api}/v2/payments/refunds/{refund_id}", "rel": "self", "method": "GET"},
                {"href": f"{api}/v2/payments/captures/{capture.id}", "rel": "up", "method": "GET"},
            ],
        }
        summary = f"A {money['value']} {money['currency_code']} capture payment was refunded"
        return self.event(base_url, "PAYMENT.CAPTURE.REFUNDED", "refund", resource, summary)

    def _dispute(self, base_url: str, checkout: Checkout, capture: Payment, amount: int) -> Webhook:
        api = f"{base_url}{PAYPAL_PREFIX}"
        dispute_id = f"PP-D-{random_id(5, string.digits)}"
        money = _money(checkout, amount)
        resource = {
            "dispute_id": dispute_id,
            "create_time": iso(time.time()),
            "update_time": iso(time.time()),
            "disputed_transactions": [
                {
                    "seller_transaction_id": capture.id,
                    "create_time": iso(capture.created),
                    "transaction_status": "COMPLETED",
                    "gross_amount": _money(checkout, capture.amount_minor),
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
        return self.event(base_url, "CUSTOMER.DISPUTE.CREATED", "dispute", resource, summary)


def paypal_message(transmission_id: str, transmission_time: str, webhook_id: str, body: bytes) -> bytes:
    """What PayPal signs: ``<transmission id>|<time>|<webhook id>|<CRC32 of the body, decimal>``."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(body) & 0xFFFFFFFF}".encode()


def _make_signing_certificate() -> tuple[Any, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.atelier.local")])
    issued = datetime.now(tz=UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(issued - timedelta(days=1))
        .not_valid_after(issued + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM)


def _to_minor(value: str, currency: str) -> int:
    exponent = 0 if currency in ZERO_DECIMAL else 2
    try:
        minor = Decimal(value).scaleb(exponent)
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if minor != minor.to_integral_value() or minor < 0:
        raise ValueError(value)
    return int(minor)


def _money(checkout: Checkout, minor: int) -> dict[str, str]:
    exponent = 0 if checkout.currency in ZERO_DECIMAL else 2
    return {"currency_code": checkout.currency.upper(), "value": f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"}


def _error(status: int, name: str, message: str, *, issue: str | None = None) -> LocalResponse:
    body: dict[str, Any] = {"name": name, "message": message, "debug_id": random_id(13, string.hexdigits.lower())}
    if issue:
        body["details"] = [{"issue": issue, "description": message}]
    return LocalResponse.json(body, status=status)


def _missing() -> LocalResponse:
    return _error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.", issue="INVALID_RESOURCE_ID")
