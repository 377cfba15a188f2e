"""Faults at every external call of the pipelines, over real HTTP through the local runtime.

Each case arms a fault at one call site (DynamoDB, S3, SQS, SES, the inference provider, a payment
provider), drives a real flow, lets the system's own retries run (queue redelivery, the stuck-job
sweep, a provider's webhook redelivery, the client's retry with the same Idempotency-Key), and then
checks two things: the promises (no money lost or made, no job left unfinished, no hold left open,
no orphan object, no email sent twice: `tests/support/invariants.py`), and what the user sees (the
job's outcome, the balance, the email, the API's answer: a 503 with Retry-After in the error shape
for a dependency outage, never a 500).

The bounded cases run in `make test`; the broader sweeps are marked slow and run in `make verify`.
The faults fired are added up and printed when the module ends ("faults injected").
"""

from __future__ import annotations

import io
import json
import random
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest

from atelier.clock import isoformat
from atelier.data.accounts import AccountRepository
from atelier.services import get_services
from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in
from tests.support.faults import FaultInjector, FaultTally, Params
from tests.support.invariants import assert_invariants
from tests.support.money import give_credits
from tests.support.stack import running_stack

ADMIN = "fault.admin@example.com"
GRACE_SECONDS = 1
PART_BYTES = 5 * 1024 * 1024
SWEEP = "atelier-local-sweep-overdue-jobs"
PURGE = "atelier-local-purge-due-accounts"
IMAGE = {"kind": "image", "model": "local-image", "params": {"width": 64, "height": 64}}
IMAGE_COST = 2  # what IMAGE costs
POLICY_EFFECTIVE_AT = datetime.now(UTC).replace(microsecond=0) + timedelta(days=15)

TALLY = FaultTally()


class FaultsInjected(UserWarning):
    """The figure of faults injected, for runs whose output only shows a summary (parallel runs)."""


# -- the stack, the injector and the figure ----------------------------------------------------------
@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with pytest.MonkeyPatch.context() as patch:
        # A deletion countdown of a second, and archives in 5 MiB parts, so purges and multipart
        # exports happen within a test.
        patch.setenv("DELETION_GRACE_SECONDS", str(GRACE_SECONDS))
        patch.setenv("EXPORT_PART_BYTES", str(PART_BYTES))
        # Every case signs in new people from one address, more than a real person would.
        patch.setenv("SIGN_IN_LIMIT_PER_ADDRESS", "100000")
        with running_stack(parameters={"AdminEmails": ADMIN}) as runtime:
            yield runtime


@pytest.fixture(scope="module", autouse=True)
def faults_figure(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    lines = list(TALLY.lines())
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        cache.set("reliability/faults_injected", {"total": TALLY.total, "by_site": dict(sorted(TALLY.by_site.items()))})
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if hasattr(request.config, "workerinput") or reporter is None or capture is None:
        # A parallel worker's output is not shown; its warnings reach the run's summary.
        warnings.warn(FaultsInjected("\n".join(lines)), stacklevel=1)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)


@pytest.fixture
def faults(stack: LocalRuntime) -> Iterator[FaultInjector]:
    stack.wait_until_queues_settle(timeout=60)
    with FaultInjector() as injector:
        yield injector
    TALLY.add(injector)


# -- people and flows --------------------------------------------------------------------------------
_people = iter(range(1, 1_000_000))


def maker(stack: LocalRuntime, credits: int = 20) -> tuple[ApiClient, str]:
    """A signed-in account that accepted the terms, with `credits`; answers (client, account id)."""
    client = signed_in(stack.api_url, f"fault-{next(_people)}-{time.monotonic_ns()}@example.com")
    version = client.get("/v1/policies/terms").json()["version"]
    assert client.post("/v1/me/terms", json={"version": version, "age_confirmed": True}).status_code == 200
    account_id: str = client.get("/v1/me").json()["id"]
    if credits:
        give_credits(AccountRepository().require(account_id), credits)
    return client, account_id


