"""The product-analytics stand-in, mounted at ``/_local/analytics``. Never deployed.

The studio's analytics client sends an event here only once the person has accepted analytics
(P12). The stand-in sends nothing anywhere: it records what it received, so a person (or a test)
can see exactly what would have left the browser, and whether any cookie came with it.

    POST /_local/analytics/events   {"name", "path", "properties"?}  -> 202, recorded
    GET  /_local/analytics          -> [{"name", "path", "properties", "received_at", "cookies"}]
    POST /_local/analytics/clear    -> 204, forgets what was recorded
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn

PREFIX = "/_local/analytics"
# A runaway page must not grow the runtime's memory without bound; the oldest events go first.
KEPT_EVENTS = 1000


class AnalyticsRecorder:
    """What the analytics stand-in received, oldest first."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, event: dict[str, Any]) -> None:
        with self._lock:
            self._events.append(event)
            del self._events[:-KEPT_EVENTS]

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()


def analytics_routes(recorder: AnalyticsRecorder) -> LocalRoutes:
    routes = LocalRoutes()

    @routes.post("/events")
    def receive(request: LocalRequest) -> LocalResponse:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("name"), str):
            return LocalResponse.error(400, "bad_request", 'Send {"name", "path", "properties"?} as JSON.')
        properties = body.get("properties")
        cookie_pairs = (request.header("cookie") or "").split(";")
        recorder.record(
            {
                "name": body["name"],
                "path": body.get("path") if isinstance(body.get("path"), str) else None,
                "properties": properties if isinstance(properties, dict) else {},
                "received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                # The names only: a consented event should still carry no cookie at all.
                "cookies": sorted(pair.split("=", 1)[0].strip() for pair in cookie_pairs if pair.strip()),
            }
        )
        return LocalResponse(202)

    @routes.get("/")
    def list_received(_request: LocalRequest) -> LocalResponse:
        return LocalResponse.json(recorder.events())

    @routes.post("/clear")
    def clear(_request: LocalRequest) -> LocalResponse:
        recorder.clear()
        return LocalResponse(204)

    return routes


def analytics_stand_in(recorder: AnalyticsRecorder | None = None) -> StandIn:
    return StandIn(
        PREFIX,
        analytics_routes(recorder or AnalyticsRecorder()),
        "analytics events the studio would send (only after consent): GET lists them, POST /clear forgets",
    )
