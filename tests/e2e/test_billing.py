"""Billing over real HTTP: catalog, balance, spend cap, ledger, subscription, checkout guards."""

import pytest

from atelier.data.accounts import AccountRepository
from tests.support.client import ApiClient, signed_in
from tests.support.money import give_credits


@pytest.fixture
def carol(stack):
    client = signed_in(stack.api_url, "carol@example.com")
    yield client
    client.close()


def accept_terms(client: ApiClient) -> None:
    version = client.get("/v1/policies/terms").json()["version"]
    assert client.post("/v1/me/terms", json={"version": version, "age_confirmed": True}).status_code == 200


def test_the_catalog_is_public(anonymous: ApiClient):
    catalog = anonymous.get("/v1/billing/catalog").json()
    assert {"packs", "plans"} == set(catalog)
    assert all(isinstance(pack["credits"], int) and pack["price"]["value_minor"] > 0 for pack in catalog["packs"])
    assert all(plan["credits_per_period"] > 0 for plan in catalog["plans"])


def test_a_new_account_starts_with_nothing_and_no_cap(carol: ApiClient):
    assert carol.get("/v1/billing/balance").json() == {
        "credits": 0,
        "held_credits": 0,
        "spend_cap": {"monthly_credits": None, "spent_this_month": 0},
        "restricted": False,
    }
    assert carol.get("/v1/billing/subscription").json() is None
    assert carol.get("/v1/billing/ledger").json() == {"items": [], "next_cursor": None}


def test_the_spend_cap_can_be_set_and_removed(carol: ApiClient):
    answer = carol.request("PUT", "/v1/billing/spend-cap", json={"monthly_credits": 250})
    assert answer.status_code == 200
    assert answer.json()["spend_cap"] == {"monthly_credits": 250, "spent_this_month": 0}
    assert (
        carol.request("PUT", "/v1/billing/spend-cap", json={"monthly_credits": None}).json()["spend_cap"][
            "monthly_credits"
        ]
        is None
    )


@pytest.mark.parametrize("body", [{"monthly_credits": -1}, {"monthly_credits": "lots"}, {}, {"cap": 5}])
def test_an_invalid_spend_cap_is_refused(carol: ApiClient, body):
    assert carol.request("PUT", "/v1/billing/spend-cap", json=body).status_code == 422


def test_the_ledger_pages_newest_first(stack, carol: ApiClient):
    account = AccountRepository().require(carol.get("/v1/me").json()["id"])
    for credits in (1, 2, 3):
        give_credits(account, credits)
    first = carol.get("/v1/billing/ledger?limit=2").json()
    assert [entry["credits"] for entry in first["items"]] == [3, 2]
    assert first["next_cursor"]
    second = carol.get(f"/v1/billing/ledger?limit=2&cursor={first['next_cursor']}").json()
    assert [entry["credits"] for entry in second["items"]] == [1]
    assert second["next_cursor"] is None
    assert carol.get("/v1/billing/balance").json()["credits"] == 6


def test_checkout_needs_terms_and_age_first(carol: ApiClient):
    answer = carol.post("/v1/billing/checkout", json={"item_id": "pack_starter", "provider": "stripe"})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "consent_required"


def test_checkout_of_an_unknown_item_or_provider_is_refused(carol: ApiClient):
    accept_terms(carol)
    unknown_item = carol.post("/v1/billing/checkout", json={"item_id": "pack_free", "provider": "stripe"})
    unknown_provider = carol.post("/v1/billing/checkout", json={"item_id": "pack_starter", "provider": "bank"})
    assert unknown_item.status_code == 422
    assert unknown_provider.status_code == 422


def test_billing_needs_a_signed_in_account(anonymous: ApiClient):
    for path in ("/v1/billing/balance", "/v1/billing/ledger", "/v1/billing/subscription"):
        assert anonymous.get(path).status_code == 401
