"""Fuzzing the HTTP API from the OpenAPI document it serves (GET /v1/openapi.json).

Every operation is sent schema-valid (positive) and schema-invalid (negative) cases, anonymously
and with an API key of an account that has accepted the terms and holds credits. Every answer must
be free of server errors, documented (status, content type, body schema), in the one error shape
when it is a 4xx, and a refused request must write nothing (see tests/support/fuzz.py).

The bounded run is part of `make test`; the long one, with many more cases, of `make verify`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis

from atelier.api import openapi
from atelier.api.access import API_KEY_SCHEME, SESSION_SCHEME
from atelier.data.accounts import AccountRepository
from atelier.models.accounts import Scope
from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in
from tests.support.fuzz import (
    Caller,
    Fuzzer,
    FuzzReport,
    Ignored,
    RightfulRefusal,
    StoreReader,
    changes_between,
    operations_of,
)
from tests.support.money import give_credits

BOUNDED_EXAMPLES = 5
LONG_EXAMPLES = 25
FUZZ_CREDITS = 100_000


SIGNATURE = RightfulRefusal(
    400,
    "Webhooks check the provider's signature over the raw body first; nothing the fuzzer sends is signed.",
    codes=frozenset({"invalid_signature"}),
)
MODEL_CATALOGUE = RightfulRefusal(
    422,
    "Models and their parameters are configuration (MODELS), listed at run time by GET /v1/models.",
    fields=frozenset({"model", "kind", "definition.kind", "params", "reference_upload_ids"}),
)

PUBLIC_ADDRESS = RightfulRefusal(
    422,
    "A webhook receiver must be on a public https address, which DNS and address ranges decide, not a schema.",
    fields=frozenset({"url", "webhook_url"}),
)
CANCEL_AFTER_RANGE = RightfulRefusal(
    422, "Cancel-After must add up to between 1 second and 24 hours.", fields=frozenset({"Cancel-After"})
)

# Schema-valid requests the API rightly refuses, by operation: what would make them acceptable is
# not, and cannot be, in the document. Only these answers are excused from the positive-data check.
RIGHTFUL_REFUSALS: dict[str, list[RightfulRefusal]] = {
    "POST /v1/webhooks/stripe": [SIGNATURE],
    "POST /v1/webhooks/paypal": [SIGNATURE],
    "POST /v1/webhooks/creem": [SIGNATURE],
    "POST /v1/webhooks/providers/{provider}": [SIGNATURE],
    "GET /v1/auth/callback": [
        RightfulRefusal(
            400,
            "The code and state are issued by the identity provider and by the login that started the sign-in.",
            codes=frozenset({"sign_in_failed"}),
        )
    ],
    "GET /v1/auth/login": [
        RightfulRefusal(422, "Identity providers are configuration (OIDC_PROVIDERS).", fields=frozenset({"provider"}))
    ],
    "POST /v1/billing/checkout": [
        RightfulRefusal(
            422,
            "Packs, plans and payment providers are configuration (CATALOG, PAYMENT_PROVIDERS), listed at run "
            "time by GET /v1/billing/catalog.",
            fields=frozenset({"item_id", "provider"}),
        )
    ],
    "GET /v1/gallery": [
        RightfulRefusal(
            422,
            "A gallery cursor is a position the API itself encoded; a made-up one names no position.",
            fields=frozenset({"cursor"}),
        )
    ],
    "POST /v1/me/email-confirmations": [
        RightfulRefusal(
            422,
            "A confirmation token is one the API emailed to a new address; a made-up one confirms nothing.",
            codes=frozenset({"email_confirmation_invalid"}),
        )
    ],
    "POST /v1/jobs": [MODEL_CATALOGUE, PUBLIC_ADDRESS, CANCEL_AFTER_RANGE],
    "POST /v1/webhook-endpoints": [PUBLIC_ADDRESS],
    "PATCH /v1/webhook-endpoints/{endpoint_id}": [PUBLIC_ADDRESS],
    "POST /v1/shares": [
        RightfulRefusal(
            422, "A share's expiry must be in the future, which no schema can say.", fields=frozenset({"expires_at"})
        )
    ],
    "POST /v1/uploads": [
        RightfulRefusal(
            413,
            "The document bounds an upload at 50 MiB; a deployment's own limit (UPLOAD_MAX_BYTES) may be lower.",
            codes=frozenset({"payload_too_large"}),
        )
    ],
    "POST /v1/workflows": [MODEL_CATALOGUE],
    "POST /v1/workflows/{workflow_id}/versions": [MODEL_CATALOGUE],
    "POST /v1/workflows/{workflow_id}/versions/{version}/jobs": [
        RightfulRefusal(
            422,
            "The variables a run needs are those of the workflow's own prompt template, and its parameters "
            "those of the workflow's model.",
            fields=frozenset({"variables", "params"}),
        )
    ],
}


def _session_only_operations() -> list[str]:
    """Operations the document says only a session may call: the fuzzed key is rightly refused them."""
    document = openapi.load_document()
    return [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if any(SESSION_SCHEME in requirement for requirement in operation["security"])
        and not any(API_KEY_SCHEME in requirement for requirement in operation["security"])
    ]


SESSION_ONLY = RightfulRefusal(
    403,
    "The document lists only the session scheme for this operation; the fuzzed caller is an API key.",
    codes=frozenset({"session_required"}),
)
for _label in _session_only_operations():
    RIGHTFUL_REFUSALS.setdefault(_label, []).append(SESSION_ONLY)

# Records a refused request may write by design.
IGNORED_WRITES = [
    Ignored(
        lambda _key, record: record.entity == "rate_counter",
        # A rate limit counts attempts, refused ones included: a report naming nothing that exists
        # still counts against the reporter's hourly limit, or probing would be free where reporting
        # is limited. Only the counters are exempt; any other record a refusal writes is a defect.
        "rate limits count attempts, refused or not",
    )
]


@pytest.fixture(scope="module")
def browser(stack: LocalRuntime) -> Iterator[ApiClient]:
    """The fuzzed account's own session, for what only a session may do (making keys and exports,
    putting the account back): the account has accepted the terms and holds credits. The fuzzed
    caller is its key, which cannot end sessions, so this one lasts."""
    client = signed_in(stack.api_url, "fuzz@example.com")
    version = client.get("/v1/policies/terms").json()["version"]
    accepted = client.post("/v1/me/terms", json={"version": version, "age_confirmed": True})
    assert accepted.status_code == 200, accepted.text
    give_credits(AccountRepository().require(client.get("/v1/me").json()["id"]), FUZZ_CREDITS)
    yield client
    client.close()


@pytest.fixture(scope="module")
def account_client(stack: LocalRuntime, browser: ApiClient) -> Iterator[ApiClient]:
    """The fuzzed account, as its API key with every scope."""
    key = browser.post("/v1/me/api-keys", json={"name": "fuzz", "scopes": [scope.value for scope in Scope]})
    assert key.status_code == 201, key.text
    client = ApiClient(stack.api_url, api_key=key.json()["key"])
    yield client
    client.close()


@pytest.fixture(scope="module")
def callers(account_client: ApiClient) -> list[Caller]:
    return [Caller("anonymous", {}), Caller("api_key", {"Authorization": f"Bearer {account_client.api_key}"})]


def created(client: ApiClient, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    answer = client.post(path, json=body)
    assert answer.status_code in (201, 202), answer.text
    record: dict[str, Any] = answer.json()
    return record


@pytest.fixture(scope="module")
def export_id(browser: ApiClient) -> str:
    """An export of the fuzzed account, made once: exports are limited per day, and none is ever deleted."""
    return str(created(browser, "/v1/me/exports")["id"])


@pytest.fixture
def existing(stack: LocalRuntime, browser: ApiClient, account_client: ApiClient, export_id: str) -> dict[str, str]:
    """Records of the fuzzed account, by the path parameter that names them, so that schema-valid
    cases reach real records too: a workspace, a finished job and its image, a workflow and its
    first version, a share of the image, an export, and a spare API key (never the one in use).
    Made afresh for each run, since the fuzzed deletions come last and may remove them."""
    workspace = created(account_client, "/v1/workspaces", {"name": "Fuzzed"})
    job = created(
        account_client,
        "/v1/jobs",
        {"kind": "image", "model": "local-image", "prompt": "a kite", "params": {"width": 64, "height": 64}},
    )
    workflow = created(
        account_client,
        "/v1/workflows",
        {"name": "Kites", "definition": {"kind": "image", "model": "local-image", "prompt_template": "a {thing}"}},
    )
    spare_key = created(browser, "/v1/me/api-keys", {"name": "spare"})
    stack.wait_until_queues_settle(timeout=120)
    finished = account_client.get(f"/v1/jobs/{job['id']}").json()
    assert finished["status"] == "succeeded", finished
    asset_id = finished["outputs"][0]
    shared = created(account_client, "/v1/shares", {"target_type": "asset", "target_id": asset_id})
    return {
        "workspace_id": workspace["id"],
        "job_id": job["id"],
        "asset_id": asset_id,
        "workflow_id": workflow["id"],
        "version": "1",
        "share_id": shared["id"],
        "token": shared["token"],
        "export_id": export_id,
        "api_key_id": spare_key["id"],
        "kind": "terms",
    }


@pytest.fixture(scope="module")
def api_schema(stack: LocalRuntime) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{stack.api_url}/v1/openapi.json")
    # Each caller brings its own credentials (none, or the account's key); made-up cookies and
    # bearer tokens from the document's security schemes would only stand in for them.
    schema.config.generation.update(with_security_parameters=False)
    # An accepted job with a Cancel-After leaves its deadline message delayed until then, and the
    # settle check waits for every delayed message: the deadlines fuzzed are kept to seconds.
    for path in ("/v1/jobs",):
        for parameter in schema.raw_schema["paths"][path]["post"]["parameters"]:
            if parameter["name"].lower() == "cancel-after":
                parameter.pop("example", None)
                parameter["schema"] = {"type": "string", "pattern": "^[1-9]s$"}
    return schema


def restore_account(browser: ApiClient) -> None:
    """Puts back what a fuzzed case may rightly have changed and later operations need: an account
    not counting down to deletion, and with no spend cap."""
    deletion = browser.get("/v1/me/deletion")
    assert deletion.status_code == 200, deletion.text
    if deletion.json()["scheduled"]:
        assert browser.request("DELETE", "/v1/me/deletion").status_code == 200
    balance = browser.get("/v1/billing/balance")
    assert balance.status_code == 200, balance.text
    if balance.json()["spend_cap"]["monthly_credits"] is not None:
        uncapped = browser.request("PUT", "/v1/billing/spend-cap", json={"monthly_credits": None})
        assert uncapped.status_code == 200, uncapped.text


def fuzz_every_operation(
    stack: LocalRuntime,
    api_schema: schemathesis.BaseSchema,
    callers: list[Caller],
    browser: ApiClient,
    existing: dict[str, str],
    max_examples: int,
) -> FuzzReport:
    report = FuzzReport()
    fuzzer = Fuzzer(stack, report, max_examples, IGNORED_WRITES, RIGHTFUL_REFUSALS)
    try:
        for operation in operations_of(api_schema):
            fuzzer.fuzz(operation, callers, existing)
            restore_account(browser)
    finally:
        fuzzer.close()
    return report


def assert_clean(report: FuzzReport, elapsed: float) -> None:
    exempt = "".join(f"\n  a refusal may still write: {rule.reason}" for rule in IGNORED_WRITES)
    summary = f"{report.summary()}{exempt}\n  wall time: {elapsed:.1f} s"
    print(f"\n{summary}")
    assert report.total() > 0, summary
    assert not report.findings, f"{len(report.findings)} distinct defect(s):\n\n{report.failures()}\n\n{summary}"


def test_the_write_check_sees_a_record_a_request_adds(stack: LocalRuntime, account_client: ApiClient) -> None:
    # Given everything the stack has stored
    store = StoreReader(stack)
    before = store.snapshot()
    # When a request that writes is answered
    assert account_client.post("/v1/workspaces", json={"name": "Seen"}).status_code == 201
    # Then the comparison the fuzzing relies on names what it wrote, and nothing changes on its own
    after = store.snapshot()
    assert [line for line in changes_between(before, after) if line.startswith("added")], changes_between(before, after)
    assert changes_between(after, store.snapshot()) == []


@pytest.mark.parametrize(
    "examples",
    [pytest.param(BOUNDED_EXAMPLES, id="bounded"), pytest.param(LONG_EXAMPLES, id="long", marks=pytest.mark.slow)],
)
def test_fuzzed_requests_get_documented_answers_and_refusals_write_nothing(
    stack: LocalRuntime,
    api_schema: schemathesis.BaseSchema,
    callers: list[Caller],
    browser: ApiClient,
    existing: dict[str, str],
    examples: int,
) -> None:
    # Given every operation of the served document, an anonymous caller and an API key
    started = time.monotonic()
    # When generated cases of each kind are sent to each operation as each caller
    report = fuzz_every_operation(stack, api_schema, callers, browser, existing, examples)
    # Then no answer is a server error, undocumented or off its schema, and no refusal wrote
    assert_clean(report, time.monotonic() - started)
