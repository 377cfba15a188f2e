"""The whole stack (tests/support/stack.py), held still for measuring: its queue pollers are stopped,
so nothing runs unless a benchmark asks for it, and requests and queue messages are handed to the
functions in the benchmark's own thread (the events are the ones the local API gateway and SQS
poller make).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from local.functions import SqsEvent
from local.gateway import IncomingRequest, Router, proxy_event, routes_from_template
from local.poller import SqsPoller
from local.runtime import LocalRuntime


class _Nowhere(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


_NOWHERE = _Nowhere()


@dataclass
class Answer:
    status: int
    headers: dict[str, list[str]]
    body: bytes
    function: str = ""
    resource: str = ""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Caller:
    """A client of the API: a session cookie or an API key, and the origin it sends."""

    cookies: dict[str, str] = field(default_factory=dict)
    api_key: str | None = None
    account_id: str = ""


class Harness:
    def __init__(self, runtime: LocalRuntime) -> None:
        assert runtime.template is not None
        self.runtime = runtime
        self.router = Router(routes_from_template(runtime.template, runtime.functions))
        self.origin = runtime.api_url
        self.host = urlsplit(runtime.api_url).netloc
        self.sources: list[SqsEvent] = [source for spec in runtime.functions for source in spec.sqs_events]

    # -- the API ------------------------------------------------------------------------------
    def event(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        caller: Caller | None = None,
        body: bytes | None = None,
    ) -> tuple[str, str, dict[str, Any]]:
        """(function, resource, event) for a request, as the local API gateway would make them."""
        matched = self.router.match(method, path)
        if matched is None:
            raise LookupError(f"no route for {method} {path}")
        route, parameters = matched
        sent = {"Host": self.host, "User-Agent": "atelier-bench", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        if caller is not None:
            if caller.cookies:
                sent.setdefault("Cookie", "; ".join(f"{name}={value}" for name, value in caller.cookies.items()))
            if caller.api_key:
                sent.setdefault("Authorization", f"Bearer {caller.api_key}")
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            sent.setdefault("Origin", self.origin)
        request = IncomingRequest(
            method=method,
            path=path,
            query=list((query or {}).items()),
            headers=list(sent.items()),
            body=body or b"",
            source_ip="127.0.0.1",
        )
        return route.function, route.resource, proxy_event(request, route, parameters)

    def call(self, method: str, path: str, **options: Any) -> Answer:
        function, resource, event = self.event(method, path, **options)
        result = self.invoke(function, event)
        headers: dict[str, list[str]] = {}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.setdefault(name.lower(), []).extend(str(value) for value in values)
        for name, value in (result.get("headers") or {}).items():
            headers.setdefault(name.lower(), []).append(str(value))
        return Answer(int(result["statusCode"]), headers, (result.get("body") or "").encode(), function, resource)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invokes in this thread; what the handler prints (its EMF metrics) goes nowhere."""
        with contextlib.redirect_stdout(_NOWHERE):
            return self.runtime.invoke(function, event)

    def sign_in(self, email: str) -> Caller:
        """Signs in through the local OpenID Connect issuer, over HTTP (not measured)."""
        from tests.support.client import signed_in

        client = signed_in(self.runtime.api_url, email)
        try:
            me = client.get("/v1/me").json()
            return Caller(cookies=dict(client.cookies), account_id=me["id"])
        finally:
            client.close()

    # -- the queues ---------------------------------------------------------------------------
    def source(self, function: str) -> SqsEvent:
        return next(source for source in self.sources if source.function == function)

    def deliver(self, function: str, around: Callable[[dict[str, Any], Callable[[], Any]], Any] | None = None) -> int:
        """Hands every message now visible on the function's queue to it, one batch at a time, in
        this thread; `around` wraps each invocation (to measure it). Answers how many were handled."""

        def invoke(name: str, event: dict[str, Any]) -> Any:
            if around is None:
                return self.invoke(name, event)
            return around(event, lambda: self.invoke(name, event))

        poller = SqsPoller(self.source(function), invoke, self.runtime.emulator_url, retry_delay_seconds=1)
        poller.request_stop()  # one receive per batch: no batching window
        handled = 0
        while True:
            count = poller.poll_once()
            if not count:
                return handled
            handled += count


@contextmanager
def still_stack(**overrides: Any) -> Iterator[Harness]:
    """The stack with its queue pollers stopped; schedules fire only on demand. Functions log
    warnings only, unless `parameters` say otherwise."""
    from tests.support.stack import running_stack

    parameters = {"LogLevel": "WARNING", **(overrides.pop("parameters", None) or {})}
    with running_stack(parameters=parameters, **overrides) as runtime:
        for poller in runtime.pollers:
            poller.request_stop()
        for poller in runtime.pollers:
            poller.stop()
        runtime.pollers = []
        yield Harness(runtime)
