"""The local API Gateway: HTTP requests become REST API (v1 proxy integration) events.

Each request is matched against the template's ``Api`` events the way API Gateway matches its
resources (static segments before ``{param}`` before ``{proxy+}``, a declared method before ANY),
turned into the event API Gateway would send, and handed to the function in-process. The function's
proxy response becomes the HTTP response. Requests under ``/_local/`` go to the stand-ins instead.

Gateway-level failures answer in the API's error shape, as the deployed API's gateway responses do.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.functions import ApiEvent, FunctionSpec
from local.standins import LOCAL_PREFIX, LocalRequest, LocalResponse, StandInRegistry
from local.template import ACCOUNT_ID, Template
from local.web import WebSite

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_MAX_DISCARDED_BYTES = 64 * 1024 * 1024
IMPLICIT_API = "ServerlessRestApi"  # SAM's name for the API of events that name no RestApiId
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded", "+json", "+xml")
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding"}

Invoker = Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> result


# ------------------------------------------------------------------------------------------
# Routes.
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RestApi:
    id: str
    stage: str
    binary_media_types: tuple[str, ...]


class Route:
    """One Api event: a path template and method on an API, served by a function."""

    def __init__(self, event: ApiEvent, api: RestApi) -> None:
        self.function = event.function
        self.resource = event.path if event.path.startswith("/") else f"/{event.path}"
        self.method = event.method
        self.api = api
        self._segments = [segment for segment in self.resource.split("/") if segment]

    @property
    def specificity(self) -> tuple[tuple[int, ...], bool]:
        """Lower sorts first: segment by segment, static before {param} before {proxy+}; then a method before ANY."""
        kinds = tuple(_segment_kind(segment) for segment in self._segments)
        return kinds, self.method == "ANY"

    def match(self, path: str) -> dict[str, str] | None:
        parts = [part for part in path.split("/") if part]
        parameters: dict[str, str] = {}
        for index, segment in enumerate(self._segments):
            if segment.startswith("{") and segment.endswith("+}"):
                if index >= len(parts):
                    return None
                parameters[segment[1:-2]] = "/".join(parts[index:])
                return parameters
            if index >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                parameters[segment[1:-1]] = parts[index]
            elif segment != parts[index]:
                return None
        return parameters if len(parts) == len(self._segments) else None


def _segment_kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return 2
    return 1 if segment.startswith("{") else 0


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda route: route.specificity)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The most specific route for the request (routes are kept in that order)."""
        for route in self.routes:
            if route.method not in (method, "ANY"):
                continue
            parameters = route.match(path)
            if parameters is not None:
                return route, parameters
        return None


def routes_from_template(template: Template, functions: Iterable[FunctionSpec]) -> list[Route]:
    apis = _rest_apis(template)
    routes = []
    for spec in functions:
        for event in spec.api_events:
            api = apis.get(event.rest_api_id or IMPLICIT_API, apis[IMPLICIT_API])
            routes.append(Route(event, api))
    return routes


def gateway_response_headers(template: Template) -> dict[str, list[tuple[str, str]]]:
    """The static headers (``'value'`` literals) each of the template's gateway responses adds."""
    found: dict[str, list[tuple[str, str]]] = {}
    for resource in template.resources("AWS::Serverless::Api"):
        for kind, response in (resource.properties.get("GatewayResponses") or {}).items():
            headers = ((response or {}).get("ResponseParameters") or {}).get("Headers") or {}
            found[kind] = [
                (name, value[1:-1])
                for name, value in headers.items()
                if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == "'"
            ]
    return found


def _rest_apis(template: Template) -> dict[str, RestApi]:
    apis = {IMPLICIT_API: RestApi("implicit", "Prod", ())}
    for resource in template.resources("AWS::Serverless::Api"):
        api_id = template.ref(resource.logical_id)
        binary = tuple(str(kind).replace("~1", "/") for kind in resource.properties.get("BinaryMediaTypes") or [])
        apis[api_id] = RestApi(api_id, str(resource.properties.get("StageName", "Prod")), binary)
    return apis


# ------------------------------------------------------------------------------------------
# The event API Gateway sends, and the response it makes of the function's answer.
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IncomingRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


