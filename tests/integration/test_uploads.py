"""Reference uploads: S3 itself holds the upload to its declared type and size, and on first use the
image is checked for real and stripped of EXIF/GPS metadata."""

import base64
import io
import json
from datetime import UTC, datetime

import httpx
import pytest

from atelier import errors
from atelier.clock import SystemClock
from atelier.models.generation import UploadStatus
from atelier.services import get_services
from atelier.usecases.manage_uploads import UploadRejectedError, start_upload, verified_reference_url
from tests.support.money import new_account


def jpeg_with_gps() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x8825] = {2: (51.0, 30.0, 0.0), 4: (0.0, 7.0, 0.0)}  # GPSInfo: latitude, longitude
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    return buffer.getvalue()


def begin(account_id: str, content_type: str, size: int):
    services = get_services()
    return start_upload(
        account_id,
        "holiday.jpg",
        content_type,
        size,
        uploads=services.uploads,
        storage=services.asset_storage,
        clock=SystemClock(),
        settings=services.settings,
    )


def post_form(started, content: bytes, content_type: str) -> httpx.Response:
    files = {"file": ("upload", content, content_type)}
    return httpx.post(started.url, data=started.fields, files=files, timeout=30)


def test_the_presigned_post_limits_type_size_key_and_time(stack):
    account = new_account()
    started = begin(account.id, "image/jpeg", 2048)
    policy = json.loads(base64.b64decode(started.fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 2048] in conditions
    assert ["eq", "$Content-Type", "image/jpeg"] in conditions
    assert ["eq", "$key", f"accounts/{account.id}/uploads/{started.upload.id}"] in conditions
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= get_services().settings.upload_url_seconds + 5


def test_unsupported_types_and_oversize_uploads_are_refused(stack):
    account = new_account()
    with pytest.raises(errors.InvalidFieldError):
        begin(account.id, "image/svg+xml", 100)
    with pytest.raises(errors.PayloadTooLargeError):
        begin(account.id, "image/png", get_services().settings.upload_max_bytes + 1)


def test_an_upload_is_checked_and_stripped_of_gps_on_first_use(stack):
    from PIL import Image

    services = get_services()
    account = new_account()
    original = jpeg_with_gps()
    with Image.open(io.BytesIO(original)) as image:
        assert image.getexif().get(0x8825)
    started = begin(account.id, "image/jpeg", len(original))
    assert post_form(started, original, "image/jpeg").status_code < 300
    url = verified_reference_url(
        account.id,
        started.upload.id,
        uploads=services.uploads,
        storage=services.asset_storage,
        settings=services.settings,
    )
    assert url
    cleaned = services.asset_storage.get(started.upload.object_key, 10_000_000)
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.format == "JPEG"
        assert image.size == (40, 30)
        assert not image.getexif()
    assert b"CameraMaker" not in cleaned
    upload = services.uploads.get(account.id, started.upload.id)
    assert upload.status is UploadStatus.VERIFIED
    assert (upload.width, upload.height) == (40, 30)


def test_a_verified_upload_gets_a_webp_thumbnail_beside_it(stack):
    from PIL import Image

    # Given a 1200 x 900 reference image uploaded and then used (its first verification)
    services = get_services()
    account = new_account()
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (200, 120, 10)).save(buffer, format="PNG")
    content = buffer.getvalue()
    started = begin(account.id, "image/png", len(content))
    assert post_form(started, content, "image/png").status_code < 300
    verified_reference_url(
        account.id,
        started.upload.id,
        uploads=services.uploads,
        storage=services.asset_storage,
        settings=services.settings,
    )
    # Then the upload names a thumbnail stored beside it: WebP, 512 px on its longest side
    upload = services.uploads.get(account.id, started.upload.id)
    assert upload.thumbnail_key == f"{started.upload.object_key}.thumb.webp"
    thumbnail = services.asset_storage.get(upload.thumbnail_key, 1_000_000)
    with Image.open(io.BytesIO(thumbnail)) as image:
        assert (image.format, image.size) == ("WEBP", (512, 384))


def test_an_upload_that_lies_about_its_type_is_rejected(stack):
    services = get_services()
    account = new_account()
    content = png_bytes()
    started = begin(account.id, "image/jpeg", len(content))
    post_form(started, content, "image/jpeg")
    with pytest.raises(UploadRejectedError):
        verified_reference_url(
            account.id,
            started.upload.id,
            uploads=services.uploads,
            storage=services.asset_storage,
            settings=services.settings,
        )
    assert services.uploads.get(account.id, started.upload.id).status is UploadStatus.REJECTED


def test_an_upload_that_never_arrived_is_rejected(stack):
    services = get_services()
    account = new_account()
    started = begin(account.id, "image/png", 100)
    with pytest.raises(UploadRejectedError):
        verified_reference_url(
            account.id,
            started.upload.id,
            uploads=services.uploads,
            storage=services.asset_storage,
            settings=services.settings,
        )


def test_the_upload_route_answers_a_form_over_http(stack):
    from tests.support.client import signed_in

    client = signed_in(stack.api_url, "uploader@example.com")
    answer = client.post("/v1/uploads", json={"filename": "ref.png", "content_type": "image/png", "size_bytes": 1000})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["id"].startswith("upl_")
    assert {"key", "policy", "Content-Type"} <= set(body["upload"]["fields"])
    traversal = client.post(
        "/v1/uploads", json={"filename": "../../etc/passwd", "content_type": "image/png", "size_bytes": 10}
    )
    assert traversal.status_code == 422
