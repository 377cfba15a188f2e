"""Stand-ins for the outside world, mounted under ``/_local/`` and never deployed.

A stand-in is a function from a ``LocalRequest`` to a ``LocalResponse``, registered under a prefix::

    routes = LocalRoutes()

    @routes.get("/.well-known/openid-configuration")
    def discovery(request: LocalRequest) -> LocalResponse:
        issuer = f"{request.base_url}/_local/oidc"
        return LocalResponse.json({"issuer": issuer, "authorization_endpoint": f"{issuer}/authorize"})

    registry.register("/_local/oidc", routes, description="OIDC issuer: sign in as any email")

The gateway sends every request under a registered prefix to its stand-in; requests under
``/_local/`` never reach the template's routes.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

LOCAL_PREFIX = "/_local"


@dataclass(frozen=True)
class LocalRequest:
    method: str
    path: str  # the full path, e.g. /_local/oidc/authorize
    subpath: str  # the part after the stand-in's prefix, e.g. /authorize ("" for the prefix itself)
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    base_url: str  # where the runtime answers, e.g. http://127.0.0.1:3000
    params: Mapping[str, str] = field(default_factory=dict)  # filled by LocalRoutes from {name} segments

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def query_value(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {name: values[0] for name, values in parse_qs(self.body.decode("utf-8", "replace")).items()}


@dataclass
class LocalResponse:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> LocalResponse:
        body = json.dumps(data).encode()
        return cls(status, body, [("Content-Type", "application/json"), *(headers or [])])

    @classmethod
    def html(cls, text: str, status: int = 200) -> LocalResponse:
        return cls(status, text.encode(), [("Content-Type", "text/html; charset=utf-8")])

    @classmethod
    def text(cls, text: str, status: int = 200) -> LocalResponse:
        return cls(status, text.encode(), [("Content-Type", "text/plain; charset=utf-8")])

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> LocalResponse:
        return cls(status, b"", [("Location", location)])

    @classmethod
    def error(cls, status: int, code: str, message: str, details: Any = None) -> LocalResponse:
        """A response in the API's error shape."""
        return cls.json({"error": {"code": code, "message": message, "details": details}}, status)


StandInHandler = Callable[[LocalRequest], LocalResponse]
StandInEnvironment = Callable[[str], Mapping[str, str]]  # the runtime's base URL -> variables


@dataclass(frozen=True)
class StandIn:
    """A stand-in as the runtime mounts it.

    ``environment``, when given, is called with the runtime's base URL before any handler module
    is imported; the variables it returns override the template's (an OIDC stand-in points the
    functions' provider settings at itself this way).
    """

    prefix: str
    handler: StandInHandler
    description: str = ""
    environment: StandInEnvironment | None = None


class StandInRegistry:
    """The stand-ins a runtime serves. Safe to change while the runtime runs."""

    def __init__(self) -> None:
        self._stand_ins: dict[str, StandIn] = {}
        self._lock = threading.Lock()

    def register(self, prefix: str, handler: StandInHandler, description: str = "") -> StandIn:
        return self.mount(StandIn(prefix, handler, description))

    def mount(self, stand_in: StandIn) -> StandIn:
        prefix = stand_in.prefix.rstrip("/")
        if not prefix.startswith(f"{LOCAL_PREFIX}/"):
            raise ValueError(f"a stand-in prefix starts with {LOCAL_PREFIX}/, not {prefix!r}")
        stand_in = replace(stand_in, prefix=prefix)
        with self._lock:
            if prefix in self._stand_ins:
                raise ValueError(f"a stand-in is already mounted at {prefix}")
            self._stand_ins[prefix] = stand_in
        return stand_in

    def unregister(self, prefix: str) -> None:
        with self._lock:
            self._stand_ins.pop(prefix.rstrip("/"), None)

    def find(self, path: str) -> tuple[StandIn, str] | None:
        """The stand-in whose prefix is the longest match for the path, and the rest of the path."""
        with self._lock:
            candidates = list(self._stand_ins.values())
        for stand_in in sorted(candidates, key=lambda candidate: len(candidate.prefix), reverse=True):
            if path == stand_in.prefix or path.startswith(f"{stand_in.prefix}/"):
                return stand_in, path[len(stand_in.prefix) :]
        return None

    def __iter__(self) -> Iterator[StandIn]:
        with self._lock:
            return iter(sorted(self._stand_ins.values(), key=lambda stand_in: stand_in.prefix))


_PARAMETER = re.compile(r"\{(\w+)\}")


def _compile_subpath(subpath: str) -> re.Pattern[str]:
    segments = []
    for segment in subpath.strip("/").split("/"):
        parameter = _PARAMETER.fullmatch(segment)
        segments.append(f"(?P<{parameter.group(1)}>[^/]+)" if parameter else re.escape(segment))
    return re.compile("^/" + "/".join(segments) + "$")


class LocalRoutes:
    """Dispatches a stand-in's requests on method and subpath (``/{name}/run`` style templates)."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], StandInHandler]] = []

    def route(self, method: str, subpath: str) -> Callable[[StandInHandler], StandInHandler]:
        pattern = _compile_subpath(subpath)

        def decorate(handler: StandInHandler) -> StandInHandler:
            self._routes.append((method.upper(), pattern, handler))
            return handler

        return decorate

    def get(self, subpath: str) -> Callable[[StandInHandler], StandInHandler]:
        return self.route("GET", subpath)

    def post(self, subpath: str) -> Callable[[StandInHandler], StandInHandler]:
        return self.route("POST", subpath)

    def __call__(self, request: LocalRequest) -> LocalResponse:
        subpath = request.subpath or "/"
        path_matched = False
        for method, pattern, handler in self._routes:
            match = pattern.match(subpath)
            if match is None:
                continue
            path_matched = True
            if method == request.method or (method == "GET" and request.method == "HEAD"):
                return handler(replace(request, params=match.groupdict()))
        if path_matched:
            return LocalResponse.error(405, "method_not_allowed", "Method not allowed.")
        return LocalResponse.error(404, "not_found", "No such route.")
