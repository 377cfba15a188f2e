"""Hostile input, over real HTTP against the local runtime: every case answers the right 4xx in the
API's error shape (never a 5xx) and changes nothing stored.

"Changes nothing" is checked on the stored state itself: every item of every table and every object
of every bucket is read before and after (the queues drained first), and must be the same, except
what any request may touch by design (a session's last-seen time, a rate-limit counter).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import pytest

from atelier.data.accounts import AccountRepository
from atelier.settings import get_settings
from local import payments as sandbox
from local.emulator import emulator_client
from local.gateway import MAX_BODY_BYTES
from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in
from tests.support.log_guard import PROMPT_MARKER, secrets_in
from tests.support.money import give_credits

JSON = {"Content-Type": "application/json"}
FOREIGN_ORIGIN = "https://evil.example"


# -- stored state ---------------------------------------------------------------------------------
# Writes any request may make by design: an authenticated request refreshes its session's last-seen
# time, and rate limits count attempts. Anything else a refused request writes is a defect.
TOUCHED_BY_DESIGN = frozenset({"session", "session_token", "rate_counter"})


@dataclass(frozen=True)
class Stored:
    records: dict[tuple[str, ...], Any]

    def changes_since(self, before: Stored) -> list[str]:
        changed = []
        for key in sorted(self.records.keys() | before.records.keys()):
            old, new = before.records.get(key), self.records.get(key)
            if old != new and _entity(new if new is not None else old) not in TOUCHED_BY_DESIGN:
                state = "added" if old is None else "removed" if new is None else "changed"
                changed.append(f"{state} {'/'.join(key)} ({_entity(new if new is not None else old)})")
        return changed


def _entity(record: Any) -> str | None:
    if isinstance(record, dict) and "entity" in record:
        return str(next(iter(record["entity"].values())))
    return None


class StoreReader:
    def __init__(self, stack: LocalRuntime) -> None:
        self.stack = stack
        self.dynamodb = emulator_client("dynamodb", stack.emulator_url)
        self.s3 = emulator_client("s3", stack.emulator_url)
        self.keys = {
            table: [
                part["AttributeName"] for part in self.dynamodb.describe_table(TableName=table)["Table"]["KeySchema"]
            ]
            for table in stack.provisioned.tables
        }

    def read(self) -> Stored:
        self.stack.wait_until_queues_settle()
        records: dict[tuple[str, ...], Any] = {}
        for table, names in self.keys.items():
            for page in self.dynamodb.get_paginator("scan").paginate(TableName=table):
                for item in page["Items"]:
                    records[(table, *(str(next(iter(item[name].values()))) for name in names))] = item
        for bucket in self.stack.provisioned.buckets:
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for stored in page.get("Contents", []):
                    records[(bucket, stored["Key"])] = (stored["ETag"], stored["Size"])
        return Stored(records)

    def object_keys(self) -> list[str]:
        return [key[1] for key in self.read().records if key[0] in self.stack.provisioned.buckets]


@pytest.fixture(scope="module")
def store(stack: LocalRuntime) -> StoreReader:
    return StoreReader(stack)


@pytest.fixture
def unchanged(store: StoreReader) -> Iterator[None]:
    """The test's requests must all be refused without a trace."""
    before = store.read()
    yield
    assert store.read().changes_since(before) == []


def assert_refused(answer: httpx.Response, status: int | tuple[int, ...], code: str | None = None) -> None:
    statuses = (status,) if isinstance(status, int) else status
    assert answer.status_code in statuses, answer.text
    error = answer.json()["error"]
    assert set(error) == {"code", "message", "details"}, answer.text
    assert re.fullmatch(r"[a-z][a-z0-9_]*", error["code"]), answer.text
    assert isinstance(error["message"], str)
    assert error["message"]
    if code is not None:
        assert error["code"] == code, answer.text


# -- callers --------------------------------------------------------------------------------------
def member(stack: LocalRuntime, label: str) -> ApiClient:
    """A signed-in account that accepted the terms."""
    client = signed_in(stack.api_url, f"{label}-{uuid.uuid4().hex[:8]}@example.com")
    version = client.get("/v1/policies/terms").json()["version"]
    assert client.post("/v1/me/terms", json={"version": version, "age_confirmed": True}).status_code == 200
    return client


def fund(client: ApiClient, credits: int) -> None:
    account = AccountRepository().get(client.get("/v1/me").json()["id"])
    assert account is not None
    give_credits(account, credits)


def balance(client: ApiClient) -> int:
    credits: int = client.get("/v1/billing/balance").json()["credits"]
    return credits