def submit(client: ApiClient, prompt: str, key: str | None = None, **body: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else None
    return client.post("/v1/jobs", json={**IMAGE, "prompt": prompt, **body}, headers=headers)


def wait_for_job(client: ApiClient, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    job = finished_job(client, job_id, timeout_s)
    if job is None:
        pytest.fail(f"job {job_id} did not finish")
    return job


def finished_job(client: ApiClient, job_id: str, timeout_s: float) -> dict[str, Any] | None:
    """The job once it is final, or None if it is not within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.2)
    return None


def eventually(check: Callable[[], object], timeout_s: float = 60, what: str = "the condition") -> None:
    """Waits for something the platform does in the background (a queue's next delivery, say)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what} never came true"
        time.sleep(0.2)


def balance(client: ApiClient) -> tuple[int, int]:
    answer = client.get("/v1/billing/balance").json()
    return answer["credits"], answer["held_credits"]


def jobs_of(client: ApiClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/v1/jobs?limit=100").json()["items"]
    return items


def outbox(stack: LocalRuntime, to: str) -> list[dict[str, Any]]:
    mails: list[dict[str, Any]] = httpx.get(f"{stack.api_url}/_local/outbox", params={"to": to}, timeout=30).json()
    return mails


def email_of(client: ApiClient) -> str:
    email: str = client.get("/v1/me").json()["email"]
    return email


def assert_outage_answer(answer: httpx.Response) -> None:
    """A dependency outage: 503, the error shape, and when to try again."""
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] in ("service_unavailable", "provider_unavailable"), answer.text
    assert int(answer.headers["Retry-After"]) > 0
    assert "Traceback" not in answer.text


def about(*needles: str) -> Callable[[Params], bool]:
    """A `when` for calls whose parameters mention every needle (an account id, a status...)."""

    def matches(params: Params) -> bool:
        text = json.dumps(params, default=str)
        return all(needle in text for needle in needles)

    return matches


def closes_hold_of(account_id: str) -> Callable[[Params], bool]:
    """A `when` for the transactions that settle or release one of the account's holds."""

    def matches(params: Params) -> bool:
        return any(
            item["Update"]["Key"]["PK"]["S"] == f"ACCOUNT#{account_id}"
            and item["Update"]["Key"]["SK"]["S"].startswith("HOLD#")
            for item in params.get("TransactItems", [])
            if "Update" in item
        )

    return matches


def puts_entity(entity: str) -> Callable[[Params], bool]:
    return about(f'"entity": {{"S": "{entity}"}}')


@contextmanager
def clock_moved(by: timedelta) -> Iterator[None]:
    """The platform's clock (shared with the in-process handlers) moved on, e.g. past job deadlines."""
    services = get_services()
    real = services.clock

    class MovedClock:
        def now(self) -> datetime:
            return real.now() + by

    services.clock = MovedClock()
    services.forget_dependencies()  # built with the real clock
    try:
        yield
    finally:
        services.clock = real
        services.forget_dependencies()


def run_schedule(stack: LocalRuntime, name: str) -> dict[str, Any]:
    assert stack.scheduler is not None
    return stack.scheduler.run_now(name)


def sweep_overdue_jobs(stack: LocalRuntime) -> dict[str, Any]:
    """The stuck-job sweep, run as if two hours had passed (every job's deadline is behind it)."""
    with clock_moved(timedelta(hours=2)):
        outcome = run_schedule(stack, SWEEP)
    assert outcome["status"] == "succeeded", outcome
    return outcome


def open_multipart_uploads(stack: LocalRuntime) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=stack.emulator_url, region_name="us-east-1")
    settings = platform_settings()
    found = []
    for bucket in (settings.resources.assets_bucket_name, settings.resources.exports_bucket_name):
        found += [upload["Key"] for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    return found


def objects_under(stack: LocalRuntime, bucket: str, prefix: str) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=stack.emulator_url, region_name="us-east-1")
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


def platform_settings() -> Any:
    """The settings the in-process handlers run with (this stack's table, bucket and queue names)."""
    return get_services().settings


def assert_sound(stack: LocalRuntime) -> None:
    """Once the platform is quiet: every promise holds, and no multipart upload was left open."""
    stack.wait_until_queues_settle(timeout=90)
    assert_invariants(stack.emulator_url, stack.api_url)
    assert open_multipart_uploads(stack) == []


# == submission: the hold and the job in one transaction, then the queue message ======================
@pytest.mark.parametrize(
    "error",
    [
        "ProvisionedThroughputExceededException",
        "TransactionCanceledException",
        pytest.param("timeout", marks=pytest.mark.slow),
    ],
)
def test_a_submission_whose_transaction_fails_answers_503_and_the_retry_makes_one_job(stack, faults, error):
    # Given an account with 20 credits, and the submission's transaction failing once
    client, _ = maker(stack)
    faults.arm("dynamodb", "TransactWriteItems", error=error, when=puts_entity("job"))
    # When it submits, then retries with the same Idempotency-Key
    first = submit(client, "a kite over dunes", key=f"kite-{error}")
    again = submit(client, "a kite over dunes", key=f"kite-{error}")
    # Then the first answer is a clear outage, the retry is accepted, and exactly one job ran
    assert_outage_answer(first)
    assert again.status_code == 202, again.text
    job = wait_for_job(client, again.json()["id"])
    assert job["status"] == "succeeded", job
    assert [listed["id"] for listed in jobs_of(client)] == [job["id"]]
    assert balance(client) == (20 - IMAGE_COST, 0)
    assert faults.total == 1
    assert_sound(stack)


def test_a_submission_applied_but_unanswered_is_replayed_and_runs(stack, faults):
    # Given a submission whose transaction is applied but whose answer is lost, so that the request
    # stopped before sending the job's queue message
    client, _ = maker(stack)
    faults.arm("dynamodb", "TransactWriteItems", error="timeout", after=True, when=puts_entity("job"))
    first = submit(client, "a lantern", key="lantern-1")
    assert_outage_answer(first)
    # When the client retries with the same key
    again = submit(client, "a lantern", key="lantern-1")
    # Then it gets the job the first request made (one job, one hold)
    assert again.status_code == 202, again.text
    [listed] = jobs_of(client)
    assert listed["id"] == again.json()["id"]
    # And the replay enqueued the job, which runs and is charged once, without waiting for a sweep
    stack.wait_until_queues_settle(timeout=60)
    job = client.get(f"/v1/jobs/{listed['id']}").json()
    assert job["status"] == "succeeded", job
    assert balance(client) == (20 - job["charged_credits"], 0)
    assert_sound(stack)


def test_a_queue_outage_at_submission_returns_the_credits_and_the_retry_runs_the_job(stack, faults):
    # Given the generation queue refusing one message
    client, _ = maker(stack)
    queue_url = platform_settings().resources.generation_queue_url
    faults.arm("sqs", "SendMessage", error="ServiceUnavailable", when=lambda params: params["QueueUrl"] == queue_url)
    # When a job is submitted, and the client retries with the same Idempotency-Key
    first = submit(client, "a paper boat", key="boat-1")
    assert_outage_answer(first)
    # Then nothing was held or charged for the job that could not be queued
    assert balance(client) == (20, 0)
    again = submit(client, "a paper boat", key="boat-1")
    # And the retry runs the job, once
    assert again.status_code == 202, again.text
    job = wait_for_job(client, again.json()["id"])
    assert job["status"] == "succeeded", job
    assert balance(client) == (20 - IMAGE_COST, 0)
    statuses = sorted(listed["status"] for listed in jobs_of(client))
    assert statuses.count("succeeded") == 1
    assert set(statuses) <= {"succeeded", "failed"}
    assert_sound(stack)


# == the worker: the provider, the output's storage, the completion transaction ========================
def test_a_provider_error_and_a_timeout_on_submit_are_retried_and_the_job_succeeds_once(stack, faults):
    client, _ = maker(stack)

    def flaky(params: Params) -> bool:
        return "[flaky submit]" in params["request"].prompt

    faults.arm("inference", "submit", error="timeout", when=flaky)
    faults.arm("inference", "submit", error="unavailable", when=flaky)
    job = wait_for_job(client, submit(client, "[flaky submit] a heron").json()["id"])
    assert job["status"] == "succeeded", job
    assert job["charged_credits"] == IMAGE_COST
    assert len(job["outputs"]) == 1
    assert balance(client) == (20 - IMAGE_COST, 0)
    assert faults.total == 2
    assert_sound(stack)


@pytest.mark.slow
def test_a_provider_that_times_out_on_every_delivery_fails_the_job_and_returns_the_credits(stack, faults):
    client, _ = maker(stack)
    faults.arm("inference", "submit", error="timeout", times=None, when=lambda p: "[dead]" in p["request"].prompt)
    job = wait_for_job(client, submit(client, "[dead] a comet").json()["id"], timeout_s=90)
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "generation_failed"
    assert job["charged_credits"] == 0
    assert balance(client) == (20, 0)
    assert faults.total == platform_settings().generation.generation_max_receives
    assert_sound(stack)


def test_an_output_that_cannot_be_stored_is_stored_by_the_retry_once(stack, faults):
    client, account_id = maker(stack)
    faults.arm(
        "s3",
        "PutObject",
        error="SlowDown",
        when=lambda params: params["Key"].startswith(f"accounts/{account_id}/outputs/"),
    )
    job = wait_for_job(client, submit(client, "a lighthouse").json()["id"])
    assert job["status"] == "succeeded", job
    assert len(job["outputs"]) == 1
    outputs = objects_under(stack, platform_settings().resources.assets_bucket_name, f"accounts/{account_id}/outputs/")
    # One output, stored once, and its thumbnail beside it.
    originals = [key for key in outputs if not key.endswith(".thumb.webp")]
    assert len(originals) == 1
    assert sorted(outputs) == sorted([originals[0], f"{originals[0]}.thumb.webp"])
    assert balance(client) == (20 - IMAGE_COST, 0)
    assert_sound(stack)


def test_a_completion_that_never_commits_fails_the_job_and_leaves_no_output_behind(stack, faults):
    # Given a job whose completion transaction fails on every delivery
    client, account_id = maker(stack)
    faults.arm("dynamodb", "TransactWriteItems", times=None, when=about(account_id, '"settled"'))
    # When the worker has tried as often as the queue delivers
    job = wait_for_job(client, submit(client, "a glass harbour").json()["id"], timeout_s=90)
    # Then the job failed, its credits came back, and the outputs it stored were removed
    assert job["status"] == "failed", job
    assert balance(client) == (20, 0)
    assert (
        objects_under(stack, platform_settings().resources.assets_bucket_name, f"accounts/{account_id}/outputs/") == []
    )
    assert_sound(stack)


def test_a_completion_applied_but_unanswered_charges_once(stack, faults):
    client, account_id = maker(stack)
    faults.arm("dynamodb", "TransactWriteItems", error="timeout", after=True, when=about(account_id, '"settled"'))
    job = wait_for_job(client, submit(client, "a copper kettle").json()["id"])
    stack.wait_until_queues_settle(timeout=60)
    assert job["status"] == "succeeded", job
    assert balance(client) == (20 - IMAGE_COST, 0)
    assert faults.total == 1
    assert_sound(stack)


def test_a_job_whose_every_money_write_fails_is_finished_by_the_sweep(stack, faults):
    # Given a job whose completion and release both fail on every delivery: it ends in the
    # dead-letter queue still unfinished, with its credits held
    client, account_id = maker(stack)
    outage = faults.arm("dynamodb", "TransactWriteItems", times=None, when=closes_hold_of(account_id))
    job_id = submit(client, "a moth at a window").json()["id"]
    # (every delivery's settle fails, and the last one's release too)
    eventually(lambda: outage.fired > platform_settings().generation.generation_max_receives, 90, "the last delivery")
    stack.wait_until_queues_settle(timeout=90)
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] in ("queued", "running")
    # When DynamoDB is back and the stuck-job sweep runs past the job's deadline
    faults.disarm(outage)
    sweep_overdue_jobs(stack)
    # Then the job failed, its credits are back, and nothing it stored is left
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "failed", job
    assert balance(client) == (20, 0)
    assert (
        objects_under(stack, platform_settings().resources.assets_bucket_name, f"accounts/{account_id}/outputs/") == []
    )
    assert_sound(stack)


@pytest.mark.slow
def test_a_slow_job_whose_status_poll_fails_is_polled_again(stack, faults):
    client, _ = maker(stack)
    faults.arm("inference", "status", times=2)
    job = wait_for_job(client, submit(client, "[slow] a tide coming in").json()["id"])
    assert job["status"] == "succeeded", job
    assert balance(client) == (20 - IMAGE_COST, 0)
    assert faults.total == 2
    assert_sound(stack)


# == payments: webhooks redelivered by the provider, the PayPal capture retried by the buyer ============
def start_checkout(client: ApiClient, provider: str, item_id: str = "pack_starter") -> str:
    answer = client.post("/v1/billing/checkout", json={"item_id": item_id, "provider": provider})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["url"])


