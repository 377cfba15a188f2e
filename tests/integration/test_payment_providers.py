"""The payment adapters against the local sandbox's provider stand-ins: checkouts are created with
the real clients (the `stripe` library included), PayPal captures on return, and a provider that
fails or hangs is a dependency that is unavailable, never a crash or a silent success."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from atelier import errors
from atelier.integrations.payments import registry
from atelier.integrations.payments.base import PaymentEventKind, ProviderUnsupportedError
from atelier.settings import Settings
from local import payments as sandbox
from local.gateway import Gateway, Router
from local.runtime import default_stand_ins
from local.standins import StandInRegistry
from tests.support.payments import (
    BASE_URL,
    SUCCESS_URL,
    PaymentsNetwork,
    WebhookReceiver,
    catalog_item,
    checkout_request,
    parse,
)


@pytest.fixture
def network() -> PaymentsNetwork:
    return PaymentsNetwork()


def answering(status: int):
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": "down"}})

    return handle


def timing_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


# ------------------------------------------------------------------------------------------
# Checkout creation
# ------------------------------------------------------------------------------------------
def test_stripe_pack_checkout_is_a_payment_session_carrying_our_ids(network):
    # When a pack checkout is created through the stripe library
    created = network.stripe().create_checkout(checkout_request("pack_starter", checkout_id="chk_10"))
    # Then the buyer is sent to the sandbox's page for that session
    assert created.provider_checkout_id.startswith("cs_test_")
    assert created.url == f"{BASE_URL}/_local/checkout/{created.provider_checkout_id}"
    session = network.sandbox.checkout(created.provider_checkout_id)
    assert (session.kind, session.amount_minor, session.currency, session.interval) == ("pack", 999, "usd", None)
    ours = {"account_id": "acct_ada", "checkout_id": "chk_10", "item_id": "pack_starter"}
    assert session.metadata == session.object_metadata == ours
    assert session.client_reference_id == "chk_10"
    assert network.http.get(created.url).status_code == 200


def test_stripe_plan_checkout_is_a_subscription_session(network):
    created = network.stripe().create_checkout(checkout_request("plan_monthly", checkout_id="chk_11"))
    session = network.sandbox.checkout(created.provider_checkout_id)
    assert (session.kind, session.amount_minor, session.interval) == ("plan", 2499, "month")
    assert session.object_metadata["checkout_id"] == "chk_11"  # on subscription_data


def test_stripe_checkout_retried_is_the_same_session(network):
    stripe = network.stripe()
    first = stripe.create_checkout(checkout_request(checkout_id="chk_12"))
    again = stripe.create_checkout(checkout_request(checkout_id="chk_12"))
    assert again == first
    assert len(network.sandbox.checkouts()) == 1


def test_paypal_checkout_is_an_order_to_approve(network):
    created = network.paypal().create_checkout(checkout_request("pack_studio", checkout_id="chk_13"))
    assert created.url == f"{BASE_URL}/_local/checkout/{created.provider_checkout_id}"
    order = network.sandbox.checkout(created.provider_checkout_id)
    assert (order.amount_minor, order.currency) == (4499, "usd")
    assert order.custom_id == "acct_ada:chk_13:pack_studio"
    assert order.invoice_id == "chk_13"
    assert order.success_url == SUCCESS_URL


def test_paypal_sells_no_plans(network):
    with pytest.raises(ProviderUnsupportedError):
        network.paypal().create_checkout(checkout_request("plan_monthly"))
    assert network.sandbox.checkouts() == []


def test_creem_checkout_uses_the_catalog_product(network):
    created = network.creem().create_checkout(checkout_request("plan_monthly", checkout_id="chk_14"))
    assert created.provider_checkout_id.startswith("ch_")
    assert created.url == f"{BASE_URL}/_local/checkout/{created.provider_checkout_id}"
    checkout = network.sandbox.checkout(created.provider_checkout_id)
    assert checkout.product_id == "prod_local_plan_monthly"
    assert checkout.request_id == "chk_14"
    assert checkout.metadata == {"account_id": "acct_ada", "checkout_id": "chk_14", "item_id": "plan_monthly"}


def test_creem_cannot_sell_an_item_without_a_creem_product(network):
    item = catalog_item("pack_starter").model_copy(update={"provider_product_ids": {}})
    with pytest.raises(ProviderUnsupportedError):
        network.creem().create_checkout(checkout_request(item=item))


def test_sandbox_checkout_pages_and_listing(network):
    created = network.stripe().create_checkout(checkout_request())
    page = network.http.get(f"/_local/checkout/{created.provider_checkout_id}")
    assert "Starter" in page.text
    assert f"/_local/checkout/{created.provider_checkout_id}/pay" in page.text
    listing = network.http.get("/_local/checkout").json()["items"]
    assert [item["id"] for item in listing] == [created.provider_checkout_id]
    missing = network.http.get("/_local/checkout/cs_test_nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert network.http.post("/_local/checkout/cs_test_nope/pay").status_code == 404


# ------------------------------------------------------------------------------------------
# Paying, delivery and capture on return
# ------------------------------------------------------------------------------------------
def test_paying_from_the_page_delivers_signed_webhooks_and_returns_to_the_success_page(network):
    # Given a Stripe plan checkout
    stripe = network.stripe()
    session_id = network.checkout("stripe", "plan_monthly")
    # When the buyer presses Pay on the page (a form post)
    response = network.http.post(
        f"/_local/checkout/{session_id}/pay", content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    # Then the browser goes to the success page and the three events arrived, each verifying
    assert response.status_code == 303
    assert response.headers["location"] == SUCCESS_URL
    kinds = [stripe.parse_webhook(d.headers, d.body).kind for d in network.receiver.for_provider("stripe")]
    assert kinds == [
        PaymentEventKind.SUBSCRIPTION_UPDATED,
        PaymentEventKind.SUBSCRIPTION_UPDATED,
        PaymentEventKind.PERIOD_PAID,
    ]


def test_a_paid_checkout_page_offers_the_later_events(network):
    # Given a Creem plan paid from its page
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    checkout_id = network.checkout("creem", "plan_monthly")
    paid = network.http.post(f"/_local/checkout/{checkout_id}/pay", content=b"", headers=form)
    assert paid.headers["location"].startswith(f"{SUCCESS_URL}?checkout_id={checkout_id}")
    # When the page is shown again
    page = network.http.get(f"/_local/checkout/{checkout_id}").text
    for action in ("renew", "refund", "dispute", "cancel-subscription"):
        assert f"/_local/checkout/{checkout_id}/{action}" in page
    # Then its buttons send the events and come back to the page
    renewed = network.http.post(f"/_local/checkout/{checkout_id}/renew", content=b"", headers=form)
    assert (renewed.status_code, renewed.headers["location"]) == (303, f"/_local/checkout/{checkout_id}")
    types = [json.loads(delivery.body)["eventType"] for delivery in network.receiver.deliveries]
    assert types == ["checkout.completed", "subscription.paid", "subscription.paid"]


def test_a_script_paying_gets_the_delivery_statuses(network):
    network.receiver.status = 503
    session_id = network.checkout("creem", "pack_starter")
    answer = network.http.post(f"/_local/checkout/{session_id}/pay").json()
    assert answer == {"delivered": [{"provider": "creem", "type": "checkout.completed", "status": 503}]}
    again = network.http.post(f"/_local/checkout/{session_id}/pay")
    assert again.status_code == 409


def test_paypal_captures_when_the_buyer_returns(network):
    # Given an approved order
    paypal = network.paypal()
    order_id = network.checkout("paypal", "pack_starter", account_id="acct_ada", checkout_id="chk_20")
    with pytest.raises(errors.ConflictError):
        paypal.complete_return(order_id)  # not approved yet
    answer = network.act(order_id, "pay")
    # When the buyer lands on the return URL and the application captures
    returned = urlsplit(answer["return_url"])
    assert f"{returned.scheme}://{returned.netloc}{returned.path}" == SUCCESS_URL
    token = parse_qs(returned.query)["token"][0]
    event = paypal.complete_return(token)
    # Then the capture is the payment, keyed on the order
    capture_id = network.sandbox.checkout(order_id).payments[0].id
    assert event is not None
    assert event.kind is PaymentEventKind.PAYMENT_SUCCEEDED
    assert (event.payment_key, event.payment_refs) == (order_id, [capture_id])
    assert (event.account_id, event.checkout_id, event.item_id) == ("acct_ada", "chk_20", "pack_starter")
    # And a second return (a reload) answers the same event
    assert paypal.complete_return(token) == event


def test_paypal_order_captured_before_answers_the_same_payment(network):
    # Given an order captured by another request (another idempotency key)
    paypal = network.paypal()
    order_id = network.checkout("paypal", "pack_starter")
    network.act(order_id, "pay")
    token = network.http.post(
        "/_local/paypal/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.PAYPAL_CLIENT_ID, sandbox.PAYPAL_CLIENT_SECRET),
    ).json()["access_token"]
    captured = network.http.post(
        f"/_local/paypal/v2/checkout/orders/{order_id}/capture",
        headers={"Authorization": f"Bearer {token}", "PayPal-Request-Id": "another-request"},
        json={},
    )
    assert captured.status_code == 201
    network.events(order_id, "refund")  # and refunded since
    # When the buyer's return captures again
    event = paypal.complete_return(order_id)
    # Then PayPal's ORDER_ALREADY_CAPTURED leads to the order, and to the same (paid) payment
    assert event is not None
    assert event.kind is PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.payment_key == order_id
    assert event.payment_refs == [captured.json()["purchase_units"][0]["payments"]["captures"][0]["id"]]


def test_paypal_capture_sends_its_webhook_in_the_background(network):
    paypal = network.paypal()
    order_id = network.checkout("paypal", "pack_starter")
    network.act(order_id, "pay")
    on_return = paypal.complete_return(order_id)
    network.sandbox.wait_for_deliveries()
    (delivery,) = network.receiver.for_provider("paypal")
    from_webhook = paypal.parse_webhook(delivery.headers, delivery.body)
    assert on_return is not None
    assert from_webhook.payment_key == on_return.payment_key


def test_paypal_unknown_order_is_not_found(network):
    with pytest.raises(errors.NotFoundError):
        network.paypal().complete_return("NOSUCHORDER123456")


# ------------------------------------------------------------------------------------------
# Subscriptions and customers
# ------------------------------------------------------------------------------------------
def test_stripe_subscription_cancel_and_customer_delete(network):
    stripe = network.stripe()
    session_id = network.checkout("stripe", "plan_monthly")
    network.events(session_id, "pay")
    paid = network.sandbox.checkout(session_id)
    subscription_id, customer_id = paid.subscription, paid.customer
    # When the subscription is canceled and the customer deleted through the API
    stripe.cancel_subscription(subscription_id)
    stripe.delete_customer(customer_id)
    network.sandbox.wait_for_deliveries()
    # Then Stripe tells of it by webhook, and doing either again is harmless
    (delivery,) = network.receiver.for_provider("stripe")
    assert stripe.parse_webhook(delivery.headers, delivery.body).kind is PaymentEventKind.SUBSCRIPTION_CANCELED
    assert paid.subscription_status == "canceled"
    assert paid.customer is None
    stripe.delete_customer(customer_id)
    stripe.cancel_subscription("sub_never_existed")


def test_creem_subscription_cancel(network):
    creem = network.creem()
    checkout_id = network.checkout("creem", "plan_monthly")
    network.events(checkout_id, "pay")
    creem.cancel_subscription(network.sandbox.checkout(checkout_id).subscription)
    network.sandbox.wait_for_deliveries()
    (delivery,) = network.receiver.for_provider("creem")
    assert creem.parse_webhook(delivery.headers, delivery.body).kind is PaymentEventKind.SUBSCRIPTION_CANCELED
    creem.cancel_subscription("sub_never_existed")
    creem.delete_customer("cust_anyone")


# ------------------------------------------------------------------------------------------
# A provider down
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("failure", [answering(500), answering(503), timing_out, unreachable])
@pytest.mark.parametrize("provider", ["stripe", "paypal", "creem"])
def test_provider_down_is_a_dependency_unavailable(network, provider, failure):
    adapter = getattr(network, provider)(failure)
    with pytest.raises(errors.DependencyUnavailableError):
        adapter.create_checkout(checkout_request("pack_starter"))


@pytest.mark.parametrize("provider", ["stripe", "paypal", "creem"])
def test_provider_answering_nonsense_is_a_dependency_unavailable(network, provider):
    def nonsense(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            return network.handle(request)
        return httpx.Response(200, content=b"<html>maintenance</html>")

    with pytest.raises(errors.DependencyUnavailableError):
        getattr(network, provider)(nonsense).create_checkout(checkout_request("pack_starter"))


def test_paypal_verification_down_is_unavailable_not_a_bad_signature(network):
    order_id = network.checkout("paypal", "pack_starter")
    network.act(order_id, "pay")
    network.paypal().complete_return(order_id)
    (event,) = network.issued(order_id)

    def verification_down(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/verify-webhook-signature"):
            return httpx.Response(503)
        return network.handle(request)

    with pytest.raises(errors.DependencyUnavailableError) as raised:
        parse(network.paypal(verification_down), event)
    assert raised.value.code == "service_unavailable"


def test_refused_credentials_are_a_dependency_unavailable(network):
    with pytest.raises(errors.DependencyUnavailableError):
        network.stripe(secret_key="sk_test_wrong").create_checkout(checkout_request())
    with pytest.raises(errors.DependencyUnavailableError):
        network.paypal(client_secret="wrong").create_checkout(checkout_request())
    with pytest.raises(errors.DependencyUnavailableError):
        network.creem(api_key="wrong").create_checkout(checkout_request())


# ------------------------------------------------------------------------------------------
# Built from the settings
# ------------------------------------------------------------------------------------------
@pytest.fixture
def fresh_registry() -> Iterator[None]:
    registry.forget_providers()
    yield
    registry.forget_providers()


def test_registry_builds_each_enabled_provider_once(fresh_registry, network):
    settings = Settings.from_environ(network.environment() | {"PAYMENT_PROVIDERS": "stripe,creem"})
    stripe = registry.provider_for("stripe", settings)
    assert registry.provider_for("stripe", settings) is stripe
    assert registry.provider_for("creem", settings).name == "creem"
    with pytest.raises(ProviderUnsupportedError):
        registry.provider_for("paypal", settings)
    with pytest.raises(ProviderUnsupportedError):
        registry.provider_for("bitcoin", Settings.from_environ({"PAYMENT_PROVIDERS": "bitcoin"}))


def test_registry_reads_named_secrets_from_ssm_only_when_needed(fresh_registry, network, monkeypatch):
    # Given a webhook secret named as an SSM parameter
    fetched: list[str] = []

    def get_secret(name: str) -> str:
        fetched.append(name)
        return {"/atelier/creem/webhook-secret": sandbox.CREEM_WEBHOOK_SECRET}[name]

    monkeypatch.setattr("atelier.integrations.secrets.get_secret", get_secret)
    environment = network.environment() | {
        "CREEM_WEBHOOK_SECRET": "",
        "CREEM_WEBHOOK_SECRET_PARAMETER": "/atelier/creem/webhook-secret",
    }
    creem = registry.provider_for("creem", Settings.from_environ(environment))
    assert fetched == []
    # When a webhook comes
    (event,) = network.events(network.checkout("creem", "pack_starter"), "pay")
    # Then the secret is fetched and verifies it
    assert parse(creem, event).kind is PaymentEventKind.PAYMENT_SUCCEEDED
    assert fetched == ["/atelier/creem/webhook-secret"]


def test_default_runtime_mounts_the_sandbox_and_points_the_adapters_at_it():
    stand_ins = {stand_in.prefix: stand_in for stand_in in default_stand_ins()}
    for prefix in ("/_local/checkout", "/_local/stripe", "/_local/paypal", "/_local/creem"):
        assert prefix in stand_ins
    hook = stand_ins["/_local/checkout"].environment
    assert hook is not None
    environment = hook("http://127.0.0.1:3000")
    settings = Settings.from_environ(environment)
    assert settings.billing.stripe_api_base == "http://127.0.0.1:3000/_local/stripe"
    assert settings.billing.stripe_webhook_secret == "whsec_atelier_local"
    assert settings.billing.checkout_success_url == "http://127.0.0.1:3000/billing?checkout=success"
    plan = next(item for item in settings.billing.catalog["plans"] if item["id"] == "plan_monthly")
    assert plan["provider_product_ids"]["creem"] == "prod_local_plan_monthly"


def test_adapters_over_real_http_with_their_default_clients():
    # Given the sandbox served on a local port, and adapters built from the settings it hands out
    receiver = WebhookReceiver()
    stand_ins = StandInRegistry()
    for stand_in in sandbox.LocalPaymentsSandbox(receiver, background_delay_seconds=0).stand_ins():
        stand_ins.mount(stand_in)

    def no_functions(function: str, event: dict) -> None:
        raise AssertionError("no function is deployed here")

    gateway = Gateway(Router([]), no_functions, stand_ins, "127.0.0.1", 0)
    gateway.start()
    registry.forget_providers()
    try:
        settings = Settings.from_environ(sandbox.local_payments_environment(gateway.url))
        with httpx.Client(base_url=gateway.url) as browser:
            for name, item_id in (("stripe", "plan_monthly"), ("paypal", "pack_starter"), ("creem", "pack_studio")):
                provider = registry.provider_for(name, settings)
                # When a checkout is created and paid
                created = provider.create_checkout(checkout_request(item_id, checkout_id=f"chk_{name}"))
                assert created.url.startswith(f"{gateway.url}/_local/checkout/")
                assert browser.get(created.url).status_code == 200
                events = browser.post(f"{created.url}/pay?deliver=false").json()["events"]
                if name == "paypal":
                    returned = provider.complete_return(created.provider_checkout_id)
                    assert returned is not None
                    kinds = [returned.kind]
                else:
                    kinds = [parse(provider, event).kind for event in events]
                # Then the money moves as the provider tells it
                assert PaymentEventKind.PAYMENT_SUCCEEDED in kinds or PaymentEventKind.PERIOD_PAID in kinds
    finally:
        registry.forget_providers()
        gateway.stop()
