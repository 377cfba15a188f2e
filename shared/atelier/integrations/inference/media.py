"""Generated media: fetching an output from where a provider left it, and probing what it is.

Fetching is where a provider's answer turns into a request of ours, so it is kept narrow: only
``https://`` URLs on the provider's own hosts (never an address on a private, loopback or
link-local network), or the one origin of a configured local stand-in; redirects are followed only
within the same origin; the body is streamed and refused as soon as it passes ``max_bytes``.

Probing trusts the bytes, never a declared type: PNG, JPEG, WebP, GIF and MP4 (ISO base media) are
recognised by their magic numbers; image dimensions come from Pillow (header only), MP4 duration
and dimensions from PyAV where it is installed, else from the ``mvhd`` and ``tkhd`` boxes.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import socket
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict

from atelier import errors
from atelier.integrations.inference.base import ProviderError, ProviderOutput, ProviderRejectedError
from atelier.integrations.resilience import Resilient, TransientFailure

if TYPE_CHECKING:
    import httpx

# A host name -> its addresses (tests replace the DNS look-up).
Resolver = Callable[[str], Sequence[str]]

_MAX_REDIRECTS = 3
_IMAGE_BRANDS = frozenset({b"avif", b"avis", b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1"})


class UnsupportedMediaError(errors.InvalidFieldError):
    code = "unsupported_media"
    default_message = "The content is not a supported image or video."


class MediaInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    content_type: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    sha256: str


# ------------------------------------------------------------------------------------------
# Probing.
# ------------------------------------------------------------------------------------------
def sniff(content: bytes) -> str | None:
    """The media type the bytes themselves announce, or None."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if content[4:8] == b"ftyp":
        brand = content[8:12]
        if brand in _IMAGE_BRANDS:  # HEIF and AVIF stills share the box format; not supported
            return None
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    return None


def probe(content: bytes, declared_type: str | None = None) -> MediaInfo:
    """What the content is. ``declared_type`` (a provider's or uploader's word) is not trusted: a
    mismatch is answered with the sniffed type; content of no supported type is refused."""
    content_type = sniff(content)
    if content_type is None:
        raise UnsupportedMediaError(details={"declared_type": (declared_type or "")[:100]})
    width = height = None
    duration = None
    if content_type.startswith("image/"):
        width, height = _image_size(content)
    else:
        width, height, duration = _video_facts(content)
    return MediaInfo(
        content_type=content_type,
        size_bytes=len(content),
        width=width,
        height=height,
        duration_s=duration,
        sha256=hashlib.sha256(content).hexdigest(),
    )


def _image_size(content: bytes) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnsupportedMediaError("The image could not be read.") from exc
    return int(width), int(height)


def _video_facts(content: bytes) -> tuple[int | None, int | None, float | None]:
    try:
        import av  # noqa: F401  (optional: only the local runtime and the tests install it)
    except ImportError:
        return mp4_facts(content)
    try:
        return _video_facts_with_pyav(content)
    except Exception:  # PyAV refuses what the box parser may still read
        return mp4_facts(content)


def _video_facts_with_pyav(content: bytes) -> tuple[int | None, int | None, float | None]:
    import av

    with av.open(io.BytesIO(content), mode="r") as container:
        duration = container.duration / 1_000_000 if container.duration else None
        video = container.streams.video[0] if container.streams.video else None
        if video is None:
            return None, None, duration
        if video.duration is not None and video.time_base is not None:
            duration = float(video.duration * video.time_base)
        return video.width or None, video.height or None, duration


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """ISO BMFF boxes in data[start:end]: (type, payload start, payload end)."""
    end = len(data) if end is None else end
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            if offset + 16 > end:
                return
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind, offset + header, offset + size
        offset += size


def mp4_facts(content: bytes) -> tuple[int | None, int | None, float | None]:
    """Width, height and duration read from the ``moov`` box (``mvhd``, and the video track's
    ``tkhd``), without decoding anything."""
    try:
        moov = next(((s, e) for kind, s, e in _boxes(content) if kind == b"moov"), None)
        if moov is None:
            raise UnsupportedMediaError("The video has no movie header.")
        duration = None
        width = height = None
        for kind, start, end in _boxes(content, *moov):
            if kind == b"mvhd":
                duration = _mvhd_duration(content, start)
            elif kind == b"trak":
                track = _track_size(content, start, end)
                if track is not None and width is None:
                    width, height = track
    except struct.error as exc:
        raise UnsupportedMediaError("The video could not be read.") from exc
    return width, height, duration


def _mvhd_duration(data: bytes, start: int) -> float | None:
    version = data[start]
    if version == 1:
        timescale, duration = struct.unpack_from(">IQ", data, start + 20)
    else:
        timescale, duration = struct.unpack_from(">II", data, start + 12)
    if not timescale or duration in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None
    return float(duration / timescale)


