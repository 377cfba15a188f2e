"""The profile picture: one of the person's own uploads, checked, screened and kept as a small square
copy under the account's prefix, so it is in the export and gone with the purge."""

from __future__ import annotations

import io

import pytest

from atelier import errors
from atelier.integrations.inference.safety_markers import EXPLICIT, SUGGESTIVE, draw_marker
from atelier.models.accounts import Account
from atelier.models.submission import UploadRejectedError
from atelier.services import get_services
from atelier.usecases.manage_picture import (
    PICTURE_SIZE,
    PictureRejectedError,
    SetPictureDeps,
    picture_key,
    picture_url,
    remove_picture,
    set_picture,
)
from tests.integration.test_privacy_export import archive_of, records
from tests.integration.test_privacy_helpers import AFTER_THE_DEADLINE, export_now, purger, schedule
from tests.integration.test_uploads import begin, consenting_account, jpeg_with_gps, post_form


def image_bytes(width: int = 120, height: int = 80, marker: str | None = None) -> bytes:
    from PIL import Image

    image = draw_marker(Image.new("RGB", (width, height), (30, 140, 90)), marker)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def uploaded(account: Account, content: bytes, content_type: str = "image/png") -> str:
    started = begin(account.id, content_type, len(content))
    assert post_form(started, content, content_type).status_code < 300
    return started.upload.id


def choose(account_id: str, upload_id: str) -> Account:
    services = get_services()
    return set_picture(SetPictureDeps.from_services(services), account_id, upload_id)


def stored(key: str) -> bytes | None:
    return get_services().asset_storage.get(key, 10_000_000)


def test_an_upload_becomes_a_square_webp_picture_without_its_metadata(stack):
    from PIL import Image

    # Given an account's photo, taken with GPS on, 40x30
    account = consenting_account()
    upload_id = uploaded(account, jpeg_with_gps(), "image/jpeg")
    # When it is made the profile picture
    after = choose(account.id, upload_id)
    # Then a 256 px square WebP without metadata is kept under the account's prefix, with a link to it
    assert after.avatar_key == picture_key(account.id)
    assert after.avatar_key.startswith(f"accounts/{account.id}/")
    content = stored(after.avatar_key)
    assert content is not None
    with Image.open(io.BytesIO(content)) as image:
        assert (image.format, image.size) == ("WEBP", (PICTURE_SIZE, PICTURE_SIZE))
        assert not image.getexif()
    services = get_services()
    link = picture_url(after, storage=services.asset_storage, settings=services.settings)
    assert link is not None
    assert "profile/picture.webp" in link
    assert get_services().accounts.require(account.id).avatar_key == after.avatar_key


def test_someone_elses_upload_or_a_made_up_id_is_not_found(stack):
    owner, other = consenting_account(), consenting_account()
    upload_id = uploaded(owner, image_bytes())
    for candidate in (upload_id, "upl_nothing", "../../etc"):
        with pytest.raises(errors.NotFoundError):
            choose(other.id, candidate)
    assert get_services().accounts.require(other.id).avatar_key is None


def test_a_file_that_is_not_an_image_is_refused_and_nothing_changes(stack):
    account = consenting_account()
    upload_id = uploaded(account, b"%PDF-1.4 not a picture at all")
    with pytest.raises(UploadRejectedError):
        choose(account.id, upload_id)
    assert get_services().accounts.require(account.id).avatar_key is None
    assert stored(picture_key(account.id)) is None


@pytest.mark.parametrize("marker", [SUGGESTIVE, EXPLICIT], ids=["restricted", "blocked"])
def test_restricted_and_blocked_images_are_refused_with_the_reason(stack, marker):
    # Given a picture already set, and an image moderation restricts or blocks
    account = consenting_account()
    choose(account.id, uploaded(account, image_bytes()))
    before = stored(picture_key(account.id))
    flagged = uploaded(account, image_bytes(96, 96, marker))
    # When it is chosen, it is refused saying why, and the earlier picture stays
    with pytest.raises(PictureRejectedError) as refused:
        choose(account.id, flagged)
    assert refused.value.code == "picture_rejected"
    assert refused.value.details["reason"]
    assert stored(picture_key(account.id)) == before
    assert get_services().accounts.require(account.id).avatar_key == picture_key(account.id)


def test_removing_the_picture_deletes_its_copy(stack):
    services = get_services()
    account = consenting_account()
    choose(account.id, uploaded(account, image_bytes()))
    after = remove_picture(account.id, accounts=services.accounts, storage=services.asset_storage)
    assert after.avatar_key is None
    assert picture_url(after, storage=services.asset_storage, settings=services.settings) is None
    assert stored(picture_key(account.id)) is None
    # Removing again is harmless
    assert remove_picture(account.id, accounts=services.accounts, storage=services.asset_storage).avatar_key is None


def test_the_picture_is_in_the_export_and_gone_after_the_purge(stack):
    # Given an account with a picture
    account = consenting_account()
    choose(account.id, uploaded(account, image_bytes()))
    key = picture_key(account.id)
    # Then its export holds the picture's bytes and names it on the account record
    archive = archive_of(export_now(account))
    assert stored(key) == archive.read(f"assets/{key.removeprefix(f'accounts/{account.id}/')}")
    [account_record] = records(archive, "account.json")
    assert account_record["avatar_key"] == key
    # And once the account is purged, the picture is gone
    schedule(account)
    purger(clock=AFTER_THE_DEADLINE).run_due()
    assert get_services().accounts.get(account.id) is None
    assert stored(key) is None
