"""The local runtime end to end: the real template served over HTTP, and the gateway's behaviour.

Each class starts its own runtime (moto's state is process-wide, so two never run at once).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from local.runtime import PROJECT_ROOT, LocalRuntime
from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn

FIXTURE_TEMPLATE = Path(__file__).resolve().parent.parent / "fixtures" / "local_runtime" / "template.yaml"
ERROR_NOT_FOUND = {"error": {"code": "not_found", "message": "No such route.", "details": None}}


@pytest.fixture(scope="class")
def real_api() -> Iterator[httpx.Client]:
    with LocalRuntime(port=0, fire_schedules=False) as runtime, httpx.Client(base_url=runtime.api_url) as client:
        yield client


class TestRealTemplate:
    def test_health_answers_ok(self, real_api: httpx.Client) -> None:
        response = real_api.get("/v1/health")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["status"] == "ok"

    def test_openapi_document_is_valid_openapi_3(self, real_api: httpx.Client) -> None:
        response = real_api.get("/v1/openapi.json")

        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        validate(document)

    def test_docs_page_is_html(self, real_api: httpx.Client) -> None:
        response = real_api.get("/v1/docs")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "<html" in response.text.lower()

    def test_unknown_route_answers_not_found_in_the_error_shape(self, real_api: httpx.Client) -> None:
        response = real_api.get("/v1/no-such-route")

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json() == ERROR_NOT_FOUND

    def test_declared_path_with_an_undeclared_method_is_not_found(self, real_api: httpx.Client) -> None:
        response = real_api.delete("/v1/health")

        assert response.status_code == 404
        assert response.json() == ERROR_NOT_FOUND

    def test_schedules_are_listed(self, real_api: httpx.Client) -> None:
        response = real_api.get("/_local/schedules")

        assert response.status_code == 200
        assert isinstance(response.json()["items"], list)


@pytest.fixture(scope="class")
def fixture_runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(FIXTURE_TEMPLATE, port=0, fire_schedules=False) as runtime:
        yield runtime


@pytest.fixture
def api(fixture_runtime: LocalRuntime) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fixture_runtime.api_url, timeout=10) as client:
        yield client


def echoed_event(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return dict(response.json()["event"])


class TestGateway:
    def test_request_becomes_a_rest_api_proxy_event(self, api: httpx.Client) -> None:
        # When a request with a path parameter, repeated query values and a header arrives
        event = echoed_event(api.get("/items/42?tag=a&tag=b", headers={"X-Trace": "t1"}))

        # Then the event is API Gateway's v1 proxy event
        assert event["resource"] == "/items/{id}"
        assert event["path"] == "/items/42"
        assert event["httpMethod"] == "GET"
        assert event["pathParameters"] == {"id": "42"}
        assert event["queryStringParameters"] == {"tag": "b"}
        assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"]}
        assert event["headers"]["X-Trace"] == "t1"
        assert event["multiValueHeaders"]["X-Trace"] == ["t1"]
        assert event["requestContext"]["resourcePath"] == "/items/{id}"
        assert event["requestContext"]["stage"] == "local"
        assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
        assert event["requestContext"]["identity"]["userAgent"].startswith("python-httpx")
        assert event["requestContext"]["requestId"]
        assert event["body"] is None
        assert event["isBase64Encoded"] is False

    def test_static_segment_wins_over_a_path_parameter(self, api: httpx.Client) -> None:
        event = echoed_event(api.get("/items/search"))

        assert event["resource"] == "/items/search"
        assert event["pathParameters"] is None

    def test_greedy_path_parameter_takes_the_rest_of_the_path(self, api: httpx.Client) -> None:
        event = echoed_event(api.post("/echo/a/b/c", content=b"hello", headers={"Content-Type": "text/plain"}))

        assert event["resource"] == "/echo/{proxy+}"
        assert event["pathParameters"] == {"proxy": "a/b/c"}
        assert event["body"] == "hello"

    def test_binary_request_body_arrives_base64_encoded(self, api: httpx.Client) -> None:
        png = b"\x89PNG\r\n\x1a\n\x00\xff"

        event = echoed_event(api.post("/echo/upload", content=png, headers={"Content-Type": "image/png"}))

        assert event["isBase64Encoded"] is True
        assert event["body"] == "iVBORw0KGgoA/w=="

    def test_base64_response_body_is_decoded(self, api: httpx.Client) -> None:
        response = api.get("/echo/png")

        assert response.headers["content-type"] == "image/png"
        assert response.content == b"\x89PNG\r\n\x1a\n" + bytes(range(256))

    def test_every_set_cookie_header_reaches_the_client(self, api: httpx.Client) -> None:
        response = api.get("/echo/cookies")

        assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]

    def test_failing_function_answers_502_in_the_error_shape(self, api: httpx.Client) -> None:
        response = api.get("/echo/fail")

        assert response.status_code == 502
        assert response.json()["error"]["code"] == "internal_error"

    def test_body_over_10_mb_answers_413(self, api: httpx.Client) -> None:
        response = api.post("/echo/big", content=b"x" * (10 * 1024 * 1024 + 1))

        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"

    def test_concurrent_requests_run_in_separate_execution_environments(self, api: httpx.Client) -> None:
        # When eight slow requests arrive at once
        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(lambda n: api.get(f"/echo/slow?n={n}"), range(8)))

        # Then each saw only its own request, in more than one copy of the handler module
        answers = [response.json() for response in responses]
        assert all(answer["same_request"] for answer in answers)
        assert len({answer["module"] for answer in answers}) > 1

    def test_unknown_local_path_is_not_found(self, api: httpx.Client) -> None:
        response = api.get("/_local/nothing-here")

        assert response.status_code == 404
        assert response.json() == ERROR_NOT_FOUND

    def test_a_stand_in_mounted_at_run_time_is_served(self, fixture_runtime: LocalRuntime, api: httpx.Client) -> None:
        # Given a stand-in mounted under /_local/greeter
        routes = LocalRoutes()

        @routes.get("/hello/{name}")
        def hello(request: LocalRequest) -> LocalResponse:
            return LocalResponse.json({"hello": request.params["name"], "issuer": f"{request.base_url}/_local/greeter"})

        fixture_runtime.stand_ins.register("/_local/greeter", routes, "says hello")
        try:
            # When it is called
            response = api.get("/_local/greeter/hello/ada")
            listing = api.get("/_local").json()
        finally:
            fixture_runtime.stand_ins.unregister("/_local/greeter")

        # Then it answers, and the /_local index lists it
        assert response.json() == {"hello": "ada", "issuer": f"{fixture_runtime.api_url}/_local/greeter"}
        assert {"prefix": "/_local/greeter", "description": "says hello"} in listing["items"]


def test_stand_ins_passed_to_the_runtime_are_mounted_with_their_environment() -> None:
    # Given a runtime started with a stand-in that points the functions at itself
    outbox = StandIn(
        "/_local/outbox",
        lambda _request: LocalResponse.json({"items": []}),
        "sent email",
        environment=lambda base_url: {"OUTBOX_URL": f"{base_url}/_local/outbox"},
    )

    # When it runs
    with LocalRuntime(FIXTURE_TEMPLATE, port=0, fire_schedules=False, stand_ins=[outbox]) as runtime:
        response = httpx.get(f"{runtime.api_url}/_local/outbox")
        outbox_url = os.environ.get("OUTBOX_URL")
        api_url = runtime.api_url

    # Then the stand-in answers, and the functions saw its variables for as long as the runtime ran
    assert response.json() == {"items": []}
    assert outbox_url == f"{api_url}/_local/outbox"
    assert "OUTBOX_URL" not in os.environ


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_python_m_local_serves_the_api_and_stops_cleanly_on_sigint() -> None:
    # Given `python -m local` started on a free port
    port = free_port()
    environment = {**os.environ, "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # When it is up
        health = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)

        # Then it answers the health check
        assert health is not None, process.stdout.read().decode() if process.stdout else ""
        assert health.status_code == 200
        assert health.json()["status"] == "ok"

        # When it is interrupted, it exits cleanly (the timeout only bounds a hang; speed is not judged here)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output.decode()
        assert f"http://127.0.0.1:{port}" in output.decode()
        assert "stopped" in output.decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
