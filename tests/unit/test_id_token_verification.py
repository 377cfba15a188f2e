"""ID tokens are verified against the issuer's JWKS: signature, issuer, audience, expiry and nonce."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from atelier import errors
from atelier.integrations.oidc import ProviderTokens
from local.oidc import LocalOidcIssuer, subject_for
from tests.support.oidc import ISSUER, client_for


@pytest.fixture
def issuer():
    return LocalOidcIssuer()


def test_a_well_formed_token_gives_the_identity(issuer):
    # Given a token signed by the issuer for this client with the expected nonce
    token = issuer.sign_id_token(ISSUER, "ada@example.com", nonce="n-1")
    # When
    identity = client_for(issuer).identify(ProviderTokens(token), nonce="n-1")
    # Then
    assert identity.email == "ada@example.com"
    assert identity.subject == subject_for("ada@example.com")
    assert identity.issuer == ISSUER
    assert identity.email_verified is True


@pytest.mark.parametrize(
    "case",
    ["nonce mismatch", "missing nonce", "expired", "wrong audience", "wrong issuer", "no email"],
)
def test_tokens_that_do_not_check_out_are_refused(issuer, case):
    now = int(time.time())
    overrides = {
        "nonce mismatch": {"nonce": "someone-else"},
        "missing nonce": {},
        "expired": {"exp": now - 3600, "iat": now - 7200},
        "wrong audience": {"aud": "another-client"},
        "wrong issuer": {"iss": "http://evil.test/_local/oidc"},
        "no email": {"email": None},
    }[case]
    nonce = None if case == "missing nonce" else "n-1"
    token = issuer.sign_id_token(ISSUER, "ada@example.com", nonce=nonce, extra_claims=overrides)
    with pytest.raises(errors.SignInFailedError):
        client_for(issuer).identify(ProviderTokens(token), nonce="n-1")


def test_a_token_signed_with_another_key_is_refused(issuer):
    # Given a token that claims the issuer's key id but is signed by another key
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = {"iss": ISSUER, "aud": issuer.client_id, "sub": "x", "email": "x@example.com", "nonce": "n-1"}
    claims |= {"iat": int(time.time()), "exp": int(time.time()) + 300}
    token = jwt.encode(claims, impostor, algorithm="RS256", headers={"kid": issuer.key_id})
    # Then
    with pytest.raises(errors.SignInFailedError):
        client_for(issuer).identify(ProviderTokens(token), nonce="n-1")


def test_unsigned_and_symmetric_tokens_are_refused(issuer):
    claims = {"iss": ISSUER, "aud": issuer.client_id, "sub": "x", "email": "x@example.com", "nonce": "n-1"}
    claims |= {"iat": int(time.time()), "exp": int(time.time()) + 300}
    unsigned = jwt.encode(claims, None, algorithm="none")
    symmetric = jwt.encode(
        claims, "guessable-secret-of-32-bytes-len!", algorithm="HS256", headers={"kid": issuer.key_id}
    )
    for token in (unsigned, symmetric):
        with pytest.raises(errors.SignInFailedError):
            client_for(issuer).identify(ProviderTokens(token), nonce="n-1")


def test_a_code_works_once_and_only_with_its_pkce_verifier(issuer):
    # Given an approved authorization request
    from urllib.parse import parse_qs, urlsplit

    from atelier.usecases.begin_sign_in import code_challenge

    client = client_for(issuer)
    redirect_uri = "http://api.test/v1/auth/callback"
    url = client.authorization_url(
        redirect_uri=redirect_uri, state="s", nonce="n", code_challenge=code_challenge("verifier"), login_hint="a@b.co"
    )
    answer = client.http.get(url)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    # When the code is exchanged with the wrong verifier, then it is refused and spent
    with pytest.raises(errors.SignInFailedError):
        client.exchange_code(code=code, code_verifier="not-the-verifier", redirect_uri=redirect_uri)
    with pytest.raises(errors.SignInFailedError):
        client.exchange_code(code=code, code_verifier="verifier", redirect_uri=redirect_uri)


def test_the_exchange_gives_a_token_that_verifies(issuer):
    from urllib.parse import parse_qs, urlsplit

    from atelier.usecases.begin_sign_in import code_challenge

    client = client_for(issuer)
    redirect_uri = "http://api.test/v1/auth/callback"
    url = client.authorization_url(
        redirect_uri=redirect_uri, state="s", nonce="n-9", code_challenge=code_challenge("v" * 43), login_hint="c@d.co"
    )
    code = parse_qs(urlsplit(client.http.get(url).headers["location"]).query)["code"][0]
    provider_tokens = client.exchange_code(code=code, code_verifier="v" * 43, redirect_uri=redirect_uri)
    assert client.identify(provider_tokens, nonce="n-9").email == "c@d.co"
