"""API keys over real HTTP: a key does only what its scopes name, and never what needs a session
(the account, its keys, email, consent, sessions, deletion, and every admin route). Webhook endpoints
and exports are open to a key only with a scope named when it was made."""

from collections.abc import Iterator
from typing import Any

import pytest

from atelier import tokens
from atelier.data import keys
from atelier.data.items import ApiKeyItem, PointerItem
from local.runtime import LocalRuntime
from tests.support.client import ApiClient, signed_in
from tests.support.personas import sign_up
from tests.support.stack import running_stack

ADMIN_EMAIL = "keys-moderator@example.com"
ALL_SCOPES = [
    "account:export",
    "billing:read",
    "generate",
    "library:read",
    "library:write",
    "webhooks:read",
    "webhooks:write",
]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    with running_stack(parameters={"AdminEmails": ADMIN_EMAIL}) as runtime:
        yield runtime


def new_key(owner: ApiClient, base_url: str, **body: object) -> tuple[dict[str, Any], ApiClient]:
    created = owner.post("/v1/me/api-keys", json={"name": "script", **body})
    assert created.status_code == 201, created.text
    return created.json(), ApiClient(base_url, api_key=created.json()["key"])


def assert_refused(answer, status: int, code: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    error: dict[str, object] = answer.json()["error"]
    assert error["code"] == code, error
    return error


def test_a_key_made_without_scopes_may_generate_and_read_the_library_only(stack: LocalRuntime) -> None:
    # Given a key made with a name only
    owner = signed_in(stack.api_url, "plain-key@example.com")
    made, script = new_key(owner, stack.api_url)

    # Then it has the default scopes, shown when made and when listed
    assert made["scopes"] == ["generate", "library:read"]
    assert [key["scopes"] for key in owner.get("/v1/me/api-keys").json()["items"]] == [["generate", "library:read"]]
    # And it reads the library and the account...
    assert script.get("/v1/jobs").status_code == 200
    assert script.get("/v1/me").status_code == 200
    # ...but changing the library or reading billing names the scope it lacks
    error = assert_refused(script.post("/v1/workspaces", json={"name": "x"}, origin=None), 403, "insufficient_scope")
    assert error["details"] == {"required_scope": "library:write"}
    error = assert_refused(script.get("/v1/billing/balance"), 403, "insufficient_scope")
    assert error["details"] == {"required_scope": "billing:read"}
    assert [w["name"] for w in owner.get("/v1/workspaces").json()["items"]] == ["Personal"]
    # ...and webhook endpoints and exports are not among the defaults
    error = assert_refused(script.get("/v1/webhook-endpoints/default/secret"), 403, "insufficient_scope")
    assert error["details"] == {"required_scope": "webhooks:read"}
    error = assert_refused(script.post("/v1/me/exports", origin=None), 403, "insufficient_scope")
    assert error["details"] == {"required_scope": "account:export"}


def test_a_key_gets_exactly_the_scopes_chosen_at_creation(stack: LocalRuntime) -> None:
    # Given a key made for reading billing only
    owner = signed_in(stack.api_url, "billing-key@example.com")
    made, script = new_key(owner, stack.api_url, scopes=["billing:read"])

    # Then it reads billing, and nothing of the library
    assert made["scopes"] == ["billing:read"]
    assert script.get("/v1/billing/balance").status_code == 200
    assert_refused(script.get("/v1/jobs"), 403, "insufficient_scope")
    assert_refused(
        script.post("/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": "a kite"}, origin=None),
        403,
        "insufficient_scope",
    )


