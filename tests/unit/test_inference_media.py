"""Outputs are probed from their own bytes, and fetched only from where their provider keeps them,
never past the size allowed."""

from __future__ import annotations

import hashlib
import io
import struct

import httpx
import pytest
from PIL import Image

from atelier.integrations.inference import media
from atelier.integrations.inference.base import ProviderError, ProviderOutput, ProviderRejectedError
from atelier.integrations.inference.local import VideoSpec, render_video
from atelier.integrations.inference.media import OutputFetcher, UnsupportedMediaError, probe


def picture(image_format: str, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def mp4() -> bytes:
    return render_video(VideoSpec(prompt="a probe", width=160, height=96, duration_s=1.5, fps=10))


# ------------------------------------------------------------------------------------------
# Probing.
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("image_format", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_images_are_known_by_their_bytes_not_their_declared_type(image_format, content_type):
    # Given an image declared as something else
    content = picture(image_format)
    # When it is probed
    info = probe(content, declared_type="application/octet-stream")
    # Then its type, size, dimensions and digest come from the bytes
    assert info.content_type == content_type
    assert (info.width, info.height, info.duration_s) == (40, 30, None)
    assert info.size_bytes == len(content)
    assert info.sha256 == hashlib.sha256(content).hexdigest()


def test_a_video_is_probed_for_its_dimensions_and_duration(mp4):
    info = probe(mp4, declared_type="image/png")
    assert info.content_type == "video/mp4"
    assert (info.width, info.height) == (160, 96)
    assert info.duration_s == pytest.approx(1.5, abs=0.11)


def test_without_pyav_the_mp4_boxes_give_the_same_facts(mp4):
    # The deployed functions have no PyAV: the box parser answers what PyAV does
    width, height, duration = media.mp4_facts(mp4)
    assert (width, height) == (160, 96)
    assert duration == pytest.approx(1.5, abs=0.11)


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_the_box_parser_reads_64_bit_headers_and_the_video_track_only():
    # Given a hand-built movie: a version 1 mvhd (64-bit duration), a sound track, then a video track
    mvhd = _box(b"mvhd", bytes([1, 0, 0, 0]) + bytes(16) + struct.pack(">IQ", 1000, 2500) + bytes(80))

    def track(handler: bytes, width: int, height: int) -> bytes:
        tkhd = _box(b"tkhd", bytes(76) + struct.pack(">II", width << 16, height << 16))
        hdlr = _box(b"hdlr", bytes(8) + handler + bytes(12))
        return _box(b"trak", tkhd + _box(b"mdia", hdlr))

    movie = _box(b"ftyp", b"isom" + bytes(4)) + _box(b"moov", mvhd + track(b"soun", 0, 0) + track(b"vide", 1280, 720))
    # Then the duration and the video track's size are read
    assert media.mp4_facts(movie) == (1280, 720, 2.5)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello world",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 10,
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic",
    ],
)
def test_content_of_no_supported_type_is_refused(content):
    with pytest.raises(UnsupportedMediaError):
        probe(content, declared_type="image/png")


def test_an_mp4_without_a_movie_header_is_refused():
    with pytest.raises(UnsupportedMediaError):
        media.mp4_facts(_box(b"ftyp", b"isom" + bytes(4)) + _box(b"mdat", bytes(32)))


# ------------------------------------------------------------------------------------------
# Fetching.
# ------------------------------------------------------------------------------------------
PUBLIC = {"cdn.provider.example": ["93.184.216.34"], "files.provider.example": ["93.184.216.35"]}


def resolver(table: dict[str, list[str]]):
    def resolve(host: str) -> list[str]:
        return table.get(host, [])

    return resolve


def fetcher(handler, *, hosts=("cdn.provider.example", ".provider.example"), table=None, trusted=None):
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return OutputFetcher(lambda: http, hosts=hosts, trusted_origin=trusted, resolve=resolver(table or PUBLIC))


def serving(content: bytes, *, status: int = 200, headers: dict[str, str] | None = None):
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(status, content=content, headers=headers)

    handle.seen = seen  # type: ignore[attr-defined]
    return handle


def test_an_output_on_the_providers_https_host_is_downloaded():
    handler = serving(b"bytes of an image")
    got = fetcher(handler).fetch(ProviderOutput(url="https://cdn.provider.example/o.png"), max_bytes=100)
    assert got == b"bytes of an image"


