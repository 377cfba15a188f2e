"""Stand-ins for the inference providers' HTTP APIs: OpenAI Images, BytePlus ModelArk, RunPod
serverless and Replicate, in their documented request and response shapes, with their own auth
headers checked. What they return is real media, drawn by the local provider's renderers. Never
deployed.

Mounted (by whoever wants them: ``inference_stand_ins()``) at:

- ``/_local/providers/openai/v1/images/generations``;
- ``/_local/providers/modelark/api/v3/images/generations`` and ``.../contents/generations/tasks[/{id}]``;
- ``/_local/providers/runpod/v2/{endpoint}/run``, ``/status/{id}``, ``/cancel/{id}``;
- ``/_local/providers/replicate/v1/predictions[/{id}[/cancel]]``, ``/v1/models/{owner}/{name}/predictions``
  and ``/v1/webhooks/default/secret``.

Asynchronous jobs move on with time: queued for ``queue_seconds`` (1 s), then running for
``run_seconds`` (2 s), then done; a job is rendered when a look finds it due. A job asked to call back
(Replicate's ``webhook``, RunPod's ``webhook``, ModelArk's ``callback_url``) also finishes on a timer
and calls back, as the real providers do, whether or not anyone looks. Tests hand in a clock they
move; ``LOCAL_INFERENCE_QUEUE_SECONDS``/``LOCAL_INFERENCE_RUN_SECONDS`` or
``POST <prefix>/_control/timing`` ``{"queue_seconds", "run_seconds"}`` set how long jobs take.
Files they make are served from ``<prefix>/files/{id}``; images are drawn at most 1024 pixels a side
(scaled down, aspect kept). Prompts steer them as they steer the local provider: ``[fail]`` makes
the job fail, ``[blocked]`` makes the provider refuse it as its content policy would.

Every stand-in has switches, also reachable over HTTP for the local runtime:
``POST <prefix>/_control/faults`` with ``{"kind": "429" | "500" | "timeout" | "malformed" | "400",
"times": n}`` makes the next n calls fail that way (a timeout sleeps past the adapters' timeout, or
raises ``SimulatedTimeout`` for an in-memory transport to turn into a timeout);
``DELETE <prefix>/_control/faults`` clears them; ``GET <prefix>/_control/jobs`` lists the jobs.
Replicate's ``POST <prefix>/_control/predictions/{id}/complete[?deliver=false]`` finishes a
prediction now and sends (or answers) its signed webhook.

The keys below are documented local-only values, shared by the stand-ins and the settings their
``environment`` hooks give the functions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import secrets
import string
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.standins import LocalRequest, LocalResponse, LocalRoutes, StandIn

logger = logging.getLogger(__name__)

PREFIX = "/_local/providers"
OPENAI_PREFIX = f"{PREFIX}/openai"
MODELARK_PREFIX = f"{PREFIX}/modelark"
RUNPOD_PREFIX = f"{PREFIX}/runpod"
REPLICATE_PREFIX = f"{PREFIX}/replicate"

# Documented local-only secrets: these providers exist only inside the local runtime.
OPENAI_API_KEY = "sk-atelier-local"
MODELARK_API_KEY = "ark-atelier-local"
RUNPOD_API_KEY = "rpa_ATELIER_LOCAL"
REPLICATE_API_TOKEN = "r8_atelier_local"  # noqa: S105
REPLICATE_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"atelier-local-replicate-webhooks").decode()

# The adapters' timeouts in the local runtime (the environment hooks set them), and how long a
# "timeout" fault sleeps: past both.
LOCAL_HTTP_TIMEOUT_SECONDS = 10
LOCAL_SYNC_TIMEOUT_SECONDS = 20
TIMEOUT_SLEEP_SECONDS = 21.0

FAULT_KINDS = ("429", "500", "timeout", "malformed", "400")
FAIL_MARKER = "[fail]"
BLOCKED_MARKER = "[blocked]"
# The stand-ins draw at most this many pixels a side, so a 2048x2048 request stays fast.
MAX_DRAWN_SIDE = 1024
MAX_FILES = 256
# Replicate's API does not say what a model makes; the stand-in takes these names for video models.
VIDEO_MODEL_WORDS = ("video", "seedance", "kling", "veo", "hailuo", "wan-", "ltx")

# url, headers, body -> the receiver's HTTP status (0 when it could not be reached).
Deliverer = Callable[[str, Mapping[str, str], bytes], int]


class SimulatedTimeout(Exception):
    """Raised instead of sleeping when the stand-in sits behind an in-memory transport."""


def http_deliverer(url: str, headers: Mapping[str, str], body: bytes) -> int:
    import httpx

    try:
        return httpx.post(url, content=body, headers=dict(headers), timeout=30.0).status_code
    except httpx.HTTPError as exc:
        logger.warning("webhook delivery failed: %s", type(exc).__name__)
        return 0


def local_inference_environment(base_url: str) -> dict[str, str]:
    """The settings that point Atelier's inference adapters at these stand-ins."""
    return {
        "OPENAI_API_BASE": f"{base_url}{OPENAI_PREFIX}/v1",
        "OPENAI_API_KEY": OPENAI_API_KEY,
        "MODELARK_API_BASE": f"{base_url}{MODELARK_PREFIX}/api/v3",
        "MODELARK_API_KEY": MODELARK_API_KEY,
        "RUNPOD_API_BASE": f"{base_url}{RUNPOD_PREFIX}/v2",
        "RUNPOD_API_KEY": RUNPOD_API_KEY,
        "REPLICATE_API_BASE": f"{base_url}{REPLICATE_PREFIX}/v1",
        "REPLICATE_API_TOKEN": REPLICATE_API_TOKEN,
        "REPLICATE_WEBHOOK_SECRET": REPLICATE_WEBHOOK_SECRET,
        "INFERENCE_HTTP_TIMEOUT_SECONDS": str(LOCAL_HTTP_TIMEOUT_SECONDS),
        "INFERENCE_SYNC_TIMEOUT_SECONDS": str(LOCAL_SYNC_TIMEOUT_SECONDS),
    }