def _track_size(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """A video track's presentation size (16.16 fixed point at the end of ``tkhd``)."""
    size = None
    is_video = False
    for kind, box_start, box_end in _boxes(data, start, end):
        if kind == b"tkhd":
            width, height = struct.unpack_from(">II", data, box_end - 8)
            size = (width >> 16, height >> 16)
        elif kind == b"mdia":
            for inner, inner_start, _ in _boxes(data, box_start, box_end):
                if inner == b"hdlr":
                    is_video = data[inner_start + 8 : inner_start + 12] == b"vide"
    if size is None or not is_video or size == (0, 0):
        return None
    return size


# ------------------------------------------------------------------------------------------
# Fetching.
# ------------------------------------------------------------------------------------------
def resolve_addresses(host: str) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ProviderError("The output's host could not be resolved.") from exc
    return [str(answer[4][0]) for answer in answers]


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class OutputFetcher:
    """Downloads outputs for one provider.

    ``hosts`` are the provider's own output hosts: ``example.com`` matches that host only,
    ``.example.com`` any host under it. ``trusted_origin`` (``scheme://host[:port]``) is a local
    stand-in's origin, the one place plain HTTP and loopback addresses are allowed; production
    leaves it unset.
    """

    def __init__(
        self,
        http: Callable[[], httpx.Client],
        *,
        hosts: Iterable[str] = (),
        trusted_origin: str | None = None,
        resolve: Resolver | None = None,
        resilient: Resilient | None = None,
    ) -> None:
        self._http = http
        # Downloads are reads: a 429, 5xx or broken connection is tried again (resilience module).
        self._resilient = resilient
        self._hosts = tuple(host.strip().lower() for host in hosts if host.strip())
        self._trusted_origin = _origin(trusted_origin) if trusted_origin else None
        self._resolve = resolve or resolve_addresses

    def fetch(self, output: ProviderOutput, *, max_bytes: int) -> bytes:
        if output.content is not None:
            if len(output.content) > max_bytes:
                raise ProviderRejectedError("The output is larger than allowed.", details={"max_bytes": max_bytes})
            return output.content
        if not output.url:
            raise ProviderRejectedError("The output names neither content nor a URL.")
        url = output.url
        if self._resilient is None:
            return self._download(url, max_bytes)

        def attempt() -> bytes:
            try:
                return self._download(url, max_bytes)
            except ProviderRejectedError:
                raise
            except ProviderError as exc:
                raise TransientFailure(exc) from exc

        return self._resilient.call(attempt, repeatable=True)

    def allows(self, url: str) -> bool:
        origin = _origin(url)
        if origin is None:
            return False
        if origin == self._trusted_origin:
            return True
        parts = urlsplit(url)
        if parts.scheme != "https" or parts.port not in (None, 443):
            return False
        host = (parts.hostname or "").lower()
        if not any(host == allowed or (allowed.startswith(".") and host.endswith(allowed)) for allowed in self._hosts):
            return False
        if _looks_like_address(host):
            return _is_public(host)
        return all(_is_public(address) for address in self._resolve(host))

    def _download(self, url: str, max_bytes: int) -> bytes:
        import httpx

        origin = _origin(url)
        for _ in range(_MAX_REDIRECTS + 1):
            if not self.allows(url):
                raise ProviderRejectedError("The output is not on the provider's own host.")
            try:
                with self._http().stream("GET", url, headers={"Accept": "*/*"}, follow_redirects=False) as response:
                    if response.is_redirect:
                        location = urljoin(url, response.headers.get("location", ""))
                        if _origin(location) != origin:
                            raise ProviderRejectedError("The output redirects to another host.")
                        url = location
                        continue
                    _raise_for_download_status(response.status_code)
                    return _read_limited(response, max_bytes)
            except httpx.HTTPError as exc:  # timeouts and network errors, mid-body too
                raise ProviderError("The output could not be downloaded.") from exc
        raise ProviderRejectedError("The output redirects too many times.")


def _looks_like_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _raise_for_download_status(status: int) -> None:
    if status == 429 or status >= 500:
        raise ProviderError("The output could not be downloaded.", details={"status": status})
    if status != 200:
        # Gone, expired or never there: asking again will not help.
        raise ProviderRejectedError("The output is no longer available.", details={"status": status})


def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ProviderRejectedError("The output is larger than allowed.", details={"max_bytes": max_bytes})
    buffer = bytearray()
    for chunk in response.iter_bytes():
        buffer.extend(chunk)
        if len(buffer) > max_bytes:
            raise ProviderRejectedError("The output is larger than allowed.", details={"max_bytes": max_bytes})
    return bytes(buffer)
