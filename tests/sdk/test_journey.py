"""The Python client against the local runtime over real HTTP, as a developer uses it: an API key made
the way a person makes one (signed in, `POST /v1/me/api-keys`), an image generated with a
`webhook_url` on a receiver of the test's own, the webhook verified with `atelier.webhooks.verify`
and the default secret the key reads, the image downloaded; webhook endpoints and exports managed
with the key alone; the same with the async client, the `atelier` command installed by pip, and the
example script."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from local.runtime import LocalRuntime
from tests.e2e.test_generation_journey import accept_terms, buy_credits
from tests.support.client import ApiClient, signed_in
from tests.support.sdk import CLIENT, client_environment, load
from tests.support.webhook_receiver import running_receiver

sdk = load()
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# What a script generating, told by webhooks, managing its endpoints and exporting needs; the webhook
# and export scopes are never a key's unless named.
SCRIPT_SCOPES = ["generate", "library:read", "webhooks:read", "webhooks:write", "account:export"]


@pytest.fixture(scope="module")
def person(stack: LocalRuntime) -> Iterator[ApiClient]:
    """Signed in through the local identity stand-in, terms accepted, credits bought."""
    client = signed_in(stack.api_url, "sdk-developer@example.com")
    accept_terms(client)
    buy_credits(client)
    yield client
    client.close()


@pytest.fixture(scope="module")
def api_key(person: ApiClient) -> str:
    made = person.post("/v1/me/api-keys", json={"name": "sdk", "scopes": SCRIPT_SCOPES})
    assert made.status_code == 201, made.text
    return made.json()["key"]


@pytest.fixture(scope="module")
def library_key(person: ApiClient) -> str:
    """A key made with the default scopes only (generate, library:read)."""
    made = person.post("/v1/me/api-keys", json={"name": "sdk-defaults"})
    assert made.status_code == 201, made.text
    return made.json()["key"]


@pytest.fixture
def client(stack: LocalRuntime, api_key: str) -> Iterator:
    with sdk.Atelier(api_key, base_url=stack.api_url) as made:
        yield made


def assert_png(data: bytes) -> None:
    assert data.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size[0] > 0


def test_a_script_generates_an_image_is_told_by_a_signed_webhook_and_downloads_it(client, tmp_path: Path):
    # Given a receiver of our own, a model on offer, and the default secret, read with the key
    assert "local-image" in {model.id for model in client.models.list()}
    webhook_secret = client.webhook_endpoints.default_secret().secret
    assert webhook_secret.startswith("whsec_")
    with running_receiver() as receiver:
        # When a job names it as its webhook_url and is waited for, with progress
        job = client.jobs.create(model="local-image", prompt="a lighthouse at dusk", webhook_url=receiver.url)
        assert (job.status, job.webhook_url) == ("queued", receiver.url)
        seen: list[str] = []
        finished = client.jobs.wait(job.id, timeout=60, on_progress=lambda looked: seen.append(looked.status))
        [delivery] = receiver.wait_for(1)

    # Then it succeeded, each look was reported, and the signed webhook says so
    assert finished.status == "succeeded"
    assert seen[-1] == "succeeded"
    event = sdk.webhooks.verify(delivery.body, delivery.headers, webhook_secret)
    assert event["type"] == "job.succeeded"
    assert event["data"]["id"] == job.id
    assert event["data"]["outputs"] == finished.outputs
    with pytest.raises(sdk.WebhookVerificationError):
        sdk.webhooks.verify(delivery.body.replace(job.id.encode(), b"job_other"), delivery.headers, webhook_secret)

    # And the image it names downloads, to a file and as a stream
    target = tmp_path / "out" / "lighthouse.png"
    written = client.assets.download(event["data"]["outputs"][0], target)
    assert written == target.stat().st_size > 0
    assert_png(target.read_bytes())
    assert b"".join(client.assets.stream(finished.outputs[0])) == target.read_bytes()
    # And the job and its asset are listed
    assert job.id in {listed.id for listed in client.jobs.list(limit=100).items}
    assert job.id in {listed.id for listed in client.jobs.iterate(status="succeeded")}
    assert finished.outputs[0] in {asset.id for asset in client.assets.list(kind="image").items}


def test_one_idempotency_key_makes_one_job_and_a_finished_job_cannot_be_canceled(client):
    first = client.jobs.create(model="local-image", prompt="a harbour", idempotency_key="harbour-1")
    again = client.jobs.create(model="local-image", prompt="a harbour", idempotency_key="harbour-1")
    assert again.id == first.id

    client.jobs.wait(first.id, timeout=60)
    with pytest.raises(sdk.ConflictError) as refused:
        client.jobs.cancel(first.id)
    assert (refused.value.status, refused.value.code) == (409, "job_finished")


def test_the_apis_refusals_arrive_as_typed_errors_with_their_codes(stack: LocalRuntime, person: ApiClient, client):
    # A key without the `generate` scope
    reader = person.post("/v1/me/api-keys", json={"name": "reader", "scopes": ["library:read"]}).json()["key"]
    with sdk.Atelier(reader, base_url=stack.api_url) as read_only, pytest.raises(sdk.PermissionDeniedError) as scope:
        read_only.jobs.create(model="local-image", prompt="a lighthouse")
    assert (scope.value.code, scope.value.details) == ("insufficient_scope", {"required_scope": "generate"})

    # A key that does not exist
    with (
        sdk.Atelier("atl_not_a_key", base_url=stack.api_url) as stranger,
        pytest.raises(sdk.AuthenticationError) as who,
    ):
        stranger.jobs.list()
    assert (who.value.status, who.value.code) == (401, "not_signed_in")

    # An account without credits
    broke = signed_in(stack.api_url, "sdk-no-credits@example.com")
    accept_terms(broke)
    broke_key = broke.post("/v1/me/api-keys", json={"name": "broke"}).json()["key"]
    broke.close()
    with (
        sdk.Atelier(broke_key, base_url=stack.api_url) as unfunded,
        pytest.raises(sdk.InsufficientCreditsError) as short,
    ):
        unfunded.jobs.create(model="local-image", prompt="a lighthouse")
    assert (short.value.status, short.value.code) == (402, "insufficient_credits")

    # Someone else's job, or none at all
    with pytest.raises(sdk.NotFoundError) as missing:
        client.jobs.get("job_01jnotthere")
    assert missing.value.code == "not_found"

    # A field the API refuses
    with pytest.raises(sdk.ValidationError) as invalid:
        client.jobs.create(model="local-image", prompt="a lighthouse", cancel_after="forever")
    assert invalid.value.code == "invalid_field"


def test_a_key_without_the_webhook_or_export_scope_is_told_which_it_needs(stack: LocalRuntime, library_key: str):
    # Given a key made with the default scopes
    with sdk.Atelier(library_key, base_url=stack.api_url) as defaults:
        # Then webhook endpoints, the default secret and exports are refused, each naming its scope
        refusals = [
            ("webhooks:read", defaults.webhook_endpoints.list),
            ("webhooks:read", defaults.webhook_endpoints.default_secret),
            (
                "webhooks:write",
                lambda: defaults.webhook_endpoints.create(url="https://hooks.example.com/in", events=["job.succeeded"]),
            ),
            ("account:export", defaults.exports.create),
        ]
        for scope, attempt in refusals:
            with pytest.raises(sdk.InsufficientScopeError) as refused:
                attempt()
            assert isinstance(refused.value, sdk.PermissionDeniedError)
            assert (refused.value.status, refused.value.code) == (403, "insufficient_scope")
            assert refused.value.required_scope == scope
            assert refused.value.details == {"required_scope": scope}


def test_webhook_endpoints_are_managed_through_the_client(stack: LocalRuntime, client):
    with running_receiver() as receiver:
        # Given an endpoint registered through the client
        created = client.webhook_endpoints.create(url=receiver.url, events=["job.succeeded"], description="sdk")
        assert created.secret.startswith("whsec_")
        assert created.id in {endpoint.id for endpoint in client.webhook_endpoints.list()}

        # When it is sent a test event, then redelivered
        sent = client.webhook_endpoints.test(created.id)
        [first] = receiver.wait_for(1)
        stack.wait_until_queues_settle(consumers=["DeliveriesFunction"])
        again = client.webhook_endpoints.redeliver(created.id, sent.id)
        requests = receiver.wait_for(2)

        # Then both arrive with one message id, verifiable with the secret
        assert again.id == sent.id
        assert {request.headers["webhook-id"] for request in requests} == {sent.id}
        assert sdk.webhooks.verify(first.body, first.headers, created.secret)["type"] == "webhook.test"
        assert sent.id in {delivery.id for delivery in client.webhook_endpoints.deliveries(created.id).items}

        # And it can be changed, its secret rotated, and removed
        changed = client.webhook_endpoints.update(created.id, enabled=False, events=["job.failed"])
        assert (changed.enabled, changed.events, changed.description) == (False, ["job.failed"], "sdk")
        assert client.webhook_endpoints.get(created.id).enabled is False
        rotated = client.webhook_endpoints.rotate_secret(created.id)
        assert rotated.secret.startswith("whsec_")
        assert rotated.secret != created.secret
        assert client.webhook_endpoints.default_secret().secret.startswith("whsec_")
        client.webhook_endpoints.delete(created.id)
        with pytest.raises(sdk.NotFoundError):
            client.webhook_endpoints.get(created.id)


def test_an_export_is_requested_waited_for_and_downloaded(client, tmp_path: Path):
    requested = client.exports.create()
    statuses: list[str] = []
    ready = client.exports.wait(requested.id, timeout=120, on_progress=lambda e: statuses.append(e.status))
    assert ready.status == "ready", ready
    assert statuses[-1] == "ready"

    written = client.exports.download(ready, tmp_path / "export.zip")

    assert written == (tmp_path / "export.zip").stat().st_size
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        assert archive.testzip() is None
        assert archive.namelist()


def test_the_async_client_generates_and_downloads(stack: LocalRuntime, api_key: str, tmp_path: Path):
    async def journey() -> tuple[str, int]:
        async with sdk.AsyncAtelier(api_key, base_url=stack.api_url) as client:
            job = await client.jobs.create(model="local-image", prompt="a lighthouse, asynchronously")
            finished = await client.jobs.wait(job.id, timeout=60)
            assert {model.id for model in await client.models.list()} >= {finished.model}
            assert finished.outputs[0] in {asset.id async for asset in client.assets.iterate(kind="image")}
            assert job.id in {listed.id async for listed in client.jobs.iterate()}
            written = await client.assets.download(finished.outputs[0], tmp_path / "async.png")
            return finished.status, written

    status, written = asyncio.run(journey())
    assert status == "succeeded"
    assert written == (tmp_path / "async.png").stat().st_size
    assert_png((tmp_path / "async.png").read_bytes())


# -- the command line and the example, each in a process of its own -----------------------------------
@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install ./clients/python` (its dependencies are this environment's), into a prefix of its own."""
    prefix = tmp_path_factory.mktemp("client-install")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--prefix", str(prefix), str(CLIENT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return prefix


