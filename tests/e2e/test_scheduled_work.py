"""Scheduled work and the routes, over real HTTP, in orders a warm process meets them (P9, P11).

Every piece of work used to leave a connection on a shared model class that later index queries
inherited: after an export the gallery answered 500, after a retention run the purge failed (the
account stayed `deletion_scheduled`, its session and key working), after a purge the receipts and the
overdue-jobs sweep failed. Each test starts as a new process would (no class has a connection) and
runs the schedules through the local runtime's on-demand route, as EventBridge would fire them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in
from tests.support.stack import forget_model_connections, running_stack

GRACE_SECONDS = 2
SWEEP, PURGE, RETENTION = "sweep-overdue-jobs", "purge-due-accounts", "retention-sweep"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DELETION_GRACE_SECONDS", str(GRACE_SECONDS))
        with running_stack() as runtime:
            yield runtime


@pytest.fixture(autouse=True)
def fresh_process(stack: LocalRuntime) -> None:
    forget_model_connections()


def run_schedule(stack: LocalRuntime, task: str) -> dict:
    answer = httpx.post(f"{stack.api_url}/_local/schedules/atelier-local-{task}/run", timeout=120)
    assert answer.status_code == 200, answer.text
    outcome = answer.json()
    assert outcome["status"] == "succeeded", outcome
    return outcome["result"]["outcome"]


def wait_for_export(client: ApiClient, export_id: str) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        export = client.get(f"/v1/me/exports/{export_id}").json()
        if export["status"] in ("ready", "failed"):
            return export
        time.sleep(0.2)
    pytest.fail("the export never finished")


def wait_until_due(purge_at: str) -> None:
    """Waits for the purge time the API gave: the work is due then, not before."""
    due = datetime.fromisoformat(purge_at.replace("Z", "+00:00"))
    remaining = (due - datetime.now(UTC)).total_seconds()
    if remaining > 0:
        time.sleep(remaining + 0.05)


def account_scheduled_for_deletion(stack: LocalRuntime, email: str) -> tuple[ApiClient, ApiClient, str]:
    """A signed-in account with an API key, whose deletion is scheduled: (session, key, purge_at)."""
    client = signed_in(stack.api_url, email)
    created = client.post("/v1/me/api-keys", json={"name": "script"})
    assert created.status_code == 201, created.text
    script = ApiClient(stack.api_url, api_key=created.json()["key"])
    assert script.get("/v1/me").status_code == 200
    scheduled = client.post("/v1/me/deletion")
    assert scheduled.status_code == 202, scheduled.text
    return client, script, scheduled.json()["purge_at"]


def assert_purged(session: ApiClient, script: ApiClient) -> None:
    assert session.get("/v1/me").status_code == 401
    assert script.get("/v1/me").status_code == 401


def test_the_gallery_answers_after_an_export(stack):
    # Given an account whose data export has been built by the exporter in this process
    client = signed_in(stack.api_url, "exporter.then.gallery@example.com")
    requested = client.post("/v1/me/exports")
    assert requested.status_code == 202, requested.text
    assert wait_for_export(client, requested.json()["id"])["status"] == "ready"
    # When anyone browses the gallery, of every kind and of one kind
    every_kind = httpx.get(f"{stack.api_url}/v1/gallery", timeout=30)
    one_kind = httpx.get(f"{stack.api_url}/v1/gallery", params={"kind": "image"}, timeout=30)
    # Then both pages answer
    assert every_kind.status_code == 200, every_kind.text
    assert one_kind.status_code == 200, one_kind.text


def test_an_account_due_for_deletion_is_purged_after_a_retention_run(stack):
    # Given an account (session and API key) whose deletion countdown has ended
    session, script, purge_at = account_scheduled_for_deletion(stack, "retention.then.purge@example.com")
    wait_until_due(purge_at)
    # When the retention sweep runs, and then the purge
    run_schedule(stack, RETENTION)
    outcome = run_schedule(stack, PURGE)
    # Then the account is purged: neither its session nor its key works any more
    assert outcome["purged"] >= 1, outcome
    assert_purged(session, script)


def test_receipts_and_the_overdue_sweep_run_after_a_purge(stack):
    # Given an account purged by the purge schedule in this process
    session, script, purge_at = account_scheduled_for_deletion(stack, "purge.then.sweep@example.com")
    wait_until_due(purge_at)
    assert run_schedule(stack, PURGE)["purged"] >= 1
    assert_purged(session, script)
    # When the purge runs again (it retries its receipts' provider clean-ups) and the sweep runs
    again = run_schedule(stack, PURGE)
    swept = run_schedule(stack, SWEEP)
    # Then both succeed, and the routes that query indexes still answer
    assert again["purged"] == 0, again
    assert isinstance(swept, dict)
    assert httpx.get(f"{stack.api_url}/v1/gallery", timeout=30).status_code == 200
    newcomer = signed_in(stack.api_url, "after.the.purge@example.com")
    assert newcomer.get("/v1/jobs").status_code == 200
    assert newcomer.get("/v1/assets").status_code == 200


@pytest.mark.parametrize(
    "order",
    [(RETENTION, SWEEP, PURGE), (PURGE, RETENTION, SWEEP), (SWEEP, PURGE, RETENTION)],
    ids=lambda order: ",".join(order),
)
def test_the_schedules_succeed_in_any_order_then_the_gallery_answers(stack, order):
    # Given an account due for purge, in a fresh process
    session, script, purge_at = account_scheduled_for_deletion(stack, f"order.{order[0]}@example.com")
    wait_until_due(purge_at)
    # When the schedules run in this order
    for task in order:
        run_schedule(stack, task)
    # Then the account was purged and the gallery still answers
    assert_purged(session, script)
    assert httpx.get(f"{stack.api_url}/v1/gallery", timeout=30).status_code == 200
