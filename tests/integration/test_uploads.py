"""Reference uploads: S3 itself holds the upload to its declared type and size, and on first use the
image is checked for real and stripped of EXIF/GPS metadata."""

import base64
import io
import json
import struct
import zlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from atelier import errors
from atelier.clock import SystemClock
from atelier.models.accounts import Account, Principal, PrincipalKind
from atelier.models.generation import UploadStatus
from atelier.services import get_services
from atelier.settings import Settings
from atelier.usecases.accept_terms import accept_terms
from atelier.usecases.manage_uploads import (
    StartUploadDeps,
    UploadQuotaExceededError,
    UploadRejectedError,
    start_upload,
    verified_reference_url,
)
from atelier.usecases.submit_job import JobSubmission, submit_job
from atelier.usecases.sweep_retention import SweepRetentionDeps, sweep_retention
from tests.integration.test_privacy_helpers import MovedClock
from tests.support.client import signed_in
from tests.support.generation import KeptMessages, submit_job_deps
from tests.support.money import give_credits, new_account
from tests.support.personas import sign_up


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


def consenting_account(credits: int = 0) -> Account:
    """A new account that has accepted the terms in force."""
    services = get_services()
    account = new_account()
    if credits:
        give_credits(account, credits)
    accept_terms(
        account.id,
        services.settings.policy.initial_terms_version,
        accounts=services.accounts,
        policies=services.policies,
        clock=services.clock,
        settings=services.settings,
    )
    return account


def begin(account_id: str, content_type: str, size: int, *, settings: Settings | None = None, clock=None):
    services = get_services()
    return start_upload(
        StartUploadDeps(
            uploads=services.uploads,
            accounts=services.accounts,
            policies=services.policies,
            rate_limiter=services.rate_limiter,
            storage=services.asset_storage,
            clock=clock or SystemClock(),
            settings=settings or services.settings,
        ),
        account_id,
        "holiday.jpg",
        content_type,
        size,
    )


def post_form(started, content: bytes, content_type: str) -> httpx.Response:
    files = {"file": ("upload", content, content_type)}
    return httpx.post(started.url, data=started.fields, files=files, timeout=30)


