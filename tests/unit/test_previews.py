"""Thumbnails and poster frames: WebP, the longest side at most 512 px (posters 1280), the aspect
kept, never enlarged; content that does not decode gets none rather than an error."""

import io

import pytest
from PIL import Image

from atelier.integrations.inference.media import probe
from atelier.integrations.previews import make_previews, poster_key, thumbnail_key
from local.inference import draw_video
from tests.support.generation import png_bytes


def size_of(webp: bytes | None) -> tuple[int, int]:
    assert webp is not None
    with Image.open(io.BytesIO(webp)) as image:
        assert image.format == "WEBP"
        return image.size


@pytest.mark.parametrize(
    ("size", "expected"),
    [((2048, 1024), (512, 256)), ((600, 1200), (256, 512)), ((300, 200), (300, 200))],
)
def test_an_image_thumbnail_fits_512_px_keeping_its_aspect(size, expected):
    # Given an image of some size
    content = png_bytes(*size)
    # When its previews are made
    previews = make_previews(content, "image/png")
    # Then the thumbnail is WebP, within 512 px, the same aspect, never enlarged; an image has no poster
    assert size_of(previews.thumbnail) == expected
    assert previews.poster is None


def test_a_transparent_image_keeps_its_transparency():
    # Given a PNG with an alpha channel
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), (255, 0, 0, 0)).save(buffer, format="PNG")
    # When its thumbnail is made
    thumbnail = make_previews(buffer.getvalue(), "image/png").thumbnail
    # Then the WebP has alpha too
    assert thumbnail is not None
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.mode == "RGBA"


def test_a_video_gets_a_poster_frame_at_its_size_and_a_thumbnail():
    pytest.importorskip("av")
    # Given a short MP4
    video = draw_video("waves", 7, {"duration_s": 1})
    info = probe(video)
    # When its previews are made
    previews = make_previews(video, "video/mp4")
    # Then the poster is a frame at the video's size, and so is the thumbnail (within 512 px already)
    assert size_of(previews.poster) == (info.width, info.height)
    assert size_of(previews.thumbnail) == (info.width, info.height)


def test_content_that_does_not_decode_gets_no_previews_and_no_error():
    # Given bytes that claim to be an image and a video but are neither
    # When previews are made
    # Then there are none (the job whose output it is does not fail for it)
    for content_type in ("image/png", "video/mp4"):
        previews = make_previews(b"\x89PNG\r\n\x1a\nnot really", content_type)
        assert (previews.thumbnail, previews.poster) == (None, None)


def test_previews_are_kept_beside_their_object():
    assert thumbnail_key("accounts/a/outputs/j/0.png") == "accounts/a/outputs/j/0.png.thumb.webp"
    assert poster_key("accounts/a/outputs/j/0.mp4") == "accounts/a/outputs/j/0.mp4.poster.webp"


class _RecordingStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, content: bytes, content_type: str, **_: object) -> None:
        self.objects[key] = content


class _RefusingSigner:
    def mark_preview(self, *_: object, **__: object) -> bytes:
        from atelier.integrations.provenance import ProvenanceError

        raise ProvenanceError()


def test_a_preview_that_cannot_be_marked_is_left_out_never_stored_unmarked():
    from atelier.usecases.run_generation import _store_previews

    # Given an output whose previews cannot be signed
    store = _RecordingStore()
    # When its previews are stored
    thumbnail, poster = _store_previews(
        "outputs/a.png",
        png_bytes(640, 480),
        "image/png",
        store,  # type: ignore[arg-type]
        asset_id="ast_1",
        signer=_RefusingSigner(),  # type: ignore[arg-type]
    )
    # Then none is stored and the output is listed without them (the job is not failed)
    assert (thumbnail, poster) == (None, None)
    assert store.objects == {}
