"""The sandbox: one core shared by the three providers' stand-ins, and ``/_local/checkout``, the
checkout page whose buttons make money move (pay, renew, refund, dispute, cancel-subscription) at
whichever provider made the checkout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from local.payments.common import (
    CHECKOUT_PREFIX,
    Checkout,
    Deliverer,
    Payment,
    SandboxError,
    Webhook,
    amount_asked,
    local_payments_environment,
    now,
)
from local.payments.core import ProviderStandIn, SandboxCore
from local.payments.creem import CreemStandIn
from local.payments.page import checkout_page, small_page
from local.payments.paypal import PayPalStandIn
from local.payments.stripe import StripeStandIn
from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn

# What a button does: the webhooks it issues, and where a browser goes next (None: back to the page).
type Action = Callable[[LocalRequest, Checkout], tuple[list[Webhook], str | None]]


class LocalPaymentsSandbox(SandboxCore):
    def __init__(self, deliver: Deliverer | None = None, *, background_delay_seconds: float = 0.2) -> None:
        super().__init__(deliver, background_delay_seconds=background_delay_seconds)
        self.stripe = StripeStandIn(self)
        self.paypal = PayPalStandIn(self)
        self.creem = CreemStandIn(self)
        self.providers: dict[str, ProviderStandIn] = {
            provider.name: provider for provider in (self.stripe, self.paypal, self.creem)
        }

    def stand_ins(self) -> list[StandIn]:
        return [
            StandIn(
                CHECKOUT_PREFIX,
                self.checkout_routes(),
                "payments sandbox: checkout pages that pay and send signed webhooks",
                local_payments_environment,
            ),
            *(
                StandIn(provider.prefix, provider.routes(), provider.description)
                for provider in self.providers.values()
            ),
        ]

    # -- each provider's events, signed as it signs them (tests build their own too) --------
    def stripe_event(
        self, base_url: str, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> Webhook:
        return self.stripe.event(base_url, event_type, obj, previous)

    def paypal_event(
        self, base_url: str, event_type: str, resource_type: str, resource: dict[str, Any], summary: str
    ) -> Webhook:
        return self.paypal.event(base_url, event_type, resource_type, resource, summary)

    def creem_event(self, base_url: str, event_type: str, obj: dict[str, Any]) -> Webhook:
        return self.creem.event(base_url, event_type, obj)

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
        actions: dict[str, Action] = {
            "pay": self._pay,
            "renew": self._renew,
            "refund": self._refund,
            "dispute": self._dispute,
            "cancel-subscription": self._cancel_subscription,
        }
        for action, handler in actions.items():
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
        return LocalResponse.html(checkout_page(checkout, self.providers[checkout.provider].title))

    @staticmethod
    def _done_page(request: LocalRequest) -> LocalResponse:
        return LocalResponse.html(small_page("Payment received", "The sandbox took the payment. You can close this."))

    @staticmethod
    def _canceled_page(request: LocalRequest) -> LocalResponse:
        return LocalResponse.html(small_page("Checkout canceled", "Nothing was charged."))

    def _action(self, handler: Action) -> Callable[[LocalRequest], LocalResponse]:
        def run(request: LocalRequest) -> LocalResponse:
            try:
                checkout = self._find(request)
                with self.lock:
                    webhooks, redirect = handler(request, checkout)
                self.issue(checkout, webhooks)
            except SandboxError as error:
                return error.response
            returns = self.providers[checkout.provider].returns_to_application
            extra = {"return_url": redirect} if returns and redirect else {}
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
        return self.providers[checkout.provider].pay(request, checkout)

    def _renew(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        if checkout.kind != "plan" or checkout.subscription is None:
            raise SandboxError(LocalResponse.error(409, "conflict", "Only a paid plan renews."))
        if checkout.subscription_status != "active":
            raise SandboxError(LocalResponse.error(409, "conflict", "This subscription is not active."))
        previous = checkout.latest_payment
        start = previous.period_end if previous and previous.period_end else now()
        return self.providers[checkout.provider].renew(request.base_url, checkout, start), None

    def _refund(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        payment = self._reversible(checkout)
        asked = amount_asked(request)
        amount = payment.refundable_minor if asked is None else asked
        if not 0 < amount <= payment.refundable_minor:
            raise SandboxError(
                LocalResponse.error(422, "invalid_amount", f"Refund between 1 and {payment.refundable_minor}.")
            )
        before = payment.refunded_minor
        payment.refunded_minor += amount
        return self.providers[checkout.provider].refund(request.base_url, checkout, payment, amount, before), None

    def _dispute(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        payment = self._reversible(checkout)
        amount = payment.refundable_minor
        return self.providers[checkout.provider].dispute(request, checkout, payment, amount), None

    def _cancel_subscription(self, request: LocalRequest, checkout: Checkout) -> tuple[list[Webhook], str | None]:
        if checkout.subscription is None:
            raise SandboxError(LocalResponse.error(409, "conflict", "This checkout has no subscription."))
        if checkout.subscription_status == "canceled":
            raise SandboxError(LocalResponse.error(409, "conflict", "This subscription is already canceled."))
        return self.providers[checkout.provider].cancel(request.base_url, checkout), None

    @staticmethod
    def _reversible(checkout: Checkout) -> Payment:
        payment = checkout.latest_payment
        if payment is None:
            raise SandboxError(LocalResponse.error(409, "conflict", "Nothing was paid yet."))
        if payment.refundable_minor <= 0:
            raise SandboxError(LocalResponse.error(409, "conflict", "The payment was returned in full already."))
        return payment


def payments_stand_ins(deliver: Deliverer | None = None) -> list[StandIn]:
    """The sandbox's stand-ins, sharing one sandbox (the runtime mounts these by default)."""
    return LocalPaymentsSandbox(deliver).stand_ins()
