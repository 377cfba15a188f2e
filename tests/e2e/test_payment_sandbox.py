"""Buying credits through the local payments sandbox over real HTTP: the sandbox's webhooks,
signed as each provider signs them, reach Atelier's webhook routes and move money exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from local import payments as sandbox
from tests.support.client import ApiClient, signed_in
from tests.support.invariants import read_platform_state

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def buyer(stack):
    client = signed_in(stack.api_url, f"buyer-{time.monotonic_ns()}@example.com")
    version = client.get("/v1/policies/terms").json()["version"]
    assert client.post("/v1/me/terms", json={"version": version, "age_confirmed": True}).status_code == 200
    yield client
    client.close()


@pytest.fixture
def browser(stack):
    with httpx.Client(base_url=stack.api_url, follow_redirects=False, timeout=30) as client:
        yield client


def start(buyer: ApiClient, item_id: str, provider: str) -> str:
    answer = buyer.post("/v1/billing/checkout", json={"item_id": item_id, "provider": provider})
    assert answer.status_code == 201, answer.text
    url = answer.json()["url"]
    assert "/_local/checkout/" in url
    return urlsplit(url).path


def credits(buyer: ApiClient) -> int:
    balance: int = buyer.get("/v1/billing/balance").json()["credits"]
    return balance


def eventually(check: Callable[[], Any], expected: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while (value := check()) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert value == expected


@pytest.mark.parametrize(
    ("provider", "item_id", "granted"), [("stripe", "pack_starter", 100), ("creem", "pack_studio", 550)]
)
def test_paying_on_the_sandbox_page_grants_the_pack_once(buyer, browser, provider, item_id, granted):
    # Given a checkout started through the API
    page = start(buyer, item_id, provider)
    assert browser.get(page).status_code == 200
    # When the buyer pays on the sandbox's page
    paid = browser.post(f"{page}/pay", content=b"", headers=FORM)
    # Then they are sent back through Atelier, and the webhooks granted the pack
    assert paid.status_code == 303
    assert f"/v1/billing/return/{provider}" in paid.headers["location"]
    assert credits(buyer) == granted
    # And the same events delivered again grant nothing more
    for event in browser.get(f"{page}/events").json()["events"]:
        again = browser.post(urlsplit(event["url"]).path, content=event["body"], headers=event["headers"])
        assert again.status_code == 200, again.text
    assert credits(buyer) == granted


def test_a_stripe_plan_grants_each_period_and_a_refund_claws_back(buyer, browser):
    page = start(buyer, "plan_monthly", "stripe")
    assert browser.post(f"{page}/pay").status_code == 200
    assert credits(buyer) == 400
    assert buyer.get("/v1/billing/subscription").json()["status"] == "active"
    renewed = browser.post(f"{page}/renew").json()["delivered"]
    assert [(d["type"], d["status"]) for d in renewed] == [("invoice.paid", 200)]
    assert credits(buyer) == 800
    # A refund of the latest period takes its credits back
    refunded = browser.post(f"{page}/refund").json()["delivered"]
    assert [(d["type"], d["status"]) for d in refunded] == [("charge.refunded", 200)]
    assert credits(buyer) == 400


def test_paypal_captures_on_return_and_its_webhook_grants_nothing_more(buyer, browser):
    # Given an order approved on the sandbox's page
    page = start(buyer, "pack_starter", "paypal")
    approved = browser.post(f"{page}/pay", content=b"", headers=FORM)
    assert approved.status_code == 303
    back = urlsplit(approved.headers["location"])
    assert back.path == "/v1/billing/return/paypal"
    # When the browser comes back to Atelier, which captures
    returned = browser.get(f"{back.path}?{back.query}")
    assert returned.status_code == 302
    # Then the pack is granted, and PayPal's capture webhook (sent after) changes nothing
    assert credits(buyer) == 100
    # (the sandbox delivers it in the background)
    eventually(lambda: [e["delivery_status"] for e in browser.get(f"{page}/events").json()["events"]], [200])
    assert credits(buyer) == 100
    # And a dispute claws the credits back
    assert [d["status"] for d in browser.post(f"{page}/dispute").json()["delivered"]] == [200]
    assert credits(buyer) == 0


def test_an_unsigned_webhook_is_refused(browser):
    body = b'{"id":"evt_x","eventType":"checkout.completed","object":{}}'
    answer = browser.post("/v1/webhooks/creem", content=body, headers={"creem-signature": "0" * 64})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize(
    ("provider", "item_id", "granted"), [("stripe", "pack_starter", 100), ("creem", "pack_studio", 550)]
)
def test_every_signed_event_of_a_purchase_three_times_shuffled_credits_once(buyer, browser, provider, item_id, granted):
    import random

    # Given the provider's real, signed events for one purchase, not yet delivered
    path = start(buyer, item_id, provider)
    events = browser.post(f"{path}/pay", params={"deliver": "false"}).json()["events"]
    assert events
    # When each is delivered three times, in a shuffled order
    deliveries = events * 3
    random.Random(11).shuffle(deliveries)
    for event in deliveries:
        answer = browser.post(urlsplit(event["url"]).path, content=event["body"], headers=event["headers"])
        assert answer.status_code == 200, answer.text
    # Then the pack is credited exactly once, and the ledger says so
    assert credits(buyer) == granted
    purchases = [e for e in buyer.get("/v1/billing/ledger").json()["items"] if e["kind"] == "purchase"]
    assert [e["credits"] for e in purchases] == [granted]


def test_a_replayed_body_with_a_forged_or_stale_signature_credits_nothing(buyer, browser):
    path = start(buyer, "pack_starter", "stripe")
    [completed, *_] = browser.post(f"{path}/pay", params={"deliver": "false"}).json()["events"]
    headers = dict(completed["headers"])
    timestamp, signature = (part.split("=", 1)[1] for part in headers["Stripe-Signature"].split(","))
    forged = {**headers, "Stripe-Signature": f"t={timestamp},v1={'0' * 64}"}
    stale = {**headers, "Stripe-Signature": f"t={int(timestamp) - 3600},v1={signature}"}
    tampered_body = completed["body"].replace("pack_starter", "pack_studio")
    for sent_headers, body in ((forged, completed["body"]), (stale, completed["body"]), (headers, tampered_body)):
        answer = browser.post("/v1/webhooks/stripe", content=body, headers=sent_headers)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "invalid_signature"
    assert credits(buyer) == 0


def test_a_half_refund_of_a_creem_period_paid_with_tax_takes_back_half_its_credits(buyer, browser):
    # Given a monthly plan (400 credits) paid at Creem with 21% tax on top, its order without
    # amount_paid and its subscription.paid naming only the price before tax (24.99), as Creem sends them
    page = start(buyer, "plan_monthly", "creem")
    paid = browser.post(f"{page}/pay", json={"tax_percent": 21, "amount_paid": False}).json()["delivered"]
    assert [(d["type"], d["status"]) for d in paid] == [("checkout.completed", 200), ("subscription.paid", 200)]
    assert credits(buyer) == 400
    # When half of the 30.24 paid is refunded
    refunded = browser.post(f"{page}/refund", json={"amount_minor": 1512}).json()["delivered"]
    assert [(d["type"], d["status"]) for d in refunded] == [("refund.created", 200)]
    # Then half the credits go (not 243)
    assert credits(buyer) == 200
    ledger = buyer.get("/v1/billing/ledger").json()["items"]
    grant = next(entry for entry in ledger if entry["kind"] == "subscription_grant")
    assert grant["amount"] == {"value_minor": 3024, "currency": "usd"}


def test_a_stripe_dispute_naming_only_its_charge_claws_back_the_pack(buyer, browser):
    # Given a pack bought through Stripe
    page = start(buyer, "pack_starter", "stripe")
    assert browser.post(f"{page}/pay").status_code == 200
    assert credits(buyer) == 100
    # When a dispute names its charge and no payment intent
    disputed = browser.post(f"{page}/dispute", json={"charge_only": True}).json()["delivered"]
    # Then it is answered 200 (not 503 forever) and the credits are clawed back
    assert [(d["type"], d["status"]) for d in disputed] == [("charge.dispute.created", 200)]
    assert credits(buyer) == 0


def test_a_paypal_capture_without_our_custom_id_is_acknowledged_and_kept_for_an_operator(stack, browser):
    # Given a PayPal order made without our custom_id (not through Atelier's checkout), approved
    token = browser.post(
        "/_local/paypal/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(sandbox.PAYPAL_CLIENT_ID, sandbox.PAYPAL_CLIENT_SECRET),
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    order = browser.post(
        "/_local/paypal/v2/checkout/orders",
        headers=bearer,
        json={
            "intent": "CAPTURE",
            "purchase_units": [{"amount": {"currency_code": "USD", "value": "9.99"}}],
            "application_context": {"return_url": f"{stack.api_url}/_local/checkout/done"},
        },
    ).json()
    assert browser.post(f"/_local/checkout/{order['id']}/pay", content=b"", headers=FORM).status_code == 303
    # When it is captured, and PayPal delivers PAYMENT.CAPTURE.COMPLETED
    captured = browser.post(f"/_local/paypal/v2/checkout/orders/{order['id']}/capture", headers=bearer, json={})
    assert captured.status_code == 201
    eventually(
        lambda: [e["delivery_status"] for e in browser.get(f"/_local/checkout/{order['id']}/events").json()["events"]],
        [200],
    )
    # Then the webhook was acknowledged (PayPal stops retrying) and the payment is kept for an operator
    kept = read_platform_state(stack.emulator_url).entities("unmatched_payment")
    assert [(item["provider"], item["payment_key"], item["reason"]) for item in kept] == [
        ("paypal", order["id"], "no_account")
    ]