def test_the_presigned_post_limits_type_size_key_and_time(stack):
    account = consenting_account()
    started = begin(account.id, "image/jpeg", 2048)
    policy = json.loads(base64.b64decode(started.fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 2048] in conditions
    assert ["eq", "$Content-Type", "image/jpeg"] in conditions
    assert ["eq", "$key", f"accounts/{account.id}/uploads/{started.upload.id}"] in conditions
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert 0 < (expires - datetime.now(UTC)).total_seconds() <= get_services().settings.uploads.upload_url_seconds + 5


def test_unsupported_types_and_oversize_uploads_are_refused(stack):
    account = consenting_account()
    with pytest.raises(errors.InvalidFieldError):
        begin(account.id, "image/svg+xml", 100)
    with pytest.raises(errors.PayloadTooLargeError):
        begin(account.id, "image/png", get_services().settings.uploads.upload_max_bytes + 1)


def test_an_upload_is_checked_and_stripped_of_gps_on_first_use(stack):
    from PIL import Image

    services = get_services()
    account = consenting_account()
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
    account = consenting_account()
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
    account = consenting_account()
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
    account = consenting_account()
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
    client, _ = sign_up(stack.api_url, "uploader@example.com")
    answer = client.post("/v1/uploads", json={"filename": "ref.png", "content_type": "image/png", "size_bytes": 1000})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["id"].startswith("upl_")
    assert {"key", "policy", "Content-Type"} <= set(body["upload"]["fields"])
    traversal = client.post(
        "/v1/uploads", json={"filename": "../../etc/passwd", "content_type": "image/png", "size_bytes": 10}
    )
    assert traversal.status_code == 422


def photo_taken_sideways() -> bytes:
    """A camera's JPEG stored 40x30 as the sensor saw it (red left half, blue right half), whose EXIF
    orientation (6) says: turn 90 degrees clockwise to show it, 30x40, red on top."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (40, 30), (0, 0, 255))
    ImageDraw.Draw(image).rectangle((0, 0, 19, 29), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def test_an_uploaded_photo_is_turned_upright_before_its_metadata_is_dropped(stack):
    from PIL import Image

    # Given a photo whose pixels are stored sideways, with the turn to apply in its EXIF
    services = get_services()
    account = consenting_account()
    original = photo_taken_sideways()
    started = begin(account.id, "image/jpeg", len(original))
    assert post_form(started, original, "image/jpeg").status_code < 300
    # When it is first used
    verified_reference_url(
        account.id,
        started.upload.id,
        uploads=services.uploads,
        storage=services.asset_storage,
        settings=services.settings,
    )
    # Then the stored image is upright (30x40, red on top), with no EXIF left to turn it again
    cleaned = services.asset_storage.get(started.upload.object_key, 10_000_000)
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.size == (30, 40)
        assert not image.getexif()
        top, bottom = image.convert("RGB").getpixel((15, 5)), image.convert("RGB").getpixel((15, 35))
    assert top[0] > 200 > top[2], top
    assert bottom[2] > 200 > bottom[0], bottom
    upload = services.uploads.get(account.id, started.upload.id)
    assert (upload.width, upload.height) == (30, 40)


# -- limits, first use and expiry ----------------------------------------------------------------
def bomb_png(width: int = 15000, height: int = 15000) -> bytes:
    """A PNG whose header declares width x height pixels (Pillow refuses to open one of more than
    twice its pixel limit as a decompression bomb), in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def limited(**limits: int) -> Settings:
    return get_services().settings.replace(**limits)


def submit_with_references(account: Account, upload_ids: list[str]):
    return submit_job(
        submit_job_deps(queue=KeptMessages()),
        Principal(
            kind=PrincipalKind.ACCOUNT,
            account_id=account.id,
            via="session",
            ledger_id=account.ledger_id,
            default_workspace_id=account.default_workspace_id,
        ),
        JobSubmission(
            kind="image",
            model="local-image",
            prompt="a kite over the dunes",
            negative_prompt=None,
            params={"width": 64, "height": 64},
            reference_upload_ids=upload_ids,
        ),
        workspace_id=None,
        idempotency_key=None,
    )


def sweep_at(offset: timedelta) -> dict[str, int]:
    services = get_services()
    return sweep_retention(
        SweepRetentionDeps(
            retention=services.retention,
            uploads=services.uploads,
            storage=services.asset_storage,
            clock=MovedClock(offset),
            settings=services.settings,
        )
    )


def object_exists(key: str) -> bool:
    return get_services().asset_storage.get(key, 10_000_000) is not None


def test_starting_an_upload_needs_the_terms_accepted_and_stores_nothing(stack):
    # Given an account that has not accepted the terms
    client = signed_in(stack.api_url, "no-terms-uploader@example.com")
    account_id = client.get("/v1/me").json()["id"]

    # When it starts an upload
    answer = client.post("/v1/uploads", json={"filename": "ref.png", "content_type": "image/png", "size_bytes": 100})

    # Then it is refused as elsewhere, and nothing is held for it
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "consent_required"
    assert get_services().uploads.unused_quota(account_id) == (0, 0)


def test_starting_uploads_is_rate_limited_with_a_wait(stack):
    # Given an account allowed two upload starts a window
    account = consenting_account()
    settings = limited(upload_rate_limit=2)
    begin(account.id, "image/png", 100, settings=settings)
    begin(account.id, "image/png", 100, settings=settings)

    # When it starts a third, then Then it is told to wait, and the third holds nothing
    with pytest.raises(errors.RateLimitedError) as refused:
        begin(account.id, "image/png", 100, settings=settings)
    assert (refused.value.retry_after_seconds or 0) > 0
    assert get_services().uploads.unused_quota(account.id) == (2, 200)


def test_an_account_holds_at_most_its_quota_of_unused_uploads_by_count_and_bytes(stack):
    settings = limited(max_unused_uploads=2, max_unused_upload_bytes=3000)
    # Given an account holding two unused uploads
    by_count = consenting_account()
    begin(by_count.id, "image/png", 100, settings=settings)
    begin(by_count.id, "image/png", 100, settings=settings)
    # When it starts a third, Then it is refused with a code that says why
    with pytest.raises(UploadQuotaExceededError) as refused:
        begin(by_count.id, "image/png", 100, settings=settings)
    assert refused.value.code == "upload_quota_exceeded"
    assert get_services().uploads.unused_quota(by_count.id) == (2, 200)

    # Given another holding 2500 of its 3000 bytes, When it starts 1000 more, Then that is refused too
    by_bytes = consenting_account()
    begin(by_bytes.id, "image/png", 2500, settings=settings)
    with pytest.raises(UploadQuotaExceededError):
        begin(by_bytes.id, "image/png", 1000, settings=settings)
    begin(by_bytes.id, "image/png", 500, settings=settings)
    assert get_services().uploads.unused_quota(by_bytes.id) == (2, 3000)


def test_the_upload_form_tags_the_object_unused(stack):
    # Given a started upload
    started = begin(consenting_account().id, "image/png", 100)

    # Then its form makes S3 tag the object unused=true, and its policy holds the form to that tag
    tagging = "<Tagging><TagSet><Tag><Key>unused</Key><Value>true</Value></Tag></TagSet></Tagging>"
    assert started.fields["tagging"] == tagging
    policy = json.loads(base64.b64decode(started.fields["policy"]))
    assert ["eq", "$tagging", tagging] in policy["conditions"]


def test_a_job_using_an_upload_frees_its_quota_untags_it_and_keeps_it_past_expiry(stack):
    services = get_services()
    settings = limited(max_unused_uploads=1)
    # Given an account with its one unused upload sent, tagged unused as S3 tags it from the form
    account = consenting_account(credits=50)
    started = begin(account.id, "image/png", 10_000, settings=settings)
    assert post_form(started, png_bytes(), "image/png").status_code < 300
    storage = services.asset_storage
    storage.client.put_object_tagging(
        Bucket=storage.bucket,
        Key=started.upload.object_key,
        Tagging={"TagSet": [{"Key": "unused", "Value": "true"}]},
    )
    with pytest.raises(UploadQuotaExceededError):
        begin(account.id, "image/png", 100, settings=settings)

    # When a job uses it (naming it twice, as a job may)
    submitted = submit_with_references(account, [started.upload.id, started.upload.id])

    # Then the job is accepted, the upload is used, untagged and out of the quota
    assert submitted.job.reference_upload_ids == [started.upload.id, started.upload.id]
    upload = services.uploads.get(account.id, started.upload.id)
    assert upload.is_used
    assert upload.status is UploadStatus.VERIFIED
    assert storage.client.get_object_tagging(Bucket=storage.bucket, Key=upload.object_key)["TagSet"] == []
    assert services.uploads.unused_quota(account.id) == (0, 0)
    begin(account.id, "image/png", 100, settings=settings)
    # And the sweep long after its unused life leaves it and its object alone
    sweep_at(timedelta(days=services.settings.uploads.unused_upload_days + 1))
    assert services.uploads.get(account.id, started.upload.id) is not None
    assert object_exists(upload.object_key)


def test_an_unused_upload_is_deleted_with_its_object_once_it_expires(stack):
    services = get_services()
    # Given an unused upload that was sent
    account = consenting_account()
    started = begin(account.id, "image/png", 1000)
    assert post_form(started, png_bytes(), "image/png").status_code < 300

    # When the sweep runs before it expires, Then it stays
    sweep_at(timedelta())
    assert services.uploads.get(account.id, started.upload.id) is not None

    # When the sweep runs after it expired
    deleted = sweep_at(timedelta(days=services.settings.uploads.unused_upload_days, minutes=1))

    # Then its record and its object are gone, and its share of the quota is given back
    assert deleted.get("upload", 0) >= 1
    assert services.uploads.get(account.id, started.upload.id) is None
    assert not object_exists(started.upload.object_key)
    assert services.uploads.unused_quota(account.id) == (0, 0)


def test_an_expired_upload_is_refused_at_first_use(stack):
    services = get_services()
    # Given an upload started long enough ago to have expired, not yet swept
    account = consenting_account(credits=50)
    started = begin(account.id, "image/png", 1000, clock=MovedClock(-timedelta(days=30)))
    assert post_form(started, png_bytes(), "image/png").status_code < 300

    # When a job uses it, Then the job is refused and nothing is held
    with pytest.raises(UploadRejectedError):
        submit_with_references(account, [started.upload.id])
    assert services.wallets.get(account.id).held == 0


def test_a_decompression_bomb_is_rejected_with_422_when_a_job_first_uses_it(stack):
    # Given an account with credits, and a 15000x15000 PNG uploaded as a reference
    client, account = sign_up(stack.api_url, "bomber@example.com")
    give_credits(account, 50)
    content = bomb_png()
    started = client.post(
        "/v1/uploads", json={"filename": "huge.png", "content_type": "image/png", "size_bytes": len(content)}
    )
    assert started.status_code == 201, started.text
    form = started.json()["upload"]
    assert httpx.post(form["url"], data=form["fields"], files={"file": ("u", content, "image/png")}).status_code < 300
    upload_id = started.json()["id"]

    # When a job references it
    answer = client.post(
        "/v1/jobs",
        json={
            "kind": "image",
            "model": "local-image",
            "prompt": "a kite",
            "params": {"width": 64, "height": 64},
            "reference_upload_ids": [upload_id],
        },
    )

    # Then the job is refused with 422, the upload is marked rejected, and no job or hold exists
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "upload_rejected"
    services = get_services()
    assert services.uploads.get(account.id, upload_id).status is UploadStatus.REJECTED
    assert client.get("/v1/jobs").json()["items"] == []
    assert client.get("/v1/billing/balance").json()["held_credits"] == 0


def test_a_decompression_bomb_already_queued_is_rejected_once_not_retried(stack):
    # Given a pending upload that is a decompression bomb (as a job queued before first-use checks)
    services = get_services()
    account = consenting_account()
    content = bomb_png()
    started = begin(account.id, "image/png", len(content))
    assert post_form(started, content, "image/png").status_code < 300

    # When the worker checks it, Then it is rejected as unusable (which fails the job once)
    with pytest.raises(UploadRejectedError):
        verified_reference_url(
            account.id,
            started.upload.id,
            uploads=services.uploads,
            storage=services.asset_storage,
            settings=services.settings,
        )
    assert services.uploads.get(account.id, started.upload.id).status is UploadStatus.REJECTED
