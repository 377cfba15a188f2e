"""Every error, including validation failures and unknown routes, answers in the one error shape."""

import json
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field

from atelier import errors
from atelier.api.access import Access
from atelier.api.resolver import make_resolver, serve
from tests.support.events import FakeLambdaContext, api_event

app = make_resolver()


class CreateThing(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=10)]
    count: Annotated[int, Field(ge=1)]


@app.post("/v1/things", access=Access.public())
def create_thing(thing: CreateThing) -> dict[str, Any]:
    return {"name": thing.name}


@app.get("/v1/things/<thing_id>", access=Access.public())
def get_thing(thing_id: str) -> dict[str, Any]:
    if thing_id == "missing":
        raise errors.NotFoundError()
    if thing_id == "busy":
        raise errors.RateLimitedError(retry_after_seconds=7)
    if thing_id == "broken":
        raise RuntimeError("secret internals")
    return {"id": thing_id}


def call(method: str, path: str, body: Any = None, resource: str | None = None) -> tuple[int, dict[str, Any], dict]:
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    response = serve(app, api_event(method, path, body=raw, resource=resource), FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"]), response["multiValueHeaders"]


def assert_error_shape(payload: dict[str, Any], code: str) -> None:
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"code", "message", "details"}
    assert payload["error"]["code"] == code
    assert payload["error"]["message"]


def test_a_valid_request_passes():
    status, payload, _ = call("POST", "/v1/things", {"name": "lamp", "count": 2})
    assert (status, payload) == (200, {"name": "lamp"})


def test_an_invalid_field_answers_422_with_the_field_named():
    status, payload, _ = call("POST", "/v1/things", {"name": "", "count": 0})
    assert status == 422
    assert_error_shape(payload, "invalid_field")
    fields = {detail["field"] for detail in payload["error"]["details"]}
    assert fields == {"name", "count"}


def test_a_body_that_is_not_json_answers_400():
    status, payload, _ = call("POST", "/v1/things", "{not json")
    assert status == 400
    assert_error_shape(payload, "malformed_request")


def test_an_unknown_route_answers_404_in_the_error_shape():
    status, payload, _ = call("GET", "/v1/nowhere")
    assert status == 404
    assert_error_shape(payload, "not_found")


@pytest.mark.parametrize(
    ("thing_id", "status", "code"),
    [("missing", 404, "not_found"), ("busy", 429, "rate_limited")],
)
def test_domain_errors_map_to_their_status(thing_id, status, code):
    got_status, payload, _ = call("GET", f"/v1/things/{thing_id}", resource="/v1/things/{thing_id}")
    assert got_status == status
    assert_error_shape(payload, code)


def test_retry_after_is_sent_when_a_wait_helps():
    _, _, headers = call("GET", "/v1/things/busy", resource="/v1/things/{thing_id}")
    assert headers["Retry-After"] == ["7"]


def test_an_unexpected_failure_answers_500_without_internals():
    status, payload, _ = call("GET", "/v1/things/broken", resource="/v1/things/{thing_id}")
    assert status == 500
    assert_error_shape(payload, "internal_error")
    assert "secret" not in json.dumps(payload)


def test_every_response_carries_the_security_headers():
    _, _, headers = call("GET", "/v1/things/ok", resource="/v1/things/{thing_id}")
    assert headers["Strict-Transport-Security"][0].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == ["nosniff"]
    assert headers["X-Frame-Options"] == ["DENY"]
    assert headers["Content-Security-Policy"][0].startswith("default-src 'none'")
    assert headers["Cache-Control"] == ["no-store"]


def test_every_domain_error_has_an_http_status():
    from atelier.api.errors import status_for

    def all_subclasses(klass):
        for sub in klass.__subclasses__():
            yield sub
            yield from all_subclasses(sub)

    # An instance made without its constructor: some errors require details that play no part in the status.
    unmapped = [
        klass.__name__ for klass in all_subclasses(errors.AtelierError) if status_for(klass.__new__(klass)) == 500
    ]
    assert unmapped == []