# ------------------------------------------------------------------------------------------
# Drawing.
# ------------------------------------------------------------------------------------------
_NAMED_SIZES = {"1k": (1024, 1024), "2k": (2048, 2048), "4k": (4096, 4096)}


def _size(value: Any, default: tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, str) and value.lower() in _NAMED_SIZES:
        return _NAMED_SIZES[value.lower()]
    if isinstance(value, str) and "x" in value.lower():
        width, _, height = value.lower().partition("x")
        if width.strip().isdigit() and height.strip().isdigit():
            return int(width), int(height)
    return default


def _job_size(params: Mapping[str, Any]) -> tuple[int, int]:
    width, height = params.get("width"), params.get("height")
    if isinstance(width, int) and isinstance(height, int):
        return width, height
    return _size(params.get("size"), (512, 512))


def drawn_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size a stand-in draws for the size asked: at most MAX_DRAWN_SIDE a side, aspect kept."""
    scale = min(1.0, MAX_DRAWN_SIDE / max(size))
    width, height = (max(round(side * scale), 64) for side in size)
    return width, height


def draw_image(prompt: str, seed: int | None, size: tuple[int, int], image_format: str = "png") -> bytes:
    from PIL import Image

    from atelier.integrations.inference.local import ImageSpec, render_image

    width, height = drawn_size(size)
    png = render_image(ImageSpec(prompt=prompt, seed=seed or 0, width=width, height=height))
    if image_format == "png":
        return png
    buffer = io.BytesIO()
    with Image.open(io.BytesIO(png)) as image:
        image.convert("RGB").save(buffer, format="JPEG" if image_format in ("jpeg", "jpg") else "WEBP", quality=85)
    return buffer.getvalue()


def draw_video(prompt: str, seed: int | None, params: Mapping[str, Any]) -> bytes:
    from atelier.integrations.inference.local import MAX_VIDEO_SECONDS, VideoSpec, render_video

    try:
        duration = float(params.get("duration_s") or params.get("duration") or 2)
    except (TypeError, ValueError):
        duration = 2.0
    duration = min(max(duration, 0.5), MAX_VIDEO_SECONDS)
    return render_video(VideoSpec(prompt=prompt, seed=seed or 0, duration_s=duration))


# ------------------------------------------------------------------------------------------
# What every provider stand-in shares.
# ------------------------------------------------------------------------------------------
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
                files = [self.add_file("image/png", draw_image(job.prompt, job.seed, _job_size(job.params)))]
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


def _bearer(request: LocalRequest) -> str:
    value = request.header("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "token") else value.strip()


def _json_body(request: LocalRequest) -> dict[str, Any] | None:
    try:
        body = request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _request_id() -> str:
    return f"req_{secrets.token_hex(12)}"


# ------------------------------------------------------------------------------------------
# OpenAI Images.
# ------------------------------------------------------------------------------------------
class OpenAIStandIn(ProviderStandIn):
    name = "openai"
    prefix = OPENAI_PREFIX
    description = "OpenAI Images API stand-in (images/generations)"

    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/images/generations")(self._generate)
        return routes

    def authorised(self, request: LocalRequest) -> bool:
        return hmac.compare_digest(_bearer(request), OPENAI_API_KEY)

    def error(self, status: int, code: str, message: str) -> LocalResponse:
        kind = {401: "invalid_request_error", 429: "requests", 500: "server_error"}.get(status, "invalid_request_error")
        return LocalResponse.json({"error": {"message": message, "type": kind, "param": None, "code": code}}, status)

    def _generate(self, request: LocalRequest) -> LocalResponse:
        body = _json_body(request)
        if body is None or not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
            return self.error(400, "invalid_value", "'prompt' is required.")
        model = str(body.get("model") or "dall-e-2")
        prompt = body["prompt"]
        if BLOCKED_MARKER in prompt:
            return self.error(400, "moderation_blocked", "Your request was rejected by the safety system.")
        output_format = str(body.get("output_format") or "png")
        if output_format not in ("png", "jpeg", "webp"):
            return self.error(400, "invalid_value", "'output_format' must be png, jpeg or webp.")
        size = _size(body.get("size"), (1024, 1024))
        count = min(max(int(body.get("n") or 1), 1), 4)
        dall_e = model.startswith("dall-e")
        wants_url = dall_e and body.get("response_format", "url") == "url"
        data = []
        for index in range(count):
            image = draw_image(f"{prompt} #{index}" if index else prompt, 0, size, output_format)
            if wants_url:
                data.append({"url": self.file_url(request, self.add_file(f"image/{output_format}", image))})
            else:
                data.append({"b64_json": base64.b64encode(image).decode()})
        answer: dict[str, Any] = {"created": int(self.clock()), "data": data}
        if not dall_e:
            answer |= {
                "background": body.get("background") or "opaque",
                "output_format": output_format,
                "quality": body.get("quality") or "medium",
                "size": "{}x{}".format(*drawn_size(size)),
                "usage": {"input_tokens": len(prompt.split()), "output_tokens": 1056 * count, "total_tokens": 0},
            }
        return LocalResponse.json(answer, headers=[("x-request-id", _request_id())])


# ------------------------------------------------------------------------------------------
# BytePlus ModelArk.
# ------------------------------------------------------------------------------------------
class ModelArkStandIn(ProviderStandIn):
    name = "modelark"
    prefix = MODELARK_PREFIX
    description = "BytePlus ModelArk stand-in (Seedream images, Seedance video tasks)"

    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/api/v3/images/generations")(self._images)
        routes.post("/api/v3/contents/generations/tasks")(self._create_task)
        routes.get("/api/v3/contents/generations/tasks/{task_id}")(self._get_task)
        routes.route("DELETE", "/api/v3/contents/generations/tasks/{task_id}")(self._delete_task)
        return routes

    def authorised(self, request: LocalRequest) -> bool:
        return hmac.compare_digest(_bearer(request), MODELARK_API_KEY)

    def error(self, status: int, code: str, message: str) -> LocalResponse:
        codes = {401: "AuthenticationError", 429: "RateLimitExceeded.EndpointRPMExceeded", 500: "InternalServiceError"}
        return LocalResponse.json(
            {"error": {"code": codes.get(status, code), "message": message, "param": "", "type": "BadRequest"}}, status
        )

    def _images(self, request: LocalRequest) -> LocalResponse:
        body = _json_body(request)
        if body is None or not body.get("model") or not isinstance(body.get("prompt"), str):
            return self.error(400, "MissingParameter", "The request failed because it is missing `model` or `prompt`.")
        prompt = body["prompt"]
        if BLOCKED_MARKER in prompt:
            return self.error(400, "InputTextSensitiveContentDetected", "The request failed: sensitive content.")
        size = _size(body.get("size"), (2048, 2048))
        if FAIL_MARKER in prompt:
            data: list[dict[str, Any]] = [
                {"error": {"code": "OutputImageSensitiveContentDetected", "message": "The output was refused."}}
            ]
        else:
            image = draw_image(prompt, body.get("seed"), size, "jpeg")
            drawn = "{}x{}".format(*drawn_size(size))
            if body.get("response_format") == "b64_json":
                data = [{"b64_json": base64.b64encode(image).decode(), "size": drawn}]
            else:
                data = [{"url": self.file_url(request, self.add_file("image/jpeg", image)), "size": drawn}]
        generated = sum(1 for item in data if "error" not in item)
        answer = {
            "model": body["model"],
            "created": int(self.clock()),
            "data": data,
            "usage": {"generated_images": generated, "output_tokens": generated * 16384, "total_tokens": 0},
        }
        return LocalResponse.json(answer, headers=[("x-request-id", _request_id())])

    def _create_task(self, request: LocalRequest) -> LocalResponse:
        body = _json_body(request)
        content = body.get("content") if body else None
        items = content if isinstance(content, list) else []
        texts = [item.get("text") for item in items if isinstance(item, dict) and item.get("type") == "text"]
        if body is None or not body.get("model") or not texts or not isinstance(texts[0], str):
            return self.error(400, "MissingParameter", "The request failed because it is missing `model` or `content`.")
        if BLOCKED_MARKER in texts[0]:
            return self.error(400, "InputTextSensitiveContentDetected", "The request failed: sensitive content.")
        task_id = f"cgt-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"
        params: dict[str, Any] = {name: body[name] for name in ("duration", "resolution", "ratio") if name in body}
        callback_url = body.get("callback_url")
        if callback_url is not None and not (
            isinstance(callback_url, str) and callback_url.startswith(("http://", "https://"))
        ):
            return self.error(400, "InvalidParameter", "callback_url must be an HTTP(S) URL.")
        job = FakeJob(task_id, "video", str(body["model"]), texts[0], body.get("seed"), params)
        job.webhook = callback_url
        self.remember_origin(job, request)
        self.add_job(job)
        self.call_back_when_done(job)
        return LocalResponse.json({"id": task_id})

    def callback(self, job: FakeJob) -> Callback | None:
        origin = self.origin(job)
        if not job.webhook or origin is None:
            return None
        body = json.dumps(self._task(origin, job)).encode()
        return Callback(job.webhook, {"Content-Type": "application/json"}, body)

    def _find(self, request: LocalRequest) -> FakeJob | None:
        with self.lock:
            return self.jobs.get(request.params["task_id"])

    def _get_task(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "ResourceNotFound", "The specified task is not found.")
        if self.advance(job):
            self.send_callback(job)
        return LocalResponse.json(self._task(request, job))

    def _task(self, request: LocalRequest, job: FakeJob) -> dict[str, Any]:
        status = "cancelled" if job.status == "canceled" else job.status
        task: dict[str, Any] = {
            "id": job.id,
            "model": job.model,
            "status": status,
            "error": None,
            "created_at": int(job.created_at),
            "updated_at": int(job.finished_at or job.started_at or job.created_at),
        }
        if job.status == "succeeded":
            task |= {
                "content": {"video_url": self.file_url(request, job.files[0])},
                "seed": job.seed if job.seed is not None else 42,
                "resolution": job.params.get("resolution", "720p"),
                "ratio": job.params.get("ratio", "16:9"),
                "duration": job.params.get("duration", 5),
                "framespersecond": 24,
                "usage": {"completion_tokens": 108900, "total_tokens": 108900},
            }
        elif job.status == "failed":
            task["error"] = {"code": "OutputVideoSensitiveContentDetected", "message": job.error}
        return task

    def _delete_task(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "ResourceNotFound", "The specified task is not found.")
        with self.lock:
            if job.status == "running":
                return self.error(400, "InvalidParameter", "A running task cannot be cancelled.")
            if job.status == "queued":
                self.cancel_job(job)
            else:  # a finished task: its record is deleted
                self.jobs.pop(job.id, None)
        return LocalResponse.json({})


# ------------------------------------------------------------------------------------------
# RunPod serverless.
# ------------------------------------------------------------------------------------------
_RUNPOD_STATUS = {
    "queued": "IN_QUEUE",
    "running": "IN_PROGRESS",
    "succeeded": "COMPLETED",
    "failed": "FAILED",
    "canceled": "CANCELLED",
}


class RunPodStandIn(ProviderStandIn):
    name = "runpod"
    prefix = RUNPOD_PREFIX
    description = "RunPod serverless stand-in (run, status, cancel); outputs {images: [base64]} or {video: url}"

    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v2/{endpoint}/run")(self._run)
        routes.get("/v2/{endpoint}/status/{job_id}")(self._status)
        routes.post("/v2/{endpoint}/status/{job_id}")(self._status)
        routes.post("/v2/{endpoint}/cancel/{job_id}")(self._cancel)
        return routes

    def authorised(self, request: LocalRequest) -> bool:
        return hmac.compare_digest(_bearer(request), RUNPOD_API_KEY)

    def error(self, status: int, code: str, message: str) -> LocalResponse:
        return LocalResponse.json({"error": message}, status)

    def _run(self, request: LocalRequest) -> LocalResponse:
        body = _json_body(request)
        job_input = body.get("input") if body else None
        if not isinstance(job_input, dict):
            return self.error(400, "invalid_input", "The request body must have an 'input' object.")
        prompt = str(job_input.get("prompt") or "")
        job_id = f"{uuid.uuid4()}-u1"
        kind = "video" if job_input.get("kind") == "video" else "image"
        webhook = body.get("webhook") if body else None
        if webhook is not None and not (isinstance(webhook, str) and webhook.startswith(("http://", "https://"))):
            return self.error(400, "invalid_input", "webhook must be an HTTP(S) URL.")
        job = FakeJob(job_id, kind, request.params["endpoint"], prompt, job_input.get("seed"), dict(job_input))
        job.endpoint = request.params["endpoint"]
        job.webhook = webhook
        self.remember_origin(job, request)
        self.add_job(job)
        self.call_back_when_done(job)
        return LocalResponse.json({"id": job_id, "status": "IN_QUEUE"})

    def callback(self, job: FakeJob) -> Callback | None:
        origin = self.origin(job)
        if not job.webhook or origin is None:
            return None
        body = json.dumps(self._answer(origin, job)).encode()
        return Callback(job.webhook, {"Content-Type": "application/json"}, body)

    def _find(self, request: LocalRequest) -> FakeJob | None:
        with self.lock:
            job = self.jobs.get(request.params["job_id"])
        return job if job is not None and job.endpoint == request.params["endpoint"] else None

    def _status(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "not_found", "request does not exist")
        if self.advance(job):
            self.send_callback(job)
        return LocalResponse.json(self._answer(request, job))

    def _cancel(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "not_found", "request does not exist")
        self.cancel_job(job)
        return LocalResponse.json({"id": job.id, "status": _RUNPOD_STATUS[job.status]})

    def _answer(self, request: LocalRequest, job: FakeJob) -> dict[str, Any]:
        answer: dict[str, Any] = {"id": job.id, "status": _RUNPOD_STATUS[job.status]}
        if job.started_at is not None:
            answer |= {"delayTime": round((job.started_at - job.created_at) * 1000), "workerId": "local-worker"}
        if job.final and job.started_at is not None and job.finished_at is not None:
            answer["executionTime"] = round((job.finished_at - job.started_at) * 1000)
        if job.status == "succeeded":
            if job.kind == "video":
                answer["output"] = {"video": self.file_url(request, job.files[0])}
            else:
                images = [base64.b64encode(self._content(file_id)).decode() for file_id in job.files]
                answer["output"] = {"images": images}
        elif job.status == "failed":
            answer["error"] = json.dumps(
                {"error_type": "RuntimeError", "error_message": job.error, "error_traceback": "Traceback (...)"}
            )
        return answer

    def _content(self, file_id: str) -> bytes:
        with self.lock:
            return self._files[file_id][1]


# ------------------------------------------------------------------------------------------
# Replicate.
# ------------------------------------------------------------------------------------------
def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1e6):06d}Z"


def sign_webhook(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class ReplicateStandIn(ProviderStandIn):
    name = "replicate"
    prefix = REPLICATE_PREFIX
    description = "Replicate stand-in (predictions, signed webhooks)"

    def __init__(self, *, webhook_secret: str = REPLICATE_WEBHOOK_SECRET, **options: Any) -> None:
        self.webhook_secret = webhook_secret
        self.base_urls: dict[str, str] = {}
        super().__init__(**options)

    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/predictions")(self._create_versioned)
        routes.post("/v1/models/{owner}/{name}/predictions")(self._create_official)
        routes.get("/v1/predictions/{prediction_id}")(self._get)
        routes.post("/v1/predictions/{prediction_id}/cancel")(self._cancel)
        routes.get("/v1/webhooks/default/secret")(self._secret)
        return routes

    def control_routes(self) -> LocalRoutes:
        routes = super().control_routes()
        routes.post("/_control/predictions/{prediction_id}/complete")(self._complete)
        return routes

    def authorised(self, request: LocalRequest) -> bool:
        return hmac.compare_digest(_bearer(request), REPLICATE_API_TOKEN)

    def error(self, status: int, code: str, message: str) -> LocalResponse:
        titles = {401: "Unauthenticated", 404: "Not found", 422: "Input validation failed", 429: "Too many requests"}
        title = titles.get(status, "Internal server error" if status >= 500 else "Bad request")
        answer = LocalResponse.json({"title": title, "detail": message, "status": status}, status)
        answer.headers[0] = ("Content-Type", "application/problem+json")
        return answer

    def _create_versioned(self, request: LocalRequest) -> LocalResponse:
        body = _json_body(request)
        version = body.get("version") if body else None
        if not isinstance(version, str) or not version:
            return self.error(422, "invalid", "version is required")
        return self._create(request, body or {}, model=f"local/{version[:12]}", version=version)

    def _create_official(self, request: LocalRequest) -> LocalResponse:
        model = f"{request.params['owner']}/{request.params['name']}"
        return self._create(request, _json_body(request) or {}, model=model, version="hidden")

    def _create(self, request: LocalRequest, body: Mapping[str, Any], *, model: str, version: str) -> LocalResponse:
        model_input = body.get("input")
        if not isinstance(model_input, dict) or not isinstance(model_input.get("prompt"), str):
            return self.error(422, "invalid", "input: prompt is required")
        webhook = body.get("webhook")
        events = body.get("webhook_events_filter")
        if webhook is not None and (not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))):
            return self.error(422, "invalid", "webhook must be an HTTP(S) URL")
        prediction_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))
        kind = "video" if any(word in model.lower() for word in VIDEO_MODEL_WORDS) else "image"
        job = FakeJob(prediction_id, kind, model, model_input["prompt"], model_input.get("seed"), dict(model_input))
        job.webhook, job.webhook_events = webhook, events if isinstance(events, list) else None
        job.endpoint = version
        with self.lock:
            self.base_urls[prediction_id] = request.base_url
        self.add_job(job)
        self.call_back_when_done(job)
        return LocalResponse.json(self.prediction(job), status=201)

    def _find(self, request: LocalRequest) -> FakeJob | None:
        with self.lock:
            return self.jobs.get(request.params["prediction_id"])

    def _get(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "not_found", "The requested resource could not be found.")
        if self.advance(job):
            self.send_callback(job)
        return LocalResponse.json(self.prediction(job))

    def _cancel(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "not_found", "The requested resource could not be found.")
        if self.cancel_job(job):
            self.send_callback(job)
        return LocalResponse.json(self.prediction(job))

    def _secret(self, _: LocalRequest) -> LocalResponse:
        return LocalResponse.json({"key": self.webhook_secret})

    def _complete(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return LocalResponse.error(404, "not_found", "No such prediction.")
        self.finish(job)
        callback = self.signed_callback(job)
        if request.query_value("deliver", "true") != "false" and callback is not None:
            self._deliver(callback.url, callback.headers, callback.body)
        return LocalResponse.json({"prediction": self.prediction(job), "callback": callback and callback.as_json()})

    def prediction(self, job: FakeJob) -> dict[str, Any]:
        with self.lock:
            base = f"{self.base_urls.get(job.id, '')}{self.prefix}"
        status = {"queued": "starting", "running": "processing"}.get(job.status, job.status)
        answer: dict[str, Any] = {
            "id": job.id,
            "model": job.model,
            "version": job.endpoint,
            "input": job.params,
            "logs": "",
            "output": None,
            "data_removed": False,
            "error": None,
            "status": status,
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "completed_at": _iso(job.finished_at),
            "urls": {
                "get": f"{base}/v1/predictions/{job.id}",
                "cancel": f"{base}/v1/predictions/{job.id}/cancel",
                "web": f"https://replicate.com/p/{job.id}",
            },
            "metrics": {},
        }
        if job.status == "running":
            answer["logs"] = "Using seed: 42\n 50%|#####     | 14/28 [00:01<00:01]"
        if job.started_at is not None and job.final:
            answer["metrics"] = {"predict_time": round((job.finished_at or job.started_at) - job.started_at, 3)}
        if job.status == "succeeded":
            urls = [f"{base}/files/{file_id}" for file_id in job.files]
            answer["output"] = urls[0] if job.kind == "video" else urls
            answer["logs"] = "Using seed: 42\n100%|##########| 28/28 [00:02<00:00]"
        elif job.status == "failed":
            answer["error"] = job.error
        return answer

    def signed_callback(self, job: FakeJob, *, at: float | None = None) -> Callback | None:
        """The webhook Replicate sends for a finished prediction (None when none was asked for)."""
        if not job.webhook or (job.webhook_events is not None and "completed" not in job.webhook_events):
            return None
        body = json.dumps(self.prediction(job)).encode()
        webhook_id = f"msg_{secrets.token_urlsafe(18)}"
        timestamp = str(int(at if at is not None else self.clock()))
        signature = sign_webhook(self.webhook_secret, webhook_id, timestamp, body)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": signature,
        }
        return Callback(job.webhook, headers, body)

    def callback(self, job: FakeJob) -> Callback | None:
        return self.signed_callback(job)


# ------------------------------------------------------------------------------------------
# Mounting.
# ------------------------------------------------------------------------------------------
def provider_stand_ins(**options: Any) -> list[ProviderStandIn]:
    """One stand-in per provider; ``options`` go to each (Replicate's own ones to Replicate only)."""
    names = (
        "timeout_mode",
        "timeout_sleep_seconds",
        "queue_seconds",
        "run_seconds",
        "clock",
        "deliver",
        "deliver_in_background",
    )
    shared: dict[str, Any] = {name: options[name] for name in names if name in options}
    replicate = {name: options[name] for name in ("webhook_secret",) if name in options}
    return [
        OpenAIStandIn(**shared),
        ModelArkStandIn(**shared),
        RunPodStandIn(**shared),
        ReplicateStandIn(**shared, **replicate),
    ]


def inference_stand_ins(environ: Mapping[str, str] | None = None) -> list[StandIn]:
    """The four provider stand-ins as the local runtime mounts them, each with the ``environment``
    hook that points the adapters at it. ``LOCAL_INFERENCE_QUEUE_SECONDS`` and
    ``LOCAL_INFERENCE_RUN_SECONDS`` (environment) set how long their jobs take."""
    import os

    found = os.environ if environ is None else environ
    timing = {
        option: float(found[variable])
        for option, variable in (
            ("queue_seconds", "LOCAL_INFERENCE_QUEUE_SECONDS"),
            ("run_seconds", "LOCAL_INFERENCE_RUN_SECONDS"),
        )
        if found.get(variable)
    }
    return [stand_in.stand_in() for stand_in in provider_stand_ins(**timing)]
