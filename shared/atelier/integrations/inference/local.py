"""The local provider: real media made on the CPU, so the whole generation path runs without a GPU
or an account anywhere.

- Images are PNGs drawn with Pillow: a gradient, shapes and the prompt's own words, every choice
  taken from a hash of (prompt, negative prompt, seed, params), so the same request gives the same
  bytes. ``width``/``height`` (or ``size`` ``"WxH"``) from the params, 512x512 by default, at most
  2048 a side. They are answered synchronously: ``submit`` says SUCCEEDED with the PNG inline.
- Videos are H.264 MP4s encoded with PyAV (``libx264``, which PyAV's wheels ship; MPEG-4 Part 2 if
  a build lacks it): shapes moving over a gradient, 256x256 and 10 fps by default (``width``,
  ``height`` up to 512, ``fps`` 8 to 12), ``duration_s`` (or ``duration``) seconds from the params
  (2 by default, at most 4). They take the asynchronous path: ``submit`` answers QUEUED, the first ``status`` call
  renders and answers SUCCEEDED.

Prompts that steer the provider, for tests and demos:

- ``[fail]``: the job fails (``generation_failed``) and is not charged;
- ``flag:explicit``, ``flag:suggestive``, ``flag:minor``: the output carries a pattern media
  moderation recognises (see safety_markers.py);
- ``[slow]``: the job stays RUNNING for ``slow_polls`` status calls (params, 3 by default) before it
  renders; an image asked for this way takes the asynchronous path too.

Every job, finished or not, lives in a small in-process store (the oldest are forgotten past
``max_jobs``): a status call for a job this process does not know is refused, as a provider refuses
an id it has deleted. The local provider never calls back.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import random
import re
import secrets
import textwrap
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from atelier.integrations.inference import safety_markers
from atelier.integrations.inference.base import (
    CallbackSignatureError,
    GenerationRequest,
    ProviderError,
    ProviderJob,
    ProviderOutput,
    ProviderRejectedError,
    ProviderStatus,
)

if TYPE_CHECKING:
    from PIL import Image as PilImage

FAIL_MARKER = "[fail]"
SLOW_MARKER = "[slow]"
# The provider is down on every call (retryable), so the job exhausts its deliveries.
OUTAGE_MARKER = "[outage]"
DEFAULT_SLOW_POLLS = 3
DEFAULT_IMAGE_SIZE = 512
MAX_IMAGE_SIDE = 2048
MIN_SIDE = 64
DEFAULT_VIDEO_SIZE = 256
MAX_VIDEO_SIDE = 512
DEFAULT_VIDEO_SECONDS = 2.0
MAX_VIDEO_SECONDS = 4.0
DEFAULT_FPS = 10
MIN_FPS, MAX_FPS = 8, 12
DEFAULT_MAX_JOBS = 256

_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX*]\s*(\d{1,5})\s*$")


# ------------------------------------------------------------------------------------------
# Rendering (pure functions: the stand-ins of the other providers draw with them too).
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageSpec:
    prompt: str
    seed: int = 0
    width: int = DEFAULT_IMAGE_SIZE
    height: int = DEFAULT_IMAGE_SIZE
    negative_prompt: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoSpec:
    prompt: str
    seed: int = 0
    width: int = DEFAULT_VIDEO_SIZE
    height: int = DEFAULT_VIDEO_SIZE
    duration_s: float = DEFAULT_VIDEO_SECONDS
    fps: int = DEFAULT_FPS
    negative_prompt: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def frame_count(self) -> int:
        return max(2, round(self.duration_s * self.fps))


def _digest(*parts: Any) -> bytes:
    canonical = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def _colour(rng: random.Random, floor: int = 0) -> tuple[int, int, int]:
    return (rng.randint(floor, 255), rng.randint(floor, 255), rng.randint(floor, 255))


def _gradient(rng: random.Random, width: int, height: int) -> PilImage.Image:
    from PIL import Image, ImageOps

    angle = rng.uniform(0, 360)
    ramp = Image.linear_gradient("L").rotate(angle, resample=Image.Resampling.BILINEAR, expand=False)
    ramp = ImageOps.autocontrast(ramp.crop((48, 48, 208, 208)))
    coloured = ImageOps.colorize(ramp, black=_colour(rng), white=_colour(rng, 64))
    return coloured.resize((width, height), Image.Resampling.BILINEAR)


def _font(size: int) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, ImportError):  # a Pillow built without FreeType
        return ImageFont.load_default()


def render_image(spec: ImageSpec) -> bytes:
    """A PNG that visibly depends on the prompt, the seed and the params."""
    from PIL import Image, ImageDraw

    digest = _digest("image", spec.prompt, spec.negative_prompt, spec.seed, dict(spec.params), spec.width, spec.height)
    rng = random.Random(digest)  # noqa: S311 - pictures, not secrets
    width, height = spec.width, spec.height
    canvas = _gradient(rng, width, height).convert("RGBA")
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(rng.randint(6, 12)):
        x, y = rng.uniform(-0.1, 1.0) * width, rng.uniform(-0.1, 1.0) * height
        w, h = rng.uniform(0.08, 0.45) * width, rng.uniform(0.08, 0.45) * height
        fill = (*_colour(rng), rng.randint(90, 200))
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        if shape == "ellipse":
            draw.ellipse((x, y, x + w, y + h), fill=fill)
        elif shape == "rectangle":
            draw.rounded_rectangle((x, y, x + w, y + h), radius=min(w, h) / 6, fill=fill)
        else:
            points = [(x + rng.uniform(0, w), y + rng.uniform(0, h)) for _ in range(rng.randint(3, 6))]
            draw.polygon(points, fill=fill)
    _caption(draw, spec.prompt, width, height, f"local · seed {spec.seed} · {width}x{height}")
    canvas = Image.alpha_composite(canvas, overlay).convert("RGB")
    canvas = safety_markers.draw_marker(canvas, safety_markers.marker_in(spec.prompt))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _caption(draw: Any, prompt: str, width: int, height: int, label: str) -> None:
    size = max(10, min(width, height) // 22)
    font = _font(size)
    columns = max(12, int(width / (size * 0.6)))
    lines = textwrap.wrap(" ".join(prompt.split()), width=columns)[:4] or [""]
    line_height = int(size * 1.25)
    box_top = height - line_height * len(lines) - size
    draw.rectangle((0, box_top, width, height), fill=(0, 0, 0, 150))
    for index, line in enumerate(lines):
        draw.text((size // 2, box_top + size // 2 + index * line_height), line, fill=(255, 255, 255, 255), font=font)
    small = _font(max(9, size * 2 // 3))
    draw.text((size // 2, size // 2), label, fill=(255, 255, 255, 220), font=small)


@dataclass(frozen=True)
class _Mover:
    radius: float
    phase: float
    speed: float
    cx: float
    cy: float
    fill: tuple[int, int, int]


def video_codec() -> str:
    """libx264 where the PyAV build has it (its wheels do), else FFmpeg's own MPEG-4 Part 2."""
    import av

    try:
        av.codec.Codec("libx264", "w")
    except Exception:
        return "mpeg4"
    return "libx264"


