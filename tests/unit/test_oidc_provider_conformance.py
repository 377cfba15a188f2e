"""Sign-in against providers that follow the specifications more strictly than the local issuer did:
claims only in UserInfo (OIDC Core 5.4), `azp` (OIDC Core 3.1.3.7), form-urlencoded client
credentials (RFC 6749 2.3.1), https issuers, and the callback's `iss` (RFC 9207)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from atelier import errors
from atelier.integrations.oidc import OidcClient, ProviderTokens
from atelier.settings import OidcProviderSettings
from atelier.usecases.begin_sign_in import code_challenge
from local.oidc import USERINFO_ONLY_PREFIX, LocalOidcIssuer, subject_for
from local.standins import LocalRequest, LocalResponse
from tests.support.oidc import BASE_URL, client_for, issuer_transport

REDIRECT_URI = "http://127.0.0.1:8800/v1/auth/callback"
VERIFIER = "v" * 43


def _sign_in(client: OidcClient, email: str, *, nonce: str = "n-1") -> tuple[ProviderTokens, str]:
    """Authorizes at the issuer and exchanges the code: the tokens, and the callback's `iss`."""
    url = client.authorization_url(
        redirect_uri=REDIRECT_URI, state="s", nonce=nonce, code_challenge=code_challenge(VERIFIER), login_hint=email
    )
    callback = parse_qs(urlsplit(client.http.get(url).headers["location"]).query)
    provider_tokens = client.exchange_code(code=callback["code"][0], code_verifier=VERIFIER, redirect_uri=REDIRECT_URI)
    return provider_tokens, callback["iss"][0]


@pytest.fixture
def userinfo_issuer() -> LocalOidcIssuer:
    return LocalOidcIssuer(prefix=USERINFO_ONLY_PREFIX, claims_in_userinfo_only=True)


def test_claims_kept_to_user_info_still_sign_in(userinfo_issuer: LocalOidcIssuer) -> None:
    # Given a provider whose ID tokens carry no email, name or picture (panva's default)
    client = client_for(userinfo_issuer)
    provider_tokens, _ = _sign_in(client, "grace.hopper@example.com")
    # When
    identity = client.identify(provider_tokens, nonce="n-1")
    # Then the email, its verification and the name come from UserInfo
    assert identity.email == "grace.hopper@example.com"
    assert identity.email_verified is True
    assert identity.name == "Grace Hopper"
    assert identity.subject == subject_for("grace.hopper@example.com")


def test_user_info_about_another_subject_is_refused(userinfo_issuer: LocalOidcIssuer) -> None:
    # Given UserInfo that answers about someone other than the ID token's subject
    userinfo_issuer.user_info_overrides = {"sub": subject_for("victim@example.com"), "email": "victim@example.com"}
    client = client_for(userinfo_issuer)
    provider_tokens, _ = _sign_in(client, "mallory@example.com")
    # Then
    with pytest.raises(errors.SignInFailedError):
        client.identify(provider_tokens, nonce="n-1")


def test_without_an_access_token_user_info_cannot_be_read(userinfo_issuer: LocalOidcIssuer) -> None:
    # Given tokens without the access token UserInfo needs
    client = client_for(userinfo_issuer)
    provider_tokens, _ = _sign_in(client, "ada@example.com")
    # Then the missing email is said plainly
    with pytest.raises(errors.SignInFailedError, match="did not share an email"):
        client.identify(ProviderTokens(provider_tokens.id_token), nonce="n-1")


@pytest.mark.parametrize("audience", ["atelier-local", ["atelier-local", "another-client"]])
def test_an_azp_naming_another_client_is_refused(audience: Any) -> None:
    # Given an ID token for this client, authorized for another one
    issuer = LocalOidcIssuer()
    token = issuer.sign_id_token(
        f"{BASE_URL}{issuer.prefix}", "ada@example.com", nonce="n-1", extra_claims={"aud": audience, "azp": "other"}
    )
    # Then
    with pytest.raises(errors.SignInFailedError):
        client_for(issuer).identify(ProviderTokens(token), nonce="n-1")


