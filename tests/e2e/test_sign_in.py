"""Sign-in through the local OpenID Connect issuer over real HTTP, and everything that must refuse."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from atelier.api.cookies import ALLOWED_COOKIES
from local.oidc import USERINFO_ONLY_PROVIDER
from tests.support.client import ApiClient


def test_a_person_signs_in_and_sees_their_account(anonymous: ApiClient):
    # When
    answer = anonymous.sign_in("ada.lovelace@example.com", redirect_to="/studio?tab=library")
    # Then the callback lands where sign-in started, signed in
    assert answer.status_code == 302
    assert answer.headers["location"] == "/studio?tab=library"
    me = anonymous.get("/v1/me")
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == "ada.lovelace@example.com"
    assert body["name"] == "Ada Lovelace"
    assert body["id"].startswith("acct_")
    assert body["status"] == "active"
    assert body["age_confirmed"] is False
    assert body["consent"] == {"analytics": False, "product_improvement": False, "marketing_emails": False}


def test_the_session_cookie_is_host_only_secure_http_only_and_lax(anonymous: ApiClient):
    anonymous.sign_in("cookie@example.com")
    session_headers = [
        h for h in anonymous.set_cookie_headers if h.startswith("__Host-session=") and "Max-Age=0" not in h
    ]
    assert len(session_headers) == 1
    attributes = {part.strip().split("=")[0].lower() for part in session_headers[0].split(";")[1:]}
    assert {"secure", "httponly", "samesite", "path", "max-age"} <= attributes
    assert "domain" not in attributes
    assert "SameSite=Lax" in session_headers[0]
    assert "Path=/" in session_headers[0]
    # And the sign-in state cookie is cleared once used
    assert any(h.startswith("__Host-signin=;") and "Max-Age=0" in h for h in anonymous.set_cookie_headers)


def test_signing_in_again_finds_the_same_account_with_a_new_session(stack):
    first, second = ApiClient(stack.api_url), ApiClient(stack.api_url)
    first.sign_in("same@example.com")
    second.sign_in("same@example.com")
    assert first.get("/v1/me").json()["id"] == second.get("/v1/me").json()["id"]
    assert first.cookies["__Host-session"] != second.cookies["__Host-session"]


def test_without_a_login_hint_the_issuer_asks_for_an_email(anonymous: ApiClient):
    page = anonymous.begin_sign_in(None)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert 'name="login_hint"' in page.text


def _approved_callback(client: ApiClient, email: str) -> str:
    approved = client.begin_sign_in(email)
    assert approved.status_code == 302
    return approved.headers["location"]


def test_a_callback_url_works_once(stack):
    # Given a completed sign-in
    client = ApiClient(stack.api_url)
    callback = _approved_callback(client, "once@example.com")
    binding = client.cookies["__Host-signin"]
    assert client.follow(callback).status_code == 302
    # When the same callback is replayed with the same browser binding
    replay = ApiClient(stack.api_url)
    replay.cookies["__Host-signin"] = binding
    answer = replay.follow(callback)
    # Then it is refused and no session is made
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "sign_in_failed"
    assert "__Host-session" not in replay.cookies


@pytest.mark.parametrize("tamper", ["missing state", "wrong state", "no browser binding", "other browser"])
def test_a_callback_that_does_not_match_its_sign_in_is_refused(stack, tamper):
    client = ApiClient(stack.api_url)
    callback = _approved_callback(client, f"tamper-{tamper.replace(' ', '-')}@example.com")
    query = parse_qs(urlsplit(callback).query)
    code, state = query["code"][0], query["state"][0]
    if tamper == "missing state":
        path = f"/v1/auth/callback?code={code}"
    elif tamper == "wrong state":
        path = f"/v1/auth/callback?code={code}&state=not-{state}"
    else:
        path = f"/v1/auth/callback?code={code}&state={state}"
    if tamper == "no browser binding":
        client.cookies.pop("__Host-signin")
    if tamper == "other browser":
        client.cookies["__Host-signin"] = "another-browsers-binding"
    answer = client.get(path)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "sign_in_failed"
    assert "__Host-session" not in client.cookies
    assert client.get("/v1/me").status_code == 401


@pytest.mark.parametrize(
    "redirect_to",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "evil", "/%0d%0aX: y"],
)
def test_an_open_redirect_is_refused_before_anything_starts(anonymous: ApiClient, redirect_to):
    answer = anonymous.http.get("/v1/auth/login", params={"redirect_to": redirect_to, "login_hint": "x@example.com"})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_field"
    assert "set-cookie" not in answer.headers


def test_an_unknown_provider_is_refused(anonymous: ApiClient):
    answer = anonymous.http.get("/v1/auth/login", params={"provider": "nobody"})
    assert answer.status_code == 422


def test_logout_ends_this_session_only(stack):
    phone, laptop = ApiClient(stack.api_url), ApiClient(stack.api_url)
    phone.sign_in("two-devices@example.com")
    laptop.sign_in("two-devices@example.com")
    assert phone.post("/v1/auth/logout").status_code == 204
    assert phone.get("/v1/me").status_code == 401
    assert laptop.get("/v1/me").status_code == 200


def test_logout_all_ends_every_session(stack):
    phone, laptop = ApiClient(stack.api_url), ApiClient(stack.api_url)
    phone.sign_in("everywhere@example.com")
    laptop.sign_in("everywhere@example.com")
    stolen_cookie = dict(laptop.cookies)
    assert phone.post("/v1/auth/logout-all").status_code == 204
    assert phone.get("/v1/me").status_code == 401
    assert laptop.get("/v1/me").status_code == 401
    thief = ApiClient(stack.api_url)
    thief.cookies.update(stolen_cookie)
    assert thief.get("/v1/me").status_code == 401


def test_a_cookie_request_from_a_foreign_origin_is_forbidden(anonymous: ApiClient):
    anonymous.sign_in("csrf@example.com")
    foreign = anonymous.request("POST", "/v1/workspaces", json={"name": "x"}, origin="https://evil.example")
    missing = anonymous.request("POST", "/v1/workspaces", json={"name": "x"}, origin=None)
    assert foreign.status_code == 403
    assert foreign.json()["error"]["code"] == "forbidden_origin"
    assert missing.status_code == 403
    names = [w["name"] for w in anonymous.get("/v1/workspaces").json()["items"]]
    assert names == ["Personal"]


def test_no_cookie_outside_the_allowed_set_is_ever_set(anonymous: ApiClient):
    anonymous.sign_in("cookies@example.com")
    anonymous.get("/v1/me")
    anonymous.post("/v1/me/api-keys", json={"name": "script"})
    anonymous.post("/v1/auth/logout")
    names = {header.split("=", 1)[0] for header in anonymous.set_cookie_headers}
    assert names
    assert names <= ALLOWED_COOKIES


def test_a_provider_that_keeps_claims_to_user_info_signs_people_in(anonymous: ApiClient):
    # Given the local issuer whose ID tokens carry only `sub` (claims in UserInfo, OIDC Core 5.4)
    # When
    answer = anonymous.sign_in("katherine.johnson@example.com", provider=USERINFO_ONLY_PROVIDER)
    # Then the email and name come from UserInfo
    assert answer.status_code == 302, answer.text
    me = anonymous.get("/v1/me").json()
    assert me["email"] == "katherine.johnson@example.com"
    assert me["name"] == "Katherine Johnson"


@pytest.mark.parametrize("iss", ["missing", "another issuer"])
def test_a_callback_whose_iss_does_not_name_the_provider_is_refused(stack, iss):
    # Given an approved sign-in from a provider that sends RFC 9207's `iss`
    client = ApiClient(stack.api_url)
    query = {
        name: values[0]
        for name, values in parse_qs(urlsplit(_approved_callback(client, "iss@example.com")).query).items()
    }
    assert query["iss"] == f"{stack.api_url}/_local/oidc"
    # When the callback arrives without it, or naming another issuer (a mix-up)
    if iss == "missing":
        del query["iss"]
    else:
        query["iss"] = "https://attacker.example"
    answer = client.get(f"/v1/auth/callback?{urlencode(query)}")
    # Then no session is made
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "sign_in_failed"
    assert client.get("/v1/me").status_code == 401
