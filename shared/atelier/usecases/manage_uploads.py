"""Reference-image uploads: a presigned POST that S3 itself holds to the declared type and size,
and, on first use, a real check of the object (it decodes, its dimensions are within limits) that
also strips EXIF/GPS metadata by re-encoding the pixels, and stores its thumbnail beside it.

Starting one needs the terms accepted, is rate limited, and counts against the account's quota of
unused uploads (count and declared bytes). An upload no job has used is kept for
`unused_upload_days`: the retention sweep then deletes it with its object. Its object is tagged
`unused=true` by the POST itself, and the tag is taken off when a job first uses it, so the bucket's
lifecycle rule (expire objects tagged unused) deletes only objects no job needs."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.assets import UploadRepository
from atelier.data.policies import PolicyRepository
from atelier.data.rate_limits import RateLimiter
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.integrations.previews import PREVIEW_CONTENT_TYPE, make_previews, thumbnail_key
from atelier.integrations.storage import ObjectStore, upload_key
from atelier.models.generation import Upload, UploadStatus
from atelier.models.submission import UploadRejectedError
from atelier.settings import Settings
from atelier.usecases.require_consent import require_consent

if TYPE_CHECKING:
    from atelier.services import Services

ALLOWED_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


UNUSED_TAG = {"unused": "true"}


class UploadQuotaExceededError(errors.ConflictError):
    code = "upload_quota_exceeded"
    default_message = "Too many unused uploads: use them in a job, or wait for unused ones to expire."


@dataclass(frozen=True)
class StartedUpload:
    upload: Upload
    url: str
    fields: dict[str, Any]
    expires_at: datetime


@dataclass(frozen=True)
class StartUploadDeps:
    """What `start_upload` works with, built once per function (`Services.dependencies`)."""

    uploads: UploadRepository
    accounts: AccountRepository
    policies: PolicyRepository
    rate_limiter: RateLimiter
    storage: ObjectStore
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> StartUploadDeps:
        return cls(
            uploads=services.uploads,
            accounts=services.accounts,
            policies=services.policies,
            rate_limiter=services.rate_limiter,
            storage=services.asset_storage,
            clock=services.clock,
            settings=services.settings,
        )


def start_upload(
    deps: StartUploadDeps,
    account_id: str,
    filename: str,
    content_type: str,
    size_bytes: int,
) -> StartedUpload:
    if content_type not in ALLOWED_TYPES:
        raise errors.InvalidFieldError(
            "PNG, JPEG or WebP only.", details=[{"field": "content_type", "location": "body"}]
        )
    if size_bytes > deps.settings.uploads.upload_max_bytes:
        raise errors.PayloadTooLargeError(f"At most {deps.settings.uploads.upload_max_bytes} bytes.")
    require_consent(deps.accounts.require(account_id), policies=deps.policies, clock=deps.clock, settings=deps.settings)
    now = deps.clock.now()
    deps.rate_limiter.hit(
        "upload-start",
        account_id,
        limit=deps.settings.uploads.upload_rate_limit,
        window_seconds=deps.settings.uploads.upload_rate_window_seconds,
        now=now,
    )
    upload_id = new_id(IdPrefix.UPLOAD)
    key = upload_key(account_id, upload_id)
    upload = Upload(
        id=upload_id,
        account_id=account_id,
        filename=filename,
        content_type=content_type,
        size_bytes=size_bytes,
        object_key=key,
        status=UploadStatus.PENDING,
        created_at=now,
        unused_until=now + timedelta(days=deps.settings.uploads.unused_upload_days),
        quota_bytes=size_bytes,
    )
    if not deps.uploads.create(
        upload,
        max_unused=deps.settings.uploads.max_unused_uploads,
        max_unused_bytes=deps.settings.uploads.max_unused_upload_bytes,
    ):
        raise UploadQuotaExceededError(
            f"At most {deps.settings.uploads.max_unused_uploads} unused uploads, "
            f"of {deps.settings.uploads.max_unused_upload_bytes} bytes "
            "between them: use them in a job, or wait for unused ones to expire.",
            details={
                "max_unused_uploads": deps.settings.uploads.max_unused_uploads,
                "max_unused_upload_bytes": deps.settings.uploads.max_unused_upload_bytes,
                "unused_upload_days": deps.settings.uploads.unused_upload_days,
            },
        )
    form = deps.storage.presigned_post(
        key, content_type, size_bytes, deps.settings.uploads.upload_url_seconds, tags=UNUSED_TAG
    )
    return StartedUpload(
        upload=upload,
        url=form["url"],
        fields=form["fields"],
        expires_at=now + timedelta(seconds=deps.settings.uploads.upload_url_seconds),
    )


def verified_reference_url(
    account_id: str, upload_id: str, *, uploads: UploadRepository, storage: ObjectStore, settings: Settings
) -> str:
    """A short-lived URL of the cleaned upload, checking and cleaning it the first time."""
    upload = uploads.get(account_id, upload_id) if has_prefix(upload_id, IdPrefix.UPLOAD) else None
    if upload is None or upload.status is UploadStatus.REJECTED:
        raise UploadRejectedError("A reference upload is missing or unusable.")
    if upload.status is UploadStatus.PENDING:
        verify_upload(upload, uploads=uploads, storage=storage, settings=settings)
    return storage.presigned_get(upload.object_key, settings.media.download_url_seconds)


def prepare_references(
    account_id: str,
    upload_ids: list[str],
    *,
    uploads: UploadRepository,
    storage: ObjectStore,
    clock: Clock,
    settings: Settings,
) -> list[Upload]:
    """A job's reference uploads at submission, their first use: each must exist, be unexpired and
    be an image we can use (checked and cleaned now if it was not yet, so an unusable one is
    refused with 422 here rather than failing the job later). Unused ones lose their `unused` tag,
    so the lifecycle rule leaves them alone; the caller marks them used with the job."""
    now = clock.now()
    prepared = []
    for upload_id in upload_ids:
        upload = uploads.get(account_id, upload_id) if has_prefix(upload_id, IdPrefix.UPLOAD) else None
        if upload is None or upload.status is UploadStatus.REJECTED or upload.expired(now):
            raise UploadRejectedError(
                "A reference upload is missing, expired or unusable.",
                details=[{"field": "reference_upload_ids", "location": "body", "upload_id": upload_id}],
            )
        if upload.status is UploadStatus.PENDING:
            # Re-written clean, without the tag.
            verify_upload(upload, uploads=uploads, storage=storage, settings=settings)
        elif not upload.is_used:
            storage.untag(upload.object_key)
        prepared.append(upload)
    return prepared


def verify_upload(upload: Upload, *, uploads: UploadRepository, storage: ObjectStore, settings: Settings) -> None:
    from PIL import Image, ImageOps, UnidentifiedImageError

    content = storage.get(upload.object_key, settings.uploads.upload_max_bytes)
    if content is None:
        raise UploadRejectedError("The reference image was never uploaded.")
    try:
        # The presigned POST holds S3 to the declared size; checked again here, so the promise does
        # not rest on the store alone (emulators, for one, do not enforce POST policies).
        if len(content) > upload.size_bytes:
            raise UploadRejectedError("The file is larger than it was declared to be.")
        with Image.open(io.BytesIO(content)) as image:
            declared_format = ALLOWED_TYPES.get(upload.content_type)
            if image.format != declared_format:
                raise UploadRejectedError("The file is not the type it was declared as.")
            if image.width * image.height > settings.uploads.upload_max_pixels:
                raise UploadRejectedError("The image is too large.")
            image.load()
            # A camera stores the pixels as the sensor saw them and says how to turn them in the
            # EXIF orientation tag; the turn is applied first, since dropping the metadata drops it.
            upright = ImageOps.exif_transpose(image)
            # Re-encoding the pixels alone drops EXIF, GPS and every other metadata block.
            clean = Image.new(upright.mode, upright.size)
            clean.putdata(list(upright.getdata())) if upright.mode in ("1", "L", "P") else clean.paste(upright)
            if upright.mode == "P" and upright.getpalette():
                clean.putpalette(upright.getpalette() or [])
            buffer = io.BytesIO()
            clean.save(buffer, format=declared_format)
    except UploadRejectedError:
        uploads.mark(upload, UploadStatus.REJECTED, width=None, height=None, sha256=None, size_bytes=len(content))
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        # A decompression bomb (Pillow refuses to open an image of more than twice its pixel limit,
        # 15000x15000 say) is as unusable as any undecodable file: rejected, never retried.
        uploads.mark(upload, UploadStatus.REJECTED, width=None, height=None, sha256=None, size_bytes=len(content))
        raise UploadRejectedError() from exc
    cleaned = buffer.getvalue()
    storage.put(upload.object_key, cleaned, upload.content_type)
    previews = make_previews(cleaned, upload.content_type)
    thumbnail = None
    if previews.thumbnail is not None:
        thumbnail = thumbnail_key(upload.object_key)
        storage.put(thumbnail, previews.thumbnail, PREVIEW_CONTENT_TYPE)
    uploads.mark(
        upload,
        UploadStatus.VERIFIED,
        width=clean.width,
        height=clean.height,
        sha256=hashlib.sha256(cleaned).hexdigest(),
        size_bytes=len(cleaned),
        thumbnail_key=thumbnail,
    )
