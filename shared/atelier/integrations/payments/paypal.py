"""PayPal (Orders v2, intent CAPTURE): packs only.

The buyer approves the order on PayPal's page and comes back to the return URL with
``?token=<order id>``; ``complete_return`` then captures. The order is what was paid: credits are
keyed on the order id, whether the capture answer or the later ``PAYMENT.CAPTURE.COMPLETED``
webhook tells of it first, and the capture id is kept as the reference refunds and disputes name.

Webhooks are verified by PayPal itself (``/v1/notifications/verify-webhook-signature``) before the
body is read. The event is handed over as the exact bytes received: PayPal checks a checksum of
them, and re-serialised JSON (key order, ``1.0`` becoming ``1``, ``{}`` becoming ``[]``) fails.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from atelier import errors
from atelier.integrations.payments.base import (
    CheckoutRequest,
    PaymentEvent,
    PaymentEventKind,
    ProviderCheckout,
    ProviderUnsupportedError,
    WebhookSignatureError,
)
from atelier.integrations.payments.credentials import Secret, reveal
from atelier.integrations.resilience import Resilient, TransientFailure, parse_retry_after
from atelier.models.billing import CatalogItem, Money

if TYPE_CHECKING:
    import httpx

# The transmission headers PayPal signs a webhook delivery with.
TRANSMISSION_HEADERS = {
    "auth_algo": "paypal-auth-algo",
    "cert_url": "paypal-cert-url",
    "transmission_id": "paypal-transmission-id",
    "transmission_sig": "paypal-transmission-sig",
    "transmission_time": "paypal-transmission-time",
}
# Currencies PayPal takes without decimals.
_ZERO_DECIMAL = frozenset({"huf", "jpy", "twd"})
_TOKEN_EARLY_REFRESH_SECONDS = 60
_CUSTOM_ID_MAX = 127
_UNAVAILABLE = "The payment provider is unavailable."


class PayPalProvider:
    name = "paypal"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: Secret,
        webhook_id: str,
        api_base: str = "https://api-m.paypal.com",
        http: httpx.Client | None = None,
        resilient: Resilient | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._webhook_id = webhook_id
        self._api_base = api_base.rstrip("/")
        self._http = http
        self._lock = threading.Lock()
        self._token: tuple[float, str] | None = None  # (expires at, monotonic clock; token)
        self._resilient = resilient or Resilient(self.name)

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            self._http = httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0), follow_redirects=False)
        return self._http

    # -- HTTP ------------------------------------------------------------------------------
    def _access_token(self) -> str:
        with self._lock:
            if self._token and time.monotonic() < self._token[0]:
                return self._token[1]
        if not self._client_id:
            raise errors.DependencyUnavailableError("The payment provider is not configured (paypal client id).")
        secret = reveal(self._client_secret, "paypal client secret")
        response = self._send(
            "POST",
            "/v1/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(self._client_id, secret),
            authorised=False,
        )
        if response.status_code != 200:
            raise errors.DependencyUnavailableError(_UNAVAILABLE)
        answer = _json(response)
        token, lifetime = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not isinstance(lifetime, int):
            raise errors.DependencyUnavailableError(_UNAVAILABLE)
        with self._lock:
            self._token = (time.monotonic() + max(lifetime - _TOKEN_EARLY_REFRESH_SECONDS, 0), token)
        return token

    def _send(self, method: str, path: str, *, authorised: bool = True, **kwargs: Any) -> httpx.Response:
        """One request, retried where safe (see atelier.integrations.resilience): reads, the token
        request, and writes carrying a ``PayPal-Request-Id`` (PayPal's idempotency key)."""
        headers: dict[str, str] = {"Accept": "application/json", **kwargs.pop("headers", {})}
        repeatable = method == "GET" or not authorised or "PayPal-Request-Id" in headers
        for attempt in (1, 2):
            if authorised:
                headers["Authorization"] = f"Bearer {self._access_token()}"
            response = self._resilient.call(lambda: self._attempt(method, path, headers, kwargs), repeatable=repeatable)
            if response.status_code == 401 and authorised and attempt == 1:
                with self._lock:
                    self._token = None  # revoked or expired early: one fresh token, one more try
                continue
            return response
        raise errors.DependencyUnavailableError(_UNAVAILABLE)

    def _attempt(self, method: str, path: str, headers: dict[str, str], kwargs: dict[str, Any]) -> httpx.Response:
        import httpx

        try:
            response = self.http.request(method, f"{self._api_base}{path}", headers=headers, **kwargs)
        except httpx.HTTPError as exc:  # timeouts and network errors
            raise TransientFailure(errors.DependencyUnavailableError(_UNAVAILABLE)) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientFailure(
                errors.DependencyUnavailableError(_UNAVAILABLE),
                retry_after_seconds=parse_retry_after(response.headers.get("retry-after")),
            )
        return response

    # -- checkout --------------------------------------------------------------------------
    def create_checkout(self, request: CheckoutRequest) -> ProviderCheckout:
        item = request.item
        if item.kind != "pack":
            raise ProviderUnsupportedError("PayPal sells credit packs only.")
        custom_id = f"{request.account_id}:{request.checkout_id}:{item.id}"
        if len(custom_id) > _CUSTOM_ID_MAX:
            raise ProviderUnsupportedError("These ids are too long for PayPal.")
        order = {
            "intent": "CAPTURE",
            "purchase_units": [
                {
                    "reference_id": item.id,
                    "custom_id": custom_id,
                    "invoice_id": request.checkout_id,
                    "description": item.name[:127],
                    "amount": _paypal_amount(item),
                }
            ],
            "payment_source": {
                "paypal": {
                    "experience_context": {
                        "return_url": request.success_url,
                        "cancel_url": request.cancel_url,
                        "user_action": "PAY_NOW",
                        "shipping_preference": "NO_SHIPPING",
                    }
                }
            },
        }
        response = self._send(
            "POST",
            "/v2/checkout/orders",
            json=order,
            # One checkout of ours is one order, however often the request is retried.
            headers={"PayPal-Request-Id": f"checkout-{request.checkout_id}", "Prefer": "return=representation"},
        )
        if response.status_code not in (200, 201):
            raise errors.DependencyUnavailableError(_UNAVAILABLE)
        answer = _json(response)
        links = {link.get("rel"): link.get("href") for link in answer.get("links") or [] if isinstance(link, dict)}
        url = links.get("payer-action") or links.get("approve")
        order_id = answer.get("id")
        if not isinstance(order_id, str) or not isinstance(url, str):
            raise errors.DependencyUnavailableError(_UNAVAILABLE)
        return ProviderCheckout(provider_checkout_id=order_id, url=url)

    def complete_return(self, provider_checkout_id: str) -> PaymentEvent | None:
        """Captures the approved order; an order captured before (a reload, a second tab) answers
        the same event, so the caller may grant on it as often as it comes."""
        order_id = provider_checkout_id
        path = f"/v2/checkout/orders/{_path_segment(order_id)}"
        response = self._send(
            "POST",
            f"{path}/capture",
            headers={"PayPal-Request-Id": order_id, "Prefer": "return=representation"},
            json={},
        )
        if response.status_code in (200, 201):
            return self._capture_event(order_id, _json(response))
        issues = _issues(response)
        if response.status_code == 422 and "ORDER_ALREADY_CAPTURED" in issues:
            fetched = self._send("GET", path)
            if fetched.status_code != 200:
                raise errors.DependencyUnavailableError(_UNAVAILABLE)
            return self._capture_event(order_id, _json(fetched))
        if response.status_code == 404:
            raise errors.NotFoundError("No such PayPal order.")
        if response.status_code == 422 and "INSTRUMENT_DECLINED" in issues:
            return PaymentEvent(
                provider=self.name,
                event_id=f"return:{order_id}:declined",
                event_type="PAYMENT.CAPTURE.DECLINED",
                kind=PaymentEventKind.PAYMENT_FAILED,
                occurred_at=datetime.now(tz=UTC),
                payment_key=order_id,
            )
        if response.status_code == 422:
            raise errors.ConflictError("The buyer has not approved this PayPal order.", details={"issues": issues})
        raise errors.DependencyUnavailableError(_UNAVAILABLE)

    def _capture_event(self, order_id: str, order: dict[str, Any]) -> PaymentEvent:
        try:
            unit = order["purchase_units"][0]
            capture = unit["payments"]["captures"][0]
            capture_id = str(capture["id"])
            status = str(capture.get("status") or order.get("status"))
            ids = _custom_ids(unit.get("custom_id") or capture.get("custom_id"))
            amount = _money(capture.get("amount") or unit.get("amount"))
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise errors.DependencyUnavailableError(_UNAVAILABLE) from exc
        if status in ("COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"):  # paid (and maybe refunded since)
            kind, status = PaymentEventKind.PAYMENT_SUCCEEDED, "COMPLETED"
        elif status == "PENDING":
            kind = PaymentEventKind.PAYMENT_PENDING
        else:
            kind = PaymentEventKind.PAYMENT_FAILED
        return PaymentEvent(
            provider=self.name,
            # The same id for every answer about this order's capture: the inbox keeps one.
            event_id=f"return:{order_id}",
            event_type=f"PAYMENT.CAPTURE.{status}",
            kind=kind,
            occurred_at=_parse_time(capture.get("create_time")) or datetime.now(tz=UTC),
            payment_key=order_id,
            payment_refs=[capture_id],
            amount=amount,
            **ids,
        )

    def cancel_subscription(self, subscription_id: str) -> None:
        raise ProviderUnsupportedError("PayPal sells credit packs only; there is no subscription to cancel.")

    def delete_customer(self, customer_id: str) -> None:
        return None  # Orders create no customer object at PayPal on our side: nothing to delete.

    # -- webhooks --------------------------------------------------------------------------
    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> PaymentEvent:
        if not self._webhook_id:
            raise errors.DependencyUnavailableError("The payment provider is not configured (paypal webhook id).")
        lowered = {name.lower(): value for name, value in headers.items()}
        transmission = {field: lowered.get(header, "") for field, header in TRANSMISSION_HEADERS.items()}
        if not all(transmission.values()):
            raise WebhookSignatureError()
        try:
            body_text = raw_body.decode("utf-8")
            event = json.loads(body_text)
        except (ValueError, RecursionError) as exc:
            # Read before PayPal vouches for it: a body nested past the parser's stack is refused too.
            raise WebhookSignatureError() from exc
        if not isinstance(event, dict):
            raise WebhookSignatureError()
        fields = {**transmission, "webhook_id": self._webhook_id}
        # The event goes out as the bytes that came in; the other fields are JSON-encoded.
        request = "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in fields.items())
        request += f',"webhook_event":{body_text}}}'
        response = self._send(
            "POST",
            "/v1/notifications/verify-webhook-signature",
            content=request.encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        if response.status_code != 200:
            # PayPal refused the question itself (400): the headers do not describe a delivery.
            raise WebhookSignatureError()
        if _json(response).get("verification_status") != "SUCCESS":
            raise WebhookSignatureError()
        try:
            return self._normalise(event)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise errors.MalformedRequestError("The webhook event could not be read.") from exc

    def _normalise(self, event: dict[str, Any]) -> PaymentEvent:
        event_type = str(event["event_type"])
        resource: dict[str, Any] = event["resource"]
        common: dict[str, Any] = {
            "provider": self.name,
            "event_id": str(event["id"]),
            "event_type": event_type,
            "occurred_at": _parse_time(event.get("create_time")) or datetime.now(tz=UTC),
        }
        if event_type in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.DENIED"):
            order_id = _text(((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id"))
            if order_id is None and event_type != "PAYMENT.CAPTURE.COMPLETED":
                return PaymentEvent(**common, kind=PaymentEventKind.IGNORED)  # not one of our orders
            kind = {
                "PAYMENT.CAPTURE.COMPLETED": PaymentEventKind.PAYMENT_SUCCEEDED,
                "PAYMENT.CAPTURE.PENDING": PaymentEventKind.PAYMENT_PENDING,
                "PAYMENT.CAPTURE.DENIED": PaymentEventKind.PAYMENT_FAILED,
            }[event_type]
            return PaymentEvent(
                **common,
                **_custom_ids(resource.get("custom_id")),
                kind=kind,
                # Money received outside any order of ours is still money received: keyed on the
                # capture, it reaches an operator as an unmatched payment rather than nowhere.
                payment_key=order_id or str(resource["id"]),
                payment_refs=[str(resource["id"])],
                amount=_money(resource.get("amount")),
            )
        if event_type == "PAYMENT.CAPTURE.REFUNDED":
            return PaymentEvent(
                **common,
                **_custom_ids(resource.get("custom_id")),
                kind=PaymentEventKind.REFUND,
                reversal_key=str(resource["id"]),
                reversed_payment=_refunded_capture(resource),
                amount=_money(resource.get("amount")),
            )
        if event_type == "CUSTOMER.DISPUTE.CREATED":
            disputed = (resource.get("disputed_transactions") or [{}])[0]
            return PaymentEvent(
                **common,
                **_custom_ids(disputed.get("custom")),
                kind=PaymentEventKind.DISPUTE,
                reversal_key=str(resource["dispute_id"]),
                reversed_payment=_text(disputed.get("seller_transaction_id")),
                amount=_money(resource.get("dispute_amount")),
            )
        return PaymentEvent(**common, kind=PaymentEventKind.IGNORED)


def _paypal_amount(item: CatalogItem) -> dict[str, str]:
    currency = item.price.currency
    exponent = 0 if currency in _ZERO_DECIMAL else 2
    value = Decimal(item.price.value_minor).scaleb(-exponent)
    return {"currency_code": currency.upper(), "value": f"{value:.{exponent}f}"}


def _money(amount: Any) -> Money | None:
    if not isinstance(amount, dict):
        return None
    currency, value = amount.get("currency_code"), amount.get("value")
    if not isinstance(currency, str) or not isinstance(value, str):
        return None
    currency = currency.lower()
    exponent = 0 if currency in _ZERO_DECIMAL else 2
    try:
        minor = Decimal(value).scaleb(exponent)
    except InvalidOperation as exc:
        raise ValueError("not an amount") from exc
    if minor != minor.to_integral_value():
        raise ValueError("more decimals than the currency has")
    return Money(value_minor=int(minor), currency=currency)


def _custom_ids(custom_id: Any) -> dict[str, str | None]:
    """Our ids from the purchase unit's ``custom_id``: ``account:checkout:item``."""
    parts = custom_id.split(":") if isinstance(custom_id, str) else []
    if len(parts) != 3 or not all(parts):
        return {"account_id": None, "checkout_id": None, "item_id": None}
    return dict(zip(("account_id", "checkout_id", "item_id"), parts, strict=True))


def _refunded_capture(refund: dict[str, Any]) -> str | None:
    """The capture a refund returns money from: its ``up`` link (and, in newer payloads, the related ids)."""
    related = _text(((refund.get("supplementary_data") or {}).get("related_ids") or {}).get("capture_id"))
    if related:
        return related
    for link in refund.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "up" and "/captures/" in str(link.get("href")):
            return str(link["href"]).rstrip("/").rsplit("/", 1)[-1]
    return None


def _issues(response: httpx.Response) -> list[str]:
    try:
        details = response.json().get("details") or []
    except (ValueError, AttributeError):
        return []
    return [str(detail.get("issue")) for detail in details if isinstance(detail, dict)]


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError as exc:
        raise errors.DependencyUnavailableError(_UNAVAILABLE) from exc
    if not isinstance(answer, dict):
        raise errors.DependencyUnavailableError(_UNAVAILABLE)
    return answer


def _path_segment(value: str) -> str:
    if not value or not value.replace("-", "").replace("_", "").isalnum():
        raise errors.NotFoundError("No such PayPal order.")
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
