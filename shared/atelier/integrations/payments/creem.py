"""Creem (merchant of record): checkouts for products created in advance at Creem, whose ids the
catalog gives (``provider_product_ids["creem"]``).

Webhooks carry ``creem-signature``: the hex HMAC-SHA256 of the raw body under the webhook secret.
The scheme has no timestamp, so a replayed delivery verifies; it is kept from counting twice by the
payment inbox (event id) and by keying credits on the paid object.

What was paid: a one-off product's checkout (its order and transaction are the references a refund
or dispute names), or, for a subscription, each period's transaction (``last_transaction_id`` of
``subscription.paid``), which a refund or dispute of that period names as its ``transaction``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
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
from atelier.models.billing import Money

if TYPE_CHECKING:
    import httpx

SIGNATURE_HEADER = "creem-signature"
_UNAVAILABLE = "The payment provider is unavailable."


def signature_for(raw_body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


class CreemProvider:
    name = "creem"

    def __init__(
        self,
        *,
        api_key: Secret,
        webhook_secret: Secret,
        api_base: str = "https://api.creem.io",
        http: httpx.Client | None = None,
        resilient: Resilient | None = None,
    ) -> None:
        self._api_key = api_key
        self._webhook_secret = webhook_secret
        self._api_base = api_base.rstrip("/")
        self._http = http
        self._resilient = resilient or Resilient(self.name)

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            import httpx

            self._http = httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0), follow_redirects=False)
        return self._http

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self._send("POST", path, json=body)

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        """One request, retried where safe (see atelier.integrations.resilience): reads only, as
        Creem documents no idempotency key for its writes."""
        headers = {"x-api-key": reveal(self._api_key, "creem api key"), "Accept": "application/json"}
        return self._resilient.call(lambda: self._attempt(method, path, headers, options), repeatable=method == "GET")

    def _attempt(self, method: str, path: str, headers: dict[str, str], options: dict[str, Any]) -> httpx.Response:
        import httpx

        try:
            response = self.http.request(method, f"{self._api_base}{path}", headers=headers, **options)
        except httpx.HTTPError as exc:  # timeouts and network errors
            raise TransientFailure(errors.DependencyUnavailableError(_UNAVAILABLE)) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientFailure(
                errors.DependencyUnavailableError(_UNAVAILABLE),
                retry_after_seconds=parse_retry_after(response.headers.get("retry-after")),
            )
        if response.status_code in (401, 403):  # our key is wrong: no retry fixes it now
            raise errors.DependencyUnavailableError(_UNAVAILABLE)
        return response

    def _transaction(self, transaction_id: str) -> dict[str, Any] | None:
        """A transaction as Creem's API tells it (what was paid, tax included); None when Creem
        does not know it. Failing to ask fails the delivery, which Creem retries."""
        response = self._send("GET", "/v1/transactions", params={"transaction_id": transaction_id})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise errors.DependencyUnavailableError(_UNAVAILABLE)
        return _json(response)

    def _paid(self, obj: dict[str, Any], transaction_id: str | None, tax_mode: Any, currency: Any) -> Money | None:
        """What the buyer paid for `obj` (an order), tax included: from its own fields when they
        tell it, else from its transaction at Creem; None when neither can."""
        paid = _paid_minor(obj, tax_mode)
        if paid is None and transaction_id:
            transaction = self._transaction(transaction_id)
            if transaction is not None:
                paid = _paid_minor(transaction, tax_mode)
                currency = currency or transaction.get("currency")
        return _money(paid, currency)

    # -- checkout --------------------------------------------------------------------------
    def create_checkout(self, request: CheckoutRequest) -> ProviderCheckout:
        product_id = request.item.provider_product_ids.get(self.name)
        if not product_id:
            raise ProviderUnsupportedError("Creem does not sell this item.")
        response = self._post(
            "/v1/checkouts",
            {
                "product_id": product_id,
                "request_id": request.checkout_id,
                "units": 1,
                "success_url": request.success_url,
                "metadata": {
                    "account_id": request.account_id,
                    "checkout_id": request.checkout_id,
                    "item_id": request.item.id,
                },
            },
        )
        if response.status_code not in (200, 201):
            raise errors.DependencyUnavailableError(_UNAVAILABLE)
        answer = _json(response)
        checkout_id, url = answer.get("id"), answer.get("checkout_url")
        if not isinstance(checkout_id, str) or not isinstance(url, str):
            raise errors.DependencyUnavailableError(_UNAVAILABLE)
        return ProviderCheckout(provider_checkout_id=checkout_id, url=url)

    def complete_return(self, provider_checkout_id: str) -> PaymentEvent | None:
        return None  # Creem charges on its own page; the webhooks tell the rest.

    # -- account lifecycle -----------------------------------------------------------------
    def cancel_subscription(self, subscription_id: str) -> None:
        if not subscription_id.replace("_", "").isalnum():
            raise errors.NotFoundError("No such subscription.")
        response = self._post(f"/v1/subscriptions/{subscription_id}/cancel", {"mode": "immediate"})
        if response.status_code in (200, 201, 404):
            return  # canceled now, or already gone
        raise errors.DependencyUnavailableError(_UNAVAILABLE)

    def delete_customer(self, customer_id: str) -> None:
        # Creem is the merchant of record and keeps its customer records itself; its API offers
        # no deletion. Nothing of ours is left there once the subscription is canceled.
        return None

    # -- webhooks --------------------------------------------------------------------------
    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> PaymentEvent:
        secret = reveal(self._webhook_secret, "creem webhook secret")
        given = next((value for key, value in headers.items() if key.lower() == SIGNATURE_HEADER), "")
        if not given or not hmac.compare_digest(signature_for(raw_body, secret), given.strip().lower()):
            raise WebhookSignatureError()
        try:
            event = json.loads(raw_body)
            return self._normalise(event)
        except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise errors.MalformedRequestError("The webhook event could not be read.") from exc

    def _normalise(self, event: dict[str, Any]) -> PaymentEvent:
        event_type = str(event["eventType"])
        obj: dict[str, Any] = event["object"]
        common: dict[str, Any] = {
            "provider": self.name,
            "event_id": str(event["id"]),
            "event_type": event_type,
            "occurred_at": _from_millis(event.get("created_at")) or datetime.now(tz=UTC),
        }
        if event_type == "checkout.completed":
            return self._checkout_completed(common, obj)
        if event_type == "subscription.paid":
            product = _dict(obj.get("product"))
            transaction_id = _text(obj.get("last_transaction_id"))
            if transaction_id is None:
                raise ValueError("a paid period without its transaction")
            return PaymentEvent(
                **common,
                **_our_ids(obj.get("metadata")),
                kind=PaymentEventKind.PERIOD_PAID,
                payment_key=transaction_id,
                # The payload names only the product's price, before tax: what the period cost the
                # buyer is its transaction's, which Creem's API tells.
                amount=self._paid({}, transaction_id, product.get("tax_mode"), product.get("currency")),
                subscription_id=str(obj["id"]),
                customer_id=_id(obj.get("customer")),
                subscription_status=_text(obj.get("status")),
                current_period_end=_parse_time(obj.get("current_period_end_date")),
            )
        if event_type in ("subscription.canceled", "subscription.expired"):
            return PaymentEvent(
                **common,
                **_our_ids(obj.get("metadata")),
                kind=PaymentEventKind.SUBSCRIPTION_CANCELED,
                subscription_id=str(obj["id"]),
                customer_id=_id(obj.get("customer")),
                subscription_status=_text(obj.get("status")),
                current_period_end=_parse_time(obj.get("current_period_end_date")),
            )
        if event_type == "refund.created":
            return PaymentEvent(
                **common,
                **_our_ids(_dict(obj.get("checkout")).get("metadata")),
                kind=PaymentEventKind.REFUND,
                reversal_key=str(obj["id"]),
                reversed_payment=_reversed_payment(obj),
                amount=_money(obj.get("refund_amount"), obj.get("refund_currency")),
                payment_total=_reversed_total(obj, obj.get("refund_currency")),
            )
        if event_type == "dispute.created":
            return PaymentEvent(
                **common,
                **_our_ids(_dict(obj.get("checkout")).get("metadata")),
                kind=PaymentEventKind.DISPUTE,
                reversal_key=str(obj["id"]),
                reversed_payment=_reversed_payment(obj),
                amount=_money(obj.get("amount"), obj.get("currency")),
                payment_total=_reversed_total(obj, obj.get("currency")),
            )
        return PaymentEvent(**common, kind=PaymentEventKind.IGNORED)

    def _checkout_completed(self, common: dict[str, Any], checkout: dict[str, Any]) -> PaymentEvent:
        ids = _our_ids(checkout.get("metadata"))
        ids["checkout_id"] = ids["checkout_id"] or _text(checkout.get("request_id"))
        order = _dict(checkout.get("order"))
        subscription = checkout.get("subscription")
        if subscription:
            # The first period is granted by its subscription.paid, keyed on its transaction.
            details = _dict(subscription)
            return PaymentEvent(
                **common,
                **ids,
                kind=PaymentEventKind.SUBSCRIPTION_UPDATED,
                subscription_id=_id(subscription),
                customer_id=_id(checkout.get("customer")) or _id(order.get("customer")),
                subscription_status=_text(details.get("status")),
                current_period_end=_parse_time(details.get("current_period_end_date")),
            )
        if order.get("status") not in (None, "paid"):
            return PaymentEvent(**common, **ids, kind=PaymentEventKind.PAYMENT_PENDING, payment_key=str(checkout["id"]))
        refs = [ref for ref in (_id(order), _id(order.get("transaction"))) if ref]
        # What the buyer paid, tax included (a refund names that much): `amount` alone is the
        # price before tax, as Creem's documented payload gives it.
        tax_mode = _dict(checkout.get("product")).get("tax_mode")
        paid = self._paid(order, _id(order.get("transaction")), tax_mode, order.get("currency"))
        return PaymentEvent(
            **common,
            **ids,
            kind=PaymentEventKind.PAYMENT_SUCCEEDED,
            payment_key=str(checkout["id"]),
            payment_refs=refs,
            amount=paid,
            customer_id=_id(checkout.get("customer")) or _id(order.get("customer")),
        )


def _paid_minor(obj: Mapping[str, Any], tax_mode: Any = None) -> int | None:
    """What was paid, tax included, from an order or transaction in any shape Creem sends:
    ``amount_paid``; else ``amount_due``; else the amount before tax (``amount``, or ``sub_total``
    less ``discount_amount``) plus ``tax_amount``; else ``amount`` when the product's price already
    includes the tax. None when the object cannot tell (``amount`` alone is the pre-tax price)."""
    for name in ("amount_paid", "amount_due"):
        value = _minor(obj.get(name))
        if value is not None:
            return value
    amount = _minor(obj.get("amount"))
    sub_total = _minor(obj.get("sub_total"))
    if amount is None and sub_total is not None:
        amount = max(0, sub_total - (_minor(obj.get("discount_amount")) or 0))
    tax = _minor(obj.get("tax_amount"))
    if amount is not None and tax is not None:
        return amount + tax
    if amount is not None and tax_mode == "inclusive":
        return amount
    return None


def _reversed_total(obj: dict[str, Any], currency: Any) -> Money | None:
    """What the reversed payment came to, as a refund or dispute names it (its transaction)."""
    transaction = _dict(obj.get("transaction"))
    return _money(_paid_minor(transaction), currency or transaction.get("currency"))


def _minor(value: Any) -> int | None:
    """An amount in minor units, given as a number or (as some Creem fields are) its digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _reversed_payment(obj: dict[str, Any]) -> str | None:
    """A subscription period is known by its transaction; a one-off purchase by its order (a ref of
    the checkout), falling back to the checkout itself."""
    transaction = _dict(obj.get("transaction"))
    subscription = _id(transaction.get("subscription")) or _id(obj.get("subscription"))
    if subscription:
        return _id(transaction)
    return _id(transaction.get("order")) or _id(obj.get("order")) or _id(obj.get("checkout")) or _id(transaction)


def _our_ids(metadata: Any) -> dict[str, str | None]:
    metadata = _dict(metadata)
    return {name: _text(metadata.get(name)) for name in ("account_id", "checkout_id", "item_id")}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError as exc:
        raise errors.DependencyUnavailableError(_UNAVAILABLE) from exc
    if not isinstance(answer, dict):
        raise errors.DependencyUnavailableError(_UNAVAILABLE)
    return answer


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: Any) -> str | None:
    """An id, whether the payload gives it as a string or inside the object it names."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _money(value_minor: Any, currency: Any) -> Money | None:
    if not isinstance(value_minor, int) or not isinstance(currency, str):
        return None
    return Money(value_minor=value_minor, currency=currency.lower())


def _from_millis(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, tz=UTC) if isinstance(value, int | float) else None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