def redeliver_failed(stack: LocalRuntime, checkout_url: str) -> list[int]:
    """What a provider does with a delivery that was not acknowledged: sends it again."""
    statuses = []
    for event in httpx.get(f"{checkout_url}/events", timeout=30).json()["events"]:
        if event["delivery_status"] != 200:
            again = httpx.post(
                f"{stack.api_url}{urlsplit(event['url']).path}",
                content=event["body"],
                headers=event["headers"],
                timeout=30,
            )
            statuses.append(again.status_code)
    return statuses


def test_a_grant_throttled_during_a_stripe_webhook_is_granted_once_on_redelivery(stack, faults):
    # Given a buyer, and the grant's transaction throttled once
    client, _ = maker(stack, credits=0)
    checkout = start_checkout(client, "stripe")
    faults.arm(
        "dynamodb",
        "TransactWriteItems",
        error="ProvisionedThroughputExceededException",
        when=puts_entity("payment_record"),
    )
    # When the buyer pays: the webhook that carries the payment is refused with a 503
    delivered = httpx.post(f"{checkout}/pay", timeout=30).json()["delivered"]
    assert 503 in [delivery["status"] for delivery in delivered]
    assert all(delivery["status"] in (200, 503) for delivery in delivered)
    # Then the provider's redelivery grants the pack, once, with one receipt
    assert redeliver_failed(stack, checkout) == [200] * [d["status"] for d in delivered].count(503)
    assert balance(client)[0] == 100
    receipts = [mail for mail in outbox(stack, email_of(client)) if mail["kind"] == "billing"]
    assert len(receipts) == 1
    assert_sound(stack)


