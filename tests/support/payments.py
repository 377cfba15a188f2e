"""The local payments sandbox behind an in-memory httpx transport, so the real adapters (and the
real ``stripe`` library) can be tested against it without a server."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import stripe

from atelier.integrations.payments.base import CheckoutRequest, PaymentEvent, PaymentProvider
from atelier.integrations.payments.creem import CreemProvider
from atelier.integrations.payments.paypal import PayPalProvider
from atelier.integrations.payments.stripe import StripeProvider
from atelier.models.billing import CatalogItem
from local import payments as sandbox_module
from local.payments import LocalPaymentsSandbox
from local.standins import LOCAL_PREFIX, LocalRequest, StandInRegistry

BASE_URL = "http://atelier.test"
SUCCESS_URL = f"{BASE_URL}/_local/checkout/done"
CANCEL_URL = f"{BASE_URL}/_local/checkout/canceled"


def catalog_item(item_id: str, catalog: Mapping[str, Any] | None = None) -> CatalogItem:
    catalog = catalog or sandbox_module.LOCAL_CATALOG
    for group, kind in (("packs", "pack"), ("plans", "plan")):
        for item in catalog[group]:
            if item["id"] == item_id:
                return CatalogItem(kind=kind, **item)
    raise KeyError(item_id)


def checkout_request(
    item_id: str = "pack_starter", *, account_id: str = "acct_ada", checkout_id: str = "chk_001", **changes: Any
) -> CheckoutRequest:
    values: dict[str, Any] = {
        "checkout_id": checkout_id,
        "account_id": account_id,
        "item": catalog_item(item_id),
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
    }
    return CheckoutRequest(**(values | changes))


@dataclass
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """Stands in for Atelier's ``/v1/webhooks/{provider}`` routes: keeps what arrives."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.deliveries: list[Delivery] = []

    def __call__(self, url: str, headers: Mapping[str, str], body: bytes) -> int:
        self.deliveries.append(Delivery(url, dict(headers), body))
        return self.status

    def for_provider(self, provider: str) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if delivery.url.endswith(f"/v1/webhooks/{provider}")]


class InMemoryStripeHttpClient(stripe.HTTPClient):
    """A ``stripe`` HTTP client over an httpx client, so the library can talk to an in-memory transport."""

    name = "atelier-in-memory"

    def __init__(self, http: httpx.Client) -> None:
        super().__init__()
        self._http = http

    def request(
        self, method: str, url: str, headers: Mapping[str, str] | None, post_data: Any = None, **_: Any
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = self._http.request(method.upper(), url, headers=dict(headers or {}), content=post_data)
        except httpx.TimeoutException as exc:
            raise stripe.APIConnectionError("The request to Stripe timed out.", should_retry=True) from exc
        except httpx.HTTPError as exc:
            raise stripe.APIConnectionError("Stripe could not be reached.", should_retry=True) from exc
        return response.content, response.status_code, response.headers

    def close(self) -> None:
        return None


Handler = Callable[[httpx.Request], httpx.Response]


class PaymentsNetwork:
    """The sandbox's stand-ins at ``BASE_URL``, reachable through ``transport``; webhooks the
    sandbox sends land in ``receiver``."""

    def __init__(self, receiver: WebhookReceiver | None = None) -> None:
        self.receiver = receiver or WebhookReceiver()
        self.sandbox = LocalPaymentsSandbox(self.receiver, background_delay_seconds=0)
        self.registry = StandInRegistry()
        for stand_in in self.sandbox.stand_ins():
            self.registry.mount(stand_in)
        self.transport = httpx.MockTransport(self.handle)
        self.http = httpx.Client(transport=self.transport, base_url=BASE_URL)

    def handle(self, request: httpx.Request) -> httpx.Response:
        url = urlsplit(str(request.url))
        found = self.registry.find(url.path) if url.path.startswith(f"{LOCAL_PREFIX}/") else None
        if found is None:
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "No such route."}})
        stand_in, subpath = found
        answer = stand_in.handler(
            LocalRequest(
                method=request.method,
                path=url.path,
                subpath=subpath,
                query=parse_qs(url.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in request.headers.items()},
                body=request.content,
                base_url=BASE_URL,
            )
        )
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body)

    def environment(self) -> dict[str, str]:
        return sandbox_module.local_payments_environment(BASE_URL)

    # -- adapters over the transport (or another one, to break the network) -----------------
    def stripe(self, handler: Handler | None = None, **overrides: Any) -> StripeProvider:
        http = httpx.Client(transport=httpx.MockTransport(handler or self.handle))
        values: dict[str, Any] = {
            "secret_key": sandbox_module.STRIPE_SECRET_KEY,
            "webhook_secret": sandbox_module.STRIPE_WEBHOOK_SECRET,
            "api_base": f"{BASE_URL}{sandbox_module.STRIPE_PREFIX}",
            "http_client": InMemoryStripeHttpClient(http),
            "max_network_retries": 0,
        }
        return StripeProvider(**(values | overrides))

    def paypal(self, handler: Handler | None = None, **overrides: Any) -> PayPalProvider:
        values: dict[str, Any] = {
            "client_id": sandbox_module.PAYPAL_CLIENT_ID,
            "client_secret": sandbox_module.PAYPAL_CLIENT_SECRET,
            "webhook_id": sandbox_module.PAYPAL_WEBHOOK_ID,
            "api_base": f"{BASE_URL}{sandbox_module.PAYPAL_PREFIX}",
            "http": httpx.Client(transport=httpx.MockTransport(handler or self.handle)),
        }
        return PayPalProvider(**(values | overrides))

    def creem(self, handler: Handler | None = None, **overrides: Any) -> CreemProvider:
        values: dict[str, Any] = {
            "api_key": sandbox_module.CREEM_API_KEY,
            "webhook_secret": sandbox_module.CREEM_WEBHOOK_SECRET,
            "api_base": f"{BASE_URL}{sandbox_module.CREEM_PREFIX}",
            "http": httpx.Client(transport=httpx.MockTransport(handler or self.handle)),
        }
        return CreemProvider(**(values | overrides))

    def provider(self, name: str) -> PaymentProvider:
        builders: dict[str, Callable[[], PaymentProvider]] = {
            "stripe": self.stripe,
            "paypal": self.paypal,
            "creem": self.creem,
        }
        return builders[name]()

    # -- the sandbox's buttons ---------------------------------------------------------------
    def act(self, checkout_id: str, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Presses a sandbox button without delivering; answers its JSON."""
        response = self.http.post(f"/_local/checkout/{checkout_id}/{action}?deliver=false", json=body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def events(self, checkout_id: str, action: str, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.act(checkout_id, action, body)["events"]
        return events

    def issued(self, checkout_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.http.get(f"/_local/checkout/{checkout_id}/events").json()["events"]
        return events

    def checkout(self, provider: str, item_id: str = "pack_starter", **changes: Any) -> str:
        """Creates a checkout through the provider's adapter; answers the provider's checkout id."""
        return self.provider(provider).create_checkout(checkout_request(item_id, **changes)).provider_checkout_id


def parse(provider: PaymentProvider, event: Mapping[str, Any]) -> PaymentEvent:
    """Parses a sandbox event (as ``?deliver=false`` answers it) with an adapter."""
    return provider.parse_webhook(event["headers"], event["body"].encode("utf-8"))


def body_of(event: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(event["body"])
    return body