def render_video(spec: VideoSpec) -> bytes:
    """An MP4 of moving shapes over a gradient, with the prompt and a running clock drawn on it."""
    import av
    from av.video.stream import VideoStream
    from PIL import ImageDraw

    digest = _digest("video", spec.prompt, spec.negative_prompt, spec.seed, dict(spec.params))
    rng = random.Random(digest)  # noqa: S311 - pictures, not secrets
    width, height = spec.width, spec.height
    background = _gradient(rng, width, height)
    movers = [
        _Mover(
            radius=rng.uniform(0.06, 0.18) * min(width, height),
            phase=rng.uniform(0, 2 * math.pi),
            speed=rng.uniform(0.5, 1.5),
            cx=rng.uniform(0.25, 0.75),
            cy=rng.uniform(0.25, 0.75),
            fill=_colour(rng, 40),
        )
        for _ in range(rng.randint(3, 6))
    ]
    codec = video_codec()
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=spec.fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "crf": "28"}
        for index in range(spec.frame_count):
            seconds = index / spec.fps
            frame = background.copy()
            draw = ImageDraw.Draw(frame, "RGBA")
            for mover in movers:
                angle = mover.phase + seconds * mover.speed * 2 * math.pi / max(spec.duration_s, 1.0)
                x = (mover.cx + 0.25 * math.cos(angle)) * width
                y = (mover.cy + 0.25 * math.sin(angle)) * height
                r = mover.radius
                draw.ellipse((x - r, y - r, x + r, y + r), fill=(*mover.fill, 200))
            _caption(draw, spec.prompt, width, height, f"local · {seconds:0.1f}s")
            frame = safety_markers.draw_marker(frame, safety_markers.marker_in(spec.prompt))
            for packet in stream.encode(av.VideoFrame.from_image(frame)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def _number(params: Mapping[str, Any], name: str, default: float) -> float:
    value = params.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def _dimensions(params: Mapping[str, Any], default: int, largest: int, *, even: bool = False) -> tuple[int, int]:
    width, height = default, default
    match = _SIZE.match(str(params["size"])) if isinstance(params.get("size"), str) else None
    if match:
        width, height = int(match.group(1)), int(match.group(2))
    width = int(_number(params, "width", width))
    height = int(_number(params, "height", height))
    width, height = (min(max(side, MIN_SIDE), largest) for side in (width, height))
    if even:
        width, height = width - width % 2, height - height % 2
    return width, height


def image_spec(request: GenerationRequest) -> ImageSpec:
    width, height = _dimensions(request.params, DEFAULT_IMAGE_SIZE, MAX_IMAGE_SIDE)
    return ImageSpec(
        prompt=request.prompt,
        seed=request.seed or 0,
        width=width,
        height=height,
        negative_prompt=request.negative_prompt,
        params=request.params,
    )


def video_spec(request: GenerationRequest) -> VideoSpec:
    width, height = _dimensions(request.params, DEFAULT_VIDEO_SIZE, MAX_VIDEO_SIDE, even=True)
    asked = _number(request.params, "duration_s", _number(request.params, "duration", DEFAULT_VIDEO_SECONDS))
    duration = min(max(asked, 0.5), MAX_VIDEO_SECONDS)
    fps = int(min(max(_number(request.params, "fps", DEFAULT_FPS), MIN_FPS), MAX_FPS))
    return VideoSpec(
        prompt=request.prompt,
        seed=request.seed or 0,
        width=width,
        height=height,
        duration_s=duration,
        fps=fps,
        negative_prompt=request.negative_prompt,
        params=request.params,
    )


# ------------------------------------------------------------------------------------------
# The provider.
# ------------------------------------------------------------------------------------------
@dataclass
class _Job:
    request: GenerationRequest
    slow_polls_left: int
    slow_polls: int
    state: ProviderJob
    rendering: bool = False


class LocalJobStore:
    """The local provider's jobs, oldest forgotten first past ``max_jobs``."""

    def __init__(self, max_jobs: int = DEFAULT_MAX_JOBS) -> None:
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._max_jobs = max_jobs
        self.lock = threading.RLock()

    def add(self, job_id: str, job: _Job) -> None:
        with self.lock:
            self._jobs[job_id] = job
            while len(self._jobs) > self._max_jobs:
                self._jobs.popitem(last=False)

    def get(self, job_id: str) -> _Job | None:
        with self.lock:
            return self._jobs.get(job_id)

    def __len__(self) -> int:
        with self.lock:
            return len(self._jobs)


_shared_store = LocalJobStore()


class LocalProvider:
    name = "local"

    def __init__(self, store: LocalJobStore | None = None) -> None:
        # One store per process by default: every adapter built in it sees the same jobs.
        self._store = store if store is not None else _shared_store

    def submit(self, request: GenerationRequest) -> ProviderJob:
        if OUTAGE_MARKER in request.prompt:
            raise ProviderError("The local provider is down (outage marker).")
        if request.kind == "video":
            try:
                import av  # noqa: F401
            except ImportError as exc:
                raise ProviderRejectedError("Local video needs PyAV, which is not installed.") from exc
        job_id = f"loc_{secrets.token_hex(12)}"
        slow = SLOW_MARKER in request.prompt
        if request.kind == "image" and not slow:
            finished = self._finish(job_id, request)
            self._store.add(job_id, _Job(request, 0, 0, finished))
            return finished
        slow_polls = max(0, int(_number(request.params, "slow_polls", DEFAULT_SLOW_POLLS))) if slow else 0
        queued = ProviderJob(provider_job_id=job_id, status=ProviderStatus.QUEUED, progress=0.0, queue_position=0)
        self._store.add(job_id, _Job(request, slow_polls, slow_polls, queued))
        return queued

    def status(self, provider_job_id: str) -> ProviderJob:
        job = self._store.get(provider_job_id)
        if job is None:
            raise ProviderRejectedError("The local provider has no such job.", details={"provider": self.name})
        with self._store.lock:
            if job.state.status.is_final:
                return job.state
            if job.slow_polls_left > 0:
                job.slow_polls_left -= 1
                done = job.slow_polls - job.slow_polls_left
                job.state = ProviderJob(
                    provider_job_id=provider_job_id,
                    status=ProviderStatus.RUNNING,
                    progress=round(done / (job.slow_polls + 1), 3),
                )
                return job.state
            job.state = job.state.model_copy(update={"status": ProviderStatus.RUNNING, "queue_position": None})
            if job.rendering:  # another status call is rendering it now
                return job.state
            job.rendering = True
        try:
            finished = self._finish(provider_job_id, job.request)
        finally:
            with self._store.lock:
                job.rendering = False
        with self._store.lock:
            if not job.state.status.is_final:  # a cancel may have come in while it rendered
                job.state = finished
            return job.state

    def cancel(self, provider_job_id: str) -> bool:
        job = self._store.get(provider_job_id)
        if job is None:
            return False
        with self._store.lock:
            if job.state.status.is_final:
                return False
            started = job.state.status is ProviderStatus.RUNNING
            job.state = ProviderJob(
                provider_job_id=provider_job_id,
                status=ProviderStatus.CANCELED,
                charged=started,
                error_code="canceled",
            )
        return True

    def fetch_output(self, output: ProviderOutput, *, max_bytes: int) -> bytes:
        if output.content is None:
            raise ProviderRejectedError("The local provider answers its outputs inline.")
        if len(output.content) > max_bytes:
            raise ProviderRejectedError("The output is larger than allowed.", details={"max_bytes": max_bytes})
        return output.content

    def verify_callback(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str] | None = None
    ) -> str:
        raise CallbackSignatureError("The local provider sends no callbacks.")

    def _finish(self, job_id: str, request: GenerationRequest) -> ProviderJob:
        if FAIL_MARKER in request.prompt:
            return ProviderJob(
                provider_job_id=job_id,
                status=ProviderStatus.FAILED,
                error_code="generation_failed",
                error_message="The local provider was asked to fail.",
                charged=False,
            )
        started = time.perf_counter()
        if request.kind == "image":
            output = ProviderOutput(content=render_image(image_spec(request)), content_type="image/png")
        else:
            output = ProviderOutput(content=render_video(video_spec(request)), content_type="video/mp4")
        return ProviderJob(
            provider_job_id=job_id,
            status=ProviderStatus.SUCCEEDED,
            progress=1.0,
            outputs=[output],
            compute_seconds=round(time.perf_counter() - started, 3),
        )