def proxy_event(request: IncomingRequest, route: Route, path_parameters: dict[str, str]) -> dict[str, Any]:
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in request.query:
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    content_type = _header(request, "content-type") or ""
    is_base64 = bool(request.body) and _is_binary(content_type, request.body, route.api.binary_media_types)
    now = datetime.now(UTC)
    host = _header(request, "host") or ""
    request_id = str(uuid.uuid4())
    return {
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": route.api.id,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "extendedRequestId": request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": request.source_ip,
                "user": None,
                "userAgent": _header(request, "user-agent"),
                "userArn": None,
            },
            # The path as the client sent it: locally the API answers at the root, like a custom
            # domain, so the stage is not part of it.
            "path": request.path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, route.resource).hex[:6],
            "resourcePath": route.resource,
            "stage": route.api.stage,
        },
        "body": _event_body(request.body, is_base64),
        "isBase64Encoded": is_base64,
    }


def _header(request: IncomingRequest, name: str) -> str | None:
    return next((value for header, value in request.headers if header.lower() == name), None)


def _event_body(body: bytes, is_base64: bool) -> str | None:
    if not body:
        return None
    # API Gateway hands a text payload on as UTF-8, bytes that are not UTF-8 replaced by U+FFFD: a
    # client's invalid bytes reach the function as text, never as a failed request.
    return base64.b64encode(body).decode() if is_base64 else body.decode("utf-8", "replace")


def _is_binary(content_type: str, body: bytes, binary_media_types: tuple[str, ...]) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    for pattern in binary_media_types:
        kind, _, subtype = pattern.lower().partition("/")
        if pattern == "*/*" or (media_type.startswith(f"{kind}/") and subtype in ("*", media_type.split("/", 1)[1])):
            return True
    if media_type and any(marker in media_type for marker in _TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


class InvalidProxyResponseError(ValueError):
    """The function answered something API Gateway cannot turn into an HTTP response."""


def response_from_proxy_result(result: Any) -> LocalResponse:
    if not isinstance(result, dict) or "statusCode" not in result:
        raise InvalidProxyResponseError("the function's answer has no statusCode")
    headers: list[tuple[str, str]] = []
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
    # API Gateway merges both maps; a pair present in both appears once.
    present = {(name.lower(), value) for name, value in headers}
    for name, value in (result.get("headers") or {}).items():
        if (name.lower(), str(value)) not in present:
            headers.append((name, str(value)))
    headers = [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP]
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    return LocalResponse(int(result["statusCode"]), raw, headers)


def not_found() -> LocalResponse:
    return LocalResponse.error(404, "not_found", "No such route.")


def payload_too_large() -> LocalResponse:
    return LocalResponse.error(413, "payload_too_large", "The request body is too large.")


# ------------------------------------------------------------------------------------------
# The HTTP server.
# ------------------------------------------------------------------------------------------
class Gateway:
    """Serves the API and the stand-ins on one local port."""

    def __init__(
        self,
        router: Router,
        invoke: Invoker,
        stand_ins: StandInRegistry,
        host: str = "127.0.0.1",
        port: int = 3000,
        gateway_responses: Mapping[str, list[tuple[str, str]]] | None = None,
        web: WebSite | None = None,
    ) -> None:
        self.router = router
        self.web = web
        self.stand_ins = stand_ins
        self._invoke = invoke
        self._gateway_responses = dict(gateway_responses or {})
        # Public media at /media/ (CloudFront's behaviour in production), once the runtime knows its bucket.
        self.media: Callable[[IncomingRequest], LocalResponse] | None = None
        # Bound at construction so the port is known before any handler module is imported.
        self._server = _HttpServer((host, port), _RequestHandler, gateway=self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        if host in ("0.0.0.0", "::"):  # listening everywhere; this machine reaches it on loopback
            host = "127.0.0.1"
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def gateway_response(self, response: LocalResponse, kind: str) -> LocalResponse:
        """The gateway's own answer with the headers the template's gateway response of that kind
        (else the default one for its status class) adds, as API Gateway does."""
        fallback = "DEFAULT_5XX" if response.status >= 500 else "DEFAULT_4XX"
        headers = self._gateway_responses.get(kind, self._gateway_responses.get(fallback, []))
        present = {name.lower() for name, _ in response.headers}
        response.headers.extend((name, value) for name, value in headers if name.lower() not in present)
        return response

    def handle(self, request: IncomingRequest) -> LocalResponse:
        if request.path == LOCAL_PREFIX or request.path.startswith(f"{LOCAL_PREFIX}/"):
            return self._handle_local(request)
        if self.media is not None and request.path.startswith("/media/"):
            return self.media(request)
        matched = self.router.match(request.method, request.path)
        site = self._site_for(request) if matched is None else None
        if site is not None:
            return site.serve(request.path, _header(request, "accept-encoding") or "")
        if matched is None:
            # A REST API answers an unknown path, or a method a resource lacks, as a missing token.
            return self.gateway_response(not_found(), "MISSING_AUTHENTICATION_TOKEN")
        route, path_parameters = matched
        event = proxy_event(request, route, path_parameters)
        try:
            result = self._invoke(route.function, event)
            return response_from_proxy_result(result)
        except Exception:
            logger.exception("%s failed on %s %s", route.function, request.method, request.path)
            failed = LocalResponse.error(502, "internal_error", "The function failed; see the runtime's log.")
            return self.gateway_response(failed, "DEFAULT_5XX")

    def _site_for(self, request: IncomingRequest) -> WebSite | None:
        """The studio answers reads of any path that is no API route; ``/v1/...`` never falls back."""
        is_api = request.path == "/v1" or request.path.startswith("/v1/")
        if self.web is None or not self.web.built or request.method not in ("GET", "HEAD") or is_api:
            return None
        return self.web

    def _handle_local(self, request: IncomingRequest) -> LocalResponse:
        found = self.stand_ins.find(request.path)
        if found is None:
            if request.path.rstrip("/") == LOCAL_PREFIX and request.method in ("GET", "HEAD"):
                items = [{"prefix": s.prefix, "description": s.description} for s in self.stand_ins]
                return LocalResponse.json({"items": items})
            return not_found()
        stand_in, subpath = found
        query: dict[str, list[str]] = {}
        for name, value in request.query:
            query.setdefault(name, []).append(value)
        local_request = LocalRequest(
            method=request.method,
            path=request.path,
            subpath=subpath,
            query=query,
            headers={name.lower(): value for name, value in request.headers},
            body=request.body,
            base_url=self.url,
        )
        try:
            return stand_in.handler(local_request)
        except Exception:
            logger.exception("stand-in %s failed on %s %s", stand_in.prefix, request.method, request.path)
            return LocalResponse.error(500, "internal_error", "The stand-in failed; see the runtime's log.")


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # a browser opens several connections at once; the default backlog is 5

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], gateway: Gateway) -> None:
        self.gateway = gateway
        super().__init__(address, handler)


