"""The embedded AWS emulator: moto's server, answering one request at a time.

moto keeps its state in plain Python objects with no per-item locking. Two threads running
conditional writes against the same DynamoDB item can both read the old value and both succeed,
so money invariants would hold or break by luck. Serialising every request (including the
streaming of its response body) gives each one the atomicity DynamoDB promises.

One exception: an SQS long poll (ReceiveMessage with a wait time) must not hold the lock while it
waits, or it would freeze every other service and no message could ever arrive to end the wait.
The serialised app runs such a receive as a series of non-waiting receives, releasing the lock
between them.

moto's state is process-wide: every emulator started in one process shares the same backends.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import ThreadedWSGIServer

from local import moto_patches
from local.template import REGION

logger = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# moto accepts any credentials; these name the emulator's and never reach AWS.
EMULATOR_ACCESS_KEY_ID = "testing"
EMULATOR_SECRET_ACCESS_KEY = "testing"  # noqa: S105

_LONG_POLL_STEP_SECONDS = 0.05
_SQS_RECEIVE_TARGET = "AmazonSQS.ReceiveMessage"


class SerialisedApp:
    """A WSGI app that lets one request at a time into the wrapped app."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        receive = _SqsReceive.parse(environ)
        if receive is not None:
            return self._receive(receive, environ, start_response)
        with self._lock:
            return self._call_and_drain(environ, start_response)

    def _call_and_drain(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        # The body is produced lazily by some backends (S3 downloads): read it while still holding the lock.
        result = self._app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def _receive(
        self, receive: _SqsReceive, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        """An SQS receive, its wait spent outside the lock: non-waiting receives until one gets messages."""
        deadline = time.monotonic() + receive.wait_seconds
        while True:
            started = _StartedResponse()
            with self._lock:
                body = self._call_and_drain(receive.without_wait(environ), started)
            got_messages = b"ReceiptHandle" in body[0]
            if got_messages or not started.status.startswith("200") or time.monotonic() >= deadline:
                start_response(started.status, started.headers)
                return body
            time.sleep(_LONG_POLL_STEP_SECONDS)


class _StartedResponse:
    """A WSGI start_response that keeps the status and headers for later."""

    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        self.status, self.headers = status, headers
        return lambda _data: None


class _SqsReceive:
    """An SQS ReceiveMessage request, in either of the protocols SQS speaks (JSON or query)."""

    def __init__(self, body: bytes, wait_seconds: float, is_json: bool) -> None:
        self.wait_seconds = wait_seconds
        self._body = body
        self._is_json = is_json

    @classmethod
    def parse(cls, environ: dict[str, Any]) -> _SqsReceive | None:
        is_json = environ.get("HTTP_X_AMZ_TARGET") == _SQS_RECEIVE_TARGET
        is_query = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
        if not (is_json or is_query):
            return None
        body = _read_body(environ)
        if is_json:
            wait = _json_wait_seconds(body)
        else:
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            if form.get("Action") != "ReceiveMessage":
                return None
            wait = _as_float(form.get("WaitTimeSeconds"))
        # Every receive is rewritten to an explicit zero wait: left out, moto would fall back to the
        # queue's ReceiveMessageWaitTimeSeconds and wait inside the lock. (A queue's default wait is
        # therefore not honoured: a receive that names no wait time returns at once.)
        return cls(body, wait or 0.0, is_json)

    def without_wait(self, environ: dict[str, Any]) -> dict[str, Any]:
        if self._is_json:
            payload = json.loads(self._body)
            payload["WaitTimeSeconds"] = 0
            body = json.dumps(payload).encode()
        else:
            form = parse_qsl(self._body.decode(), keep_blank_values=True)
            body = urlencode(
                [*(pair for pair in form if pair[0] != "WaitTimeSeconds"), ("WaitTimeSeconds", "0")]
            ).encode()
        rewritten = dict(environ)
        rewritten["wsgi.input"] = io.BytesIO(body)
        rewritten["CONTENT_LENGTH"] = str(len(body))
        return rewritten


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _json_wait_seconds(body: bytes) -> float | None:
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return None
    return _as_float(payload.get("WaitTimeSeconds")) if isinstance(payload, dict) else None


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def emulator_client(service: str, endpoint_url: str, **options: Any) -> Any:
    """A boto3 client for one service of the emulator, whatever the process's AWS settings."""
    session = boto3.session.Session(
        aws_access_key_id=EMULATOR_ACCESS_KEY_ID, aws_secret_access_key=EMULATOR_SECRET_ACCESS_KEY, region_name=REGION
    )
    return session.client(service, endpoint_url=endpoint_url, **options)  # type: ignore[call-overload]


class _QuietRequestHandler(MotoRequestHandler):
    """moto's request handler, logging each request at debug level instead of to stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug("emulator request %s %s", self.requestline, code)


class SerialMotoServer:
    """moto's server on a local port, in a background thread.

    With ``serialise=True`` (the default) requests run one at a time; ``serialise=False`` gives
    moto's plain threaded server, whose conditional writes race.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, serialise: bool = True) -> None:
        self._host = host
        self._port = port
        self._serialise = serialise
        self._server: ThreadedWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> SerialMotoServer:
        app: WsgiApp = DomainDispatcherApplication(create_backend_app)
        if self._serialise:
            # The faster transactions rely on requests running one at a time.
            moto_patches.apply()
            app = SerialisedApp(app)
        # Binding happens here, on the caller's thread, so the port is known when start() returns.
        self._server = ThreadedWSGIServer(self._host, self._port, app, handler=_QuietRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="aws-emulator", daemon=True)
        self._thread.start()
        logger.info("emulator started at %s (serialised: %s)", self.endpoint_url, self._serialise)
        return self

    def reset(self) -> None:
        """Forget every table, queue and bucket (in every emulator of this process)."""
        reset_url = f"{self.endpoint_url}/moto-api/reset"
        request = urllib.request.Request(reset_url, method="POST")  # noqa: S310 - the emulator's own http URL
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            response.read()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> SerialMotoServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