@pytest.mark.parametrize(
    "after",
    [pytest.param(False, id="capture-refused"), pytest.param(True, id="capture-answer-lost", marks=pytest.mark.slow)],
)
def test_a_paypal_capture_that_fails_is_completed_by_the_buyers_retry_once(stack, faults, after):
    # Given a buyer who approved a PayPal order, and PayPal's capture failing once
    client, _ = maker(stack, credits=0)
    checkout = start_checkout(client, "paypal")
    paid = httpx.post(f"{checkout}/pay", timeout=30).json()
    faults.arm("paypal", "api", after=after, when=lambda params: str(params["path"]).endswith("/capture"))
    # When the buyer comes back: Atelier cannot capture, and says so
    back = client.follow(paid["return_url"])
    assert_outage_answer(back)
    # Then coming back again (a reload) captures and grants the pack once
    assert client.follow(paid["return_url"]).status_code == 302
    wait_for_deliveries(checkout)
    assert balance(client)[0] == 100
    assert len([mail for mail in outbox(stack, email_of(client)) if mail["kind"] == "billing"]) == 1
    assert_sound(stack)


def wait_for_deliveries(checkout_url: str, timeout_s: float = 10) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        events: list[dict[str, Any]] = httpx.get(f"{checkout_url}/events", timeout=30).json()["events"]
        if all(event["delivery_status"] is not None for event in events) or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def test_a_paypal_webhook_that_cannot_be_verified_is_accepted_on_redelivery(stack, faults):
    # Given a PayPal purchase whose capture webhook arrives while PayPal's verification API is down
    client, _ = maker(stack, credits=0)
    checkout = start_checkout(client, "paypal")
    paid = httpx.post(f"{checkout}/pay", timeout=30).json()
    faults.arm("paypal", "api", when=lambda params: str(params["path"]).endswith("/verify-webhook-signature"))
    assert client.follow(paid["return_url"]).status_code == 302
    events = wait_for_deliveries(checkout)
    # Then the webhook was refused with a 503 (to be sent again), never accepted unverified
    assert [event["delivery_status"] for event in events] == [503]
    # And its redelivery is verified and changes nothing: the pack was granted once, on return
    assert redeliver_failed(stack, checkout) == [200]
    assert balance(client)[0] == 100
    assert len([mail for mail in outbox(stack, email_of(client)) if mail["kind"] == "billing"]) == 1
    assert_sound(stack)