def test_an_azp_naming_this_client_is_accepted() -> None:
    issuer = LocalOidcIssuer()
    token = issuer.sign_id_token(
        f"{BASE_URL}{issuer.prefix}",
        "ada@example.com",
        nonce="n-1",
        extra_claims={"aud": ["atelier-local", "another-client"], "azp": "atelier-local"},
    )
    assert client_for(issuer).identify(ProviderTokens(token), nonce="n-1").email == "ada@example.com"


@pytest.mark.parametrize("secret", ["a+b/c=d", "with:colon%and space", "plain-secret"])
def test_a_client_secret_with_reserved_characters_authenticates(secret: str) -> None:
    # Given a provider that decodes the Basic credentials as RFC 6749 2.3.1 says
    issuer = LocalOidcIssuer(client_secret=secret)
    client = client_for(issuer, secret=secret)
    # When the code is exchanged, then the provider accepts the client
    provider_tokens, _ = _sign_in(client, "ada@example.com")
    assert client.identify(provider_tokens, nonce="n-1").email == "ada@example.com"


@pytest.mark.parametrize(
    ("issuer", "loopback_allowed"),
    [
        ("http://idp.example", True),
        ("http://idp.example", False),
        ("http://127.0.0.1:8799/_local/oidc", False),
        ("http://localhost:8799/_local/oidc", False),
    ],
)
def test_a_plain_http_issuer_is_refused_unless_on_this_machine_in_local_mode(
    issuer: str, loopback_allowed: bool
) -> None:
    # Given a client for an http issuer (answered by the local issuer, so only the rule can refuse)
    requests: list[str] = []
    transport = issuer_transport(LocalOidcIssuer())

    def recording(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        return transport.handle_request(request)

    settings = OidcProviderSettings(issuer=issuer, client_id="atelier-local", client_secret="atelier-local-secret")
    client = OidcClient(
        settings,
        "atelier-local-secret",
        http=httpx.Client(transport=httpx.MockTransport(recording)),
        allow_loopback_http=loopback_allowed,
    )
    # When sign-in starts, then it is refused before anything is sent
    with pytest.raises(errors.DependencyUnavailableError):
        client.authorization_url(redirect_uri=REDIRECT_URI, state="s", nonce="n", code_challenge="c", login_hint=None)
    assert requests == []


def test_a_loopback_issuer_is_used_in_local_mode() -> None:
    client = client_for(LocalOidcIssuer())
    assert client.authorization_url(
        redirect_uri=REDIRECT_URI, state="s", nonce="n", code_challenge="c", login_hint=None
    ).startswith(f"{BASE_URL}/_local/oidc/authorize?")


def test_the_callback_iss_must_name_the_provider() -> None:
    # Given a provider that sends `iss` on its callbacks (and says so in discovery)
    issuer = LocalOidcIssuer()
    client = client_for(issuer)
    _, callback_issuer = _sign_in(client, "ada@example.com")
    # Then the issuer it sent is accepted; another one, or none, is refused
    client.check_response_issuer(callback_issuer)
    with pytest.raises(errors.SignInFailedError):
        client.check_response_issuer("https://attacker.example")
    with pytest.raises(errors.SignInFailedError):
        client.check_response_issuer(None)


class _IssuerWithoutIssParameter(LocalOidcIssuer):
    """A provider that does not support RFC 9207 (its discovery says nothing about it)."""

    def discovery(self, request: LocalRequest) -> LocalResponse:
        document = json.loads(super().discovery(request).body)
        document.pop("authorization_response_iss_parameter_supported")
        return LocalResponse.json(document)


def test_a_provider_without_rfc_9207_may_leave_iss_out_but_not_send_a_wrong_one() -> None:
    client = client_for(_IssuerWithoutIssParameter())
    client.check_response_issuer(None)
    with pytest.raises(errors.SignInFailedError):
        client.check_response_issuer("https://attacker.example")
