"""Privacy requests over real HTTP: "download my data" and "delete my account", end to end, with the
exporter polling the export queue and the purge run as its schedule, on a stack whose deletion
countdown is a few seconds (DELETION_GRACE_SECONDS, the knob `make dev` honours too)."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from atelier import tokens
from atelier.data.accounts import AccountRepository
from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in
from tests.support.logs import captured_logs
from tests.support.money import give_credits
from tests.support.stack import running_stack

GRACE_SECONDS = 3


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DELETION_GRACE_SECONDS", str(GRACE_SECONDS))
        with running_stack() as runtime:
            yield runtime


def accept_terms(client: ApiClient) -> None:
    version = client.get("/v1/policies/terms").json()["version"]
    assert client.post("/v1/me/terms", json={"version": version, "age_confirmed": True}).status_code == 200


def wait_until(check, timeout_s: float = 60.0, every_s: float = 0.3):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every_s)
    pytest.fail("the condition never came true")


def upload_image(client: ApiClient) -> str:
    from tests.support.generation import png_bytes

    content = png_bytes(40, 30)
    started = client.post(
        "/v1/uploads", json={"filename": "sketch.png", "content_type": "image/png", "size_bytes": len(content)}
    )
    assert started.status_code in (200, 201), started.text
    form = started.json()["upload"]
    posted = httpx.post(form["url"], data=form["fields"], files={"file": ("sketch.png", content, "image/png")})
    assert posted.status_code < 300, posted.text
    return started.json()["id"]


def generate(client: ApiClient, prompt: str) -> dict:
    submitted = client.post(
        "/v1/jobs",
        json={"kind": "image", "model": "local-image", "prompt": prompt, "params": {"width": 64, "height": 64}},
    )
    assert submitted.status_code == 202, submitted.text
    return wait_until(
        lambda: (
            (job := client.get(f"/v1/jobs/{submitted.json()['id']}").json())["status"] in ("succeeded", "failed")
            and job
        )
    )


def test_download_my_data_and_delete_my_account_end_to_end_logging_nothing_personal(stack):
    email = "private.maker@example.com"
    prompt = "a heron standing in morning fog, private prompt 7f3a"
    with captured_logs() as logs:
        # Given a signed-in account with credits, a generated image and an upload
        client = signed_in(stack.api_url, email)
        me = client.get("/v1/me").json()
        account_id = me["id"]
        accept_terms(client)
        give_credits(AccountRepository().require(account_id), 20)
        job = generate(client, prompt)
        assert job["status"] == "succeeded", job
        upload_id = upload_image(client)
        session_token = client.cookies["__Host-session"]

        # When an export is requested
        requested = client.post("/v1/me/exports")
        # Then it is queued, and a second one is refused while it is
        assert requested.status_code == 202, requested.text
        assert requested.json()["status"] == "queued"
        export_id = requested.json()["id"]
        again = client.post("/v1/me/exports")
        assert again.status_code in (202, 409)
        if again.status_code == 409:
            assert again.json()["error"]["code"] == "export_in_progress"

        # And the exporter (polling the export queue) makes it ready, with a link and an expiry
        ready = wait_until(
            lambda: (
                (answer := client.get(f"/v1/me/exports/{export_id}").json())["status"] in ("ready", "failed") and answer
            )
        )
        assert ready["status"] == "ready", ready
        assert ready["size_bytes"] > 0
        assert ready["expires_at"]
        # And the link (presigned, pointing at the emulator) downloads the zip
        assert ready["download_url"].startswith(stack.emulator_url)
        download = httpx.get(ready["download_url"], timeout=60)
        assert download.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(download.content))
        assert archive.testzip() is None
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["account_id"] == account_id
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]
        assert json.loads(archive.read("account.json"))[0]["email"] == email
        assert prompt in [record["prompt"] for record in json.loads(archive.read("jobs.json"))]
        assert f"assets/uploads/{upload_id}" in archive.namelist()
        assert any(name.startswith("assets/outputs/") for name in archive.namelist())
        assert session_token.encode() not in download.content
        assert tokens.hash_token(session_token).encode() not in download.content

        # And the link was emailed (after the export was marked ready: the mail follows the commit)
        def export_mailed() -> bool:
            outbox = httpx.get(f"{stack.api_url}/_local/outbox", params={"to": email}).json()
            return any(mail["kind"] == "privacy" and "export is ready" in mail["subject"] for mail in outbox)

        wait_until(export_mailed)

        # When the account's deletion is scheduled
        scheduled = client.post("/v1/me/deletion")
        assert scheduled.status_code == 202, scheduled.text
        # Then the account says so, and can still sign in (to cancel)
        assert client.get("/v1/me").json()["status"] == "deletion_scheduled"
        assert client.get("/v1/me/deletion").json() == {"scheduled": True, "purge_at": scheduled.json()["purge_at"]}
        refused = client.post("/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": "another"})
        assert refused.status_code == 403
        # When it is cancelled
        cancelled = client.request("DELETE", "/v1/me/deletion")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json() == {"scheduled": False, "purge_at": None}
        assert client.get("/v1/me").json()["status"] == "active"
        assert client.request("DELETE", "/v1/me/deletion").status_code == 409

        # When it is scheduled again and the countdown ends, and the purge schedule runs
        again_scheduled = client.post("/v1/me/deletion")
        assert again_scheduled.status_code == 202
        time.sleep(GRACE_SECONDS + 0.5)
        run = httpx.post(f"{stack.api_url}/_local/schedules/atelier-local-purge-due-accounts/run", timeout=120)
        assert run.status_code == 200, run.text

        # Then the old session is gone, and signing in again makes a fresh, empty account
        assert client.get("/v1/me").status_code == 401
        fresh = signed_in(stack.api_url, email)
        fresh_me = fresh.get("/v1/me").json()
        assert fresh_me["id"] != account_id
        assert fresh.get("/v1/jobs").json()["items"] == []
        assert fresh.get("/v1/assets").json()["items"] == []
        outbox = httpx.get(f"{stack.api_url}/_local/outbox", params={"to": email}).json()
        assert "Your Atelier account has been deleted" in [mail["subject"] for mail in outbox]
        assert httpx.get(ready["download_url"], timeout=30).status_code in (403, 404)  # the archive is gone

    # And nothing logged on the way holds the email, a token, the prompt or a raw address
    logged = logs.getvalue()
    assert '"message":"request"' in logged
    for secret in (email, session_token, tokens.hash_token(session_token), prompt, "127.0.0.1"):
        assert secret not in logged, secret


def test_exports_beyond_the_days_allowance_are_refused_with_a_retry_after(stack):
    # Given an account that has made the day's exports (each finished before the next)
    client = signed_in(stack.api_url, "frequent.exporter@example.com")
    for _ in range(3):
        requested = client.post("/v1/me/exports")
        assert requested.status_code == 202, requested.text
        export_id = requested.json()["id"]
        wait_until(lambda export_id=export_id: client.get(f"/v1/me/exports/{export_id}").json()["status"] == "ready")
    # When it asks for one more
    refused = client.post("/v1/me/exports")
    # Then it is refused, saying how long to wait
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 24 * 3600


def test_privacy_routes_need_a_signed_in_account(anonymous: ApiClient):
    for method, path in (
        ("POST", "/v1/me/exports"),
        ("GET", "/v1/me/exports/exp_01m7zfxk16adkd0000000000000"),
        ("POST", "/v1/me/deletion"),
        ("DELETE", "/v1/me/deletion"),
        ("GET", "/v1/me/deletion"),
    ):
        answer = anonymous.request(method, path)
        assert answer.status_code == 401, (method, path, answer.text)