class _BodyTooLargeError(Exception):
    pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "atelier-local"
    sys_version = ""
    server: _HttpServer

    def _serve(self) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except _BodyTooLargeError:
            self.close_connection = True
            response = self.server.gateway.gateway_response(payload_too_large(), "REQUEST_TOO_LARGE")
        else:
            request = IncomingRequest(
                method=self.command,
                path=unquote(url.path) or "/",
                query=parse_qsl(url.query, keep_blank_values=True),
                headers=self._headers_with_forwarding(),
                body=body,
                source_ip=self.client_address[0],
            )
            response = self.server.gateway.handle(request)
        self._write(response)
        logger.info("%s %s %d (%.0f ms)", self.command, url.path, response.status, (time.monotonic() - started) * 1000)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def _headers_with_forwarding(self) -> list[tuple[str, str]]:
        headers = [(name, value) for name, value in self.headers.items() if name.lower() != "x-forwarded-for"]
        forwarded = self.headers.get("X-Forwarded-For")
        client_ip = self.client_address[0]
        headers.append(("X-Forwarded-For", f"{forwarded}, {client_ip}" if forwarded else client_ip))
        headers.append(("X-Forwarded-Proto", "http"))
        headers.append(("X-Forwarded-Port", str(self.server.server_address[1])))
        return headers

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return _read_chunked(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            # Read what was sent before answering: closing on unread data resets the connection,
            # and the client would see a broken pipe instead of the 413.
            if length <= _MAX_DISCARDED_BYTES:
                _discard(self.rfile, length)
            raise _BodyTooLargeError
        return self.rfile.read(length) if length else b""

    def _write(self, response: LocalResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away; nothing to tell it

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


def _discard(stream: Any, length: int) -> None:
    while length > 0:
        read = len(stream.read(min(length, 1024 * 1024)))
        if not read:
            return
        length -= read


def _read_chunked(stream: Any) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size = int(stream.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while stream.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers, up to the blank line that ends the body
            return b"".join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise _BodyTooLargeError
        chunks.append(stream.read(size))
        stream.readline()
