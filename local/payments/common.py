"""What the payments sandbox's parts share: the mount points and local-only secrets, the catalog,
the state of a checkout and its payments, the webhook deliveries, and small request helpers."""

from __future__ import annotations

import json
import logging
import secrets
import string
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json import decoder as json_decoder
from json import scanner as json_scanner
from typing import Any

from local.standins import LocalRequest, LocalResponse

logger = logging.getLogger("local.payments")

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
PERIOD_SECONDS = {"month": 30 * 24 * 3600, "year": 365 * 24 * 3600}
ZERO_DECIMAL = frozenset({"huf", "jpy", "twd"})  # currencies PayPal takes without decimals
BUYER = {"email": "buyer@example.com", "name": "Local Buyer", "country": "NL"}


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


def random_id(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def now() -> int:
    return int(time.time())


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def amount_asked(request: LocalRequest) -> int | None:
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


def option(request: LocalRequest, name: str, kind: type, default: Any) -> Any:
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


def joiner(url: str) -> str:
    return "&" if "?" in url else "?"


def raw_json_member(text: str, name: str) -> str | None:
    """The exact text of a top-level member's value in a JSON object, as it was sent (a signature
    covers those bytes, not the value they parse to). Read by the json module's own scanner, told to
    note where each object and array starts and ends; None when the text is not a JSON object with that member."""
    spans: list[tuple[Any, int, int]] = []
    reader = json.JSONDecoder()

    def parse_object(text_and_start: tuple[str, int], *arguments: Any) -> tuple[Any, int]:
        value, end = json_decoder.JSONObject(text_and_start, *arguments)  # type: ignore[attr-defined]
        spans.append((value, text_and_start[1] - 1, end))
        return value, end

    def parse_array(text_and_start: tuple[str, int], *arguments: Any) -> tuple[Any, int]:
        value, end = json_decoder.JSONArray(text_and_start, *arguments)  # type: ignore[attr-defined]
        spans.append((value, text_and_start[1] - 1, end))
        return value, end

    reader.parse_object = parse_object  # type: ignore[attr-defined]
    reader.parse_array = parse_array  # type: ignore[attr-defined]
    # The pure-Python scanner reads these two back; the C one cannot be told.
    reader.scan_once = json_scanner.py_make_scanner(reader)  # type: ignore[attr-defined]
    try:
        document = reader.decode(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or name not in document:
        return None
    member = document[name]
    for value, start, end in spans:
        if value is member:
            return text[start:end]
    return json.dumps(member)  # a string, number or literal: no event, so no signature can match it