def test_a_host_under_an_allowed_domain_is_allowed():
    handler = serving(b"x")
    assert fetcher(handler).fetch(ProviderOutput(url="https://files.provider.example/o.png"), max_bytes=10) == b"x"


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.provider.example/o.png",
        "https://cdn.provider.example:8443/o.png",
        "https://provider.example.evil.test/o.png",
        "https://evilprovider.example/o.png",
        "https://10.0.0.8/o.png",
        "https://[::1]/o.png",
        "ftp://cdn.provider.example/o.png",
        "https:///o.png",
    ],
)
def test_anything_but_the_providers_https_hosts_is_refused_unsent(url):
    handler = serving(b"x")
    with pytest.raises(ProviderRejectedError):
        fetcher(handler).fetch(ProviderOutput(url=url), max_bytes=10)
    assert handler.seen == []


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1"])
def test_an_allowed_host_resolving_to_a_private_address_is_refused(address):
    # Given a provider host whose DNS now answers an internal address
    handler = serving(b"x")
    table = {"cdn.provider.example": ["93.184.216.34", address]}
    # Then nothing is fetched from it
    with pytest.raises(ProviderRejectedError):
        fetcher(handler, table=table).fetch(ProviderOutput(url="https://cdn.provider.example/o.png"), max_bytes=10)
    assert handler.seen == []


def test_the_trusted_local_origin_is_allowed_over_plain_http_on_loopback():
    handler = serving(b"local bytes")
    local = fetcher(handler, hosts=(), trusted="http://127.0.0.1:3000")
    assert local.fetch(ProviderOutput(url="http://127.0.0.1:3000/_local/x"), max_bytes=100) == b"local bytes"
    with pytest.raises(ProviderRejectedError):
        local.fetch(ProviderOutput(url="http://127.0.0.1:3001/_local/x"), max_bytes=100)


def test_a_body_larger_than_allowed_is_refused_while_streaming():
    # Given a host that does not say how large the body is
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(b"x" * 5000))

    # Then the download stops and is refused once it passes the limit
    with pytest.raises(ProviderRejectedError):
        fetcher(handle).fetch(ProviderOutput(url="https://cdn.provider.example/o.png"), max_bytes=4999)
    assert len(fetcher(handle).fetch(ProviderOutput(url="https://cdn.provider.example/o.png"), max_bytes=5000)) == 5000


def test_a_declared_length_over_the_limit_is_refused_before_reading():
    handler = serving(b"x" * 10, headers={"Content-Length": "10"})
    with pytest.raises(ProviderRejectedError):
        fetcher(handler).fetch(ProviderOutput(url="https://cdn.provider.example/o.png"), max_bytes=9)


def test_a_redirect_within_the_same_host_is_followed():
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old.png":
            return httpx.Response(302, headers={"Location": "/new.png"})
        return httpx.Response(200, content=b"moved")

    assert fetcher(handle).fetch(ProviderOutput(url="https://cdn.provider.example/old.png"), max_bytes=10) == b"moved"


@pytest.mark.parametrize(
    "location",
    ["https://files.provider.example/o.png", "http://cdn.provider.example/o.png", "http://169.254.169.254/"],
)
def test_a_redirect_to_another_host_or_scheme_is_refused(location):
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(301, headers={"Location": location})

    with pytest.raises(ProviderRejectedError):
        fetcher(handle).fetch(ProviderOutput(url="https://cdn.provider.example/o.png"), max_bytes=10)
    assert seen == ["https://cdn.provider.example/o.png"]


def test_endless_redirects_are_refused():
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "/again"})

    with pytest.raises(ProviderRejectedError):
        fetcher(handle).fetch(ProviderOutput(url="https://cdn.provider.example/o.png"), max_bytes=10)


@pytest.mark.parametrize(
    ("status", "error"), [(500, ProviderError), (429, ProviderError), (404, ProviderRejectedError)]
)
def test_a_failed_download_is_retryable_or_final_by_its_status(status, error):
    handler = serving(b"", status=status)
    with pytest.raises(error) as raised:
        fetcher(handler).fetch(ProviderOutput(url="https://cdn.provider.example/o.png"), max_bytes=10)
    assert isinstance(raised.value, ProviderRejectedError) is (error is ProviderRejectedError)


def test_a_network_failure_mid_download_is_retryable():
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    with pytest.raises(ProviderError) as raised:
        fetcher(handle).fetch(ProviderOutput(url="https://cdn.provider.example/o.png"), max_bytes=10)
    assert not isinstance(raised.value, ProviderRejectedError)


def test_an_output_with_neither_content_nor_url_is_refused():
    with pytest.raises(ProviderRejectedError):
        fetcher(serving(b"")).fetch(ProviderOutput(), max_bytes=10)
