"""The analytics stand-in records what the studio would send, and nothing it cannot read."""

from __future__ import annotations

import json

from local.analytics import KEPT_EVENTS, AnalyticsRecorder, analytics_routes
from local.standins import LocalRequest


def call(routes, method: str, subpath: str, body: object = None, cookie: str | None = None):
    return routes(
        LocalRequest(
            method=method,
            path=f"/_local/analytics{subpath}",
            subpath=subpath,
            query={},
            headers={"cookie": cookie} if cookie else {},
            body=json.dumps(body).encode() if body is not None else b"",
            base_url="http://127.0.0.1:3000",
        )
    )


def test_an_event_is_recorded_with_the_names_of_any_cookies_it_carried():
    # Given the stand-in
    routes = analytics_routes(AnalyticsRecorder())
    # When the studio sends a page view (with a cookie, as a careless client would)
    sent = call(routes, "POST", "/events", {"name": "page_view", "path": "/studio"}, cookie="a=1; __Host-theme=dark")
    # Then it is accepted and listed, with the cookies' names and never their values
    assert sent.status == 202
    [event] = json.loads(call(routes, "GET", "/").body)
    assert (event["name"], event["path"], event["properties"]) == ("page_view", "/studio", {})
    assert event["cookies"] == ["__Host-theme", "a"]
    assert "dark" not in json.dumps(event)


def test_a_malformed_event_is_refused_and_not_recorded():
    routes = analytics_routes(AnalyticsRecorder())
    for body in (None, ["page_view"], {"path": "/"}, {"name": 3}):
        answer = call(routes, "POST", "/events", body)
        assert answer.status == 400
        assert json.loads(answer.body)["error"]["code"] == "bad_request"
    assert json.loads(call(routes, "GET", "/").body) == []


def test_clear_forgets_and_the_oldest_events_go_first():
    recorder = AnalyticsRecorder()
    routes = analytics_routes(recorder)
    for number in range(KEPT_EVENTS + 5):
        call(routes, "POST", "/events", {"name": f"e{number}"})
    kept = recorder.events()
    assert len(kept) == KEPT_EVENTS
    assert kept[0]["name"] == "e5"
    assert call(routes, "POST", "/clear").status == 204
    assert recorder.events() == []
