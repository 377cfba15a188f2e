"""What a client controls outright, over real HTTP: list cursors, numeric job parameters and the
workflow version a job names. Each is answered with the API's error shape (4xx) and changes nothing;
none reaches a 500, and none lets one account claim another's data."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

from atelier.data.accounts import AccountRepository
from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in
from tests.support.money import give_credits
from tests.support.stack import running_stack

ADMIN = "cursor.moderator@example.com"
LIST_ROUTES = ["/v1/jobs", "/v1/assets", "/v1/workflows", "/v1/gallery", "/v1/billing/ledger", "/v1/admin/reports"]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with running_stack(parameters={"AdminEmails": ADMIN}) as runtime:
        yield runtime


def person(stack: LocalRuntime, email: str, credits: int = 0) -> tuple[ApiClient, str]:
    client = signed_in(stack.api_url, email)
    version = client.get("/v1/policies/terms").json()["version"]
    assert client.post("/v1/me/terms", json={"version": version, "age_confirmed": True}).status_code == 200
    account_id = client.get("/v1/me").json()["id"]
    if credits:
        give_credits(AccountRepository().require(account_id), credits)
    return client, account_id


def job_ids(client: ApiClient) -> list[str]:
    return [job["id"] for job in client.get("/v1/jobs?limit=100").json()["items"]]


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


_CURSOR_TEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-#:.|="


def _cursors(generator: random.Random, count: int) -> Iterator[str]:
    """Made-up cursors: well-formed containers with the wrong contents, and arbitrary text."""
    shapes = [
        lambda: _b64({"m": "2026-12", "a": "nopipe"}),
        lambda: _b64({"m": "2026-12", "a": "||"}),
        lambda: _b64({"m": "0000-00", "a": None}),
        lambda: _b64({"m": "abcd-ef", "a": None}),
        lambda: _b64({"m": "2026-12", "a": "x|acc_1|" + "a" * generator.randint(1, 300)}),
        lambda: _b64({"m": generator.choice(["2026-13", "2026-1", "-001-01", 202612]), "a": generator.random()}),
        lambda: _b64([generator.random()]),
        lambda: _b64(generator.choice([None, 1, "s", True])),
        lambda: "".join(
            generator.choice("abcdefghijklmnopqrstuvwxyz0123456789_-") for _ in range(generator.randint(1, 80))
        ),
        lambda: "job_" + "z" * generator.randint(1, 60),
    ]
    for _ in range(count):
        yield generator.choice(shapes)()


def test_made_up_cursors_on_every_list_route_are_answered_without_a_server_error(stack):
    # Given a signed-in account and an admin (the admin's report list takes a cursor too)
    client, _ = person(stack, "cursor.tester@example.com")
    admin, _ = person(stack, ADMIN)
    generator = random.Random(20261206)
    # When each list route is asked for a page at a few dozen made-up cursors
    for route in LIST_ROUTES:
        caller = admin if route.startswith("/v1/admin") else client
        for cursor in _cursors(generator, 40):
            answer = caller.get(f"{route}?{urlencode({'cursor': cursor})}")
            # Then each answers a page or a refusal in the error shape, never a 500
            assert answer.status_code in (200, 400, 422), (route, cursor, answer.status_code, answer.text)
            if answer.status_code != 200:
                assert answer.json()["error"]["code"], (route, cursor)


def test_the_crafted_gallery_cursor_that_used_to_answer_500_is_an_invalid_field(stack):
    answer = httpx.get(f"{stack.api_url}/v1/gallery", params={"cursor": _b64({"m": "2026-12", "a": "nopipe"})})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"] == [{"field": "cursor", "location": "query"}]


@pytest.mark.parametrize("duration", ["NaN", "Infinity", "-Infinity", "1e400", "-3", str(10**30)])
def test_a_video_duration_that_is_not_a_usable_number_is_refused_and_no_job_is_made(stack, duration):
    # Given an account with credits
    client, _ = person(stack, f"video.{abs(hash(duration))}@example.com", credits=50)
    before = job_ids(client)
    # When it submits a video job whose duration is not a usable number (as the JSON text says it)
    body = '{"kind": "video", "model": "local-video", "prompt": "waves", "params": {"duration_s": DURATION}}'
    body = body.replace("DURATION", duration)
    answer = client.request("POST", "/v1/jobs", content=body, headers={"Content-Type": "application/json"})
    # Then it is refused as an invalid field (or an unreadable body), and no job was made
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"]["code"]
    assert job_ids(client) == before


def test_a_job_cannot_name_another_accounts_workflow_version(stack):
    # Given two accounts, one of which has a workflow
    owner, _ = person(stack, "version.owner@example.com", credits=20)
    other, _ = person(stack, "version.claimer@example.com", credits=20)
    created = owner.post(
        "/v1/workflows",
        json={"name": "Mine", "definition": {"kind": "image", "model": "local-image", "prompt_template": "a fox"}},
    )
    assert created.status_code == 201, created.text
    [version] = owner.get(f"/v1/workflows/{created.json()['id']}/versions").json()["items"]
    job = {"kind": "image", "model": "local-image", "prompt": "a fox", "workflow_version_id": version["id"]}
    before = job_ids(other)
    # When the other account submits a job naming the owner's version, or a made-up one
    claimed = other.post("/v1/jobs", json=job)
    made_up = other.post("/v1/jobs", json={**job, "workflow_version_id": "wfv_01jzzzzzzzzzzzzzzzzzzzzzzz"})
    # Then both are answered as not found, and no job was made
    assert claimed.status_code == 404, claimed.text
    assert made_up.status_code == 404, made_up.text
    assert job_ids(other) == before
    # And the owner may name its own version
    mine = owner.post("/v1/jobs", json=job)
    assert mine.status_code == 202, mine.text
    assert mine.json()["workflow_version_id"] == version["id"]