def test_webhook_endpoints_and_exports_open_to_a_key_only_with_their_scopes(stack: LocalRuntime) -> None:
    # Given an account holder, a key that may read webhook endpoints and one that may also change them
    owner, _ = sign_up(stack.api_url, "integrator@example.com")
    _, reader = new_key(owner, stack.api_url, scopes=["webhooks:read"])
    _, writer = new_key(owner, stack.api_url, scopes=["webhooks:read", "webhooks:write"])
    _, exporter = new_key(owner, stack.api_url, scopes=["account:export"])
    endpoint = {"url": "https://hooks.example.com/in", "events": ["job.succeeded"]}

    # Then the reader reads the default secret (the same the owner's session reads), but registers nothing
    secret = reader.get("/v1/webhook-endpoints/default/secret")
    assert secret.status_code == 200, secret.text
    assert secret.json() == owner.get("/v1/webhook-endpoints/default/secret").json()
    error = assert_refused(reader.post("/v1/webhook-endpoints", json=endpoint, origin=None), 403, "insufficient_scope")
    assert error["details"] == {"required_scope": "webhooks:write"}
    assert reader.get("/v1/webhook-endpoints").json()["items"] == []
    # And the writer registers one, rotates its secret and removes it
    created = writer.post("/v1/webhook-endpoints", json=endpoint, origin=None)
    assert created.status_code == 201, created.text
    endpoint_id = created.json()["id"]
    assert [item["id"] for item in reader.get("/v1/webhook-endpoints").json()["items"]] == [endpoint_id]
    rotated = writer.post(f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", origin=None)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != created.json()["secret"]
    assert writer.request("DELETE", f"/v1/webhook-endpoints/{endpoint_id}", origin=None).status_code == 204
    # And only the exporter's key requests and reads an export
    assert_refused(writer.post("/v1/me/exports", origin=None), 403, "insufficient_scope")
    requested = exporter.post("/v1/me/exports", origin=None)
    assert requested.status_code == 202, requested.text
    read = exporter.get(f"/v1/me/exports/{requested.json()['id']}")
    assert read.status_code == 200, read.text
    assert read.json()["id"] == requested.json()["id"]
    assert_refused(exporter.get("/v1/webhook-endpoints"), 403, "insufficient_scope")


@pytest.mark.parametrize("scopes", [[], ["admin"], ["generate", "everything"]])
def test_a_key_cannot_be_made_with_unknown_or_no_scopes(stack: LocalRuntime, scopes: list[str]) -> None:
    owner = signed_in(stack.api_url, "odd-scopes@example.com")
    answer = owner.post("/v1/me/api-keys", json={"name": "odd", "scopes": scopes})
    assert_refused(answer, 422, "invalid_field")
    assert owner.get("/v1/me/api-keys").json()["items"] == []


def test_a_key_with_every_scope_still_cannot_change_the_account_its_keys_or_its_sessions(stack: LocalRuntime) -> None:
    # Given an account holder and a key of theirs with every scope
    owner, account = sign_up(stack.api_url, "keyholder@example.com")
    made, script = new_key(owner, stack.api_url, scopes=ALL_SCOPES)

    # When the key tries everything that needs a session
    attempts = {
        "mint a key": script.post("/v1/me/api-keys", json={"name": "escape"}, origin=None),
        "list keys": script.get("/v1/me/api-keys"),
        "revoke a key": script.request("DELETE", f"/v1/me/api-keys/{made['id']}", origin=None),
        "change the email": script.request("PATCH", "/v1/me", json={"email": "thief@example.com"}, origin=None),
        "change consent": script.request("PUT", "/v1/me/consent", json={"marketing_emails": True}, origin=None),
        "accept terms": script.post("/v1/me/terms", json={"version": "x", "age_confirmed": True}, origin=None),
        "sign out everywhere": script.post("/v1/auth/logout-all", origin=None),
        "schedule deletion": script.post("/v1/me/deletion", origin=None),
        "lift the spend cap": script.request("PUT", "/v1/billing/spend-cap", json={"monthly_credits": None}),
        "buy": script.post("/v1/billing/checkout", json={"item_id": "pack_starter", "provider": "stripe"}),
    }

    # Then each is refused as needing a session, and nothing changed
    for attempt, answer in attempts.items():
        assert answer.status_code == 403, (attempt, answer.text)
        assert answer.json()["error"]["code"] == "session_required", attempt
    me = owner.get("/v1/me").json()
    assert me["email"] == account.email
    assert me["consent"]["marketing_emails"] is False
    assert [key["id"] for key in owner.get("/v1/me/api-keys").json()["items"]] == [made["id"]]
    assert owner.get("/v1/me/deletion").json()["scheduled"] is False
    # And the session and the key both still work
    assert script.get("/v1/me").json()["email"] == account.email


def test_an_admins_key_has_no_admin_powers_and_others_keys_learn_nothing(stack: LocalRuntime) -> None:
    # Given an admin with a session and a key, and an ordinary account's key
    admin, _ = sign_up(stack.api_url, ADMIN_EMAIL)
    _, admin_key = new_key(admin, stack.api_url, scopes=ALL_SCOPES)
    ordinary, _ = sign_up(stack.api_url, "ordinary@example.com")
    _, ordinary_key = new_key(ordinary, stack.api_url, scopes=ALL_SCOPES)

    # Then the admin's session moderates, the admin's key is told a session is needed
    assert admin.get("/v1/admin/reports").status_code == 200
    assert_refused(admin_key.get("/v1/admin/reports"), 403, "session_required")
    assert_refused(
        admin_key.post("/v1/admin/reports/rep_x/resolve", json={"action": "dismiss", "note": "n"}, origin=None),
        403,
        "session_required",
    )
    # And anyone else's key still finds no such route
    assert_refused(ordinary_key.get("/v1/admin/reports"), 404, "not_found")


def test_a_key_stored_before_keys_had_scopes_gets_the_default_scopes(stack: LocalRuntime) -> None:
    # Given a key whose records carry no scopes, as every key made before scopes existed
    owner = signed_in(stack.api_url, "old-key@example.com")
    made, script = new_key(owner, stack.api_url, scopes=ALL_SCOPES)
    account_id = owner.get("/v1/me").json()["id"]
    PointerItem(keys.api_key_pointer_pk(tokens.hash_token(made["key"])), keys.POINTER_SK).update(
        actions=[PointerItem.scopes.remove()]
    )
    ApiKeyItem(keys.account_pk(account_id), keys.api_key_sk(made["id"])).update(actions=[ApiKeyItem.scopes.remove()])

    # Then it is listed and treated as a key with the default scopes
    assert owner.get("/v1/me/api-keys").json()["items"][0]["scopes"] == ["generate", "library:read"]
    assert script.get("/v1/jobs").status_code == 200
    assert_refused(script.post("/v1/workspaces", json={"name": "x"}, origin=None), 403, "insufficient_scope")


def test_a_keys_last_use_is_listed_to_a_few_minutes(stack: LocalRuntime) -> None:
    # Given a key never used
    owner = signed_in(stack.api_url, "last-use@example.com")
    made, script = new_key(owner, stack.api_url)

    def listed_use() -> str | None:
        listed = {key["id"]: key for key in owner.get("/v1/me/api-keys").json()["items"]}
        return listed[made["id"]]["last_used_at"]

    assert made["last_used_at"] is None
    assert listed_use() is None

    # When a script uses it twice in a row
    assert script.get("/v1/jobs").status_code == 200
    first_use = listed_use()
    assert script.get("/v1/jobs").status_code == 200

    # Then its owner sees when, and the second use within minutes wrote nothing new
    assert first_use is not None
    assert listed_use() == first_use
    # And once revoked, the key is refused and its listing is not brought back by a late use
    assert owner.request("DELETE", f"/v1/me/api-keys/{made['id']}").status_code == 204
    assert script.get("/v1/jobs").status_code == 401
    assert owner.get("/v1/me/api-keys").json()["items"] == []