def ledger(client: ApiClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/billing/ledger").json()["items"]
    return items


def prompt(text: str = "a lighthouse at dusk") -> str:
    """A prompt carrying the marker the log guard looks for."""
    return f"{text} {PROMPT_MARKER}"


@pytest.fixture(scope="module")
def ada(stack: LocalRuntime) -> Iterator[ApiClient]:
    client = member(stack, "ada")
    fund(client, 500)
    yield client
    client.close()


@pytest.fixture
def raw(stack: LocalRuntime) -> Iterator[httpx.Client]:
    """A client that sends exactly what it is given: no cookie, no Origin, no content type."""
    with httpx.Client(base_url=stack.api_url, follow_redirects=False, timeout=30) as client:
        yield client


# -- a listener that must never be called ---------------------------------------------------------
class Canary:
    """A local HTTP server standing in for an internal address: any request it gets is SSRF."""

    def __init__(self) -> None:
        hits: list[str] = []
        self.hits = hits

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                hits.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = do_PUT = _record

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def urls(self) -> list[str]:
        return [
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            f"http://127.0.0.1:{self.port}/internal",
            f"http://localhost:{self.port}/internal",
            f"http://[::1]:{self.port}/internal",
            f"http://2130706433:{self.port}/internal",
            "file:///etc/passwd",
            f"gopher://127.0.0.1:{self.port}/_internal",
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()
    assert listener.hits == [], "an internal address was fetched"


# =================================================================================================
# Size
# =================================================================================================
def test_a_body_over_the_gateway_limit_is_refused_with_413_before_any_function_runs(ada, unchanged):
    answer = ada.post("/v1/jobs", content=b"{" + b" " * MAX_BODY_BYTES + b"}", headers=JSON)
    assert_refused(answer, 413, "payload_too_large")


def test_a_chunked_body_over_the_gateway_limit_is_refused_with_413(ada, unchanged):
    def chunks() -> Iterator[bytes]:
        block = b" " * (1024 * 1024)
        yield b'{"name":"'
        for _ in range(MAX_BODY_BYTES // len(block) + 1):
            yield block

    answer = ada.http.post("/v1/workspaces", content=chunks(), headers=JSON | _session_headers(ada))
    assert_refused(answer, 413, "payload_too_large")


def _session_headers(client: ApiClient) -> dict[str, str]:
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return {"Cookie": cookie, "Origin": client.base_url}


def documented_max_length(stack: LocalRuntime, schema: str, field: str) -> int:
    document = httpx.get(f"{stack.api_url}/v1/openapi.json").json()
    length: int = document["components"]["schemas"][schema]["properties"][field]["maxLength"]
    return length


@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
def test_a_prompt_over_the_documented_length_is_refused(stack, ada, unchanged, field):
    limit = get_settings().generation.max_prompt_length
    body = {"kind": "image", "model": "local-image", "prompt": prompt()}
    body[field] = prompt() + "x" * limit
    answer = ada.post("/v1/jobs", json=body)
    assert_refused(answer, 422, "invalid_field")
    assert answer.json()["error"]["details"][0]["field"] == field


def test_the_documented_prompt_length_is_the_enforced_one(stack):
    assert documented_max_length(stack, "SubmitJobRequest", "prompt") == get_settings().generation.max_prompt_length


def test_a_prompt_filled_in_from_a_workflow_is_held_to_the_same_length(stack, ada, store):
    # Given a workflow whose template is short but whose variables make the prompt too long
    definition = {"kind": "image", "model": "local-image", "prompt_template": prompt("{a}{b}{c}{d}{e}")}
    workflow = ada.post("/v1/workflows", json={"name": "long", "definition": definition})
    assert workflow.status_code == 201, workflow.text
    run = f"/v1/workflows/{workflow.json()['id']}/versions/1/jobs"
    before, credits = store.read(), balance(ada)
    # When it is run
    answer = ada.post(run, json={"variables": dict.fromkeys("abcde", "y" * 500)})
    # Then the job is refused as any over-long prompt is, and nothing is held
    assert_refused(answer, 422)
    assert store.read().changes_since(before) == []
    assert balance(ada) == credits


OVER_LIMITS = [
    ("/v1/workspaces", {"name": "w" * 101}, "name"),
    ("/v1/me/api-keys", {"name": "k" * 101}, "name"),
    ("/v1/uploads", {"filename": "f" * 201 + ".png", "content_type": "image/png", "size_bytes": 10}, "filename"),
    ("/v1/reports", {"target_type": "asset", "target_id": "a" * 129, "reason": "spam"}, "target_id"),
    ("/v1/reports", {"target_type": "asset", "target_id": "ast_x", "reason": "spam", "details": "d" * 2001}, "details"),
    (
        "/v1/workflows",
        {"name": "n", "definition": {"kind": "image", "model": "m", "prompt_template": "p" * 2001}},
        "definition.prompt_template",
    ),
]


def test_names_and_texts_over_their_limits_are_refused(ada, unchanged):
    for path, body, field in OVER_LIMITS:
        answer = ada.post(path, json=body)
        assert_refused(answer, 422, "invalid_field")
        assert field in [detail["field"] for detail in answer.json()["error"]["details"]], (path, field)


# =================================================================================================
# Malformed bodies
# =================================================================================================
DEEP = 10_000


DEEPLY_NESTED = ["[" * DEEP + "]" * DEEP, '{"a":' * DEEP + "1" + "}" * DEEP, '{"name":' + "[" * DEEP + "]" * DEEP + "}"]


def test_deeply_nested_json_is_malformed_not_a_crash(ada, unchanged):
    for body in DEEPLY_NESTED:
        for method, path in (("POST", "/v1/workspaces"), ("PATCH", "/v1/me"), ("POST", "/v1/jobs")):
            assert_refused(ada.request(method, path, content=body.encode(), headers=JSON), 400, "malformed_request")


WEBHOOKS = ["stripe", "paypal", "creem", "providers/replicate", "providers/local"]


def test_deeply_nested_json_to_a_webhook_is_refused_not_a_crash(raw, unchanged):
    paypal_headers = {
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
        "PAYPAL-CERT-URL": "https://api.paypal.com/v1/notifications/certs/CERT",
        "PAYPAL-TRANSMISSION-ID": str(uuid.uuid4()),
        "PAYPAL-TRANSMISSION-SIG": base64.b64encode(b"x" * 256).decode(),
        "PAYPAL-TRANSMISSION-TIME": "2026-01-01T00:00:00Z",
    }
    for provider in WEBHOOKS:
        answer = raw.post(f"/v1/webhooks/{provider}", content=DEEPLY_NESTED[0].encode(), headers=JSON | paypal_headers)
        assert_refused(answer, 400, "invalid_signature")


NOT_AN_OBJECT = [b"", b"{", b"null", b"[]", b'"name"', b"{'name': 1}", b'{"name": NaN}', b'{"name": "a"}{}']


def test_bodies_that_are_not_a_json_object_are_refused(ada, unchanged):
    for body in NOT_AN_OBJECT:
        assert_refused(ada.post("/v1/workspaces", content=body, headers=JSON), (400, 422))


OTHER_CONTENT_TYPES = [
    ("text/plain", b'{"name": "plain"}'),
    ("text/plain;charset=UTF-8", b'{"name": "fetch default"}'),
    ("application/x-www-form-urlencoded", b"name=form"),
    (
        "multipart/form-data; boundary=b",
        b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nmulti\r\n--b--\r\n',
    ),
    ("application/xml", b"<name>xml</name>"),
    ("application/merge-patch+json", b'{"name": "suffix"}'),
    (None, b'{"name": "untyped"}'),
]


def test_a_json_route_refuses_every_other_content_type(ada, unchanged):
    for content_type, body in OTHER_CONTENT_TYPES:
        headers = {"Content-Type": content_type} if content_type else {}
        for method, path in (("POST", "/v1/workspaces"), ("POST", "/v1/me/api-keys"), ("PATCH", "/v1/me")):
            answer = ada.request(method, path, content=body, headers=headers)
            assert_refused(answer, 415, "unsupported_media_type")


def test_a_json_route_takes_json_with_a_charset(ada):
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        answer = ada.request("PATCH", "/v1/me", content=b'{"name": "Ada"}', headers={"Content-Type": content_type})
        assert answer.status_code == 200, answer.text


def test_invalid_utf8_reaches_the_function_as_replacement_characters_never_a_crash(ada):
    # API Gateway hands text bodies on as UTF-8 with U+FFFD in place of invalid bytes; the API
    # stores exactly what it was given.
    answer = ada.post("/v1/workspaces", content=b'{"name": "bad \xff\xfe bytes \xc3"}', headers=JSON)
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 201:
        assert answer.json()["name"] == "bad \ufffd\ufffd bytes \ufffd"


def test_invalid_utf8_to_a_webhook_is_refused(raw, unchanged):
    for provider in WEBHOOKS:
        answer = raw.post(f"/v1/webhooks/{provider}", content=b'{"id": "\xff\xfe"}', headers=JSON)
        assert_refused(answer, 400, "invalid_signature")


# =================================================================================================
# Unicode: stored verbatim or refused with 422; never a 5xx, never mangled
# =================================================================================================
UNICODE_EDGES = {
    "nul": "a\u0000b",
    "lone-surrogate": "\ud800",
    "rtl-override": "invoice\u202egnp.exe",
    "zero-width": "zero\u200bwidth\u200djoin\ufeff",
    "long-grapheme": "e" + "\u0301" * 99,
    "emoji": "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 \U0001f3f3\ufe0f\u200d\U0001f308",
    "combining-and-cjk": "Ze\u0301phyr \u65e5\u672c \u0645\u0631\u062d\u0628\u0627",
}


def _send_text(client: ApiClient, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    # json.dumps escapes a lone surrogate as "\ud800", as a hostile client would send it.
    return client.request(method, path, content=json.dumps(body).encode(), headers=JSON)


@pytest.mark.parametrize("text", UNICODE_EDGES.values(), ids=UNICODE_EDGES.keys())
def test_unicode_edge_cases_in_names_are_kept_verbatim_or_refused(ada, text):
    workspaces = len(ada.get("/v1/workspaces").json()["items"])
    created = _send_text(ada, "POST", "/v1/workspaces", {"name": text})
    key = _send_text(ada, "POST", "/v1/me/api-keys", {"name": text})
    for answer in (created, key):
        assert answer.status_code in (201, 422), answer.text
    if created.status_code == 201:
        workspace = ada.get(f"/v1/workspaces/{created.json()['id']}").json()
        assert workspace["name"] == text
        assert ada.request("DELETE", f"/v1/workspaces/{workspace['id']}").status_code in (200, 204)
    else:
        assert_refused(created, 422, "invalid_field")
    if key.status_code == 201:
        assert key.json()["name"] == text
        assert ada.request("DELETE", f"/v1/me/api-keys/{key.json()['id']}").status_code == 204
    assert len(ada.get("/v1/workspaces").json()["items"]) == workspaces


@pytest.mark.parametrize("text", UNICODE_EDGES.values(), ids=UNICODE_EDGES.keys())
def test_unicode_edge_cases_in_prompts_are_kept_verbatim_or_refused(ada, text):
    credits = balance(ada)
    answer = _send_text(ada, "POST", "/v1/jobs", {"kind": "image", "model": "local-image", "prompt": prompt(text)})
    assert answer.status_code in (202, 422), answer.text
    if answer.status_code == 422:
        assert_refused(answer, 422, "invalid_field")
        assert balance(ada) == credits
        return
    job = ada.get(f"/v1/jobs/{answer.json()['id']}").json()
    assert job["prompt"] == prompt(text).strip()
    # Jobs are limited in flight: this one makes way for the next (unless it has already finished)
    assert ada.post(f"/v1/jobs/{job['id']}/cancel").status_code in (200, 409)


def test_a_lone_surrogate_is_refused_wherever_text_is_taken(ada, unchanged):
    for method, path, body in (
        ("POST", "/v1/workspaces", {"name": "\udfff"}),
        ("PATCH", "/v1/me", {"name": "\ud83d"}),
        ("POST", "/v1/jobs", {"kind": "image", "model": "local-image", "prompt": prompt("\ud800")}),
        (
            "POST",
            "/v1/jobs",
            {"kind": "image", "model": "local-image", "prompt": prompt(), "negative_prompt": "\ud800"},
        ),
    ):
        assert_refused(_send_text(ada, method, path, body), 422, "invalid_field")


# =================================================================================================
# Payment webhooks: forged, wrong secret, stale, tampered, replayed
# =================================================================================================
@pytest.fixture
def buyer(stack: LocalRuntime) -> Iterator[ApiClient]:
    client = member(stack, "buyer")
    yield client
    client.close()


def start_checkout(buyer: ApiClient, provider: str, item_id: str = "pack_starter") -> str:
    answer = buyer.post("/v1/billing/checkout", json={"item_id": item_id, "provider": provider})
    assert answer.status_code == 201, answer.text
    return urlsplit(answer.json()["url"]).path


def undelivered_events(raw: httpx.Client, checkout_path: str) -> list[dict[str, Any]]:
    answer = raw.post(f"{checkout_path}/pay", params={"deliver": "false"})
    assert answer.status_code == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["events"]
    assert events
    return events


def deliver(raw: httpx.Client, event: dict[str, Any], *, body: str | None = None, **headers: str) -> httpx.Response:
    sent = {name: value for name, value in (event["headers"] | headers).items() if value}
    return raw.post(
        urlsplit(event["url"]).path, content=(event["body"] if body is None else body).encode(), headers=sent
    )


def _with_new_id(body: str, field: str = "id") -> str:
    payload = json.loads(body)
    payload[field] = f"evt_{uuid.uuid4().hex}"
    return json.dumps(payload)


def test_forged_stripe_events_grant_nothing(raw, buyer, store):
    path = start_checkout(buyer, "stripe")
    events = undelivered_events(raw, path)
    completed = next(event for event in events if "checkout.session.completed" in event["body"])
    body = completed["body"].encode()
    now = int(time.time())
    before = store.read()
    forgeries = {
        "forged signature": {"Stripe-Signature": f"t={now},v1={'0' * 64}"},
        "wrong secret": {"Stripe-Signature": sandbox.stripe_signature(body, "whsec_not_ours", now)},
        "stale timestamp": {
            "Stripe-Signature": sandbox.stripe_signature(body, sandbox.STRIPE_WEBHOOK_SECRET, now - 3600)
        },
        "no v1 scheme": {"Stripe-Signature": f"t={now},v0={'0' * 64}"},
        "no signature": {"Stripe-Signature": ""},
    }
    for name, headers in forgeries.items():
        answer = deliver(raw, completed, **headers)
        assert answer.status_code == 400, name
        assert_refused(answer, 400, "invalid_signature")
    tampered = completed["body"].replace("pack_starter", "pack_studio")
    assert_refused(deliver(raw, completed, body=tampered), 400, "invalid_signature")
    assert store.read().changes_since(before) == []
    assert balance(buyer) == 0


def test_a_replayed_stripe_event_grants_once(raw, buyer):
    path = start_checkout(buyer, "stripe")
    events = undelivered_events(raw, path)
    for event in events:
        assert deliver(raw, event).status_code == 200
    granted, entries = balance(buyer), len(ledger(buyer))
    assert granted == 100
    completed = next(event for event in events if "checkout.session.completed" in event["body"])
    body = completed["body"]
    renamed = _with_new_id(body)
    replays = [
        deliver(raw, completed),  # verbatim, inside the signature's tolerance
        # re-signed now: the same event id, with a valid signature
        deliver(raw, completed, **{"Stripe-Signature": sandbox.stripe_signature(body.encode())}),
        # the same payment under a new event id: credits are keyed on the payment, not the event
        deliver(raw, completed, body=renamed, **{"Stripe-Signature": sandbox.stripe_signature(renamed.encode())}),
    ]
    assert [answer.status_code for answer in replays] == [200, 200, 200]
    assert (balance(buyer), len(ledger(buyer))) == (granted, entries)


def test_forged_creem_events_grant_nothing(raw, buyer, store):
    path = start_checkout(buyer, "creem", "pack_studio")
    [completed, *_] = [event for event in undelivered_events(raw, path) if "checkout.completed" in event["body"]]
    body = completed["body"].encode()
    before = store.read()
    # Creem signs the body alone (no timestamp): replays are caught by the event inbox instead.
    for signature in ("0" * 64, sandbox.creem_signature(body, "whsec_not_ours"), "", "A" * 64):
        assert_refused(deliver(raw, completed, **{"creem-signature": signature}), 400, "invalid_signature")
    tampered = completed["body"].replace("pack_studio", "plan_yearly")
    assert_refused(deliver(raw, completed, body=tampered), 400, "invalid_signature")
    assert store.read().changes_since(before) == []
    assert balance(buyer) == 0


def test_a_replayed_creem_event_grants_once(raw, buyer):
    path = start_checkout(buyer, "creem", "pack_studio")
    events = undelivered_events(raw, path)
    for event in events:
        assert deliver(raw, event).status_code == 200
    granted, entries = balance(buyer), len(ledger(buyer))
    assert granted == 550
    completed = next(event for event in events if "checkout.completed" in event["body"])
    renamed = _with_new_id(completed["body"])
    replays = [
        deliver(raw, completed),
        deliver(raw, completed, body=renamed, **{"creem-signature": sandbox.creem_signature(renamed.encode())}),
    ]
    assert [answer.status_code for answer in replays] == [200, 200]
    assert (balance(buyer), len(ledger(buyer))) == (granted, entries)


def _paypal_signature_by_another_key(headers: dict[str, str], body: str) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = sandbox._paypal_message(
        headers["PAYPAL-TRANSMISSION-ID"], headers["PAYPAL-TRANSMISSION-TIME"], sandbox.PAYPAL_WEBHOOK_ID, body.encode()
    )
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def _paypal_purchase(raw: httpx.Client, buyer: ApiClient) -> list[dict[str, Any]]:
    """A PayPal order paid and captured (the capture's webhook delivered); answers its events."""
    path = start_checkout(buyer, "paypal")
    approved = raw.post(f"{path}/pay", content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert approved.status_code == 303
    back = urlsplit(approved.headers["location"])
    assert raw.get(f"{back.path}?{back.query}").status_code == 302
    deadline = time.monotonic() + 10
    while True:
        events: list[dict[str, Any]] = raw.get(f"{path}/events").json()["events"]
        if events and all(event.get("delivery_status") == 200 for event in events):
            return events
        assert time.monotonic() < deadline, events
        time.sleep(0.1)


def test_forged_and_replayed_paypal_events_grant_once(raw, buyer, canary, store):
    # Given a purchase PayPal has captured and notified
    [captured] = _paypal_purchase(raw, buyer)
    assert balance(buyer) == 100
    entries = len(ledger(buyer))
    headers = captured["headers"]
    body = captured["body"]
    before = store.read()
    # When forged copies arrive
    forgeries = {
        "forged signature": {"PAYPAL-TRANSMISSION-SIG": base64.b64encode(b"\0" * 256).decode()},
        "another key": {"PAYPAL-TRANSMISSION-SIG": _paypal_signature_by_another_key(headers, body)},
        "certificate elsewhere": {"PAYPAL-CERT-URL": f"http://127.0.0.1:{canary.port}/cert.pem"},
        "certificate at the metadata service": {"PAYPAL-CERT-URL": "http://169.254.169.254/latest/meta-data/"},
        "other webhook": {"PAYPAL-TRANSMISSION-ID": str(uuid.uuid4())},
        "other time": {"PAYPAL-TRANSMISSION-TIME": "2020-01-01T00:00:00Z"},
        "unsigned": {"PAYPAL-TRANSMISSION-SIG": ""},
    }
    for name, changed in forgeries.items():
        answer = deliver(raw, captured, **changed)
        assert answer.status_code == 400, name
        assert_refused(answer, 400, "invalid_signature")
    tampered = body.replace('"value":"', '"value":"9')
    assert_refused(deliver(raw, captured, body=tampered), 400, "invalid_signature")
    assert store.read().changes_since(before) == []
    # And when the genuine delivery is replayed
    assert deliver(raw, captured).status_code == 200
    # Then nothing more is granted, and the certificate URL a caller named was never fetched
    assert (balance(buyer), len(ledger(buyer))) == (100, entries)
    assert canary.hits == []


# =================================================================================================
# Inference provider callbacks: hints at most, and only when signed
# =================================================================================================
REPLICATE_SECRET = "whsec_" + base64.b64encode(b"atelier-hostile-input-test-key!!").decode()


@pytest.fixture(scope="module")
def replicate_secret(stack: LocalRuntime) -> str:
    """Replicate's signing secret, in the SSM parameter the deployed stack reads it from."""
    ssm = emulator_client("ssm", stack.emulator_url)
    ssm.put_parameter(
        Name=get_settings().inference.replicate_webhook_secret_parameter, Value=REPLICATE_SECRET, Type="SecureString"
    )
    return REPLICATE_SECRET


def replicate_delivery(
    body: bytes, *, secret: str, at: int | None = None, webhook_id: str | None = None
) -> dict[str, str]:
    from atelier.integrations.inference.replicate import sign

    stamp = str(int(time.time()) if at is None else at)
    delivery = webhook_id or f"msg_{uuid.uuid4().hex}"
    return JSON | {
        "webhook-id": delivery,
        "webhook-timestamp": stamp,
        "webhook-signature": sign(secret, delivery, stamp, body),
    }


def test_forged_replicate_callbacks_are_refused(raw, replicate_secret, canary, unchanged):
    body = json.dumps({"id": "pred_forged", "status": "succeeded", "output": [canary.urls()[1]]}).encode()
    now = int(time.time())
    forgeries = {
        "wrong secret": replicate_delivery(body, secret="whsec_" + base64.b64encode(b"x" * 32).decode()),
        "stale": replicate_delivery(body, secret=replicate_secret, at=now - 3600),
        "from the future": replicate_delivery(body, secret=replicate_secret, at=now + 3600),
        "forged": replicate_delivery(body, secret=replicate_secret) | {"webhook-signature": "v1," + "A" * 44},
        "unsigned": JSON | {"webhook-id": "msg_1", "webhook-timestamp": str(now)},
    }
    for name, headers in forgeries.items():
        answer = raw.post("/v1/webhooks/providers/replicate", content=body, headers=headers)
        assert answer.status_code == 400, name
        assert_refused(answer, 400, "invalid_signature")
    signed = replicate_delivery(body, secret=replicate_secret)
    tampered = body.replace(b"pred_forged", b"pred_other")
    assert_refused(raw.post("/v1/webhooks/providers/replicate", content=tampered, headers=signed), 400)


def test_a_signed_callback_replayed_is_only_ever_a_hint(raw, replicate_secret, canary, unchanged):
    # A signed callback about a prediction that is no job of ours, with an output at an internal address
    body = json.dumps({"id": "pred_unknown", "status": "succeeded", "output": [canary.urls()[1]]}).encode()
    headers = replicate_delivery(body, secret=replicate_secret)
    for _ in range(3):
        answer = raw.post("/v1/webhooks/providers/replicate", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"received": True, "known_job": False}
    assert canary.hits == []


def test_providers_that_send_no_signed_callbacks_have_every_callback_refused(raw, unchanged):
    body = json.dumps({"id": "job_x", "status": "COMPLETED", "output": {"image_url": "http://169.254.169.254/"}})
    for provider in ("runpod", "modelark", "openai", "local"):
        answer = raw.post(f"/v1/webhooks/providers/{provider}", content=body.encode(), headers=JSON)
        assert_refused(answer, 400, "invalid_signature")


def test_an_unknown_callback_provider_is_refused(raw, unchanged):
    for provider in ("evil", "..%2Fstripe", "replicate%00", "REPLICATE", "%2e%2e"):
        answer = raw.post(f"/v1/webhooks/providers/{provider}", content=b"{}", headers=JSON)
        assert_refused(answer, (404, 422))


# =================================================================================================
# Uploads that lie about their type or size
# =================================================================================================
def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


UNUSABLE_DECLARATIONS: list[dict[str, Any]] = [
    {"content_type": "image/svg+xml"},
    {"content_type": "text/html"},
    {"content_type": "image/png; charset=utf-8"},
    {"content_type": "application/octet-stream"},
    {"size_bytes": 0},
    {"size_bytes": -1},
    {"size_bytes": 10**20},
    {"size_bytes": 12.5},
    {"size_bytes": "ten"},
    {"filename": ""},
    {"filename": "a\u0000.png"},
]


def test_an_upload_declaring_an_unusable_type_or_size_is_refused(ada, unchanged):
    for declared in UNUSABLE_DECLARATIONS:
        body: dict[str, Any] = {"filename": "ref.png", "content_type": "image/png", "size_bytes": 1000} | declared
        assert_refused(ada.post("/v1/uploads", json=body), 422, "invalid_field")
    too_large = {
        "filename": "big.png",
        "content_type": "image/png",
        "size_bytes": get_settings().uploads.upload_max_bytes + 1,
    }
    assert_refused(ada.post("/v1/uploads", json=too_large), 413, "payload_too_large")


def _upload(client: ApiClient, content: bytes, declared_type: str, declared_size: int) -> str:
    started = client.post(
        "/v1/uploads", json={"filename": "ref.png", "content_type": declared_type, "size_bytes": declared_size}
    )
    assert started.status_code == 201, started.text
    form = started.json()["upload"]
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    # What S3 is told to hold the upload to (the emulator does not check presigned policies)
    assert ["content-length-range", 1, declared_size] in policy["conditions"]
    assert ["eq", "$Content-Type", declared_type] in policy["conditions"]
    sent = httpx.post(form["url"], data=form["fields"], files={"file": ("ref", content, declared_type)}, timeout=30)
    assert sent.status_code < 300, sent.text
    upload_id: str = started.json()["id"]
    return upload_id


def _finished(client: ApiClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while (job := client.get(f"/v1/jobs/{job_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    return job


@pytest.mark.parametrize(
    ("content", "declared_type", "declared_size"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/png", 200),
        (b"<html><script>alert(1)</script></html>", "image/jpeg", 200),
        (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4, "image/png", 200),
        (png_bytes(), "image/jpeg", 2000),
        (png_bytes((64, 64)), "image/png", 100),  # a real PNG, larger than it said it would be
    ],
    ids=["svg-as-png", "html-as-jpeg", "png-magic-only", "png-as-jpeg", "larger-than-declared"],
)
def test_a_reference_upload_that_lied_is_refused_at_submission_and_charges_nothing(
    stack, ada, content, declared_type, declared_size
):
    # Given an upload whose bytes are not what it declared
    upload_id = _upload(ada, content, declared_type, declared_size)
    credits = balance(ada)
    jobs_before = ada.get("/v1/jobs").json()["items"]
    # When a job uses it
    submitted = ada.post(
        "/v1/jobs",
        json={"kind": "image", "model": "local-image", "prompt": prompt(), "reference_upload_ids": [upload_id]},
    )
    # Then the job is refused at once on the upload (checked at first use), and nothing is made or held
    assert_refused(submitted, 422, "upload_rejected")
    assert ada.get("/v1/jobs").json()["items"] == jobs_before
    assert balance(ada) == credits


# =================================================================================================
# Path traversal: names never become keys, and ids never escape their account
# =================================================================================================
TRAVERSALS = [
    "../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "C:\\boot.ini",
    "%2e%2e%2f%2e%2e%2fetc",
    "..%2f..%2fetc",
    "..%5c..%5cetc",
    "....//....//etc",
    "ref.png\u0000.html",
]


@pytest.mark.parametrize("filename", TRAVERSALS)
def test_a_traversing_upload_filename_never_reaches_a_key(ada, store, filename):
    answer = ada.post("/v1/uploads", json={"filename": filename, "content_type": "image/png", "size_bytes": 10})
    assert answer.status_code in (201, 422), answer.text
    if answer.status_code == 422:
        assert_refused(answer, 422, "invalid_field")
        return
    # Accepted as a label only: the object key is made of ids, under the account's own prefix
    fields = answer.json()["upload"]["fields"]
    account_id = ada.get("/v1/me").json()["id"]
    assert fields["key"] == f"accounts/{account_id}/uploads/{answer.json()['id']}"


def test_names_with_traversal_are_stored_as_names_and_no_key_holds_them(ada, store):
    for name in TRAVERSALS[:4]:
        created = ada.post("/v1/workspaces", json={"name": name})
        assert created.status_code in (201, 422), created.text
        if created.status_code == 201:
            assert created.json()["name"] == name
    assert not [key for key in store.object_keys() if ".." in key or "\\" in key or "//" in key]


# ".." itself never leaves the client: HTTP clients remove dot segments before sending.
TRAVERSING_IDS = [
    "..%2F..%2Faccounts",
    "%2e%2e",
    "ast_..%5c..%5c",
    quote("../../../etc/passwd", safe=""),
    "ast_" + "0" * 26 + "%00",
    "%252e%252e%252f",
]


def test_traversing_ids_in_paths_find_nothing_and_delete_nothing(ada, unchanged):
    for identifier, (method, path) in itertools.product(
        TRAVERSING_IDS,
        (
            ("GET", "/v1/assets/{identifier}"),
            ("DELETE", "/v1/assets/{identifier}"),
            ("PATCH", "/v1/assets/{identifier}"),
            ("GET", "/v1/jobs/{identifier}"),
            ("GET", "/v1/me/exports/{identifier}"),
            ("DELETE", "/v1/shares/{identifier}"),
            ("GET", "/v1/s/{identifier}"),
            ("DELETE", "/v1/workspaces/{identifier}"),
        ),
    ):
        answer = ada.request(method, path.format(identifier=identifier), json={} if method == "PATCH" else None)
        assert_refused(answer, (400, 404, 422))


# =================================================================================================
# SSRF: no URL a client gives is ever fetched, and only same-site paths are ever redirected to
# =================================================================================================
REDIRECT_TARGETS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "http:evil.example",
    "javascript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "/\r\nSet-Cookie: x=1",
    "/\t/evil.example",
    " //evil.example",
]


INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:9/internal",
    "http://localhost/internal",
    "http://[::1]/internal",
    "http://2130706433/internal",
    "file:///etc/passwd",
    "gopher://127.0.0.1:9/_internal",
]


def test_login_redirects_only_to_same_site_paths(raw, unchanged):
    for target in REDIRECT_TARGETS + INTERNAL_URLS:
        answer = raw.get(f"/v1/auth/login?{urlencode({'redirect_to': target, 'login_hint': 'x@example.com'})}")
        assert_refused(answer, 422, "invalid_field")
        assert "location" not in answer.headers, target


@pytest.mark.parametrize("path", ["/studio?tab=library", "/%0d%0aSet-Cookie:%20x=1", "/%2F%2Fevil.example"])
def test_a_same_site_path_is_where_sign_in_returns_still_encoded(stack, path):
    client = ApiClient(stack.api_url)
    answer = client.sign_in(f"back-{uuid.uuid4().hex[:6]}@example.com", redirect_to=path)
    assert answer.status_code == 302
    # Percent-encoded, a CR LF or a slash stays inside the path: no header, no other host
    assert answer.headers["location"] == path
    assert "set-cookie: x" not in str(answer.headers).lower()


URL_BEARING_BODIES = [
    ("POST", "/v1/jobs", {"kind": "image", "model": "local-image", "prompt": prompt(), "image_url": "{url}"}),
    ("POST", "/v1/jobs", {"kind": "image", "model": "local-image", "prompt": prompt(), "callback_url": "{url}"}),
    ("POST", "/v1/jobs", {"kind": "image", "model": "local-image", "prompt": prompt(), "webhook": "{url}"}),
    ("POST", "/v1/jobs", {"kind": "image", "model": "local-image", "prompt": prompt(), "params": {"image": "{url}"}}),
    (
        "POST",
        "/v1/jobs",
        {"kind": "image", "model": "local-image", "prompt": prompt(), "reference_upload_ids": ["{url}"]},
    ),
    ("POST", "/v1/jobs", {"kind": "image", "model": "gpt-image-1", "prompt": prompt(), "params": {"size": "{url}"}}),
    ("PATCH", "/v1/me", {"picture_url": "{url}"}),
    ("POST", "/v1/billing/checkout", {"item_id": "pack_starter", "provider": "stripe", "success_url": "{url}"}),
    ("POST", "/v1/shares", {"target_type": "asset", "target_id": "ast_x", "url": "{url}"}),
    ("POST", "/v1/uploads", {"filename": "{url}", "content_type": "image/png", "size_bytes": 10, "url": "{url}"}),
]


def test_urls_in_request_bodies_are_refused(ada, canary, unchanged):
    for (method, path, body), url in itertools.product(URL_BEARING_BODIES, canary.urls()):
        filled = json.loads(json.dumps(body).replace("{url}", url))
        assert_refused(ada.request(method, path, json=filled), 422)


@pytest.mark.parametrize(
    "forwarded", [{"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"}, {"Forwarded": "host=evil.example"}]
)
def test_links_the_api_hands_out_never_follow_a_forged_host(stack, ada, forwarded):
    own_host = urlsplit(stack.api_url).netloc
    login = ada.request("GET", "/v1/auth/login", headers=forwarded)
    redirect_uri = parse_qs(urlsplit(login.headers["location"]).query)["redirect_uri"][0]
    checkout = ada.post(
        "/v1/billing/checkout", json={"item_id": "pack_starter", "provider": "stripe"}, headers=forwarded
    )
    assert checkout.status_code == 201, checkout.text
    job = ada.post(
        "/v1/jobs",
        json={"kind": "image", "model": "local-image", "prompt": prompt()},
        headers={"Idempotency-Key": "share-host"},
    )
    asset_id = _finished(ada, job.json()["id"])["outputs"][0]
    share = ada.post("/v1/shares", json={"target_type": "asset", "target_id": asset_id}, headers=forwarded)
    assert share.status_code == 201, share.text
    for url in (redirect_uri, checkout.json()["url"], share.json()["url"]):
        assert "evil.example" not in url
        assert urlsplit(url).netloc == own_host


# =================================================================================================
# Cookies and cross-site requests
# =================================================================================================
def _cookie_attributes(header: str) -> tuple[str, dict[str, str]]:
    pair, *attributes = [part.strip() for part in header.split(";")]
    name = pair.split("=", 1)[0]
    parsed = {}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        parsed[key.lower()] = value
    return name, parsed


def test_every_cookie_set_is_host_only_secure_http_only_and_same_site(stack):
    client = ApiClient(stack.api_url)
    client.sign_in(f"cookies-{uuid.uuid4().hex[:6]}@example.com")
    assert client.post("/v1/auth/logout").status_code == 204
    seen = [_cookie_attributes(header) for header in client.set_cookie_headers]
    assert {name for name, _ in seen} == {"__Host-session", "__Host-signin"}
    for name, attributes in seen:
        assert name.startswith("__Host-")
        assert "secure" in attributes
        assert "httponly" in attributes
        assert attributes.get("samesite", "").lower() in ("lax", "strict")
        assert attributes.get("path") == "/"
        assert "domain" not in attributes


# Every unsafe route a browser could reach with the session cookie, with a body that would succeed
# if the cookie were enough. New routes must be added here (the first test says so).
CSRF_BODIES: dict[tuple[str, str], dict[str, Any] | None] = {
    ("POST", "/v1/auth/logout"): None,
    ("POST", "/v1/auth/logout-all"): None,
    ("POST", "/v1/me/api-keys"): {"name": "csrf"},
    ("DELETE", "/v1/me/api-keys/{api_key_id}"): None,
    ("PATCH", "/v1/me"): {"name": "Mallory"},
    ("POST", "/v1/me/email-confirmations"): {"token": "csrf"},
    ("PUT", "/v1/me/consent"): {"marketing_emails": True},
    ("PUT", "/v1/me/picture"): {"upload_id": "upl_csrf"},
    ("DELETE", "/v1/me/picture"): None,
    ("POST", "/v1/me/terms"): {"version": "v1", "age_confirmed": True},
    ("POST", "/v1/me/exports"): None,
    ("POST", "/v1/me/deletion"): None,
    ("DELETE", "/v1/me/deletion"): None,
    ("POST", "/v1/workspaces"): {"name": "csrf"},
    ("PATCH", "/v1/workspaces/{workspace_id}"): {"name": "csrf"},
    ("DELETE", "/v1/workspaces/{workspace_id}"): None,
    ("POST", "/v1/billing/checkout"): {"item_id": "pack_starter", "provider": "stripe"},
    ("PUT", "/v1/billing/spend-cap"): {"monthly_credits": 1},
    ("POST", "/v1/uploads"): {"filename": "x.png", "content_type": "image/png", "size_bytes": 10},
    ("POST", "/v1/jobs"): {"kind": "image", "model": "local-image", "prompt": "csrf " + PROMPT_MARKER},
    ("POST", "/v1/jobs/{job_id}/cancel"): None,
    ("PATCH", "/v1/assets/{asset_id}"): {"visibility": "public"},
    ("DELETE", "/v1/assets/{asset_id}"): None,
    ("POST", "/v1/workflows"): {
        "name": "csrf",
        "definition": {"kind": "image", "model": "local-image", "prompt_template": "csrf " + PROMPT_MARKER},
    },
    ("PATCH", "/v1/workflows/{workflow_id}"): {"visibility": "public"},
    ("POST", "/v1/workflows/{workflow_id}/versions"): {
        "note": "csrf",
        "definition": {"kind": "image", "model": "local-image", "prompt_template": "csrf " + PROMPT_MARKER},
    },
    ("POST", "/v1/workflows/{workflow_id}/fork"): {},
    ("POST", "/v1/workflows/{workflow_id}/versions/{version}/jobs"): {"variables": {}},
    ("POST", "/v1/shares"): {"target_type": "asset", "target_id": "ast_x"},
    ("DELETE", "/v1/shares/{share_id}"): None,
    ("POST", "/v1/reports"): {"target_type": "asset", "target_id": "ast_x", "reason": "spam"},
    ("POST", "/v1/admin/reports/{report_id}/resolve"): {"action": "dismiss", "note": "csrf"},
    ("POST", "/v1/admin/accounts/{account_id}/lift-suspension"): {"note": "csrf"},
    ("POST", "/v1/webhook-endpoints"): {"url": "https://example.com/hook", "events": ["job.succeeded"]},
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): {"enabled": False},
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): None,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): None,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"): None,
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/test"): None,
    ("POST", "/v1/admin/policies"): {
        "kind": "terms",
        "version": "csrf",
        "summary": "csrf",
        "material": False,
        "effective_at": "2030-01-01T00:00:00Z",
    },
}
# Routes no cookie authorises: the providers sign what they send, and the signature is checked.
SIGNED_ROUTES = {
    "/v1/webhooks/stripe",
    "/v1/webhooks/paypal",
    "/v1/webhooks/creem",
    "/v1/webhooks/providers/{provider}",
}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def test_every_unsafe_cookie_route_is_in_the_cross_site_table(stack):
    unsafe = {(method, path) for method, path, _ in stack.routes if method in UNSAFE and path not in SIGNED_ROUTES}
    assert unsafe == set(CSRF_BODIES)


def _concrete(path: str) -> str:
    values = {"{version}": "1", "{provider}": "stripe"}
    for placeholder, value in values.items():
        path = path.replace(placeholder, value)
    while "{" in path:
        start = path.index("{")
        path = path[:start] + "x_00000000000000000000000000" + path[path.index("}") + 1 :]
    return path


def test_a_cookie_request_from_another_origin_is_refused_and_writes_nothing(stack, ada, raw, unchanged):
    origins = [FOREIGN_ORIGIN, None, "null", f"{stack.api_url}.evil.example"]
    for origin, ((method, path), body) in itertools.product(origins, CSRF_BODIES.items()):
        headers = {"Cookie": _session_headers(ada)["Cookie"]} | ({"Origin": origin} if origin else {})
        if body is not None:
            headers |= JSON
        answer = raw.request(
            method, _concrete(path), content=json.dumps(body) if body is not None else None, headers=headers
        )
        assert answer.status_code == 403, f"{origin} {method} {path}: {answer.status_code} {answer.text}"
        assert answer.json()["error"]["code"] == "forbidden_origin"
    # And the session still works from its own origin
    assert ada.get("/v1/me").status_code == 200


def test_a_preflight_from_a_foreign_origin_gets_no_cors_grant(stack, raw):
    # (Every route's answer to a foreign Origin is checked for CORS grants in test_security_headers.)
    for route_method, path, _ in stack.routes:
        headers = {"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": route_method}
        answer = raw.options(_concrete(path), headers=headers)
        # Answered as a preflight (browser-facing paths) or not at all (webhooks): never a grant.
        assert answer.status_code in (204, 404), (path, answer.text)
        granted = {name for name in answer.headers if name.lower().startswith("access-control-")}
        assert granted == set(), path


# =================================================================================================
# The log guard itself (tests/support/log_guard.py), which watches every test
# =================================================================================================
@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ('{"message":"created","key":"atk_Zx9-aQ3LmN8pRt2VwY5bC7dE"}', "API key"),
        ("cookie __Host-session=ats_3DkiQKjmTCl-gf3xHkuo5tucYBMsEv6yj2ELz8H2ivE", "session token"),
        ("Authorization: Bearer abc.def-ghi_jkl", "bearer credential"),
        ("stripe secret sk_live_51HxYzAbCdEf", "payment provider secret"),
        ("creem whsec_creem_atelier_local", "payment provider secret"),
        ("signing with atelier-local-paypal-secret", "configured secret"),
        ('{"id_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln"}', "JWT (an OIDC id_token)"),
        ('{"to":"private.person@example.com"}', "email address"),
        ("/v1/s/q2Zr8Xv0bT5nLm3Kc9WdYa7JhPs1FgUe4RiOt6Ny2Bx", "random token (share link, sign-in state, code)"),
        (f'{{"prompt":"a cat {PROMPT_MARKER}"}}', "prompt"),
    ],
)
def test_the_log_guard_recognises_every_kind_of_secret(line, kind):
    assert kind in secrets_in(line)


@pytest.mark.parametrize(
    "line",
    [
        '{"level":"INFO","message":"request","http":{"method":"POST","route":"/v1/s/{token}","status":201,'
        '"request_id":"6b75a722-3bc1-4c3c-a94e-3177f7ee6ddd","client_network":"127.0.0.0"}}',
        '{"message":"signed in","account_id":"acct_01m7znwt1v98ctvdmqpmtew7yd",'
        '"job_id":"job_01m7zp2g39wgshg15b78vncarx"}',
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 of the archive",
        "function_arn arn:aws:lambda:us-east-1:123456789012:function:atelier-local-auth",
        '{"key_prefix":"atk_AbCd","event_type":"checkout.session.completed"}',
        "test_a_replayed_body_with_a_forged_or_stale_signature_credits_nothing",
    ],
)
def test_the_log_guard_lets_operational_lines_through(line):
    assert secrets_in(line) == []


def test_the_log_guard_fails_the_test_during_which_a_secret_was_logged(pytester, monkeypatch):
    # Given a session of two tests under the guard, one of which logs a session token
    root = Path(__file__).resolve().parents[2]
    pytester.makeconftest(
        f"""
import sys
sys.path[:0] = [{str(root)!r}, {str(root / "shared")!r}]
from tests.support.log_guard import LogGuard

def pytest_configure(config):
    guard = LogGuard()
    guard.start()
    config.pluginmanager.register(guard, "atelier-log-guard")
"""
    )
    pytester.makepyfile(
        """
import logging

def test_leaks():
    logging.getLogger("atelier.sessions").warning("opened ats_3DkiQKjmTCl-gf3xHkuo5tucYBMsEv6yj2ELz8H2ivE")

def test_keeps_quiet():
    logging.getLogger("atelier.sessions").warning("opened a session")
"""
    )
    # When it runs (without the installed plugins, which only slow its start)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # Then the leaking test fails, naming the kind of secret and cutting the secret short, and the
    # other passes
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_leaks*", "*atelier.sessions: session token*", "*opened ats_…"])


def test_the_log_guard_is_watching(request):
    guard = request.config.pluginmanager.get_plugin("atelier-log-guard")
    scanned = guard.lines_scanned
    logging.getLogger("atelier.test").warning("a line for the guard")
    assert guard.lines_scanned == scanned + 1


def test_a_sent_prompt_is_never_logged(ada):
    # The guard fails this test if the marker (in every prompt this module sends) reaches a log line.
    answer = ada.post("/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": prompt("blocked-check")})
    assert answer.status_code == 202, answer.text
    assert _finished(ada, answer.json()["id"])["status"] == "succeeded"


def test_a_hashed_token_is_not_mistaken_for_the_token():
    token = "q2Zr8Xv0bT5nLm3Kc9WdYa7JhPs1FgUe4RiOt6Ny2Bx"
    assert secrets_in(hashlib.sha256(token.encode()).hexdigest()) == []
    assert secrets_in(hmac.new(b"k", token.encode(), hashlib.sha256).hexdigest()) == []
