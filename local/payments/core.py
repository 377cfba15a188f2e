"""The sandbox's core: the checkouts it holds, the webhooks it issued, and their delivery; and the
protocol each provider's stand-in (``stripe``, ``paypal``, ``creem``) follows, so the checkout
page's buttons make money move the same way at every provider."""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from local.payments.common import Checkout, Deliverer, Payment, Webhook, http_deliverer, logger
from local.standins import LocalRequest, LocalResponse, LocalRoutes


class SandboxCore:
    """The state every stand-in shares, under one lock."""

    def __init__(self, deliver: Deliverer | None = None, *, background_delay_seconds: float = 0.2) -> None:
        self._deliver = deliver or http_deliverer
        self._background_delay = background_delay_seconds
        self.lock = threading.RLock()
        self._checkouts: dict[str, Checkout] = {}
        # (provider, its idempotency key) -> the answer given the first time.
        self.idempotent: dict[tuple[str, str], LocalResponse] = {}
        self._deliveries: list[threading.Thread] = []

    def checkout(self, checkout_id: str, provider: str | None = None) -> Checkout | None:
        """The checkout with this id (made at ``provider``, when one is named)."""
        with self.lock:
            checkout = self._checkouts.get(checkout_id)
        return checkout if checkout is not None and provider in (None, checkout.provider) else None

    def checkouts(self, provider: str | None = None) -> list[Checkout]:
        """Every checkout (made at ``provider``, when one is named)."""
        with self.lock:
            return [checkout for checkout in self._checkouts.values() if provider in (None, checkout.provider)]

    def add(self, checkout: Checkout) -> Checkout:
        with self.lock:
            self._checkouts[checkout.id] = checkout
        return checkout

    # -- delivery --------------------------------------------------------------------------
    def issue(self, checkout: Checkout, webhooks: list[Webhook]) -> list[Webhook]:
        with self.lock:
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

    def deliver_in_background(self, webhooks: list[Webhook]) -> None:
        def run() -> None:
            time.sleep(self._background_delay)
            self.deliver(webhooks)

        thread = threading.Thread(target=run, name="payments-sandbox-delivery", daemon=True)
        with self.lock:
            self._deliveries = [running for running in self._deliveries if running.is_alive()]
            self._deliveries.append(thread)
        thread.start()

    def wait_for_deliveries(self, timeout: float = 10.0) -> None:
        """Waits for the background deliveries under way (tests)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            pending = list(self._deliveries)
        for thread in pending:
            thread.join(max(0.0, deadline - time.monotonic()))


class ProviderStandIn(Protocol):
    """One provider's stand-in: its API (``routes``, where checkouts are created), and what each
    button of the checkout page does there, as the webhooks that provider sends.

    The page has checked what every provider needs (an open checkout to pay, an active plan to
    renew or cancel, money left to refund or dispute) before calling these.
    """

    name: str  # as in the webhook URL: /v1/webhooks/{name}
    title: str  # as the buyer reads it
    prefix: str
    description: str
    # Whether paying answers the URL the buyer goes back to (the application then captures).
    returns_to_application: bool

    def routes(self) -> LocalRoutes: ...

    def pay(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        """Pays an open checkout: the webhooks, and where the buyer goes next."""
        ...

    def renew(self, base_url: str, checkout: Checkout, start: int) -> list[Webhook]:
        """Pays the plan's next period, from ``start``."""
        ...

    def refund(self, base_url: str, checkout: Checkout, payment: Payment, amount: int, before: int) -> list[Webhook]:
        """``amount`` of ``payment`` went back (already counted in it; ``before`` was refunded before)."""
        ...

    def dispute(self, request: LocalRequest, checkout: Checkout, payment: Payment, amount: int) -> list[Webhook]: ...

    def cancel(self, base_url: str, checkout: Checkout) -> list[Webhook]:
        """Cancels the checkout's subscription."""
        ...

    def sign(self, base_url: str, body: bytes) -> dict[str, str]:
        """The headers that sign a webhook body as the provider signs it (``base_url``: where the
        sandbox answers, for a signature that names where its key is published)."""
        ...
