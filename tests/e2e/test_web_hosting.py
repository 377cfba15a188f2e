"""What the web studio needs of the API over real HTTP: credentialed CORS for the studios listed in
`WebOrigins` (and nothing for any other origin), public media from cacheable URLs, and the share
page's HTML with its link-preview tags."""

from __future__ import annotations

import io
import re

import httpx
import pytest

from atelier.settings import CommunitySettings
from tests.e2e.test_generation_journey import accept_terms, buy_credits, wait_for
from tests.support.client import ApiClient, signed_in
from tests.support.stack import running_stack

STUDIO = "https://studio.elsewhere.test"
OTHER = "https://evil.example.test"
ADMIN = "media-moderator@example.com"


@pytest.fixture(scope="module")
def stack():
    parameters = {"WebOrigins": f"{STUDIO},https://second.elsewhere.test", "AdminEmails": ADMIN}
    with running_stack(parameters=parameters) as runtime:
        yield runtime


def preflight(stack, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return httpx.options(
        f"{stack.api_url}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type, idempotency-key, x-workspace-id",
        },
        timeout=30,
    )


def test_a_listed_studio_origin_gets_a_credentialed_preflight_answer(stack):
    # Given a studio on an origin listed in WebOrigins
    # When its browser sends the preflight of a job submission
    response = preflight(stack, "/v1/jobs", STUDIO)
    # Then the answer names that exact origin, allows credentials and the headers the API reads
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == STUDIO
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = {name.strip().lower() for name in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-workspace-id", "cancel-after"} <= allowed
    assert "Origin" in response.headers["vary"]


def test_a_preflight_of_a_path_with_parameters_is_answered_too(stack):
    # Given the second listed origin
    # When it asks before deleting an asset (a path with a parameter, served by another function)
    response = preflight(stack, "/v1/assets/ast_123", "https://second.elsewhere.test", method="DELETE")
    # Then it is answered for that origin
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://second.elsewhere.test"


def test_an_origin_not_listed_gets_no_cors_headers(stack):
    # Given an origin nobody listed
    # When it sends a preflight and a simple request
    asked = preflight(stack, "/v1/jobs", OTHER)
    answered = httpx.get(f"{stack.api_url}/v1/gallery", headers={"Origin": OTHER}, timeout=30)
    # Then neither answer allows it, so the browser keeps both from the page
    for response in (asked, answered):
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-credentials" not in response.headers
        assert "Origin" in response.headers["vary"]
    assert answered.status_code == 200


def test_a_listed_origin_reads_a_signed_in_answer_with_credentials(stack):
    # Given a person signed in, calling from the listed studio
    client = signed_in(stack.api_url, "cors-reader@example.com")
    # When the studio reads the account with the session cookie
    response = client.get("/v1/me", headers={"Origin": STUDIO})
    # Then the answer is readable there: that origin, credentials allowed
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == STUDIO
    assert response.headers["access-control-allow-credentials"] == "true"


def test_errors_carry_the_cors_headers_so_the_studio_can_read_them(stack):
    # Given the listed studio, signed out
    anonymous = ApiClient(stack.api_url)
    # When it calls a route that needs a session
    response = anonymous.get("/v1/me", headers={"Origin": STUDIO})
    # Then the 401 is readable by the studio (it can show "sign in")
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == STUDIO
    anonymous.close()


# ------------------------------------------------------------------------------------------
# Media for browsers.
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def maker(stack):
    client = signed_in(stack.api_url, "media-maker@example.com")
    accept_terms(client)
    buy_credits(client)
    yield client
    client.close()


def generate(client: ApiClient, body: dict) -> dict:
    submitted = client.post("/v1/jobs", json=body)
    assert submitted.status_code == 202, submitted.text
    job = wait_for(client, submitted.json()["id"], timeout_s=120)
    assert job["status"] == "succeeded", job
    return client.get(f"/v1/assets/{job['outputs'][0]}").json()


def new_image(client: ApiClient, width: int = 1024, height: int = 768) -> dict:
    return generate(
        client,
        {"kind": "image", "model": "local-image", "prompt": "a kite", "params": {"width": width, "height": height}},
    )


def webp_size(url: str) -> tuple[int, int]:
    from PIL import Image

    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "WEBP"
        return image.size


def set_visibility(client: ApiClient, asset_id: str, visibility: str) -> dict:
    response = client.request("PATCH", f"/v1/assets/{asset_id}", json={"visibility": visibility})
    assert response.status_code == 200, response.text
    return response.json()


def gallery_item(stack, asset_id: str) -> dict | None:
    items = httpx.get(f"{stack.api_url}/v1/gallery?limit=100", timeout=30).json()["items"]
    return next((item for item in items if item["id"] == asset_id), None)


def media_urls(item: dict) -> list[str]:
    return [item[name] for name in ("download_url", "thumbnail_url", "poster_url") if item.get(name)]


def test_an_image_output_is_listed_with_a_webp_thumbnail_of_at_most_512_px(maker):
    # Given an image generated at 1024 x 768
    asset = new_image(maker)
    # When its owner lists it
    # Then it names a thumbnail: WebP, the longest side 512 px, the same aspect; no poster
    assert webp_size(asset["thumbnail_url"]) == (512, 384)
    assert asset["poster_url"] is None
    listed = maker.get("/v1/assets?kind=image").json()["items"]
    assert next(item for item in listed if item["id"] == asset["id"])["thumbnail_url"]


def test_a_video_output_is_listed_with_its_poster_frame_and_thumbnail(maker):
    pytest.importorskip("av")
    # Given a video generated at 320 x 240
    asset = generate(
        maker,
        {
            "kind": "video",
            "model": "local-video",
            "prompt": "waves",
            "params": {"duration_s": 1, "width": 320, "height": 240},
        },
    )
    # When its owner reads it
    # Then its poster is a frame at the video's size and its thumbnail fits in 512 px
    assert webp_size(asset["poster_url"]) == (320, 240)
    assert max(webp_size(asset["thumbnail_url"])) <= 512


def test_a_published_item_is_served_from_plain_cacheable_urls_and_unpublishing_withdraws_them(stack, maker):
    # Given a published image
    asset = new_image(maker, 640, 480)
    set_visibility(maker, asset["id"], "public")
    # When the gallery lists it
    item = gallery_item(stack, asset["id"])
    assert item is not None
    urls = media_urls(item)
    # Then its file and thumbnail are plain URLs under /media/ (no signature), cacheable
    assert len(urls) == 2
    for url in urls:
        assert url.startswith(f"{stack.api_url}/media/")
        assert "X-Amz-" not in url
        assert "Signature" not in url
        served = httpx.get(url, timeout=30)
        assert served.status_code == 200
        assert re.fullmatch(r"public, max-age=\d+", served.headers["cache-control"])
    assert webp_size(item["thumbnail_url"]) == (512, 384)
    # When its owner makes it private again
    set_visibility(maker, asset["id"], "private")
    # Then the same URLs serve nothing at once
    assert [httpx.get(url, timeout=30).status_code for url in urls] == [403, 403]
    assert gallery_item(stack, asset["id"]) is None


def test_republishing_makes_new_urls_so_an_old_one_never_serves_again(stack, maker):
    # Given an item published, unpublished and published again
    asset = new_image(maker, 256, 256)
    set_visibility(maker, asset["id"], "public")
    first = gallery_item(stack, asset["id"])["thumbnail_url"]
    set_visibility(maker, asset["id"], "private")
    set_visibility(maker, asset["id"], "public")
    second = gallery_item(stack, asset["id"])["thumbnail_url"]
    # Then the second publication's URL serves and the first's does not
    assert first != second
    assert httpx.get(second, timeout=30).status_code == 200
    assert httpx.get(first, timeout=30).status_code == 403


def test_deleting_a_published_asset_removes_its_public_copies(stack, maker):
    # Given a published image
    asset = new_image(maker, 256, 256)
    set_visibility(maker, asset["id"], "public")
    urls = media_urls(gallery_item(stack, asset["id"]))
    # When its owner deletes it
    assert maker.request("DELETE", f"/v1/assets/{asset['id']}").status_code == 204
    # Then none of its public URLs serves
    assert {httpx.get(url, timeout=30).status_code for url in urls} == {403}


def test_a_moderation_removal_withdraws_the_public_copies_at_once(stack, maker):
    # Given a published image and a report of it
    asset = new_image(maker, 256, 256)
    set_visibility(maker, asset["id"], "public")
    urls = media_urls(gallery_item(stack, asset["id"]))
    owner_id = maker.get("/v1/me").json()["id"]
    reporter = signed_in(stack.api_url, "media-reporter@example.com")
    accept_terms(reporter)
    admin = signed_in(stack.api_url, ADMIN)
    accept_terms(admin)
    report = reporter.post(
        "/v1/reports", json={"target_type": "asset", "target_id": asset["id"], "owner_id": owner_id, "reason": "spam"}
    )
    assert report.status_code == 201, report.text
    # When a moderator removes it
    resolved = admin.post(f"/v1/admin/reports/{report.json()['id']}/resolve", json={"action": "remove", "note": "spam"})
    assert resolved.status_code == 200, resolved.text
    # Then its public URLs serve nothing
    assert {httpx.get(url, timeout=30).status_code for url in urls} == {403}


def test_a_review_hold_withdraws_the_public_copies_and_a_dismissal_makes_them_again(stack, maker):
    # Given a published image
    asset = new_image(maker, 256, 256)
    set_visibility(maker, asset["id"], "public")
    before = media_urls(gallery_item(stack, asset["id"]))
    owner_id = maker.get("/v1/me").json()["id"]
    admin = signed_in(stack.api_url, ADMIN)
    accept_terms(admin)
    # When enough distinct accounts report it as a minor-safety concern to hold it pending review
    # (one report from an account without a record does not)
    for number in range(CommunitySettings.model_fields["report_hold_min_reporters"].default):
        reporter = signed_in(stack.api_url, f"media-minor-reporter-{number}@example.com")
        accept_terms(reporter)
        report = reporter.post(
            "/v1/reports",
            json={"target_type": "asset", "target_id": asset["id"], "owner_id": owner_id, "reason": "minor_safety"},
        )
        assert report.status_code == 201, report.text
    # Then its public URLs serve nothing
    assert {httpx.get(url, timeout=30).status_code for url in before} == {403}
    # When a moderator dismisses the report
    resolved = admin.post(f"/v1/admin/reports/{report.json()['id']}/resolve", json={"action": "dismiss", "note": "ok"})
    assert resolved.status_code == 200, resolved.text
    # Then it is back in the gallery from new URLs that serve
    after = media_urls(gallery_item(stack, asset["id"]))
    assert set(after).isdisjoint(before)
    assert {httpx.get(url, timeout=30).status_code for url in after} == {200}


def test_the_deletion_countdown_withdraws_public_copies_and_a_cancellation_restores_them(stack):
    # Given a person with a published image
    person = signed_in(stack.api_url, "media-leaver@example.com")
    accept_terms(person)
    buy_credits(person)
    asset = new_image(person, 256, 256)
    set_visibility(person, asset["id"], "public")
    before = media_urls(gallery_item(stack, asset["id"]))
    # When they schedule their account's deletion
    assert person.post("/v1/me/deletion").status_code == 202
    # Then the public copies are gone at once
    assert {httpx.get(url, timeout=30).status_code for url in before} == {403}
    # When they cancel it
    assert person.request("DELETE", "/v1/me/deletion").status_code == 200
    # Then the item is public again, exactly as it was: the same URLs serve again
    assert media_urls(gallery_item(stack, asset["id"])) == before
    assert {httpx.get(url, timeout=30).status_code for url in before} == {200}


# ------------------------------------------------------------------------------------------
# The share page.
# ------------------------------------------------------------------------------------------
def meta(html: str, name: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)">', html)
    return found.group(1) if found else None


def test_a_share_link_answers_html_with_link_preview_tags_and_404_once_revoked(stack, maker):
    # Given a private image shared by link
    asset = new_image(maker, 512, 512)
    created = maker.post("/v1/shares", json={"target_type": "asset", "target_id": asset["id"]})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert created.json()["url"] == f"{stack.api_url}/s/{token}"
    # When anyone opens the link in a browser (no sign-in)
    page = httpx.get(created.json()["url"], timeout=30)
    # Then the page is HTML carrying the item's Open Graph and Twitter card tags
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    html = page.text
    assert meta(html, "og:title") == "An image by Media-Maker"
    assert meta(html, "twitter:card") == "summary_large_image"
    assert meta(html, "og:url") == f"{stack.api_url}/s/{token}"
    image = meta(html, "og:image")
    assert image is not None
    assert webp_size(image.replace("&amp;", "&")) == (512, 512)
    # When its owner revokes the link
    share_id = created.json()["id"]
    assert maker.request("DELETE", f"/v1/shares/{share_id}").status_code == 204
    # Then the same link answers 404, still HTML (the studio says "no longer available"), with no item tags
    gone = httpx.get(f"{stack.api_url}/s/{token}", timeout=30)
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("text/html")
    assert meta(gone.text, "og:image") is None
    assert meta(gone.text, "og:title") is None


def test_a_shared_published_item_previews_with_its_public_thumbnail(stack, maker):
    # Given a published image shared by link
    asset = new_image(maker, 256, 256)
    set_visibility(maker, asset["id"], "public")
    token = maker.post("/v1/shares", json={"target_type": "asset", "target_id": asset["id"]}).json()["token"]
    # When the link's page is fetched
    html = httpx.get(f"{stack.api_url}/s/{token}", timeout=30).text
    # Then its preview image is the plain public URL, the gallery's own
    assert meta(html, "og:image") == gallery_item(stack, asset["id"])["thumbnail_url"]


def test_an_unknown_share_token_answers_the_404_page(stack):
    # Given a token nobody issued
    # When it is opened
    page = httpx.get(f"{stack.api_url}/s/not-a-real-token", timeout=30)
    # Then the answer is the HTML 404 page, with no item tags
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert meta(page.text, "og:image") is None
