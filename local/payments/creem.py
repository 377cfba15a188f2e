"""The Creem stand-in: checkouts of products made in advance (the catalog's), subscription cancel
and transactions; and Creem's events with their ``creem-signature``.

Paying takes ``{"tax_percent": n}`` (sales tax on top of the price, for that payment and the
renewals) and ``{"amount_paid": false}`` (orders without ``amount_paid`` and its breakdown, as
Creem's documented ``checkout.completed`` reads).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from local.payments.common import (
    BUYER,
    CHECKOUT_PREFIX,
    CREEM_API_KEY,
    CREEM_PREFIX,
    CREEM_WEBHOOK_SECRET,
    LOCAL_CATALOG,
    PERIOD_SECONDS,
    Checkout,
    Payment,
    SandboxError,
    Webhook,
    iso,
    joiner,
    now,
    option,
    random_id,
)
from local.payments.core import SandboxCore
from local.standins import LocalRequest, LocalResponse, LocalRoutes


class CreemStandIn:
    name = "creem"
    title = "Creem"
    prefix = CREEM_PREFIX
    description = "Creem API stand-in (checkouts)"
    returns_to_application = False

    def __init__(self, core: SandboxCore) -> None:
        self.core = core

    # -- the checkout page's buttons -------------------------------------------------------
    def pay(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        checkout.tax_percent, checkout.bare_orders = _pay_options(request)
        return self._pay(request.base_url, checkout)

    def renew(self, base_url: str, checkout: Checkout, start: int) -> list[Webhook]:
        return [self._period(base_url, checkout, start)]

    def refund(self, base_url: str, checkout: Checkout, payment: Payment, amount: int, before: int) -> list[Webhook]:
        return [self._reversal(base_url, checkout, payment, "refund.created", amount)]

    def dispute(self, request: LocalRequest, checkout: Checkout, payment: Payment, amount: int) -> list[Webhook]:
        return [self._reversal(request.base_url, checkout, payment, "dispute.created", amount)]

    def cancel(self, base_url: str, checkout: Checkout) -> list[Webhook]:
        checkout.subscription_status = "canceled"
        return [self.event(base_url, "subscription.canceled", self._subscription(checkout, full=True))]

    def sign(self, base_url: str, body: bytes) -> dict[str, str]:
        return {"creem-signature": creem_signature(body)}

    # -- the API ---------------------------------------------------------------------------
    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/checkouts")(self._api(self._create_checkout))
        routes.get("/v1/checkouts")(self._api(self._get_checkout))
        routes.post("/v1/subscriptions/{subscription_id}/cancel")(self._api(self._cancel))
        routes.get("/v1/transactions")(self._api(self._get_transaction))
        return routes

    def _api(self, handler: Callable[[LocalRequest], LocalResponse]) -> Callable[[LocalRequest], LocalResponse]:
        def run(request: LocalRequest) -> LocalResponse:
            key = request.header("x-api-key") or ""
            if not hmac.compare_digest(key.encode(), CREEM_API_KEY.encode()):
                return _error(403, "Forbidden", "Invalid API key.")
            with self.core.lock:
                try:
                    return handler(request)
                except SandboxError as error:
                    return error.response

        return run

    def _create_checkout(self, request: LocalRequest) -> LocalResponse:
        try:
            body = request.json()
            product_id = str(body["product_id"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "Bad Request", "product_id must be a string.")
        product = _products().get(product_id)
        if product is None:
            return _error(404, "Not Found", "Product not found.")
        checkout = self.core.add(
            Checkout(
                id=f"ch_{random_id(22)}",
                provider=self.name,
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
                created=now(),
            )
        )
        return LocalResponse.json(self._checkout(checkout, request.base_url))

    def _get_checkout(self, request: LocalRequest) -> LocalResponse:
        checkout = self.core.checkout(request.query_value("checkout_id") or "", self.name)
        if checkout is None:
            return _error(404, "Not Found", "Checkout not found.")
        return LocalResponse.json(self._checkout(checkout, request.base_url))

    def _cancel(self, request: LocalRequest) -> LocalResponse:
        subscription_id = request.params["subscription_id"]
        checkout = next((c for c in self.core.checkouts(self.name) if c.subscription == subscription_id), None)
        if checkout is None:
            return _error(404, "Not Found", "Subscription not found.")
        if checkout.subscription_status != "canceled":
            self.core.deliver_in_background(self.core.issue(checkout, self.cancel(request.base_url, checkout)))
        return LocalResponse.json(self._subscription(checkout, full=True))

    def _get_transaction(self, request: LocalRequest) -> LocalResponse:
        transaction_id = request.query_value("transaction_id") or ""
        for checkout in self.core.checkouts(self.name):
            for payment in checkout.payments:
                if payment.id == transaction_id:
                    return LocalResponse.json(self._transaction(checkout, payment))
        return _error(404, "Not Found", "Transaction not found.")

    # -- Creem objects ---------------------------------------------------------------------
    def _checkout(self, checkout: Checkout, base_url: str) -> dict[str, Any]:
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

    def _product(self, checkout: Checkout) -> dict[str, Any]:
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

    def _customer(self, checkout: Checkout) -> dict[str, Any]:
        return {"id": checkout.customer, "object": "customer", **BUYER, "mode": "test"}

    def _order(self, checkout: Checkout, payment: Payment) -> dict[str, Any]:
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
            "created_at": iso(payment.created),
            "updated_at": iso(payment.created),
            "mode": "test",
        }

    def _subscription(self, checkout: Checkout, *, full: bool) -> dict[str, Any]:
        latest = checkout.latest_payment
        canceled = checkout.subscription_status == "canceled"
        subscription: dict[str, Any] = {
            "id": checkout.subscription,
            "object": "subscription",
            "product": self._product(checkout) if full else checkout.product_id,
            "customer": self._customer(checkout) if full else checkout.customer,
            "collection_method": "charge_automatically",
            "status": checkout.subscription_status,
            "canceled_at": iso(time.time()) if canceled else None,
            "created_at": iso(checkout.created),
            "updated_at": iso(time.time()),
            "metadata": checkout.metadata,
            "mode": "test",
        }
        if latest is not None:
            subscription |= {
                "last_transaction_id": latest.id,
                "last_transaction_date": iso(latest.created),
                "current_period_start_date": iso(latest.period_start or latest.created),
                "current_period_end_date": iso(latest.period_end or latest.created),
            }
            if not canceled:
                subscription["next_transaction_date"] = iso(latest.period_end or latest.created)
        return subscription

    def _transaction(self, checkout: Checkout, payment: Payment) -> dict[str, Any]:
        refunded = payment.refunded_minor
        transaction: dict[str, Any] = {
            "id": payment.id,
            "object": "transaction",
            "amount": payment.amount_minor - payment.tax_minor,
            "amount_paid": payment.amount_minor,
            "discount_amount": 0,
            "currency": checkout.currency.upper(),
            "type": "invoice" if checkout.kind == "plan" else "payment",
            "tax_country": BUYER["country"],
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
    def event(self, base_url: str, event_type: str, obj: dict[str, Any]) -> Webhook:
        """A delivery of a Creem event about ``obj``, with its ``creem-signature``."""
        event = {
            "id": f"evt_{random_id(22)}",
            "eventType": event_type,
            "created_at": int(time.time() * 1000),
            "object": obj,
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", **self.sign(base_url, body)}
        return Webhook(self.name, event_type, f"{base_url}/v1/webhooks/creem", headers, body)

    def _pay(self, base_url: str, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        checkout.status = "paid"
        checkout.customer = f"cust_{random_id(22)}"
        paid_at = now()
        tax = _tax(checkout)
        payment = Payment(
            id=f"tran_{random_id(22)}",
            order=f"ord_{random_id(22)}",
            amount_minor=checkout.amount_minor + tax,
            tax_minor=tax,
            created=paid_at,
        )
        if checkout.kind == "plan":
            checkout.subscription = f"sub_{random_id(22)}"
            checkout.subscription_status = "active"
            payment.period_start = paid_at
            payment.period_end = paid_at + PERIOD_SECONDS[checkout.interval or "month"]
        checkout.payments.append(payment)
        completed: dict[str, Any] = {
            "id": checkout.id,
            "object": "checkout",
            "request_id": checkout.request_id,
            "order": self._order(checkout, payment),
            "product": self._product(checkout),
            "units": 1,
            "customer": self._customer(checkout),
            "custom_fields": [],
            "status": "completed",
            "metadata": checkout.metadata,
            "mode": "test",
        }
        if checkout.kind == "plan":
            completed["subscription"] = self._subscription(checkout, full=False)
        webhooks = [self.event(base_url, "checkout.completed", completed)]
        if checkout.kind == "plan":
            webhooks.append(self.event(base_url, "subscription.paid", self._subscription(checkout, full=True)))
        redirect_query = {
            "checkout_id": checkout.id,
            "order_id": payment.order,
            "customer_id": checkout.customer,
            "subscription_id": checkout.subscription or "",
            "product_id": checkout.product_id,
            "request_id": checkout.request_id or "",
        }
        redirect = f"{checkout.success_url}{joiner(checkout.success_url)}{urlencode(redirect_query)}"
        return webhooks, redirect if checkout.success_url else None

    def _period(self, base_url: str, checkout: Checkout, start: int) -> Webhook:
        tax = _tax(checkout)
        checkout.payments.append(
            Payment(
                id=f"tran_{random_id(22)}",
                order=f"ord_{random_id(22)}",
                amount_minor=checkout.amount_minor + tax,
                tax_minor=tax,
                created=now(),
                period_start=start,
                period_end=start + PERIOD_SECONDS[checkout.interval or "month"],
            )
        )
        return self.event(base_url, "subscription.paid", self._subscription(checkout, full=True))

    def _reversal(self, base_url: str, checkout: Checkout, payment: Payment, event_type: str, amount: int) -> Webhook:
        common = {
            "transaction": self._transaction(checkout, payment),
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
            "order": self._order(checkout, payment),
            "customer": self._customer(checkout),
            "created_at": int(time.time() * 1000),
            "mode": "test",
        }
        if checkout.subscription:
            common["subscription"] = self._subscription(checkout, full=False)
        if event_type == "refund.created":
            obj = {
                "id": f"ref_{random_id(22)}",
                "object": "refund",
                "status": "succeeded",
                "refund_amount": amount,
                "refund_currency": checkout.currency.upper(),
                "reason": "requested_by_customer",
                **common,
            }
        else:
            obj = {
                "id": f"disp_{random_id(22)}",
                "object": "dispute",
                "amount": amount,
                "currency": checkout.currency.upper(),
                **common,
            }
        return self.event(base_url, event_type, obj)


def creem_signature(body: bytes, secret: str = CREEM_WEBHOOK_SECRET) -> str:
    """``creem-signature``: the hex HMAC-SHA256 of the body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _products() -> dict[str, dict[str, Any]]:
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


def _pay_options(request: LocalRequest) -> tuple[int, bool]:
    """Paying a Creem checkout: ``{"tax_percent": n}`` charges sales tax on top of the price (as a
    product with tax_mode ``exclusive`` does), and ``{"amount_paid": false}`` sends orders without
    ``amount_paid`` and its breakdown, as Creem's documented ``checkout.completed`` does."""
    tax_percent = option(request, "tax_percent", int, 0)
    if not 0 <= tax_percent <= 100:
        raise SandboxError(LocalResponse.error(422, "invalid_option", "tax_percent is between 0 and 100."))
    return tax_percent, not option(request, "amount_paid", bool, True)


def _tax(checkout: Checkout) -> int:
    """The sales tax on one payment of the checkout, rounded half up to a minor unit."""
    return (checkout.amount_minor * checkout.tax_percent + 50) // 100


def _error(status: int, error: str, message: str) -> LocalResponse:
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