# == notifications: SES, and the record kept of what was sent =========================================
@pytest.mark.slow
def test_a_receipt_sent_but_not_recorded_is_not_sent_again(stack, faults):
    # Given a purchase whose receipt is sent, but the record of it cannot be written
    client, _ = maker(stack, credits=0)
    checkout = start_checkout(client, "stripe")
    faults.arm("dynamodb", "PutItem", error="ProvisionedThroughputExceededException", when=puts_entity("sent_email"))
    delivered = httpx.post(f"{checkout}/pay", timeout=30).json()["delivered"]
    # Then the webhook was acknowledged (nothing to redeliver), the pack granted and the receipt sent once
    assert [delivery["status"] for delivery in delivered] == [200] * len(delivered)
    assert faults.total == 1
    assert balance(client)[0] == 100
    assert len([mail for mail in outbox(stack, email_of(client)) if mail["kind"] == "billing"]) == 1
    assert_sound(stack)


def test_a_deletion_notice_sent_but_not_recorded_still_answers_202_and_is_sent_once(stack, faults):
    # Given an account, and the record of the email that confirms a deletion request failing once
    client, _ = maker(stack, credits=0)
    faults.arm("dynamodb", "PutItem", error="ThrottlingException", when=puts_entity("sent_email"))
    # When it asks for its account to be deleted
    answer = client.post("/v1/me/deletion")
    # Then the request is done and says so (a 503 would have the client ask again for what is done)
    assert answer.status_code == 202, answer.text
    notices = [mail for mail in outbox(stack, email_of(client)) if "scheduled for deletion" in mail["subject"]]
    assert len(notices) == 1
    assert faults.total == 1
    # And cancelling it leaves the account as it was
    assert client.request("DELETE", "/v1/me/deletion").status_code == 200
    assert_sound(stack)


