"""Previews for browsers: a thumbnail of every stored image or video (WebP, longest side 512 px)
and, for a video, a poster frame (its first decodable frame, WebP, at most 1280 px).

Both are derived from the stored object, so they are made once when it is stored, kept beside it
(`<object key>.thumb.webp`, `<object key>.poster.webp`) and removed with it. Decoding a video needs
PyAV (the worker's media layer); where it is missing a video gets neither, and is listed without them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier.observability import logger

if TYPE_CHECKING:
    from PIL.Image import Image

THUMBNAIL_SIDE = 512
POSTER_SIDE = 1280
PREVIEW_CONTENT_TYPE = "image/webp"
_THUMBNAIL_QUALITY = 80
_POSTER_QUALITY = 82


@dataclass(frozen=True)
class Previews:
    thumbnail: bytes | None
    poster: bytes | None


def thumbnail_key(object_key: str) -> str:
    return f"{object_key}.thumb.webp"


def poster_key(object_key: str) -> str:
    return f"{object_key}.poster.webp"


def make_previews(content: bytes, content_type: str) -> Previews:
    """The previews of probed content. Content that decodes badly gets none (logged), never an error:
    a missing preview must not fail the job whose output it is."""
    try:
        if content_type.startswith("image/"):
            return Previews(thumbnail=_image_thumbnail(content), poster=None)
        frame = _first_frame(content)
        if frame is None:
            return Previews(thumbnail=None, poster=None)
        return Previews(
            thumbnail=_encode(frame, THUMBNAIL_SIDE, _THUMBNAIL_QUALITY),
            poster=_encode(frame, POSTER_SIDE, _POSTER_QUALITY),
        )
    except Exception as exc:  # PIL and PyAV raise many kinds; none of them may fail the caller
        logger.warning("previews not made", extra={"content_type": content_type, "error_type": type(exc).__name__})
        return Previews(thumbnail=None, poster=None)


def _image_thumbnail(content: bytes) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        image.seek(0)  # an animated GIF or WebP: its first frame
        image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # JPEG decodes at a reduced scale
        return _encode(image, THUMBNAIL_SIDE, _THUMBNAIL_QUALITY)


def _encode(image: Image, side: int, quality: int) -> bytes:
    from PIL import Image as PILImage

    frame = image.convert("RGBA" if _has_alpha(image) else "RGB")
    frame.thumbnail((side, side), PILImage.Resampling.LANCZOS)  # keeps the aspect ratio, never enlarges
    buffer = io.BytesIO()
    frame.save(buffer, format="WEBP", quality=quality, method=4)
    return buffer.getvalue()


def _has_alpha(image: Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def _first_frame(content: bytes) -> Image | None:
    try:
        import av
    except ImportError:
        logger.warning("no poster: PyAV is not installed")
        return None
    with av.open(io.BytesIO(content), mode="r") as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            return frame.to_image()
    return None
