"""A webhook receiver on 127.0.0.1 (a free port) that records every request it is sent, answering
each with the status its script says (200 once the script runs out). (No tests here.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # When it arrived (wall clock, seconds), for latency figures.
    at: float = field(default_factory=time.time)


@dataclass
class Receiver:
    url: str = ""
    # Statuses answered to the first requests, in order; a 3xx is sent with `redirect_to`.
    script: list[int] = field(default_factory=list)
    redirect_to: str = ""
    received: list[Received] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def answer(self) -> int:
        with self._changed:
            return self.script.pop(0) if self.script else 200

    def record(self, request: Received) -> None:
        with self._changed:
            self.received.append(request)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """Returns once `count` requests have arrived (the readiness condition, not a sleep)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} webhook requests arrived")
                self._changed.wait(left)
            return list(self.received)


@contextmanager
def running_receiver(script: list[int] | None = None, redirect_to: str = "") -> Iterator[Receiver]:
    receiver = Receiver(script=list(script or []), redirect_to=redirect_to)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            receiver.record(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = receiver.answer()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("location", receiver.redirect_to)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
