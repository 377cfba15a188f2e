"""Stripe: a Checkout Session per purchase (``mode=payment`` for packs, ``mode=subscription`` for
plans) with inline prices, and webhooks verified by the library before anything is read.

Our ids travel in ``metadata`` on the session and, through ``payment_intent_data`` /
``subscription_data``, on the payment intent, its charges and the subscription, so every later
object names the account, checkout and item it belongs to.

Payload shapes differ by API version, and a webhook endpoint keeps the version it was created
with. Both shapes are read: since 2025-03-31 an invoice names its subscription under
``parent.subscription_details`` and no longer names its payment intent or charge (those are listed
by ``/v1/invoice_payments``), and a subscription's period lives on its items.

The library is imported inside the methods that use it: it is slow to import.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

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
from atelier.integrations.resilience import Resilient, TransientFailure
from atelier.models.billing import Money

if TYPE_CHECKING:
    import stripe

T = TypeVar("T")

SIGNATURE_HEADER = "stripe-signature"
_UNAVAILABLE = "The payment provider is unavailable."


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: Secret,
        webhook_secret: Secret,
        api_base: str = "",
        tolerance_seconds: int = 300,
        http_client: stripe.HTTPClient | None = None,
        timeout_seconds: float = 10.0,
        max_network_retries: int = 2,
        resilient: Resilient | None = None,
    ) -> None:
        self._secret_key = secret_key
        self._webhook_secret = webhook_secret
        self._api_base = api_base.rstrip("/")
        self._tolerance = tolerance_seconds
        self._http_client = http_client
        self._timeout = timeout_seconds
        self._retries = max_network_retries
        self._resilient = resilient or Resilient(self.name)
        self._client: stripe.StripeClient | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> stripe.StripeClient:
        with self._lock:
            if self._client is None:
                import stripe

                http_client = self._http_client or stripe.RequestsClient(timeout=(3.05, self._timeout))
                self._client = stripe.StripeClient(
                    reveal(self._secret_key, "stripe secret key"),
                    base_addresses={"api": self._api_base} if self._api_base else None,
                    http_client=http_client,
                    max_network_retries=self._retries,
                )
            return self._client

    def _call(self, operation: Callable[[stripe.StripeClient], T]) -> T:
        """Through the provider's circuit breaker; the retries themselves are the SDK's own
        (``max_network_retries``: it repeats POSTs with one ``Idempotency-Key``, honours
        ``Stripe-Should-Retry`` and backs off with jitter), so each operation is one attempt here."""
        import stripe

        client = self.client

        def attempt() -> T:
            try:
                return operation(client)
            except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
                raise TransientFailure(errors.DependencyUnavailableError(_UNAVAILABLE)) from exc
            except stripe.APIError as exc:
                if (exc.http_status or 500) >= 500:
                    raise TransientFailure(errors.DependencyUnavailableError(_UNAVAILABLE)) from exc
                raise errors.DependencyUnavailableError(_UNAVAILABLE) from exc
            except stripe.StripeError as exc:
                # Refused keys, invalid requests: the purchase or the event cannot go on now, and
                # the caller (or Stripe's redelivery) tries again.
                raise errors.DependencyUnavailableError(_UNAVAILABLE) from exc

        return self._resilient.call(attempt, repeatable=False)

    # -- checkout --------------------------------------------------------------------------
    def create_checkout(self, request: CheckoutRequest) -> ProviderCheckout:
        item = request.item
        metadata = {"account_id": request.account_id, "checkout_id": request.checkout_id, "item_id": item.id}
        price_data: dict[str, Any] = {
            "currency": item.price.currency,
            "unit_amount": item.price.value_minor,
            "product_data": {"name": item.name},
        }
        params: dict[str, Any] = {
            "line_items": [{"price_data": price_data, "quantity": 1}],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": request.checkout_id,
            "metadata": metadata,
        }
        if item.kind == "plan":
            if item.interval is None:
                raise ProviderUnsupportedError("This plan has no billing interval.")
            price_data["recurring"] = {"interval": item.interval}
            params |= {"mode": "subscription", "subscription_data": {"metadata": metadata}}
        else:
            params |= {"mode": "payment", "payment_intent_data": {"metadata": metadata}}
        # One checkout of ours is one session at Stripe, however often the request is retried.
        options: Any = {"idempotency_key": f"checkout-{request.checkout_id}"}
        session = self._call(lambda client: client.v1.checkout.sessions.create(_any(params), options))
        if not session.id or not session.url:
            raise errors.DependencyUnavailableError(_UNAVAILABLE)
        return ProviderCheckout(provider_checkout_id=session.id, url=session.url)

    def complete_return(self, provider_checkout_id: str) -> PaymentEvent | None:
        return None  # Stripe captures on its own page; the webhooks tell the rest.

    # -- account lifecycle -----------------------------------------------------------------
    def cancel_subscription(self, subscription_id: str) -> None:
        self._delete(lambda client: client.v1.subscriptions.cancel(subscription_id))

    def delete_customer(self, customer_id: str) -> None:
        self._delete(lambda client: client.v1.customers.delete(customer_id))

    def _delete(self, operation: Callable[[stripe.StripeClient], object]) -> None:
        import stripe

        client = self.client
        try:
            operation(client)
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                return  # already gone: what was asked for is true
            raise errors.DependencyUnavailableError(_UNAVAILABLE) from exc
        except stripe.StripeError as exc:
            raise errors.DependencyUnavailableError(_UNAVAILABLE) from exc

    # -- webhooks --------------------------------------------------------------------------
    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> PaymentEvent:
        import stripe

        secret = reveal(self._webhook_secret, "stripe webhook secret")
        signature = _header(headers, SIGNATURE_HEADER)
        try:
            stripe.Webhook.construct_event(raw_body, signature, secret, tolerance=self._tolerance)
            event = json.loads(raw_body)
        except Exception as exc:  # any failure to verify, whatever the library raises
            raise WebhookSignatureError() from exc
        try:
            return self._normalise(event)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise errors.MalformedRequestError("The webhook event could not be read.") from exc

    def _normalise(self, event: dict[str, Any]) -> PaymentEvent:
        event_type = str(event["type"])
        obj: dict[str, Any] = event["data"]["object"]
        common: dict[str, Any] = {
            "provider": self.name,
            "event_id": str(event["id"]),
            "event_type": event_type,
            "occurred_at": _from_epoch(event["created"]),
        }
        if event_type.startswith("checkout.session."):
            return _checkout_session_event(common, event_type, obj)
        if event_type == "invoice.paid":
            return self._invoice_paid(common, obj)
        if event_type in ("customer.subscription.created", "customer.subscription.updated"):
            return _subscription_event(common, PaymentEventKind.SUBSCRIPTION_UPDATED, obj)
        if event_type == "customer.subscription.deleted":
            return _subscription_event(common, PaymentEventKind.SUBSCRIPTION_CANCELED, obj)
        if event_type == "charge.refunded":
            return _charge_refunded(common, obj, event["data"].get("previous_attributes") or {})
        if event_type == "charge.dispute.created":
            return PaymentEvent(
                **common,
                kind=PaymentEventKind.DISPUTE,
                reversal_key=str(obj["id"]),
                reversed_payment=_id(obj.get("payment_intent")) or self._payment_of_charge(obj.get("charge")),
                amount=_money(obj.get("amount"), obj.get("currency")),
            )
        return PaymentEvent(**common, kind=PaymentEventKind.IGNORED)

    def _payment_of_charge(self, charge: Any) -> str | None:
        """The payment intent a charge belongs to, which is what a purchase is recorded under: a
        dispute may name only its charge (``payment_intent`` null, as in Stripe's own fixtures),
        and a checkout's events never name the charge. Asked of Stripe when the charge given is
        not expanded; failing to ask fails the delivery, which Stripe retries. A charge without
        a payment intent is known by itself."""
        charge_id = _id(charge)
        if charge_id is None:
            return None
        if isinstance(charge, dict) and "payment_intent" in charge:
            return _id(charge.get("payment_intent")) or charge_id
        import stripe

        client = self.client
        try:
            details = client.v1.charges.retrieve(charge_id).to_dict()
        except stripe.InvalidRequestError as exc:
            if exc.code == "resource_missing":
                return charge_id  # a charge Stripe does not know: nothing is recorded under another id
            raise errors.DependencyUnavailableError(_UNAVAILABLE) from exc
        except stripe.StripeError as exc:
            raise errors.DependencyUnavailableError(_UNAVAILABLE) from exc
        return _id(details.get("payment_intent")) or charge_id

    def _invoice_paid(self, common: dict[str, Any], invoice: dict[str, Any]) -> PaymentEvent:
        details = _dict(_dict(invoice.get("parent")).get("subscription_details"))
        legacy = _dict(invoice.get("subscription_details"))
        subscription_id = _id(details.get("subscription")) or _id(invoice.get("subscription"))
        if subscription_id is None:
            return PaymentEvent(**common, kind=PaymentEventKind.IGNORED)  # not a subscription's invoice
        metadata = _dict(details.get("metadata")) or _dict(legacy.get("metadata"))
        invoice_id = str(invoice["id"])
        return PaymentEvent(
            **common,
            kind=PaymentEventKind.PERIOD_PAID,
            payment_key=invoice_id,
            payment_refs=self._invoice_payment_refs(invoice_id, invoice),
            amount=_money(invoice.get("amount_paid"), invoice.get("currency")),
            subscription_id=subscription_id,
            customer_id=_id(invoice.get("customer")),
            current_period_end=_latest_period_end(invoice),
            **_our_ids(metadata),
        )

    def _invoice_payment_refs(self, invoice_id: str, invoice: dict[str, Any]) -> list[str]:
        """The payment intent or charge that paid the invoice, which a later refund or dispute names."""
        refs = [ref for ref in (_id(invoice.get("payment_intent")), _id(invoice.get("charge"))) if ref]
        if refs:
            return refs  # API versions before 2025-03-31
        payments = _dict(invoice.get("payments")).get("data")
        if payments is None:
            # Not included in events: ask Stripe. Failing here fails the delivery, which Stripe retries.
            page = self._call(lambda client: client.v1.invoice_payments.list({"invoice": invoice_id, "status": "paid"}))
            payments = page.to_dict().get("data") or []
        for payment in payments:
            details = _dict(_dict(payment).get("payment"))
            ref = _id(details.get("payment_intent")) or _id(details.get("charge"))
            if ref and ref not in refs:
                refs.append(ref)
        return refs


def _checkout_session_event(common: dict[str, Any], event_type: str, session: dict[str, Any]) -> PaymentEvent:
    metadata = _dict(session.get("metadata"))
    ids = _our_ids(metadata)
    ids["checkout_id"] = ids["checkout_id"] or session.get("client_reference_id")
    session_id = str(session["id"])
    mode = session.get("mode")
    if mode == "subscription" and event_type == "checkout.session.completed":
        paid = session.get("payment_status") == "paid"
        return PaymentEvent(
            **common,
            **ids,
            kind=PaymentEventKind.SUBSCRIPTION_UPDATED,
            subscription_id=_id(session.get("subscription")),
            customer_id=_id(session.get("customer")),
            subscription_status="active" if paid else "incomplete",
        )
    if mode != "payment":
        return PaymentEvent(**common, **ids, kind=PaymentEventKind.IGNORED)
    status = session.get("payment_status")
    if event_type == "checkout.session.async_payment_failed":
        kind = PaymentEventKind.PAYMENT_FAILED
    elif status == "paid" and event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        kind = PaymentEventKind.PAYMENT_SUCCEEDED
    elif status == "unpaid" and event_type == "checkout.session.completed":
        kind = PaymentEventKind.PAYMENT_PENDING  # a delayed method: async_payment_succeeded/failed follows
    else:
        return PaymentEvent(**common, **ids, kind=PaymentEventKind.IGNORED)
    payment_intent = _id(session.get("payment_intent"))
    return PaymentEvent(
        **common,
        **ids,
        kind=kind,
        payment_key=session_id,
        payment_refs=[payment_intent] if payment_intent else [],
        amount=_money(session.get("amount_total"), session.get("currency")),
        customer_id=_id(session.get("customer")),
    )


def _subscription_event(common: dict[str, Any], kind: PaymentEventKind, subscription: dict[str, Any]) -> PaymentEvent:
    period_end = subscription.get("current_period_end")  # API versions before 2025-03-31
    if period_end is None:
        ends = [item.get("current_period_end") for item in _dict(subscription.get("items")).get("data") or []]
        period_end = max((end for end in ends if isinstance(end, int)), default=None)
    return PaymentEvent(
        **common,
        **_our_ids(_dict(subscription.get("metadata"))),
        kind=kind,
        subscription_id=str(subscription["id"]),
        customer_id=_id(subscription.get("customer")),
        subscription_status=subscription.get("status"),
        current_period_end=_from_epoch(period_end) if period_end is not None else None,
    )


def _charge_refunded(common: dict[str, Any], charge: dict[str, Any], previous: dict[str, Any]) -> PaymentEvent:
    """One event per refund: keyed on the refund, for the amount that refund returned.

    Since 2022-11-15 a charge's ``refunds`` list is not included in events. Then the refund is
    named by the charge and its new refunded total, and its amount is what that total grew by
    (``previous_attributes`` holds the total before).
    """
    charge_id = str(charge["id"])
    refunds = [refund for refund in _dict(charge.get("refunds")).get("data") or [] if isinstance(refund, dict)]
    if refunds:
        latest = max(refunds, key=lambda refund: refund.get("created") or 0)
        reversal_key, returned = str(latest["id"]), latest.get("amount")
    else:
        refunded = int(charge["amount_refunded"])
        before = previous.get("amount_refunded")
        reversal_key, returned = f"{charge_id}:{refunded}", refunded - (before if isinstance(before, int) else 0)
    return PaymentEvent(
        **common,
        **_our_ids(_dict(charge.get("metadata"))),
        kind=PaymentEventKind.REFUND,
        reversal_key=reversal_key,
        reversed_payment=_id(charge.get("payment_intent")) or charge_id,
        amount=_money(returned, charge.get("currency")),
        customer_id=_id(charge.get("customer")),
    )


def _latest_period_end(invoice: dict[str, Any]) -> datetime | None:
    ends = [_dict(line.get("period")).get("end") for line in _dict(invoice.get("lines")).get("data") or []]
    latest = max((end for end in ends if isinstance(end, int)), default=None)
    return _from_epoch(latest) if latest is not None else None


def _our_ids(metadata: Mapping[str, Any]) -> dict[str, str | None]:
    return {name: _text(metadata.get(name)) for name in ("account_id", "checkout_id", "item_id")}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _any(value: Any) -> Any:
    """Hands a plain dict to a library method typed with TypedDict parameters."""
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: Any) -> str | None:
    """An expandable field's id, whether the field holds the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _money(value_minor: Any, currency: Any) -> Money | None:
    if not isinstance(value_minor, int) or not isinstance(currency, str):
        return None
    return Money(value_minor=value_minor, currency=currency.lower())


def _from_epoch(seconds: Any) -> datetime:
    return datetime.fromtimestamp(int(seconds), tz=UTC)
