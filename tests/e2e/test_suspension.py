"""A moderator's suspension over real HTTP (P19): its own state, which no payment, refund or
deletion flow clears; it hides the account's public items and links at once; only a moderator
lifts it, with a note, audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from atelier.clock import isoformat
from atelier.services import get_services
from local.runtime import LocalRuntime
from tests.e2e.test_gallery_sharing import gallery_ids, new_asset, person, publish, share
from tests.support.client import ApiClient, signed_in
from tests.support.stack import running_stack

ADMIN = "moderator@example.com"
GRACE_SECONDS = 3
JOB = {"kind": "image", "model": "local-image", "prompt": "a lighthouse", "params": {"width": 64, "height": 64}}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DELETION_GRACE_SECONDS", str(GRACE_SECONDS))
        with running_stack(parameters={"AdminEmails": ADMIN}) as runtime:
            yield runtime


@pytest.fixture(scope="module")
def admin(stack) -> Iterator[ApiClient]:
    client, _ = person(stack, ADMIN)
    yield client
    client.close()


@pytest.fixture(scope="module")
def reporter(stack) -> Iterator[ApiClient]:
    client, _ = person(stack, "reporter@example.com")
    yield client
    client.close()


def fresh_person(stack) -> tuple[ApiClient, str]:
    return person(stack, f"owner-{time.monotonic_ns()}@example.com")


def wait_until(check, timeout_s: float = 60.0, every_s: float = 0.2):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every_s)
    pytest.fail("the condition never came true")


def report(reporter: ApiClient, asset_id: str) -> str:
    answer = reporter.post("/v1/reports", json={"target_type": "asset", "target_id": asset_id, "reason": "violence"})
    assert answer.status_code == 201, answer.text
    report_id: str = answer.json()["id"]
    return report_id


def suspend(admin: ApiClient, report_id: str) -> None:
    answer = admin.post(
        f"/v1/admin/reports/{report_id}/resolve", json={"action": "suspend_account", "note": "repeated abuse"}
    )
    assert answer.status_code == 200, answer.text


def suspended_owner(stack, admin: ApiClient, reporter: ApiClient) -> tuple[ApiClient, str, str]:
    """An account suspended through a report of one of its public assets: (client, id, asset id)."""
    owner, owner_id = fresh_person(stack)
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    suspend(admin, report(reporter, asset_id))
    return owner, owner_id, asset_id


def status(client: ApiClient) -> str:
    value: str = client.get("/v1/me").json()["status"]
    return value


def test_a_payment_that_settles_a_debt_does_not_lift_a_suspension(stack, admin, reporter):
    # Given an account on a monthly plan that spent some of its credits
    owner, owner_id = fresh_person(stack)
    checkout = owner.post("/v1/billing/checkout", json={"item_id": "plan_monthly", "provider": "stripe"})
    assert checkout.status_code == 201, checkout.text
    page = urlsplit(checkout.json()["url"]).path
    sandbox = httpx.Client(base_url=stack.api_url, follow_redirects=False, timeout=30)
    assert sandbox.post(f"{page}/pay").status_code == 200
    submitted = owner.post("/v1/jobs", json=JOB)
    assert submitted.status_code == 202, submitted.text
    wait_until(lambda: owner.get(f"/v1/jobs/{submitted.json()['id']}").json()["status"] == "succeeded")
    # And then suspended by a moderator
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    suspend(admin, report(reporter, asset_id))
    assert status(owner) == "suspended"

    # When a refund puts it in debt and the next period's payment settles the debt
    refunded = sandbox.post(f"{page}/refund").json()["delivered"]
    assert [(d["type"], d["status"]) for d in refunded] == [("charge.refunded", 200)]
    assert owner.get("/v1/billing/balance").json()["credits"] < 0
    renewed = sandbox.post(f"{page}/renew").json()["delivered"]
    assert [(d["type"], d["status"]) for d in renewed] == [("invoice.paid", 200)]
    assert owner.get("/v1/billing/balance").json()["credits"] > 0
    sandbox.close()

    # Then the account is still suspended and cannot generate
    assert status(owner) == "suspended"
    refused = owner.post("/v1/jobs", json=JOB)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_suspended"


def test_suspending_during_a_deletion_countdown_takes_effect_and_cancelling_keeps_it(stack, admin, reporter):
    # Given a public asset reported, then its owner scheduling the account's deletion
    owner, owner_id = fresh_person(stack)
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    report_id = report(reporter, asset_id)
    assert owner.post("/v1/me/deletion").status_code == 202

    # When a moderator suspends the account during the countdown
    suspend(admin, report_id)

    # Then the suspension shows at once, beside the countdown
    assert status(owner) == "suspended"
    assert owner.get("/v1/me/deletion").json()["scheduled"] is True
    # And cancelling the deletion leaves the account suspended, its public items hidden
    assert owner.request("DELETE", "/v1/me/deletion").status_code == 200
    assert status(owner) == "suspended"
    assert owner.post("/v1/jobs", json=JOB).status_code == 403
    assert asset_id not in gallery_ids(ApiClient(stack.api_url))


def test_a_suspended_account_whose_deletion_is_due_is_still_purged(stack, admin, reporter):
    # Given an account suspended, then counting down to deletion
    owner, owner_id, asset_id = suspended_owner(stack, admin, reporter)
    assert get_services().assets.owner_of(asset_id) == owner_id
    assert owner.post("/v1/me/deletion").status_code == 202

    # When the countdown ends and the purge schedule runs
    def purged() -> bool:
        run = httpx.post(f"{stack.api_url}/_local/schedules/atelier-local-purge-due-accounts/run", timeout=120)
        assert run.status_code == 200, run.text
        return get_services().accounts.get(owner_id) is None

    wait_until(purged, timeout_s=GRACE_SECONDS + 60, every_s=0.5)

    # Then the account is gone: its session no longer works, and its asset's id pointer went with it
    assert owner.get("/v1/me").status_code == 401
    assert get_services().assets.owner_of(asset_id) is None


def test_a_suspension_hides_public_items_links_and_workflows_until_a_moderator_lifts_it(stack, admin, reporter):
    # Given an owner with a public asset, a share link to another asset, and a public workflow
    owner, owner_id = fresh_person(stack)
    public_asset = new_asset(owner, owner_id)
    publish(owner, public_asset)
    token = share(owner, "asset", new_asset(owner, owner_id))["token"]
    workflow = owner.post(
        "/v1/workflows",
        json={
            "name": "Boats",
            "definition": {"kind": "image", "model": "local-image", "prompt_template": "a {boat}", "params": {}},
        },
    ).json()
    assert owner.request("PATCH", f"/v1/workflows/{workflow['id']}", json={"visibility": "public"}).status_code == 200
    anonymous = ApiClient(stack.api_url)
    assert public_asset in gallery_ids(anonymous)
    assert anonymous.get(f"/v1/s/{token}").status_code == 200
    assert reporter.get(f"/v1/workflows/{workflow['id']}").status_code == 200
    reported = new_asset(owner, owner_id)
    publish(owner, reported)

    # When a moderator suspends the account
    suspend(admin, report(reporter, reported))

    # Then everything it made public is hidden at once
    assert public_asset not in gallery_ids(anonymous)
    assert anonymous.get(f"/v1/s/{token}").status_code == 404
    assert reporter.get(f"/v1/workflows/{workflow['id']}").status_code == 404
    assert reporter.post(f"/v1/workflows/{workflow['id']}/fork", json={}).status_code == 404
    assert (
        reporter.post(
            "/v1/reports", json={"target_type": "asset", "target_id": public_asset, "reason": "spam"}
        ).status_code
        == 404
    )

    # When the moderator lifts the suspension, with a note
    lifted = admin.post(f"/v1/admin/accounts/{owner_id}/lift-suspension", json={"note": "appeal upheld"})

    # Then the account is active again and what it made public shows again (the removed asset stays down)
    assert lifted.status_code == 200, lifted.text
    assert lifted.json() == {"id": owner_id, "status": "active"}
    assert status(owner) == "active"
    assert public_asset in gallery_ids(anonymous)
    assert reported not in gallery_ids(anonymous)
    assert anonymous.get(f"/v1/s/{token}").status_code == 200
    assert reporter.get(f"/v1/workflows/{workflow['id']}").status_code == 200
    # And the lifting is audited: who, what, why
    month = isoformat(datetime.now(UTC))[:7]
    audit = [
        entry
        for entry in get_services().reports.audit_entries(month)
        if entry["target_id"] == owner_id and entry["action"] == "lift_suspension"
    ]
    assert [entry["note"] for entry in audit] == ["appeal upheld"]
    # And lifting it again is a conflict
    again = admin.post(f"/v1/admin/accounts/{owner_id}/lift-suspension", json={"note": "again"})
    assert again.status_code == 409


def test_a_suspended_account_keeps_its_privacy_rights_but_cannot_generate_buy_publish_or_share(stack, admin, reporter):
    # Given a suspended account
    owner, owner_id, _ = suspended_owner(stack, admin, reporter)
    private = new_asset(owner, owner_id)

    # Then it can still sign in, read its data and export it
    assert status(owner) == "suspended"
    assert owner.get("/v1/assets").status_code == 200
    assert owner.get(f"/v1/assets/{private}").status_code == 200
    assert owner.post("/v1/me/exports").status_code == 202
    # But it cannot generate, buy, publish, share or report
    refusals = [
        owner.post("/v1/jobs", json=JOB),
        owner.post("/v1/billing/checkout", json={"item_id": "pack_starter", "provider": "stripe"}),
        owner.request("PATCH", f"/v1/assets/{private}", json={"visibility": "public"}),
        owner.post("/v1/shares", json={"target_type": "asset", "target_id": private}),
    ]
    assert [(answer.status_code, answer.json()["error"]["code"]) for answer in refusals] == [
        (403, "account_suspended")
    ] * 4
    # And it can still schedule its deletion
    assert owner.post("/v1/me/deletion").status_code == 202


def test_only_a_moderator_can_lift_a_suspension(stack, admin, reporter):
    # Given a suspended account
    owner, owner_id, _ = suspended_owner(stack, admin, reporter)

    # When anyone but a moderator tries to lift it, itself included
    for client in (ApiClient(stack.api_url), owner, reporter):
        answer = client.post(f"/v1/admin/accounts/{owner_id}/lift-suspension", json={"note": "let me out"})
        # Then the route is not confirmed to exist, and the account stays suspended
        assert answer.status_code == 404
    assert status(owner) == "suspended"
    # And a moderator naming an unknown account, or giving no note, is refused
    assert admin.post("/v1/admin/accounts/acct_nobody/lift-suspension", json={"note": "x"}).status_code == 404
    assert admin.post(f"/v1/admin/accounts/{owner_id}/lift-suspension", json={"note": ""}).status_code == 422
    assert status(owner) == "suspended"


def test_signing_in_again_as_a_suspended_account_still_works(stack, admin, reporter):
    # Given a suspended account
    _, owner_id, _ = suspended_owner(stack, admin, reporter)
    email = get_services().accounts.require(owner_id).email

    # When its holder signs in again
    again = signed_in(stack.api_url, email)

    # Then they reach their account, shown as suspended
    assert again.get("/v1/me").json() == again.get("/v1/me").json() | {"id": owner_id, "status": "suspended"}
    again.close()
