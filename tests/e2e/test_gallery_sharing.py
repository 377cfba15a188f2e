"""Gallery, share links, workflows, reports, moderation and policy notices over real HTTP (P6, P7,
P15, P17): who sees what, takedowns everywhere at once, immutable versions, notices sent once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from atelier import tokens
from atelier.clock import isoformat
from atelier.data.gallery import hide_public_content, restore_public_content
from atelier.data.items import AssetItem
from atelier.ids import IdPrefix, new_id
from atelier.models.gallery import Share, TargetType
from atelier.services import get_services
from tests.support.client import ApiClient, signed_in
from tests.support.generation import png_bytes
from tests.support.stack import running_stack

ADMIN = "moderator@example.com"


@pytest.fixture(scope="module")
def stack():
    with running_stack(parameters={"AdminEmails": ADMIN}) as runtime:
        yield runtime


def person(stack, email: str) -> tuple[ApiClient, str]:
    client = signed_in(stack.api_url, email)
    version = client.get("/v1/policies/terms").json()["version"]
    assert client.post("/v1/me/terms", json={"version": version, "age_confirmed": True}).status_code == 200
    return client, client.get("/v1/me").json()["id"]


def make_asset(account_id: str, workspace_id: str, kind: str = "image") -> str:
    """A stored output, written as the worker writes one."""
    asset_id = new_id(IdPrefix.ASSET)
    key = f"accounts/{account_id}/outputs/job_x/{asset_id}.png"
    get_services().asset_storage.put(key, png_bytes(), "image/png")
    AssetItem(
        f"ACCOUNT#{account_id}",
        f"ASSET#{asset_id}",
        entity="asset",
        asset_id=asset_id,
        workspace_id=workspace_id,
        kind=kind,
        content_type="image/png",
        size_bytes=100,
        sha256="ab" * 32,
        object_key=key,
        created_at=datetime.now(UTC),
        screened_at=datetime.now(UTC),
    ).save()
    return asset_id


def new_asset(client: ApiClient, account_id: str) -> str:
    workspace = client.get("/v1/workspaces").json()["items"][0]["id"]
    return make_asset(account_id, workspace)


def publish(client: ApiClient, asset_id: str) -> None:
    answer = client.request("PATCH", f"/v1/assets/{asset_id}", json={"visibility": "public"})
    assert answer.status_code == 200, answer.text


def share(client: ApiClient, target_type: str, target_id: str, **extra) -> dict:
    answer = client.post("/v1/shares", json={"target_type": target_type, "target_id": target_id, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def expired_share(account_id: str, target_type: TargetType, target_id: str) -> str:
    """A link whose expiry has passed (made directly: the API refuses an expiry in the past)."""
    token = tokens.new_token()
    past = datetime.now(UTC) - timedelta(minutes=5)
    get_services().shares.create(
        Share(
            id=new_id(IdPrefix.SHARE),
            account_id=account_id,
            target_type=target_type,
            target_id=target_id,
            created_at=past - timedelta(hours=1),
            expires_at=past,
        ),
        tokens.hash_token(token),
    )
    return token


def gallery_ids(client: ApiClient, **query) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        params = {**query, "limit": 100} | ({"cursor": cursor} if cursor else {})
        page = client.get(_with_query("/v1/gallery", params))
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    return seen


def _with_query(path: str, params: dict) -> str:
    from urllib.parse import urlencode

    return f"{path}?{urlencode(params)}"


def take_down(admin: ApiClient, reporter: ApiClient, target_type: str, target_id: str, owner_id: str, action="remove"):
    report = reporter.post(
        "/v1/reports",
        json={"target_type": target_type, "target_id": target_id, "owner_id": owner_id, "reason": "violence"},
    )
    assert report.status_code == 201, report.text
    resolved = admin.post(f"/v1/admin/reports/{report.json()['id']}/resolve", json={"action": action, "note": "seen"})
    assert resolved.status_code == 200, resolved.text
    return resolved.json()


@pytest.fixture(scope="module")
def cast(stack):
    owner, owner_id = person(stack, "owner@example.com")
    other, _ = person(stack, "other@example.com")
    admin, _ = person(stack, ADMIN)
    anonymous = ApiClient(stack.api_url)
    yield {"owner": (owner, owner_id), "other": other, "admin": admin, "anonymous": anonymous}
    for client in (owner, other, admin, anonymous):
        client.close()


# -- the visibility matrix ------------------------------------------------------------------------
STATES = ["private", "public", "shared", "expired_share", "revoked_share", "removed"]
VIEWERS = ["anonymous", "other", "owner", "admin"]
# What each viewer can reach: the owner always reaches their own item (a removed one as removed,
# with nothing to download); everyone else only a public item (gallery / public read) or a live link.
EXPECTED = {
    viewer: {state: (state != "removed" if viewer == "owner" else state in ("public", "shared")) for state in STATES}
    for viewer in VIEWERS
}


def _asset_items(cast) -> dict[str, tuple[str, str | None]]:
    owner, owner_id = cast["owner"]
    items: dict[str, tuple[str, str | None]] = {}
    for state in STATES:
        asset_id = new_asset(owner, owner_id)
        token = None
        if state in ("public", "removed"):
            publish(owner, asset_id)
            token = share(owner, "asset", asset_id)["token"]
        if state in ("shared", "revoked_share"):
            created = share(owner, "asset", asset_id)
            token = created["token"]
            if state == "revoked_share":
                assert owner.request("DELETE", f"/v1/shares/{created['id']}").status_code == 204
        if state == "expired_share":
            token = expired_share(owner_id, TargetType.ASSET, asset_id)
        if state == "removed":
            take_down(cast["admin"], cast["other"], "asset", asset_id, owner_id)
        items[state] = (asset_id, token)
    return items


def test_visibility_matrix_for_assets(cast):
    items = _asset_items(cast)
    owner, _ = cast["owner"]
    seen: dict[str, dict[str, bool]] = {}
    for viewer in VIEWERS:
        client = owner if viewer == "owner" else cast[viewer]
        listed = set(gallery_ids(client))
        seen[viewer] = {}
        for state, (asset_id, token) in items.items():
            library = client.get(f"/v1/assets/{asset_id}")
            via_link = client.get(f"/v1/s/{token}").status_code == 200 if token else False
            if viewer == "owner":
                assert library.status_code == 200
                reachable = library.json()["download_url"] is not None
                assert library.json()["removed"] is (state == "removed")
            else:
                # Never confirms someone else's library item exists.
                assert library.status_code in (401, 404)
                reachable = asset_id in listed or via_link
            seen[viewer][state] = reachable
            # The gallery lists exactly the public, live items, whoever looks.
            assert (asset_id in listed) is (state == "public"), (viewer, state)
    assert seen == EXPECTED


def test_visibility_matrix_for_workflows(cast):
    owner, owner_id = cast["owner"]
    items: dict[str, tuple[str, str | None]] = {}
    for state in STATES:
        created = owner.post(
            "/v1/workflows",
            json={
                "name": f"wf {state}",
                "definition": {"kind": "image", "model": "local-image", "prompt_template": "a {thing}", "params": {}},
            },
        )
        assert created.status_code == 201, created.text
        workflow_id = created.json()["id"]
        token = None
        if state in ("public", "removed"):
            assert (
                owner.request("PATCH", f"/v1/workflows/{workflow_id}", json={"visibility": "public"}).status_code == 200
            )
        if state in ("shared", "revoked_share"):
            made = share(owner, "workflow", workflow_id)
            token = made["token"]
            if state == "revoked_share":
                assert owner.request("DELETE", f"/v1/shares/{made['id']}").status_code == 204
        if state == "expired_share":
            token = expired_share(owner_id, TargetType.WORKFLOW, workflow_id)
        if state == "removed":
            take_down(cast["admin"], cast["other"], "workflow", workflow_id, owner_id)
        items[state] = (workflow_id, token)

    seen: dict[str, dict[str, bool]] = {}
    for viewer in VIEWERS:
        client = owner if viewer == "owner" else cast[viewer]
        seen[viewer] = {}
        for state, (workflow_id, token) in items.items():
            read = client.get(f"/v1/workflows/{workflow_id}")
            via_link = client.get(f"/v1/s/{token}").status_code == 200 if token else False
            if viewer == "owner":
                assert read.status_code == 200
                reachable = not read.json()["removed"]
            else:
                assert read.status_code in (200, 404)
                reachable = read.status_code == 200 or via_link
            seen[viewer][state] = reachable
    assert seen == EXPECTED


# -- takedown -------------------------------------------------------------------------------------
def test_takedown_is_reflected_in_every_read_path_in_the_next_request(cast):
    owner, owner_id = cast["owner"]
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    token = share(owner, "asset", asset_id)["token"]
    anonymous = cast["anonymous"]
    assert asset_id in gallery_ids(anonymous)
    assert anonymous.get(f"/v1/s/{token}").json()["asset"]["download_url"]

    take_down(cast["admin"], cast["other"], "asset", asset_id, owner_id)

    assert asset_id not in gallery_ids(anonymous)
    assert asset_id not in gallery_ids(anonymous, kind="image")
    assert anonymous.get(f"/v1/s/{token}").status_code == 404
    mine = owner.get(f"/v1/assets/{asset_id}").json()
    assert (mine["removed"], mine["download_url"]) == (True, None)
    listed = {item["id"]: item for item in owner.get("/v1/assets?limit=100").json()["items"]}
    assert listed[asset_id]["removed"] is True
    assert listed[asset_id]["download_url"] is None
    # It stays down: no republishing, no new link.
    assert owner.request("PATCH", f"/v1/assets/{asset_id}", json={"visibility": "private"}).status_code == 200
    assert owner.request("PATCH", f"/v1/assets/{asset_id}", json={"visibility": "public"}).status_code == 403
    assert owner.post("/v1/shares", json={"target_type": "asset", "target_id": asset_id}).status_code == 403


def reporters(stack, count: int) -> list[ApiClient]:
    """Distinct accounts that accepted the terms (a minor-safety hold needs several of them)."""
    return [person(stack, f"reporter-{n}-{datetime.now(UTC).timestamp()}@example.com")[0] for n in range(count)]


def test_minor_safety_reports_from_distinct_accounts_hide_the_item_at_once_one_open_report_each(stack, cast):
    # Given a public asset reached by a share link
    owner, owner_id = cast["owner"]
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    token = share(owner, "asset", asset_id)["token"]
    body = {"target_type": "asset", "target_id": token, "reason": "minor_safety"}
    first, second, third = reporters(stack, 3)

    # When two accounts report it for minor safety, it stays up (one account's word hides nothing)
    assert first.post("/v1/reports", json=body).status_code == 201
    assert second.post("/v1/reports", json=body).status_code == 201
    assert asset_id in gallery_ids(cast["anonymous"])
    # And reporting it twice counts once
    assert first.post("/v1/reports", json=body).status_code == 409
    assert asset_id in gallery_ids(cast["anonymous"])

    # When a third distinct account reports it
    assert third.post("/v1/reports", json=body).status_code == 201

    # Then it is hidden at once, everywhere
    assert asset_id not in gallery_ids(cast["anonymous"])
    assert cast["anonymous"].get(f"/v1/s/{token}").status_code == 404
    assert cast["anonymous"].post("/v1/reports", json=body).status_code == 401


def test_a_dismissed_report_puts_a_held_item_back(stack, cast):
    owner, owner_id = cast["owner"]
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    body = {"target_type": "asset", "target_id": asset_id, "reason": "minor_safety"}
    report = [client.post("/v1/reports", json=body).json() for client in reporters(stack, 3)][-1]
    assert asset_id not in gallery_ids(cast["anonymous"])
    cast["admin"].post(f"/v1/admin/reports/{report['id']}/resolve", json={"action": "dismiss", "note": "fine"})
    assert asset_id in gallery_ids(cast["anonymous"])


def test_quarantine_moves_the_object_out_of_the_account_prefix_and_keeps_the_legal_record(cast):
    owner, owner_id = cast["owner"]
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    original_key = get_services().assets.get(owner_id, asset_id).object_key

    resolved = take_down(cast["admin"], cast["other"], "asset", asset_id, owner_id, action="quarantine")

    storage = get_services().asset_storage
    assert storage.get(original_key, 10_000_000) is None
    assert storage.get(f"quarantine/{owner_id}/{asset_id}", 10_000_000) is not None
    record = get_services().moderation_actions.quarantine_record(asset_id)
    assert record is not None
    assert (record["sha256"], record["owner_id"], record["moderator_id"]) == (
        "ab" * 32,
        owner_id,
        resolved["moderator_id"],
    )
    assert record["reporter_id"] == resolved["reporter_id"]
    assert record["reason"] == "violence"
    assert record["note"] == "seen"
    assert owner.get(f"/v1/assets/{asset_id}").json()["download_url"] is None
    # Audited: who, when, what, why.
    month = isoformat(datetime.now(UTC))[:7]
    audit = [entry for entry in get_services().reports.audit_entries(month) if entry["report_id"] == resolved["id"]]
    assert audit
    assert audit[0]["action"] == "quarantine"
    assert audit[0]["note"] == "seen"


def test_suspend_account_suspends_the_owner(stack, cast):
    owner, owner_id = person(stack, "suspended@example.com")
    asset_id = new_asset(owner, owner_id)
    publish(owner, asset_id)
    take_down(cast["admin"], cast["other"], "asset", asset_id, owner_id, action="suspend_account")
    assert owner.get("/v1/me").json()["status"] == "suspended"


def test_admin_routes_answer_404_to_everyone_but_admins(cast):
    owner, _ = cast["owner"]
    for client in (cast["anonymous"], owner, cast["other"]):
        assert client.get("/v1/admin/reports").status_code == 404
        assert (
            client.post("/v1/admin/reports/rpt_x/resolve", json={"action": "dismiss", "note": "x"}).status_code == 404
        )
    listed = cast["admin"].get("/v1/admin/reports?status=resolved")
    assert listed.status_code == 200
    assert all(item["status"] == "resolved" for item in listed.json()["items"])


# -- the gallery ----------------------------------------------------------------------------------
def test_the_gallery_never_lists_private_removed_or_deletion_scheduled_content(stack, cast):
    leaving, leaving_id = person(stack, "leaving@example.com")
    kept = new_asset(leaving, leaving_id)
    publish(leaving, kept)
    owner, owner_id = cast["owner"]
    private = new_asset(owner, owner_id)
    anonymous = cast["anonymous"]
    assert kept in gallery_ids(anonymous)

    # The flag on the entry, cleared by the deletion countdown's call, hides it...
    assert hide_public_content(leaving_id) >= 1
    assert kept not in gallery_ids(anonymous)
    assert restore_public_content(leaving_id) >= 1
    assert kept in gallery_ids(anonymous)
    # ...and the owner's status hides it even before that call.
    assert leaving.post("/v1/me/deletion").status_code == 202
    assert kept not in gallery_ids(anonymous)
    assert private not in gallery_ids(anonymous)
    for item in anonymous.get("/v1/gallery").json()["items"]:
        assert "@" not in item["owner"]["name"]
        assert "email" not in item["owner"]


def test_the_gallery_pages_newest_first_by_kind_and_shows_the_display_name(stack, cast):
    maker, maker_id = person(stack, "pager@example.com")
    made = []
    for _ in range(3):
        asset_id = new_asset(maker, maker_id)
        publish(maker, asset_id)
        made.append(asset_id)
    first = cast["anonymous"].get("/v1/gallery?limit=2&kind=image").json()
    assert [item["id"] for item in first["items"]] == made[::-1][:2]
    shown = first["items"][0]["owner"]
    assert shown["name"] == maker.get("/v1/me").json()["name"]
    # A stable public handle, never the account id (nor anything it can be read from)
    assert set(shown) == {"name", "handle"}
    assert maker_id.removeprefix("acct_") not in str(first)
    assert [item["owner"]["handle"] for item in first["items"]] == [shown["handle"]] * 2
    second = cast["anonymous"].get(f"/v1/gallery?limit=2&kind=image&cursor={first['next_cursor']}").json()
    assert second["items"][0]["id"] == made[0]
    assert cast["anonymous"].get("/v1/gallery?kind=video").json()["items"] == []
    assert cast["anonymous"].get("/v1/gallery?cursor=bad!").status_code == 422


# -- workflows ------------------------------------------------------------------------------------
def _workflow(client: ApiClient, template="a {animal} in {place}") -> dict:
    created = client.post(
        "/v1/workflows",
        json={
            "name": "Animals",
            "definition": {
                "kind": "image",
                "model": "local-image",
                "prompt_template": template,
                "params": {"width": 64},
            },
        },
    )
    assert created.status_code == 201, created.text
    return created.json()


def test_a_workflow_version_is_immutable(cast):
    owner, _ = cast["owner"]
    workflow = _workflow(owner)
    assert workflow["version"] == 1
    before = owner.get(f"/v1/workflows/{workflow['id']}/versions").json()["items"]

    added = owner.post(
        f"/v1/workflows/{workflow['id']}/versions",
        json={
            "definition": {"kind": "image", "model": "local-image", "prompt_template": "a {animal}", "params": {}},
            "note": "shorter",
        },
    )

    assert added.status_code == 201
    assert added.json()["version"] == 2
    after = owner.get(f"/v1/workflows/{workflow['id']}/versions").json()["items"]
    assert after[0] == before[0]
    assert [v["version"] for v in after] == [1, 2]
    assert owner.get(f"/v1/workflows/{workflow['id']}").json()["version"] == 2
    # No route rewrites a version; the stored item is written only if absent.
    assert owner.request("PATCH", f"/v1/workflows/{workflow['id']}/versions/1", json={}).status_code in (404, 405)


def test_a_workflow_saved_with_a_note_keeps_it_on_its_first_version(cast):
    # Given a workflow saved from a job's settings with a note
    owner, _ = cast["owner"]
    created = owner.post(
        "/v1/workflows",
        json={
            "name": "Saved from a job",
            "note": "  the settings of a good run  ",
            "definition": {"kind": "image", "model": "local-image", "prompt_template": "a heron", "params": {}},
        },
    )
    assert created.status_code == 201, created.text

    # When its versions are listed
    versions = owner.get(f"/v1/workflows/{created.json()['id']}/versions").json()["items"]

    # Then version 1 carries the note, trimmed; a workflow saved without one has none
    assert [(v["version"], v["note"]) for v in versions] == [(1, "the settings of a good run")]
    assert owner.get(f"/v1/workflows/{_workflow(owner)['id']}/versions").json()["items"][0]["note"] is None
    too_long = owner.post(
        "/v1/workflows",
        json={
            "name": "Too long a note",
            "note": "n" * 501,
            "definition": {"kind": "image", "model": "local-image", "prompt_template": "a heron", "params": {}},
        },
    )
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"]


def test_a_fork_leaves_the_original_unchanged(cast):
    owner, _ = cast["owner"]
    workflow = _workflow(owner)
    assert cast["other"].post(f"/v1/workflows/{workflow['id']}/fork", json={}).status_code == 404
    token = share(owner, "workflow", workflow["id"])["token"]
    original = owner.get(f"/v1/workflows/{workflow['id']}").json()

    fork = cast["other"].post(f"/v1/workflows/{workflow['id']}/fork", json={"share_token": token})

    assert fork.status_code == 201, fork.text
    forked = fork.json()
    assert forked["id"] != workflow["id"]
    assert forked["forked_from"] == workflow["id"]
    cast["other"].post(
        f"/v1/workflows/{forked['id']}/versions",
        json={
            "definition": {"kind": "image", "model": "local-image", "prompt_template": "x", "params": {}},
            "note": "n",
        },
    )
    cast["other"].request("PATCH", f"/v1/workflows/{forked['id']}", json={"name": "Mine now"})
    assert owner.get(f"/v1/workflows/{workflow['id']}").json() == original
    assert len(owner.get(f"/v1/workflows/{workflow['id']}/versions").json()["items"]) == 1


def test_a_job_from_a_workflow_version_records_which_version_ran(stack, cast):
    from tests.support.money import give_credits

    runner, runner_id = person(stack, "runner@example.com")
    give_credits(get_services().accounts.require(runner_id), 20)
    workflow = _workflow(runner)

    missing = runner.post(f"/v1/workflows/{workflow['id']}/versions/1/jobs", json={"variables": {"animal": "owl"}})
    assert missing.status_code == 422
    assert "place" in missing.text

    job = runner.post(
        f"/v1/workflows/{workflow['id']}/versions/1/jobs", json={"variables": {"animal": "owl", "place": "a barn"}}
    )

    assert job.status_code == 202, job.text
    assert job.json()["prompt"] == "a owl in a barn"
    assert job.json()["workflow_version_id"] == workflow["version_id"]
    assert runner.get(f"/v1/jobs/{job.json()['id']}").json()["workflow_version_id"] == workflow["version_id"]
    assert runner.post(f"/v1/workflows/{workflow['id']}/versions/9/jobs", json={"variables": {}}).status_code == 404


# -- policy versions and notices --------------------------------------------------------------------
def test_a_material_change_with_13_days_notice_is_refused(cast):
    at = datetime.now(UTC) + timedelta(days=13)
    answer = cast["admin"].post(
        "/v1/admin/policies",
        json={"kind": "privacy", "version": "p-13", "summary": "s", "material": True, "effective_at": isoformat(at)},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "notice_too_short"
    assert (
        cast["other"]
        .post(
            "/v1/admin/policies",
            json={
                "kind": "privacy",
                "version": "p-x",
                "summary": "s",
                "material": False,
                "effective_at": isoformat(at),
            },
        )
        .status_code
        == 404
    )


def _policy_mail(stack, version: str) -> Counter[str]:
    outbox = httpx.get(f"{stack.api_url}/_local/outbox").json()
    return Counter(mail["to"] for mail in outbox if mail["kind"] == "policy" and version in mail["text"])


def test_notices_reach_every_account_exactly_once_even_when_a_batch_is_delivered_twice(stack, cast):
    from atelier.models.accounts import PolicyKind
    from atelier.usecases.publish_policy import PolicyNoticeMessage, SendPolicyNoticesDeps, send_policy_notices
    from tests.support.generation import KeptMessages

    at = datetime.now(UTC) + timedelta(days=15)
    published = cast["admin"].post(
        "/v1/admin/policies",
        json={
            "kind": "privacy",
            "version": "p-15",
            "summary": "Clearer.",
            "material": True,
            "effective_at": isoformat(at),
        },
    )
    assert published.status_code == 201, published.text
    emails = {client.get("/v1/me").json()["email"] for client in (cast["owner"][0], cast["other"], cast["admin"])}
    # The fan-out is finished when its queue is empty; only then is the outbox complete.
    stack.wait_until_queues_settle(timeout=60, consumers=["NoticesFunction"])
    first = _policy_mail(stack, "p-15")
    assert emails <= set(first)

    # Every shard's first page delivered again: nobody is emailed a second time.
    services = get_services()
    from atelier.data import keys

    for shard in keys.account_shards():
        send_policy_notices(
            SendPolicyNoticesDeps(
                notices=services.policy_notices,
                policies=services.policies,
                accounts=services.accounts,
                queue=KeptMessages(),
                mailer=services.mailer,
                sent_emails=services.sent_emails,
                clock=services.clock,
                settings=services.settings,
            ),
            PolicyNoticeMessage(kind=PolicyKind.PRIVACY, version="p-15", shard=shard),
        )
    stack.wait_until_queues_settle(timeout=60, consumers=["NoticesFunction"])
    again = _policy_mail(stack, "p-15")
    assert again == first
    assert set(again.values()) == {1}
    policy = cast["anonymous"].get("/v1/policies/privacy").json()
    assert policy["upcoming"]["version"] == "p-15"
