"""What the studio's privacy page relies on, over real HTTP: the list of earlier exports, the
export-ready email linking to that page, and a sign-in during the deletion countdown landing on it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest

from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in
from tests.support.stack import running_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with running_stack() as runtime:
        yield runtime


def wait_for_export(client: ApiClient, export_id: str) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = client.get(f"/v1/me/exports/{export_id}").json()
        if answer["status"] in ("ready", "failed"):
            return answer
        time.sleep(0.3)
    pytest.fail("the export never finished")


def test_exports_are_listed_newest_first_and_the_email_opens_the_privacy_page(stack):
    # Given an account with one finished export and a second one asked for after it
    email = "lister@example.com"
    client = signed_in(stack.api_url, email)
    first = client.post("/v1/me/exports").json()["id"]
    assert wait_for_export(client, first)["status"] == "ready"
    second = client.post("/v1/me/exports").json()["id"]
    assert wait_for_export(client, second)["status"] == "ready"

    # When the exports are listed, one to a page
    page = client.get("/v1/me/exports?limit=1").json()
    rest = client.get(f"/v1/me/exports?limit=1&cursor={page['next_cursor']}").json()

    # Then the newest comes first, with its link and expiry, and the cursor leads to the older one
    assert [item["id"] for item in page["items"]] == [second]
    assert page["items"][0]["download_url"]
    assert page["items"][0]["expires_at"]
    assert [item["id"] for item in rest["items"]] == [first]
    assert rest["next_cursor"] is None
    # And another account sees none of them
    assert signed_in(stack.api_url, "someone.else@example.com").get("/v1/me/exports").json()["items"] == []

    # And each export-ready email links to the studio's privacy page for that export, not to the archive
    mails = httpx.get(f"{stack.api_url}/_local/outbox", params={"to": email}).json()
    links = [
        re.search(r"https?://\S+", mail["text"]).group(0)  # type: ignore[union-attr]
        for mail in mails
        if "export is ready" in mail["subject"]
    ]
    assert sorted(links) == sorted(f"{stack.api_url}/settings?export={id_}#your-data" for id_ in (first, second))


def test_a_bad_cursor_or_limit_is_refused_in_the_error_shape(stack):
    client = signed_in(stack.api_url, "bad.cursor@example.com")
    for query in ("limit=0", "limit=101", "cursor=..%2Fx"):
        answer = client.get(f"/v1/me/exports?{query}")
        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["error"]["code"]


def test_signing_in_during_the_countdown_lands_on_the_deletion_section(stack):
    # Given an account whose deletion is scheduled
    email = "leaving@example.com"
    client = signed_in(stack.api_url, email)
    assert client.post("/v1/me/deletion").status_code == 202

    # When its owner signs in again from another page
    again = ApiClient(stack.api_url)
    landed = again.sign_in(email, redirect_to="/studio")

    # Then the sign-in lands on the deletion section, where the countdown can be cancelled
    assert landed.status_code == 302
    assert landed.headers["location"] == "/settings#delete-account"

    # And once cancelled, a sign-in goes where it started again
    assert again.request("DELETE", "/v1/me/deletion").status_code == 200
    assert ApiClient(stack.api_url).sign_in(email, redirect_to="/studio").headers["location"] == "/studio"
