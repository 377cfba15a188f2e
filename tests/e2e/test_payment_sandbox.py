"""Buying credits through the local payments sandbox over real HTTP: the sandbox's webhooks,
signed as each provider signs them, reach Atelier's webhook routes and move money exactly once."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.client import ApiClient, signed_in

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
