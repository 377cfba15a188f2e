"""How the client behaves on the wire, against a scripted API (httpx's MockTransport): configuration,
typed errors carrying the API's code, bounded retries that honour Retry-After, idempotent job
submission, polling that takes the server's hint, and downloads that keep the key to the API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from types import SimpleNamespace

import httpx
import pytest

from tests.support.sdk import load

sdk = load()
BASE = "https://api.test"
NOW = "2026-12-06T12:00:00Z"


def job(status: str = "queued", **fields: object) -> dict:
    return {
        "id": "job_1",
        "workspace_id": "ws_1",
        "kind": "image",
        "model": "local-image",
        "prompt": "a lighthouse",
        "negative_prompt": None,
        "params": {},
        "status": status,
        "outputs": ["ast_1"] if status == "succeeded" else [],
        "cost_credits": 4,
        "charged_credits": 4 if status == "succeeded" else 0,
        "compute_seconds": None,
        "created_at": NOW,
        "started_at": None,
        "finished_at": NOW if status == "succeeded" else None,
        **fields,
    }


def error(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": f"It is {code}."}}, headers=headers)


class ScriptedApi:
    """Answers each request with the next scripted response, recording what was asked."""

    def __init__(self, *answers: httpx.Response | Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        return answer(request) if callable(answer) else answer

    def client(self, **options: object):
        http = httpx.Client(transport=httpx.MockTransport(self))
        client = sdk.Atelier("key_test", base_url=BASE, http_client=http, **options)
        waits: list[float] = []
        client._transport._sleep = waits.append
        return client, waits


def test_configuration_comes_from_the_environment_with_production_as_the_default(monkeypatch):
    monkeypatch.setenv("ATELIER_API_KEY", "key_from_env")
    monkeypatch.delenv("ATELIER_BASE_URL", raising=False)
    client = sdk.Atelier()
    assert client.base_url == sdk.DEFAULT_BASE_URL == "https://studio.example.com"
    assert client._transport.settings.api_key == "key_from_env"

    monkeypatch.setenv("ATELIER_BASE_URL", "http://127.0.0.1:3000/")
    assert sdk.Atelier().base_url == sdk.LOCAL_BASE_URL


def test_without_a_key_the_client_says_where_to_get_one(monkeypatch):
    monkeypatch.delenv("ATELIER_API_KEY", raising=False)
    with pytest.raises(sdk.ConfigurationError, match="ATELIER_API_KEY"):
        sdk.Atelier()


@pytest.mark.parametrize(
    ("status", "code", "family"),
    [
        (401, "not_signed_in", "AuthenticationError"),
        (402, "insufficient_credits", "InsufficientCreditsError"),
        (403, "insufficient_scope", "PermissionDeniedError"),
        (404, "not_found", "NotFoundError"),
        (409, "job_finished", "ConflictError"),
        (422, "invalid_field", "ValidationError"),
        (500, "error", "InternalServerError"),
    ],
)
def test_an_error_answer_is_raised_as_its_family_with_the_apis_code(status, code, family):
    api = ScriptedApi(error(status, code, {"x-amzn-RequestId": "req-123"}))
    client, _ = api.client()
    with pytest.raises(getattr(sdk, family)) as raised:
        client.jobs.get("job_1")
    assert isinstance(raised.value, sdk.AtelierError)
    assert (raised.value.code, raised.value.status, raised.value.request_id) == (code, status, "req-123")
    assert raised.value.message == f"It is {code}."
    assert len(api.requests) == 1


def test_a_429_on_a_read_is_retried_after_the_wait_the_api_asked_for():
    api = ScriptedApi(error(429, "rate_limited", {"Retry-After": "2"}), httpx.Response(200, json=job()))
    client, waits = api.client()
    assert client.jobs.get("job_1").status == "queued"
    assert waits == [2.0]
    assert api.requests[0].headers["authorization"] == "Bearer key_test"


def test_retries_are_bounded_and_the_last_error_carries_retry_after():
    api = ScriptedApi(*[error(503, "service_unavailable", {"Retry-After": "1"}) for _ in range(3)])
    client, waits = api.client(max_retries=2)
    with pytest.raises(sdk.ServiceUnavailableError) as raised:
        client.assets.list()
    assert waits == [1.0, 1.0]
    assert raised.value.retry_after == 1.0
    assert len(api.requests) == 3


def test_a_wait_longer_than_the_client_accepts_is_not_slept_through():
    api = ScriptedApi(error(429, "spend_cap_exceeded", {"Retry-After": "86400"}))
    client, waits = api.client()
    with pytest.raises(sdk.RateLimitError) as raised:
        client.jobs.list()
    assert (raised.value.code, raised.value.retry_after, waits) == ("spend_cap_exceeded", 86400.0, [])


def test_a_job_submission_carries_an_idempotency_key_and_its_retry_sends_the_same_one():
    api = ScriptedApi(error(503, "service_unavailable", {"Retry-After": "0"}), httpx.Response(202, json=job()))
    client, _ = api.client()

    submitted = client.jobs.create(model="local-image", prompt="a lighthouse", cancel_after=90)

    assert submitted.id == "job_1"
    first, second = api.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.headers["idempotency-key"].startswith("sdk-")
    assert first.headers["cancel-after"] == "90s"
    assert json.loads(first.content) == {
        "kind": "image",
        "model": "local-image",
        "prompt": "a lighthouse",
        "params": {},
        "reference_upload_ids": [],
    }


def test_a_given_idempotency_key_is_sent_as_given():
    api = ScriptedApi(httpx.Response(202, json=job()))
    client, _ = api.client()
    client.jobs.create(model="local-image", prompt="a lighthouse", idempotency_key="order-42", cancel_after="5m")
    assert api.requests[0].headers["idempotency-key"] == "order-42"
    assert api.requests[0].headers["cancel-after"] == "5m"


def test_a_request_that_could_act_twice_is_not_retried():
    # A cancel carries no idempotency key: a 503 may have come after it took effect.
    api = ScriptedApi(error(503, "service_unavailable", {"Retry-After": "0"}))
    client, waits = api.client()
    with pytest.raises(sdk.ServiceUnavailableError):
        client.jobs.cancel("job_1")
    assert (len(api.requests), waits) == (1, [])


def test_wait_reports_progress_and_polls_when_the_server_says(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(sdk.resources, "time", SimpleNamespace(monotonic=time.monotonic, sleep=slept.append))
    api = ScriptedApi(
        httpx.Response(200, json=job("queued", queue_position=2), headers={"Retry-After": "3"}),
        httpx.Response(200, json=job("running", progress=0.5)),
        httpx.Response(200, json=job("succeeded")),
    )
    client, _ = api.client()
    seen: list[tuple[str, float | None]] = []

    finished = client.jobs.wait("job_1", on_progress=lambda looked: seen.append((looked.status, looked.progress)))

    assert finished.status == "succeeded"
    assert finished.outputs == ["ast_1"]
    assert seen == [("queued", None), ("running", 0.5), ("succeeded", None)]
    # The server's hint first, then the client's own growing interval.
    assert slept == [3.0, 0.75]


def test_wait_gives_up_after_its_timeout(monkeypatch):
    clock = iter([0.0, 0.0, 11.0])
    monkeypatch.setattr(sdk.resources, "time", SimpleNamespace(monotonic=lambda: next(clock), sleep=lambda _: None))
    api = ScriptedApi(httpx.Response(200, json=job("running")), httpx.Response(200, json=job("running")))
    client, _ = api.client()
    with pytest.raises(sdk.WaitTimeoutError, match="still running"):
        client.jobs.wait("job_1", timeout=10)


def asset(download_url: str) -> dict:
    return {
        "id": "ast_1",
        "job_id": "job_1",
        "workspace_id": "ws_1",
        "kind": "image",
        "content_type": "image/png",
        "size_bytes": 4,
        "width": 1,
        "height": 1,
        "duration_s": None,
        "sha256": "0" * 64,
        "labels": [],
        "rating": None,
        "visibility": "private",
        "removed": False,
        "download_url": download_url,
        "thumbnail_url": None,
        "poster_url": None,
        "created_at": NOW,
        "provenance": {"c2pa": "valid", "digital_source_type": None},
    }


def test_a_download_from_storage_does_not_carry_the_api_key(tmp_path):
    api = ScriptedApi(
        httpx.Response(200, json=asset("https://bucket.storage.test/ast_1.png?X-Amz-Signature=abc")),
        httpx.Response(200, content=b"\x89PNG"),
    )
    client, _ = api.client()

    written = client.assets.download("ast_1", tmp_path / "out" / "a.png")

    assert written == 4
    assert (tmp_path / "out" / "a.png").read_bytes() == b"\x89PNG"
    to_api, to_storage = api.requests
    assert to_api.headers["authorization"] == "Bearer key_test"
    assert "authorization" not in to_storage.headers


def test_the_async_client_retries_and_waits_alike():
    answers = [error(429, "rate_limited", {"Retry-After": "0"}), httpx.Response(202, json=job())]
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    async def submit():
        http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
        async with sdk.AsyncAtelier("key_test", base_url=BASE, http_client=http) as client:
            return await client.jobs.create(model="local-image", prompt="a lighthouse")

    assert asyncio.run(submit()).id == "job_1"
    assert seen[0].headers["idempotency-key"] == seen[1].headers["idempotency-key"]
