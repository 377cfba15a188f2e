"""The account over real HTTP: profile, consent, terms and age, API keys, workspaces, email."""

import httpx
import pytest

from tests.support.client import ApiClient, signed_in


@pytest.fixture
def ada(stack):
    client = signed_in(stack.api_url, "ada@example.com")
    yield client
    client.close()


@pytest.fixture
def bob(stack):
    client = signed_in(stack.api_url, "bob@example.com")
    yield client
    client.close()


def test_requests_without_a_session_get_401_in_the_error_shape(anonymous: ApiClient):
    answer = anonymous.get("/v1/me")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_signed_in"


def test_the_profile_can_be_corrected(ada: ApiClient):
    answer = ada.request("PATCH", "/v1/me", json={"name": "Ada King", "preferences": {"theme": "dark"}})
    assert answer.status_code == 200
    assert answer.json()["name"] == "Ada King"
    assert answer.json()["preferences"] == {"theme": "dark"}
    assert ada.get("/v1/me").json()["name"] == "Ada King"


@pytest.mark.parametrize(
    "body", [{"name": ""}, {"email": "not-an-email"}, {"preferences": {"theme": "neon"}}, {"role": "admin"}]
)
def test_invalid_profile_changes_are_refused_and_change_nothing(ada: ApiClient, body):
    before = ada.get("/v1/me").json()
    answer = ada.request("PATCH", "/v1/me", json=body)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_field"
    assert ada.get("/v1/me").json() == before


def test_consent_is_off_until_turned_on_and_can_be_turned_off(ada: ApiClient):
    assert ada.request("PUT", "/v1/me/consent", json={"analytics": True}).json()["consent"] == {
        "analytics": True,
        "product_improvement": False,
        "marketing_emails": False,
    }
    assert ada.request("PUT", "/v1/me/consent", json={"analytics": False}).json()["consent"]["analytics"] is False


def test_terms_and_age_are_accepted_for_the_version_in_force(ada: ApiClient):
    policy = ada.get("/v1/policies/terms").json()
    assert policy["minimum_age"] in (16, 18)
    stale = ada.post("/v1/me/terms", json={"version": "1999-01-01", "age_confirmed": True})
    assert stale.status_code == 409
    no_age = ada.post("/v1/me/terms", json={"version": policy["version"], "age_confirmed": False})
    assert no_age.status_code == 422
    assert ada.get("/v1/me").json()["terms_version"] is None
    accepted = ada.post("/v1/me/terms", json={"version": policy["version"], "age_confirmed": True})
    assert accepted.status_code == 200
    assert accepted.json()["terms_version"] == policy["version"]
    assert accepted.json()["age_confirmed"] is True


def test_policies_are_public_and_unknown_kinds_are_refused(anonymous: ApiClient):
    assert anonymous.get("/v1/policies/privacy").status_code == 200
    assert anonymous.get("/v1/policies/cookies").status_code == 422


def test_an_api_key_is_shown_once_and_works_until_revoked(stack, ada: ApiClient):
    created = ada.post("/v1/me/api-keys", json={"name": "render farm", "scopes": ["library:read", "library:write"]})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("atk_")
    listed = ada.get("/v1/me/api-keys").json()["items"]
    assert [item["name"] for item in listed] == ["render farm"]
    assert "key" not in listed[0]
    assert key not in ada.get("/v1/me/api-keys").text

    script = ApiClient(stack.api_url, api_key=key)
    assert script.get("/v1/me").json()["email"] == "ada@example.com"
    # Bearer requests carry no ambient credential, so no Origin is needed
    assert script.request("POST", "/v1/workspaces", json={"name": "From script"}, origin=None).status_code == 201

    assert ada.request("DELETE", f"/v1/me/api-keys/{created.json()['id']}").status_code == 204
    refused = script.get("/v1/me")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_signed_in"


def test_a_made_up_api_key_is_refused(stack):
    script = ApiClient(stack.api_url, api_key="atk_made-up")
    assert script.get("/v1/me").status_code == 401


def test_creating_an_api_key_sends_a_security_email(stack, ada: ApiClient):
    key = ada.post("/v1/me/api-keys", json={"name": "ci"}).json()["key"]
    outbox = httpx.get(f"{stack.api_url}/_local/outbox", params={"to": "ada@example.com"}).json()
    security = [mail for mail in outbox if mail["kind"] == "security"]
    assert security
    assert "API key" in security[-1]["subject"]
    assert key not in security[-1]["text"]


def test_workspaces_can_be_created_renamed_and_deleted_but_not_the_default(ada: ApiClient):
    default = ada.get("/v1/workspaces").json()["items"][0]
    assert default["is_default"] is True
    created = ada.post("/v1/workspaces", json={"name": "Client work"})
    assert created.status_code == 201
    workspace_id = created.json()["id"]
    renamed = ada.request("PATCH", f"/v1/workspaces/{workspace_id}", json={"name": "Clients"})
    assert renamed.json()["name"] == "Clients"
    assert ada.request("DELETE", f"/v1/workspaces/{default['id']}").status_code == 409
    assert ada.request("DELETE", f"/v1/workspaces/{workspace_id}").status_code == 204
    assert ada.get(f"/v1/workspaces/{workspace_id}").status_code == 404


def test_another_account_gets_404_on_my_workspace(ada: ApiClient, bob: ApiClient):
    mine = ada.post("/v1/workspaces", json={"name": "Private"}).json()["id"]
    for method, body in (("GET", None), ("PATCH", {"name": "Mine now"}), ("DELETE", None)):
        answer = bob.request(method, f"/v1/workspaces/{mine}", json=body)
        assert answer.status_code == 404, method
        assert answer.json()["error"]["code"] == "not_found"
    assert ada.get(f"/v1/workspaces/{mine}").json()["name"] == "Private"
