"""What the moderation console reads, over real HTTP (P7, P19): a report with the item it names,
its owner's status and every report on that item; the queue filtered by reason and paged; the audit
trail of every moderator action with who, what, when and the note. All of it 404 to non-admins."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest

from local.runtime import LocalRuntime
from tests.e2e.test_gallery_sharing import new_asset, person, publish
from tests.support.client import ApiClient
from tests.support.stack import running_stack

ADMIN = "moderator@example.com"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with running_stack(parameters={"AdminEmails": ADMIN}) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def admin(stack) -> Iterator[tuple[ApiClient, str]]:
    client, account_id = person(stack, ADMIN)
    yield client, account_id
    client.close()


def someone(stack) -> tuple[ApiClient, str]:
    return person(stack, f"someone-{time.monotonic_ns()}@example.com")


def public_asset(stack) -> tuple[ApiClient, str, str]:
    owner, owner_id = someone(stack)
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    return owner, owner_id, asset_id


def report(client: ApiClient, asset_id: str, reason: str = "spam") -> str:
    answer = client.post("/v1/reports", json={"target_type": "asset", "target_id": asset_id, "reason": reason})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def resolve(admin: ApiClient, report_id: str, action: str, note: str) -> httpx.Response:
    return admin.post(f"/v1/admin/reports/{report_id}/resolve", json={"action": action, "note": note})


def test_a_report_shows_its_item_its_owner_and_every_report_on_that_item(stack, admin):
    # Given a public asset reported twice, the first report dismissed
    moderator, _ = admin
    _owner, owner_id, asset_id = public_asset(stack)
    first = report(someone(stack)[0], asset_id, "spam")
    assert resolve(moderator, first, "dismiss", "not spam").status_code == 200
    second = report(someone(stack)[0], asset_id, "violence")

    # When a moderator opens the second report
    answer = moderator.get(f"/v1/admin/reports/{second}")

    # Then it shows the report, the item as it stands (with a link to its media), and its owner
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert (detail["report"]["id"], detail["report"]["status"]) == (second, "open")
    item = detail["item"]
    assert (item["target_id"], item["owner_id"], item["state"], item["visibility"]) == (
        asset_id,
        owner_id,
        "live",
        "public",
    )
    assert item["media_url"]
    assert httpx.get(item["media_url"]).status_code == 200
    assert detail["owner"] == {"id": owner_id, "status": "active"}
    # And the item's history: both reports, newest first, the dismissed one with its note
    history = detail["history"]
    assert [entry["id"] for entry in history] == [second, first]
    assert (history[1]["status"], history[1]["action"], history[1]["note"]) == ("resolved", "dismiss", "not spam")


def test_a_removed_or_quarantined_item_shows_its_state_and_quarantined_media_is_never_linked(stack, admin):
    # Given two public assets, one removed and one quarantined by moderators
    moderator, _ = admin
    _, _, removed_id = public_asset(stack)
    _, _, quarantined_id = public_asset(stack)
    removed_report = report(someone(stack)[0], removed_id)
    quarantined_report = report(someone(stack)[0], quarantined_id, "minor_safety")
    assert resolve(moderator, removed_report, "remove", "spam ring").status_code == 200
    assert resolve(moderator, quarantined_report, "quarantine", "illegal").status_code == 200

    # When a moderator opens each report
    removed = moderator.get(f"/v1/admin/reports/{removed_report}").json()["item"]
    quarantined = moderator.get(f"/v1/admin/reports/{quarantined_report}").json()["item"]

    # Then the removed one is still there for review; the quarantined one has no link at all
    assert removed["state"] == "removed"
    assert removed["media_url"]
    assert quarantined["state"] == "quarantined"
    assert (quarantined["media_url"], quarantined["preview_url"]) == (None, None)


def test_an_unknown_report_or_a_non_admin_gets_404(stack, admin):
    # Given a report, and an ordinary account
    moderator, _ = admin
    _, _, asset_id = public_asset(stack)
    reporter, _ = someone(stack)
    report_id = report(reporter, asset_id)

    # Then an id that names nothing is 404 to the moderator, and every console read is 404 to others
    assert moderator.get("/v1/admin/reports/rpt_doesnotexist").status_code == 404
    assert moderator.get("/v1/admin/reports/not-a-report-id").status_code == 404
    for path in (f"/v1/admin/reports/{report_id}", "/v1/admin/audit", "/v1/admin/reports?reason=spam"):
        assert reporter.get(path).status_code == 404, path
        assert ApiClient(stack.api_url).get(path).status_code == 404, path


def test_the_queue_filters_by_reason_and_pages_without_repeats(stack, admin):
    # Given open reports of two reasons
    moderator, _ = admin
    copyright_ids: list[str] = []
    for _ in range(3):
        _, _, asset_id = public_asset(stack)
        copyright_ids.append(report(someone(stack)[0], asset_id, "copyright"))
    _, _, other_asset = public_asset(stack)
    hate_id = report(someone(stack)[0], other_asset, "hate")

    # When the moderator pages the open queue for copyright reports, one at a time
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = {"status": "open", "reason": "copyright", "limit": 1} | ({"cursor": cursor} if cursor else {})
        answer = moderator.get(f"/v1/admin/reports?{urlencode(query)}")
        assert answer.status_code == 200, answer.text
        seen += [item["id"] for item in answer.json()["items"]]
        assert all(item["reason"] == "copyright" for item in answer.json()["items"])
        cursor = answer.json()["next_cursor"]
        if not cursor:
            break

    # Then every copyright report comes once, newest first, and nothing else
    assert seen == copyright_ids[::-1]
    assert hate_id not in seen
    # And an unknown reason is refused in the API's error shape
    bad = moderator.get("/v1/admin/reports?reason=boring")
    assert bad.status_code == 422
    assert "error" in bad.json()


def test_the_audit_trail_shows_who_did_what_when_and_why_newest_first(stack, admin):
    # Given a report resolved by suspending the owner, then the suspension lifted
    moderator, moderator_id = admin
    _, owner_id, asset_id = public_asset(stack)
    report_id = report(someone(stack)[0], asset_id, "hate")
    assert resolve(moderator, report_id, "suspend_account", "repeat offender").status_code == 200
    assert moderator.get(f"/v1/admin/reports/{report_id}").json()["owner"]["status"] == "suspended"
    lifted = moderator.post(f"/v1/admin/accounts/{owner_id}/lift-suspension", json={"note": "appeal upheld"})
    assert lifted.status_code == 200, lifted.text

    # When the moderator reads this month's audit trail
    answer = moderator.get("/v1/admin/audit")

    # Then both actions are there, newest first, with the moderator, the note and the time
    assert answer.status_code == 200, answer.text
    trail = answer.json()
    assert trail["month"] == datetime.now(UTC).strftime("%Y-%m")
    mine = [entry for entry in trail["items"] if entry["owner_id"] == owner_id]
    assert [(entry["action"], entry["note"]) for entry in mine] == [
        ("lift_suspension", "appeal upheld"),
        ("suspend_account", "repeat offender"),
    ]
    assert {(entry["moderator_id"], entry["moderator_email"]) for entry in mine} == {(moderator_id, ADMIN)}
    assert mine[1]["report_id"] == report_id
    assert mine[0]["report_id"] is None
    assert mine[0]["at"] >= mine[1]["at"]
    # And another month is empty; a malformed month is refused
    assert moderator.get("/v1/admin/audit?month=2001-01").json()["items"] == []
    assert moderator.get("/v1/admin/audit?month=2001-13").status_code == 422


def test_a_note_is_required_to_resolve_and_nothing_changes_without_one(stack, admin):
    # Given an open report
    moderator, _ = admin
    _, _, asset_id = public_asset(stack)
    report_id = report(someone(stack)[0], asset_id)

    # When a moderator resolves it with a blank note
    answer = resolve(moderator, report_id, "remove", "   ")

    # Then it is refused in the API's error shape, and the report and the item are unchanged
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"]
    detail = moderator.get(f"/v1/admin/reports/{report_id}").json()
    assert (detail["report"]["status"], detail["item"]["state"]) == ("open", "live")
