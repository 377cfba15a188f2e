"""Every API request runs inside a time budget (the function's remaining time, at most API
Gateway's 29 s), so provider retries made while serving it never outlast the request."""

from typing import Any

from atelier.api.access import Access
from atelier.api.resolver import make_resolver, serve
from atelier.integrations.resilience import remaining_seconds
from tests.support.events import FakeLambdaContext, api_event

app = make_resolver()


@app.get("/v1/budget", access=Access.public())
def budget() -> dict[str, Any]:
    return {"remaining": remaining_seconds()}


class LongContext(FakeLambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def remaining_in(context: FakeLambdaContext) -> float:
    import json

    response = serve(app, api_event("GET", "/v1/budget"), context)
    return json.loads(response["body"])["remaining"]


def test_a_request_has_the_functions_remaining_time_less_a_second():
    # Given a function with 10 s left, when a request is served, then its handlers see under 9 s left
    assert 8 < remaining_in(FakeLambdaContext()) <= 9


def test_a_request_never_has_more_than_api_gateway_waits_for():
    # Given a function with 15 minutes left, then a request still has under 28 s, API Gateway's limit
    assert 27 < remaining_in(LongContext()) <= 28


def test_outside_a_request_there_is_no_budget():
    assert remaining_seconds() is None
