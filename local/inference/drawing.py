"""Real media for the stand-ins to return, drawn by the local provider's renderers (at most
``MAX_DRAWN_SIDE`` pixels a side, aspect kept)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from local.inference.common import MAX_DRAWN_SIDE

_NAMED_SIZES = {"1k": (1024, 1024), "2k": (2048, 2048), "4k": (4096, 4096)}


def requested_size(value: Any, default: tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, str) and value.lower() in _NAMED_SIZES:
        return _NAMED_SIZES[value.lower()]
    if isinstance(value, str) and "x" in value.lower():
        width, _, height = value.lower().partition("x")
        if width.strip().isdigit() and height.strip().isdigit():
            return int(width), int(height)
    return default


def job_size(params: Mapping[str, Any]) -> tuple[int, int]:
    width, height = params.get("width"), params.get("height")
    if isinstance(width, int) and isinstance(height, int):
        return width, height
    return requested_size(params.get("size"), (512, 512))


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
