"""The profile picture a person uploads: one of their own reference uploads, checked as a job's
first use checks it (it decodes, metadata stripped), then screened by media moderation, and copied
as a 256 px square WebP under the account's prefix, so the export carries it and the purge removes
it with everything else of the account.

Moderation is stricter here than for a job's reference: a restricted image may be used privately
in a job, but a profile picture is something the person shows, so restricted is refused too."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.assets import UploadRepository
from atelier.ids import IdPrefix, has_prefix
from atelier.integrations.media_moderation import Verdict
from atelier.integrations.storage import ObjectStore, account_prefix
from atelier.models.accounts import Account
from atelier.models.generation import UploadStatus
from atelier.models.submission import UploadRejectedError
from atelier.settings import Settings
from atelier.usecases.manage_uploads import verify_upload
from atelier.usecases.screen_media import OutputSafety, quarantine

if TYPE_CHECKING:
    from atelier.services import Services

PICTURE_SIZE = 256
PICTURE_CONTENT_TYPE = "image/webp"


class PictureRejectedError(errors.InvalidFieldError):
    code = "picture_rejected"
    default_message = "This image breaks the content policy and cannot be a profile picture."


def picture_key(account_id: str) -> str:
    return f"{account_prefix(account_id)}profile/picture.webp"


def picture_url(account: Account, *, storage: ObjectStore, settings: Settings) -> str | None:
    """A short-lived link to the stored picture, or None when the account has none."""
    if account.avatar_key is None:
        return None
    return storage.presigned_get(account.avatar_key, settings.media.download_url_seconds)


@dataclass(frozen=True)
class SetPictureDeps:
    """What `set_picture` works with, built once per function (`Services.dependencies`)."""

    accounts: AccountRepository
    uploads: UploadRepository
    storage: ObjectStore
    safety: OutputSafety
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> SetPictureDeps:
        return cls(
            accounts=services.accounts,
            uploads=services.uploads,
            storage=services.asset_storage,
            safety=services.output_safety,
            clock=services.clock,
            settings=services.settings,
        )


def set_picture(deps: SetPictureDeps, account_id: str, upload_id: str) -> Account:
    accounts, uploads, storage, safety, clock, settings = (
        deps.accounts,
        deps.uploads,
        deps.storage,
        deps.safety,
        deps.clock,
        deps.settings,
    )
    # Someone else's upload, a malformed id and a missing one read alike: not found.
    upload = uploads.get(account_id, upload_id) if has_prefix(upload_id, IdPrefix.UPLOAD) else None
    if upload is None or upload.expired(clock.now()):
        raise errors.NotFoundError("No such upload.")
    if upload.status is UploadStatus.REJECTED:
        raise UploadRejectedError()
    if upload.status is UploadStatus.PENDING:
        verify_upload(upload, uploads=uploads, storage=storage, settings=settings)
    content = storage.get(upload.object_key, settings.uploads.upload_max_bytes)
    if content is None:
        raise UploadRejectedError("The image was never uploaded.")
    verdict = safety.moderation.check(content, upload.content_type)
    if verdict.verdict is Verdict.MINOR_SAFETY:
        quarantine(
            content,
            upload.content_type,
            account_id=account_id,
            item_id=upload.id,
            verdict=verdict,
            safety=safety,
            storage=storage,
            clock=clock,
        )
        uploads.mark(upload, UploadStatus.REJECTED, width=None, height=None, sha256=None, size_bytes=len(content))
        storage.delete([upload.object_key])
        raise PictureRejectedError(details={"reason": "minor_safety"})
    if verdict.verdict in (Verdict.BLOCKED, Verdict.RESTRICTED):
        raise PictureRejectedError(details={"reason": verdict.reason})
    key = picture_key(account_id)
    storage.put(key, square_webp(content), PICTURE_CONTENT_TYPE)
    return accounts.set_avatar(account_id, key)


def remove_picture(account_id: str, *, accounts: AccountRepository, storage: ObjectStore) -> Account:
    account = accounts.require(account_id)
    if account.avatar_key is not None:
        storage.delete([account.avatar_key])
    return accounts.set_avatar(account_id, None)


def square_webp(content: bytes) -> bytes:
    """The centre square of an (already verified) image, scaled to PICTURE_SIZE, as WebP."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(content)) as image:
        mode = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
        square = ImageOps.fit(image.convert(mode), (PICTURE_SIZE, PICTURE_SIZE), method=Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    square.save(buffer, format="WEBP", quality=85)
    return buffer.getvalue()