# == exports: the archive's multipart upload ===========================================================
def upload_large_image(client: ApiClient) -> str:
    """A reference upload of about 6 MiB of noise, so the account's archive spans two parts."""
    from PIL import Image

    side = 1450
    noise = Image.frombytes("RGB", (side, side), random.Random(7).randbytes(side * side * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG", compress_level=0)
    content = buffer.getvalue()
    started = client.post(
        "/v1/uploads", json={"filename": "noise.png", "content_type": "image/png", "size_bytes": len(content)}
    )
    assert started.status_code == 201, started.text
    form = started.json()["upload"]
    posted = httpx.post(
        form["url"], data=form["fields"], files={"file": ("noise.png", content, "image/png")}, timeout=60
    )
    assert posted.status_code < 300, posted.text
    return str(started.json()["id"])


def request_export(stack: LocalRuntime, client: ApiClient) -> dict[str, Any]:
    requested = client.post("/v1/me/exports")
    assert requested.status_code == 202, requested.text
    export_id = requested.json()["id"]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        export: dict[str, Any] = client.get(f"/v1/me/exports/{export_id}").json()
        if export["status"] in ("ready", "failed"):
            return export
        time.sleep(0.3)
    pytest.fail("the export never finished")


@pytest.mark.parametrize("operation", ["UploadPart", pytest.param("CompleteMultipartUpload", marks=pytest.mark.slow)])
def test_an_export_whose_multipart_upload_fails_is_rebuilt_and_mailed_once(stack, faults, operation):
    # Given an account whose archive is larger than one part, and the upload failing once
    client, _ = maker(stack, credits=0)
    upload_large_image(client)
    faults.arm("s3", operation, error="InternalError")
    # When it asks for its data
    export = request_export(stack, client)
    # Then the exporter's retry made the archive, the link was emailed once, nothing was left open
    assert export["status"] == "ready", export
    assert export["size_bytes"] > PART_BYTES
    assert faults.fired == {f"s3.{operation}": 1}
    email = email_of(client)

    def ready_mails() -> int:
        return len([mail for mail in outbox(stack, email) if "export is ready" in mail["subject"]])

    eventually(ready_mails, 30, "the export's email")  # sent just after the export is marked ready
    assert_sound(stack)
    assert ready_mails() == 1


def test_an_export_whose_completion_fails_is_finished_by_the_retry_and_frees_the_next_request(stack, faults):
    # Given an account, and the write that marks its export ready (and frees its lock) failing once
    client, account_id = maker(stack, credits=0)
    email = email_of(client)
    faults.arm("dynamodb", "TransactWriteItems", when=about(f"ACCOUNT#{account_id}", '"ready"'))
    # When it asks for its data
    export = request_export(stack, client)
    # Then the retry finished it and emailed the link, once
    assert export["status"] == "ready", export
    assert faults.total == 1

    def ready_mails() -> int:
        return len([mail for mail in outbox(stack, email) if "export is ready" in mail["subject"]])

    eventually(ready_mails, 30, "the export's email")
    # And the account may ask for another export (the first holds no lock)
    assert client.post("/v1/me/exports").status_code == 202
    eventually(lambda: ready_mails() == 2, 60, "the second export's email")
    assert_sound(stack)


# == account purge: S3 deletes and the farewell email, with the schedule running again ==================
def schedule_deletion(client: ApiClient) -> None:
    assert client.post("/v1/me/deletion").status_code == 202
    time.sleep(GRACE_SECONDS + 0.2)


def purge_outcome(stack: LocalRuntime) -> dict[str, int]:
    run = run_schedule(stack, PURGE)
    assert run["status"] == "succeeded", run
    outcome: dict[str, int] = run["result"]["outcome"]
    return outcome


def test_a_purge_whose_object_delete_fails_finishes_on_the_next_run(stack, faults):
    # Given an account with an output, due for purge, and S3 refusing its deletes once
    client, account_id = maker(stack)
    email = email_of(client)
    assert wait_for_job(client, submit(client, "a last picture").json()["id"])["status"] == "succeeded"
    schedule_deletion(client)
    faults.arm("s3", "DeleteObjects", error="InternalError", when=lambda p: account_id in json.dumps(p, default=str))
    # When the purge runs: this run fails for the account, the next finishes it
    assert purge_outcome(stack)["failed"] == 1
    assert purge_outcome(stack)["purged"] == 1
    # Then nothing of the account is left in either bucket, and the farewell went out once
    settings = platform_settings()
    for bucket in (settings.resources.assets_bucket_name, settings.resources.exports_bucket_name):
        assert objects_under(stack, bucket, f"accounts/{account_id}/") == []
    farewells = [mail for mail in outbox(stack, email) if mail["subject"] == "Your Atelier account has been deleted"]
    assert len(farewells) == 1
    assert_sound(stack)


def test_a_farewell_sent_but_not_recorded_as_a_step_is_not_sent_again(stack, faults):
    # Given an account due for purge, and the purge's record of the farewell step failing once
    client, _ = maker(stack, credits=0)
    email = email_of(client)
    schedule_deletion(client)
    faults.arm("dynamodb", "UpdateItem", when=about("purge_steps", '"farewell"'))
    # When the purge runs twice
    assert purge_outcome(stack)["failed"] == 1
    assert purge_outcome(stack)["purged"] == 1
    # Then the farewell was sent once
    farewells = [mail for mail in outbox(stack, email) if mail["subject"] == "Your Atelier account has been deleted"]
    assert len(farewells) == 1
    assert faults.total == 1
    assert_sound(stack)


# == policy notices: the fan-out's queue, SES, and the redelivery =====================================
def publish_privacy_version(admin: ApiClient, version: str, summary: str = "Clearer.") -> httpx.Response:
    at = POLICY_EFFECTIVE_AT
    return admin.post(
        "/v1/admin/policies",
        json={
            "kind": "privacy",
            "version": version,
            "summary": summary,
            "material": True,
            "effective_at": isoformat(at),
        },
    )


def policy_mail_count(stack: LocalRuntime, to: str, version: str) -> int:
    return len([mail for mail in outbox(stack, to) if mail["kind"] == "policy" and version in mail["text"]])


def test_policy_notices_reach_everyone_once_through_a_queue_outage_and_a_refused_email(stack, faults):
    # Given account holders, the notice queue refusing the fan-out's second message, and SES
    # refusing one notice
    admin = signed_in(stack.api_url, ADMIN)
    holders = [email_of(maker(stack, credits=0)[0]) for _ in range(2)]
    queue_url = platform_settings().resources.policy_notice_queue_url
    sent: list[str] = []

    def second_shard(params: Params) -> bool:
        # The fan-out's first messages (one per shard, no page cursor yet); the second one fails.
        if params["QueueUrl"] != queue_url or json.loads(params["MessageBody"]).get("after") is not None:
            return False
        sent.append(params["MessageBody"])
        return len(sent) == 2

    faults.arm("sqs", "SendMessage", error="ServiceUnavailable", when=second_shard)
    faults.arm("sesv2", "SendEmail", error="ServiceUnavailable", when=about("policy"))
    # When the version is published: the answer says the fan-out could not be queued
    assert_outage_answer(publish_privacy_version(admin, "p-outage"))
    # And the admin publishes the same version again
    again = publish_privacy_version(admin, "p-outage")
    assert again.status_code == 201, again.text
    # Then every account holder was told, once: the refused email by the queue's redelivery
    for to in [*holders, ADMIN]:
        eventually(lambda to=to: policy_mail_count(stack, to, "p-outage") >= 1, 60, f"a notice to {to}")
    stack.wait_until_queues_settle(timeout=60, consumers=["NoticesFunction"])
    assert faults.fired == {"sqs.SendMessage": 1, "sesv2.SendEmail": 1}
    for to in [*holders, ADMIN]:
        assert policy_mail_count(stack, to, "p-outage") == 1, to
    # And another text under the same version is still refused
    assert publish_privacy_version(admin, "p-outage", summary="Different.").status_code == 409
    assert_sound(stack)


# == broader sweeps (make verify) ======================================================================
@pytest.mark.slow
def test_an_overdue_job_whose_provider_cannot_be_reached_is_failed_by_the_sweep(stack, faults):
    # Given an asynchronous job running at the provider whose release fails on every delivery, so
    # it ends in the dead-letter queue still running with its credits held
    client, account_id = maker(stack)
    faults.arm("inference", "status", times=None)
    outage = faults.arm("dynamodb", "TransactWriteItems", times=None, when=closes_hold_of(account_id))
    job_id = submit(client, "[slow] a tide coming in").json()["id"]
    eventually(lambda: outage.fired >= 1, 120, "the last delivery's release")
    stack.wait_until_queues_settle(timeout=120)
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "running"
    # When DynamoDB is back, the provider still cannot be reached, and the sweep runs
    faults.disarm(outage)
    sweep_overdue_jobs(stack)
    # Then the job timed out with its credits back
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert (job["status"], job["error"]["code"]) == ("failed", "timed_out"), job
    assert balance(client) == (20, 0)
    assert_sound(stack)


def retrying(call: Callable[[], httpx.Response], attempts: int = 10) -> httpx.Response:
    """What a well-behaved client does with a 503: asks again (here at once), never seeing a 500."""
    answer = call()
    for _ in range(attempts):
        assert answer.status_code != 500, answer.text
        if answer.status_code != 503:
            return answer
        assert int(answer.headers["Retry-After"]) > 0, answer.headers
        time.sleep(0.1)
        answer = call()
    return answer


def acknowledge_all(stack: LocalRuntime, checkout_url: str, rounds: int = 10) -> None:
    """A provider's redelivery: every webhook not acknowledged is sent again until it is."""
    pending = [event for event in wait_for_deliveries(checkout_url) if event["delivery_status"] != 200]
    for _ in range(rounds):
        if not pending:
            return
        again = []
        for event in pending:
            status = httpx.post(
                f"{stack.api_url}{urlsplit(event['url']).path}",
                content=event["body"],
                headers=event["headers"],
                timeout=30,
            ).status_code
            assert status in (200, 503), status
            if status != 200:
                again.append(event)
        pending = again
    assert not pending, "webhooks never acknowledged"


def drive_generation(stack: LocalRuntime, faults: FaultInjector, arm: Callable[[], object]) -> None:
    client, account_id = maker(stack)
    arm()
    submitted = retrying(lambda: submit(client, "a swept harbour", key=f"sweep-{account_id}"))
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    stack.wait_until_queues_settle(timeout=120)
    faults.disarm()
    if finished_job(client, job_id, timeout_s=30) is None:
        sweep_overdue_jobs(stack)  # left unfinished by its deliveries: the sweep's to finish
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] in ("succeeded", "failed"), job
    assert balance(client) == (20 - job["charged_credits"], 0)
    succeeded = [listed for listed in jobs_of(client) if listed["status"] == "succeeded"]
    assert len(succeeded) <= 1


def drive_purchase(stack: LocalRuntime, faults: FaultInjector, arm: Callable[[], object]) -> None:
    client, _ = maker(stack, credits=0)
    arm()
    started = retrying(
        lambda: client.post("/v1/billing/checkout", json={"item_id": "pack_starter", "provider": "stripe"})
    )
    assert started.status_code == 201, started.text
    checkout = started.json()["url"]
    httpx.post(f"{checkout}/pay", timeout=30).raise_for_status()
    acknowledge_all(stack, checkout)
    faults.disarm()
    assert balance(client)[0] == 100
    receipts = [mail for mail in outbox(stack, email_of(client)) if mail["kind"] == "billing"]
    assert len(receipts) <= 1


def drive_export(stack: LocalRuntime, faults: FaultInjector, arm: Callable[[], object]) -> None:
    client, _ = maker(stack)
    assert wait_for_job(client, submit(client, "a keepsake").json()["id"])["status"] == "succeeded"
    arm()
    export_ids: list[str] = []
    ready: list[str] = []
    for _ in range(3):  # a user whose export failed asks again, within the day's allowance
        requested = retrying(lambda: client.post("/v1/me/exports"))
        assert requested.status_code in (202, 409), requested.text
        if requested.status_code == 202:
            export_ids.append(requested.json()["id"])
        statuses = {export_id: finished_export_status(client, export_id) for export_id in export_ids}
        ready = [export_id for export_id, status in statuses.items() if status == "ready"]
        if ready:
            break
    assert len(ready) == 1, export_ids
    email = email_of(client)

    def ready_mails() -> int:
        return len([mail for mail in outbox(stack, email) if "export is ready" in mail["subject"]])

    # The link is emailed just after the export is marked ready (unless SES itself is failing)
    eventually(lambda: ready_mails() >= 1 or faults.fired["sesv2.SendEmail"] > 0, 30, "the export's email")
    stack.wait_until_queues_settle(timeout=60)
    assert ready_mails() <= 1


def finished_export_status(client: ApiClient, export_id: str, timeout_s: float = 120) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        status: str = retrying(lambda: client.get(f"/v1/me/exports/{export_id}")).json()["status"]
        if status not in ("queued", "running"):
            return status
        assert time.monotonic() < deadline, f"export {export_id} still {status}"
        time.sleep(0.3)


def drive_purge(stack: LocalRuntime, faults: FaultInjector, arm: Callable[[], object]) -> None:
    client, account_id = maker(stack)
    email = email_of(client)
    assert wait_for_job(client, submit(client, "a goodbye").json()["id"])["status"] == "succeeded"
    arm()
    scheduled = retrying(lambda: client.post("/v1/me/deletion"))
    assert scheduled.status_code in (202, 409), scheduled.text
    time.sleep(GRACE_SECONDS + 0.2)
    for _ in range(6):  # the schedule runs again until the account is gone
        run_schedule(stack, PURGE)
        if not objects_under(stack, platform_settings().resources.assets_bucket_name, f"accounts/{account_id}/"):
            faults.disarm()
            run_schedule(stack, PURGE)
            break
    faults.disarm()
    assert client.get("/v1/me").status_code == 401
    settings = platform_settings()
    for bucket in (settings.resources.assets_bucket_name, settings.resources.exports_bucket_name):
        assert objects_under(stack, bucket, f"accounts/{account_id}/") == []
    farewells = [mail for mail in outbox(stack, email) if mail["subject"] == "Your Atelier account has been deleted"]
    assert len(farewells) <= 1


PIPELINES: dict[str, Callable[[LocalRuntime, FaultInjector, Callable[[], object]], None]] = {
    "generation": drive_generation,
    "purchase": drive_purchase,
    "export": drive_export,
    "purge": drive_purge,
}
# The DynamoDB operations each pipeline makes once its account exists (as observed with
# `FaultInjector.calls`); a case for an operation a pipeline never makes could not fail.
DYNAMODB_OPERATIONS = {
    "generation": ("GetItem", "UpdateItem", "TransactWriteItems"),
    "purchase": ("GetItem", "PutItem", "Query", "UpdateItem", "TransactWriteItems"),
    "export": ("GetItem", "BatchGetItem", "PutItem", "Query", "UpdateItem", "TransactWriteItems"),
    "purge": ("GetItem", "PutItem", "DeleteItem", "Query", "UpdateItem", "TransactWriteItems", "BatchWriteItem"),
}
OTHER_SITES = (
    ("generation", "sqs", "SendMessage", "ServiceUnavailable"),
    ("generation", "s3", "PutObject", "InternalError"),
    ("generation", "inference", "submit", "timeout"),
    ("generation", "inference", "fetch_output", "unavailable"),
    ("purchase", "stripe", "api", "unavailable"),
    ("purchase", "sesv2", "SendEmail", "ServiceUnavailable"),
    ("export", "sqs", "SendMessage", "ServiceUnavailable"),
    ("export", "s3", "ListObjectsV2", "SlowDown"),
    ("export", "s3", "GetObject", "InternalError"),
    ("export", "s3", "PutObject", "SlowDown"),
    ("export", "sesv2", "SendEmail", "ServiceUnavailable"),
    ("purge", "s3", "ListObjectsV2", "SlowDown"),
    ("purge", "s3", "DeleteObjects", "InternalError"),
    ("purge", "s3", "ListMultipartUploads", "InternalError"),
    ("purge", "sesv2", "SendEmail", "ServiceUnavailable"),
)


@pytest.mark.slow
@pytest.mark.parametrize("times", [1, 3])
@pytest.mark.parametrize(
    ("pipeline", "operation"),
    [(pipeline, operation) for pipeline, operations in DYNAMODB_OPERATIONS.items() for operation in operations],
)
def test_every_dynamodb_operation_throttled_in_every_pipeline_keeps_the_promises(
    stack, faults, pipeline, operation, times
):
    PIPELINES[pipeline](
        stack,
        faults,
        lambda: faults.arm("dynamodb", operation, error="ProvisionedThroughputExceededException", times=times),
    )
    eventually(lambda: faults.total >= 1, 30, "the armed fault")
    assert_sound(stack)


@pytest.mark.slow
@pytest.mark.parametrize("times", [1, 3])
@pytest.mark.parametrize(("pipeline", "service", "operation", "error"), OTHER_SITES)
def test_every_other_call_site_failing_in_its_pipeline_keeps_the_promises(
    stack, faults, pipeline, service, operation, error, times
):
    PIPELINES[pipeline](stack, faults, lambda: faults.arm(service, operation, error=error, times=times))
    eventually(lambda: faults.total >= 1, 30, "the armed fault")
    assert_sound(stack)
