"""What every provider stand-in shares: faults to inject, jobs that move on with time, files,
callbacks, and the HTTP switches under ``<prefix>/_control``. Each provider's module subclasses
``ProviderStandIn`` with its own routes, auth check and error shape."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local.inference.common import (
    BLOCKED_MARKER,
    FAIL_MARKER,
    FAULT_KINDS,
    MAX_FILES,
    TIMEOUT_SLEEP_SECONDS,
    Deliverer,
    SimulatedTimeout,
    http_deliverer,
    local_inference_environment,
)
from local.inference.drawing import draw_image, draw_video, job_size
from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn


class Faults:
    """Failures queued for the next calls."""

    def __init__(self) -> None:
        self._pending: deque[str] = deque()
        self._lock = threading.Lock()

    def fail_next(self, kind: str, times: int = 1) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"a fault is one of {FAULT_KINDS}")
        with self._lock:
            self._pending.extend([kind] * times)

    def take(self) -> str | None:
        with self._lock:
            return self._pending.popleft() if self._pending else None

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def pending(self) -> list[str]:
        with self._lock:
            return list(self._pending)


@dataclass
class FakeJob:
    id: str
    kind: str  # image | video
    model: str
    prompt: str
    seed: int | None
    params: dict[str, Any]
    status: str = "queued"  # queued | running | succeeded | failed | canceled
    files: list[str] = field(default_factory=list)
    error: str | None = None
    webhook: str | None = None
    webhook_events: list[str] | None = None
    endpoint: str = ""
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def final(self) -> bool:
        return self.status in ("succeeded", "failed", "canceled")


@dataclass
class Callback:
    url: str
    headers: dict[str, str]
    body: bytes

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "headers": self.headers, "body": self.body.decode()}


class ProviderStandIn:
    """One provider's stand-in: auth, faults, the files it serves and its jobs."""

    name = ""
    prefix = ""
    description = ""

    def __init__(
        self,
        *,
        timeout_mode: str = "sleep",
        timeout_sleep_seconds: float = TIMEOUT_SLEEP_SECONDS,
        queue_seconds: float = 1.0,
        run_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
        deliver: Deliverer | None = None,
        deliver_in_background: bool = True,
    ) -> None:
        self._deliver = deliver or http_deliverer
        self._deliver_in_background = deliver_in_background
        self.callbacks: list[Callback] = []
        self._origins: dict[str, LocalRequest] = {}  # the request that made each job (its base URL)
        self.faults = Faults()
        self.timeout_mode = timeout_mode
        self.timeout_sleep_seconds = timeout_sleep_seconds
        self.queue_seconds = queue_seconds
        self.run_seconds = run_seconds
        self.clock = clock
        self.lock = threading.RLock()
        self.jobs: dict[str, FakeJob] = {}
        self.requests: deque[tuple[str, str, dict[str, str], bytes]] = deque(maxlen=200)
        self._files: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._routes = self.routes()
        self._control = self.control_routes()

    # -- to be given by each provider ----------------------------------------------------------
    def routes(self) -> LocalRoutes:
        raise NotImplementedError

    def authorised(self, request: LocalRequest) -> bool:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str) -> LocalResponse:
        raise NotImplementedError

    def malformed(self) -> LocalResponse:
        return LocalResponse(200, b'{"id": "unterminated', [("Content-Type", "application/json")])

    # -- mounting ------------------------------------------------------------------------------
    def stand_in(self) -> StandIn:
        return StandIn(self.prefix, self, self.description, local_inference_environment)

    def __call__(self, request: LocalRequest) -> LocalResponse:
        if request.subpath.startswith("/_control/") or request.subpath == "/_control":
            return self._control(request)
        self.requests.append((request.method, request.subpath, dict(request.headers), request.body))
        fault = self.faults.take()
        if fault == "timeout":
            if self.timeout_mode == "raise":
                raise SimulatedTimeout(request.subpath)
            time.sleep(self.timeout_sleep_seconds)
        elif fault == "429":
            answer = self.error(429, "rate_limit_exceeded", "Too many requests; slow down.")
            answer.headers.append(("Retry-After", "2"))
            return answer
        elif fault == "500":
            return self.error(500, "internal_error", "The server had an error.")
        elif fault == "malformed":
            return self.malformed()
        elif fault == "400":
            return self.error(400, "invalid_request", "The request is invalid.")
        if request.subpath.startswith("/files/"):
            return self._file(request)
        if not self.authorised(request):
            return self.error(401, "unauthenticated", "Missing or invalid credentials.")
        return self._routes(request)

    def control_routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/_control/faults")(self._add_faults)
        routes.route("DELETE", "/_control/faults")(self._clear_faults)
        routes.get("/_control/jobs")(self._list_jobs)
        routes.post("/_control/timing")(self._set_timing)
        return routes

    def _set_timing(self, request: LocalRequest) -> LocalResponse:
        """``{"queue_seconds", "run_seconds"}``: how long the jobs made from now on take."""
        try:
            body = request.json() or {}
            queue_seconds = float(body.get("queue_seconds", self.queue_seconds))
            run_seconds = float(body.get("run_seconds", self.run_seconds))
        except (ValueError, TypeError, AttributeError) as exc:
            return LocalResponse.error(400, "invalid_timing", str(exc))
        if queue_seconds < 0 or run_seconds < 0:
            return LocalResponse.error(400, "invalid_timing", "durations are never negative")
        self.queue_seconds, self.run_seconds = queue_seconds, run_seconds
        return LocalResponse.json({"queue_seconds": queue_seconds, "run_seconds": run_seconds})

    def _add_faults(self, request: LocalRequest) -> LocalResponse:
        try:
            body = request.json() or {}
            self.faults.fail_next(str(body.get("kind")), int(body.get("times", 1)))
        except (ValueError, TypeError, AttributeError) as exc:
            return LocalResponse.error(400, "invalid_fault", str(exc))
        return LocalResponse.json({"pending": self.faults.pending()})

    def _clear_faults(self, _: LocalRequest) -> LocalResponse:
        self.faults.clear()
        return LocalResponse.json({"pending": []})

    def _list_jobs(self, _: LocalRequest) -> LocalResponse:
        with self.lock:
            jobs = [
                {"id": job.id, "kind": job.kind, "model": job.model, "status": job.status} for job in self.jobs.values()
            ]
        return LocalResponse.json({"items": jobs})

    # -- files ---------------------------------------------------------------------------------
    def add_file(self, content_type: str, content: bytes) -> str:
        file_id = secrets.token_urlsafe(12)
        with self.lock:
            self._files[file_id] = (content_type, content)
            while len(self._files) > MAX_FILES:
                self._files.popitem(last=False)
        return file_id

    def file_url(self, request: LocalRequest, file_id: str) -> str:
        return f"{request.base_url}{self.prefix}/files/{file_id}"

    def _file(self, request: LocalRequest) -> LocalResponse:
        with self.lock:
            found = self._files.get(request.subpath.removeprefix("/files/"))
        if found is None or request.method not in ("GET", "HEAD"):
            return LocalResponse(404, b"Not found", [("Content-Type", "text/plain")])
        content_type, content = found
        return LocalResponse(200, content, [("Content-Type", content_type)])

    # -- jobs ----------------------------------------------------------------------------------
    def add_job(self, job: FakeJob) -> FakeJob:
        with self.lock:
            job.created_at = self.clock()
            self.jobs[job.id] = job
        return job

    def advance(self, job: FakeJob) -> bool:
        """Brings a job up to date with the clock; True when this look finished it."""
        with self.lock:
            if job.final:
                return False
            now = self.clock()
            starts = job.created_at + self.queue_seconds
            if now < starts:
                return False
            job.status, job.started_at = "running", starts
            if now < starts + self.run_seconds:
                return False
        self.finish(job)
        return True

    def finish(self, job: FakeJob) -> None:
        """Renders a job's media (or fails it) and marks it done."""
        if FAIL_MARKER in job.prompt or BLOCKED_MARKER in job.prompt:
            status, error, files = "failed", "The model failed to generate an output.", []
        else:
            if job.kind == "video":
                files = [self.add_file("video/mp4", draw_video(job.prompt, job.seed, job.params))]
            else:
                files = [self.add_file("image/png", draw_image(job.prompt, job.seed, job_size(job.params)))]
            status, error = "succeeded", None
        with self.lock:
            if job.final:
                return
            if job.started_at is None:
                job.started_at = self.clock()
            job.status, job.error, job.files, job.finished_at = status, error, files, self.clock()

    def cancel_job(self, job: FakeJob) -> bool:
        with self.lock:
            if job.final:
                return False
            job.status, job.finished_at = "canceled", self.clock()
            return True

    # -- callbacks -----------------------------------------------------------------------------
    def callback(self, job: FakeJob) -> Callback | None:
        """The call back the provider makes when the job ends (None when none was asked for)."""
        return None

    def remember_origin(self, job: FakeJob, request: LocalRequest) -> None:
        with self.lock:
            self._origins[job.id] = request

    def origin(self, job: FakeJob) -> LocalRequest | None:
        with self.lock:
            return self._origins.get(job.id)

    def call_back_when_done(self, job: FakeJob) -> None:
        """A job asked to call back ends on its own time, whether or not anyone looks, and calls back."""
        if job.webhook and self._deliver_in_background:
            timer = threading.Timer(self.queue_seconds + self.run_seconds + 0.01, self._finish_on_time, (job,))
            timer.daemon = True
            timer.start()

    def _finish_on_time(self, job: FakeJob) -> None:
        if self.advance(job):
            self.send_callback(job)

    def send_callback(self, job: FakeJob) -> None:
        callback = self.callback(job)
        if callback is None:
            return
        with self.lock:
            self.callbacks.append(callback)

        def deliver() -> None:
            self._deliver(callback.url, callback.headers, callback.body)

        if self._deliver_in_background:
            threading.Thread(target=deliver, name=f"{self.name}-callback", daemon=True).start()
        else:
            deliver()


def bearer(request: LocalRequest) -> str:
    value = request.header("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "token") else value.strip()


def json_body(request: LocalRequest) -> dict[str, Any] | None:
    try:
        body = request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def new_request_id() -> str:
    return f"req_{secrets.token_hex(12)}"
