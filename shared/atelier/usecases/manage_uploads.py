"""Reference-image uploads: a presigned POST that S3 itself holds to the declared type and size,
and, on first use, a real check of the object (it decodes, its dimensions are within limits) that
also strips EXIF/GPS metadata by re-encoding the pixels, and stores its thumbnail beside it."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from atelier import errors
from atelier.clock import Clock
from atelier.data.assets import UploadRepository
from atelier.ids import IdPrefix, has_prefix, new_id
from atelier.integrations.previews import PREVIEW_CONTENT_TYPE, make_previews, thumbnail_key
from atelier.integrations.storage import ObjectStore, upload_key
from atelier.models.generation import Upload, UploadStatus
from atelier.settings import Settings

ALLOWED_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


class UploadRejectedError(errors.InvalidFieldError):
    code = "upload_rejected"
    default_message = "The uploaded file is not an image we can use."


@dataclass(frozen=True)
class StartedUpload:
    upload: Upload
    url: str
    fields: dict[str, Any]
    expires_at: datetime


def start_upload(
    account_id: str,
    filename: str,
    content_type: str,
    size_bytes: int,
    *,
    uploads: UploadRepository,
    storage: ObjectStore,
    clock: Clock,
    settings: Settings,
) -> StartedUpload:
    if content_type not in ALLOWED_TYPES:
        raise errors.InvalidFieldError(
            "PNG, JPEG or WebP only.", details=[{"field": "content_type", "location": "body"}]
        )
    if size_bytes > settings.upload_max_bytes:
        raise errors.PayloadTooLargeError(f"At most {settings.upload_max_bytes} bytes.")
    now = clock.now()
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
    )
    uploads.create(upload)
    form = storage.presigned_post(key, content_type, size_bytes, settings.upload_url_seconds)
    return StartedUpload(
        upload=upload,
        url=form["url"],
        fields=form["fields"],
        expires_at=now + timedelta(seconds=settings.upload_url_seconds),
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
    return storage.presigned_get(upload.object_key, settings.download_url_seconds)


def verify_upload(upload: Upload, *, uploads: UploadRepository, storage: ObjectStore, settings: Settings) -> None:
    from PIL import Image, UnidentifiedImageError

    content = storage.get(upload.object_key, settings.upload_max_bytes)
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
            if image.width * image.height > settings.upload_max_pixels:
                raise UploadRejectedError("The image is too large.")
            image.load()
            # Re-encoding the pixels alone drops EXIF, GPS and every other metadata block.
            clean = Image.new(image.mode, image.size)
            clean.putdata(list(image.getdata())) if image.mode in ("1", "L", "P") else clean.paste(image)
            if image.mode == "P" and image.getpalette():
                clean.putpalette(image.getpalette() or [])
            buffer = io.BytesIO()
            clean.save(buffer, format=declared_format)
    except UploadRejectedError:
        uploads.mark(upload, UploadStatus.REJECTED, width=None, height=None, sha256=None, size_bytes=len(content))
        raise
    except (UnidentifiedImageError, OSError, ValueError) as exc:
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
