"""The profile picture over real HTTP: upload through the presigned POST, set it, see its link on
/v1/me and the bytes behind it, remove it; someone else's upload and a file that is not an image are
refused in the API's error shape."""

from __future__ import annotations

import io

import httpx

from local.runtime import LocalRuntime
from tests.support.client import ApiClient
from tests.support.generation import png_bytes
from tests.support.personas import sign_up


def upload(client: ApiClient, content: bytes, content_type: str = "image/png") -> str:
    started = client.post(
        "/v1/uploads", json={"filename": "me.png", "content_type": content_type, "size_bytes": len(content)}
    )
    assert started.status_code == 201, started.text
    form = started.json()["upload"]
    posted = httpx.post(form["url"], data=form["fields"], files={"file": ("me.png", content, content_type)})
    assert posted.status_code < 300, posted.text
    return started.json()["id"]


def test_a_person_sets_sees_and_removes_their_picture(stack: LocalRuntime) -> None:
    from PIL import Image

    # Given a signed-in person with no picture
    client, _account = sign_up(stack.api_url, "picture-owner@example.com")
    assert client.get("/v1/me").json()["avatar_url"] is None
    upload_id = upload(client, png_bytes(300, 200))

    # When they make their upload their picture
    answer = client.request("PUT", "/v1/me/picture", json={"upload_id": upload_id})

    # Then /v1/me links to a 256 px square WebP, and the provider's picture_url is untouched
    assert answer.status_code == 200, answer.text
    me = client.get("/v1/me").json()
    assert me["avatar_url"]
    assert me["picture_url"] == answer.json()["picture_url"]
    picture = httpx.get(me["avatar_url"])
    assert picture.status_code == 200
    with Image.open(io.BytesIO(picture.content)) as image:
        assert (image.format, image.size) == ("WEBP", (256, 256))

    # When they remove it, the link is gone
    removed = client.request("DELETE", "/v1/me/picture")
    assert removed.status_code == 200, removed.text
    assert removed.json()["avatar_url"] is None
    assert client.get("/v1/me").json()["avatar_url"] is None
    client.close()


def test_someone_elses_upload_is_not_found_and_a_non_image_is_refused(stack: LocalRuntime) -> None:
    owner, _ = sign_up(stack.api_url, "picture-uploader@example.com")
    other, _ = sign_up(stack.api_url, "picture-borrower@example.com")
    theirs = upload(owner, png_bytes())

    borrowed = other.request("PUT", "/v1/me/picture", json={"upload_id": theirs})
    assert borrowed.status_code == 404, borrowed.text
    assert borrowed.json()["error"]["code"] == "not_found"

    not_an_image = upload(other, b"just some text, declared as a PNG")
    refused = other.request("PUT", "/v1/me/picture", json={"upload_id": not_an_image})
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "upload_rejected"
    assert other.get("/v1/me").json()["avatar_url"] is None
    owner.close()
    other.close()