def run_command(
    installed: Path, stack: LocalRuntime, key: str, *arguments: str, cwd: Path
) -> subprocess.CompletedProcess:
    site = sysconfig.get_path("purelib", vars={"base": str(installed), "platbase": str(installed)})
    environment = client_environment(ATELIER_API_KEY=key, ATELIER_BASE_URL=stack.api_url) | {"PYTHONPATH": site}
    return subprocess.run(
        [str(installed / "bin" / "atelier"), *arguments],
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
        cwd=cwd,
        check=False,
    )


def test_the_atelier_command_generates_lists_exports_and_explains_what_a_key_cannot_do(
    installed: Path, stack: LocalRuntime, api_key: str, library_key: str, tmp_path: Path
):
    # When `atelier generate` runs
    made = run_command(
        installed, stack, api_key, "generate", "a lighthouse", "--model", "local-image", "-o", "out.png", cwd=tmp_path
    )

    # Then it waited with progress on stderr, and downloaded the image it names on stdout
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "out.png"
    assert ": succeeded 100%" in made.stderr
    assert_png((tmp_path / "out.png").read_bytes())
    job_id = made.stderr.split()[1]

    # And `atelier jobs` lists it
    listed = run_command(installed, stack, api_key, "jobs", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert any(line.startswith(f"{job_id}  succeeded") for line in listed.stdout.splitlines())

    # And `atelier export --wait` with a key holding `account:export` waits for the archive and saves it
    exported = run_command(installed, stack, api_key, "export", "--wait", "-o", "my-data.zip", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == "my-data.zip"
    with zipfile.ZipFile(tmp_path / "my-data.zip") as archive:
        assert archive.testzip() is None

    # And with a key without it, says which scope the key needs
    refused = run_command(installed, stack, library_key, "export", "--wait", cwd=tmp_path)
    assert refused.returncode == 3
    assert "insufficient_scope" in refused.stderr
    assert "“account:export” scope" in refused.stderr

    # And without a key it says where to get one
    no_key = run_command(installed, stack, "", "jobs", cwd=tmp_path)
    assert (no_key.returncode, "ATELIER_API_KEY" in no_key.stderr) == (2, True)


def test_the_example_script_generates_waits_for_its_signed_webhook_and_downloads(
    stack: LocalRuntime, api_key: str, tmp_path: Path
):
    # Given only a key and the API's address: the script reads the default secret with the key
    environment = client_environment(ATELIER_API_KEY=api_key, ATELIER_BASE_URL=stack.api_url)
    ran = subprocess.run(
        [sys.executable, str(CLIENT / "examples" / "generate_and_wait.py"), "a lighthouse", "-o", "lighthouse.png"],
        capture_output=True,
        text=True,
        timeout=180,
        env=environment,
        cwd=tmp_path,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "webhook job.succeeded" in ran.stderr
    assert "signature verified" in ran.stderr
    assert ran.stdout.strip() == "lighthouse.png"
    assert_png((tmp_path / "lighthouse.png").read_bytes())
