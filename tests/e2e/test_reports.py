"""Reports over real HTTP (P7, P17): a public asset is reported by its id alone, as the contract
says; reporting needs accepted terms; one account's minor-safety report does not take content down
unless its reporter has a good record; minor-safety reports head the queue; a burst of reports
alerts the moderators."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

from atelier.services import get_services
from local.runtime import LocalRuntime
from tests.e2e.test_gallery_sharing import gallery_ids, new_asset, person, publish
from tests.support.client import ApiClient, signed_in
from tests.support.stack import running_stack

ADMIN = "moderator@example.com"
TRUSTED_AFTER = 2
BURST = 6


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORT_TRUSTED_MIN_UPHELD", str(TRUSTED_AFTER))
        patch.setenv("REPORT_BURST_THRESHOLD", str(BURST))
        with running_stack(parameters={"AdminEmails": ADMIN}) as runtime:
            yield runtime


@pytest.fixture(scope="module")
def admin(stack) -> Iterator[ApiClient]:
    client, _ = person(stack, ADMIN)
    yield client
    client.close()


@pytest.fixture(scope="module")
def anonymous(stack) -> Iterator[ApiClient]:
    client = ApiClient(stack.api_url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def maker(stack) -> Iterator[tuple[ApiClient, str]]:
    """The owner of the public assets reported here."""
    client, account_id = person(stack, "maker@example.com")
    yield client, account_id
    client.close()


def someone(stack) -> tuple[ApiClient, str]:
    return person(stack, f"someone-{time.monotonic_ns()}@example.com")


def public_asset(maker: tuple[ApiClient, str]) -> str:
    owner, owner_id = maker
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    return asset_id


def report(client: ApiClient, target_id: str, reason: str = "spam", **extra) -> httpx.Response:
    return client.post("/v1/reports", json={"target_type": "asset", "target_id": target_id, "reason": reason, **extra})


def open_reports(admin: ApiClient) -> list[dict]:
    answer = admin.get("/v1/admin/reports?status=open&limit=100")
    assert answer.status_code == 200, answer.text
    items: list[dict] = answer.json()["items"]
    return items


def test_a_public_asset_is_reported_by_its_id_alone(stack, admin, maker):
    # Given a public asset and a private one of the same owner
    owner, owner_id = maker
    asset_id = public_asset(maker)
    private = new_asset(owner, owner_id)
    reporter, reporter_id = someone(stack)
    _, stranger_id = someone(stack)

    # When someone reports the public one by its id, and nothing else
    reported = report(reporter, asset_id)

    # Then the report is taken, against the asset's real owner
    assert reported.status_code == 201, reported.text
    queued = {item["id"]: item for item in open_reports(admin)}[reported.json()["id"]]
    assert (queued["owner_id"], queued["reporter_id"], queued["target_id"]) == (owner_id, reporter_id, asset_id)
    # And an `owner_id` sent along (an older client's) is ignored, whatever it names
    again = report(someone(stack)[0], asset_id, owner_id=stranger_id)
    assert again.status_code == 201, again.text
    assert {item["id"]: item for item in open_reports(admin)}[again.json()["id"]]["owner_id"] == owner_id
    # And a private asset, or an id that names nothing, is not found (never confirmed to exist)
    assert report(reporter, private).status_code == 404
    assert report(reporter, private, owner_id=owner_id).status_code == 404
    assert report(reporter, "ast_doesnotexist").status_code == 404


def test_a_deleted_asset_can_no_longer_be_reported_and_leaves_no_pointer(stack, maker):
    # Given a public asset
    owner, _ = maker
    asset_id = public_asset(maker)
    assert get_services().assets.owner_of(asset_id) is not None

    # When its owner deletes it
    assert owner.request("DELETE", f"/v1/assets/{asset_id}").status_code in (200, 204)

    # Then its id leads nowhere
    assert get_services().assets.owner_of(asset_id) is None
    assert report(someone(stack)[0], asset_id).status_code == 404


def test_reporting_needs_an_account_that_accepted_the_terms(stack, admin, anonymous, maker):
    # Given a public asset, and an account that never accepted the terms
    asset_id = public_asset(maker)
    newcomer = signed_in(stack.api_url, f"newcomer-{time.monotonic_ns()}@example.com")

    # When it reports the asset, even for minor safety
    refused = [report(newcomer, asset_id), report(newcomer, asset_id, reason="minor_safety")]

    # Then it is refused, and nothing changed
    assert [(answer.status_code, answer.json()["error"]["code"]) for answer in refused] == [
        (403, "consent_required")
    ] * 2
    assert asset_id not in {item["target_id"] for item in open_reports(admin)}
    assert asset_id in gallery_ids(anonymous)
    newcomer.close()


def test_one_new_accounts_minor_safety_report_does_not_hide_the_item_but_heads_the_queue(
    stack, admin, anonymous, maker
):
    # Given a public asset, reported for minor safety, then another for spam
    urgent = public_asset(maker)
    routine = public_asset(maker)
    minor_safety = report(someone(stack)[0], urgent, reason="minor_safety")
    assert minor_safety.status_code == 201, minor_safety.text
    spam = report(someone(stack)[0], routine)
    assert spam.status_code == 201, spam.text

    # Then one new account's word hides nothing
    assert urgent in gallery_ids(anonymous)
    # And the minor-safety report comes before the newer one in the moderators' queue
    queue = [item["id"] for item in open_reports(admin)]
    assert queue.index(minor_safety.json()["id"]) < queue.index(spam.json()["id"])


def test_a_minor_safety_report_from_a_reporter_with_a_good_record_hides_the_item_at_once(
    stack, admin, anonymous, maker
):
    # Given a reporter whose earlier reports moderators upheld
    reporter, _ = someone(stack)
    for _ in range(TRUSTED_AFTER):
        bad = public_asset(maker)
        filed = report(reporter, bad, reason="violence")
        assert filed.status_code == 201, filed.text
        resolved = admin.post(f"/v1/admin/reports/{filed.json()['id']}/resolve", json={"action": "remove", "note": "x"})
        assert resolved.status_code == 200, resolved.text
    asset_id = public_asset(maker)

    # When they report a public asset for minor safety
    assert report(reporter, asset_id, reason="minor_safety").status_code == 201

    # Then it is hidden at once, pending review
    assert asset_id not in gallery_ids(anonymous)


def test_a_reporter_whose_reports_were_dismissed_gets_no_hold(stack, admin, anonymous, maker):
    # Given a reporter whose earlier reports moderators dismissed
    reporter, _ = someone(stack)
    for _ in range(TRUSTED_AFTER):
        fine = public_asset(maker)
        filed = report(reporter, fine, reason="minor_safety")
        admin.post(f"/v1/admin/reports/{filed.json()['id']}/resolve", json={"action": "dismiss", "note": "fine"})
    asset_id = public_asset(maker)

    # When they report another asset for minor safety
    assert report(reporter, asset_id, reason="minor_safety").status_code == 201

    # Then it stays up until more accounts, or a moderator, say otherwise
    assert asset_id in gallery_ids(anonymous)


def test_a_burst_of_reports_emails_the_moderators(stack, maker):
    # Given public assets and a few reporters
    reporters = [someone(stack)[0] for _ in range(3)]

    # When twice the burst threshold of reports arrive (so one fixed window holds a whole burst)
    for n in range(2 * BURST):
        asset_id = public_asset(maker)
        assert report(reporters[n % 3], asset_id).status_code == 201

    # Then the moderators were emailed about it
    outbox = httpx.get(f"{stack.api_url}/_local/outbox", params={"to": ADMIN}).json()
    alerts = [mail for mail in outbox if mail["subject"] == "Atelier: a burst of reports"]
    assert alerts
    assert {mail["kind"] for mail in alerts} == {"moderation"}


def test_a_reporter_lists_their_own_reports_and_sees_when_they_are_decided(stack, admin, maker):
    # Given someone who reported two public assets, with a note on the first
    first, second = public_asset(maker), public_asset(maker)
    reporter, _ = someone(stack)
    first_report = report(reporter, first, details="  copied from my portfolio  ").json()["id"]
    second_report = report(reporter, second, reason="copyright").json()["id"]
    # And another person who reported one of them too
    other, _ = someone(stack)
    assert report(other, first).status_code == 201

    # When a moderator removes the second, and the reporter lists their reports a page at a time
    resolved = admin.post(f"/v1/admin/reports/{second_report}/resolve", json={"action": "remove", "note": "copied"})
    assert resolved.status_code == 200, resolved.text
    page = reporter.get("/v1/me/reports?limit=1")
    assert page.status_code == 200, page.text
    rest = reporter.get(f"/v1/me/reports?{urlencode({'limit': 1, 'cursor': page.json()['next_cursor']})}")
    assert rest.status_code == 200, rest.text

    # Then they are theirs alone, newest first, each with its reason, note and outcome
    listed = page.json()["items"] + rest.json()["items"]
    assert [item["id"] for item in listed] == [second_report, first_report]
    assert rest.json()["next_cursor"] is None
    newest, oldest = listed
    assert (newest["reason"], newest["status"], newest["outcome"]) == ("copyright", "resolved", "action_taken")
    assert newest["resolved_at"] is not None
    assert (oldest["details"], oldest["status"], oldest["outcome"]) == ("copied from my portfolio", "open", None)
    # And never the moderator's note or identity
    assert not {"note", "moderator_id", "reporter_id", "owner_id"} & set(newest)
    assert [item["target_id"] for item in other.get("/v1/me/reports").json()["items"]] == [first]


def test_the_reports_list_refuses_a_malformed_cursor(stack):
    # Given someone signed in
    reporter, _ = someone(stack)

    # When they send a cursor that is not one the list gave
    answer = reporter.get(f"/v1/me/reports?{urlencode({'cursor': 'ACCOUNT#acct_other'})}")

    # Then it is refused in the API's error shape
    assert answer.status_code == 422
    assert "error" in answer.json()
