"""The admin role is granted by email address, so an address the identity provider has not verified
never signs in as an admin; any other unverified address signs in as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atelier import errors, tokens
from atelier.clock import SystemClock
from atelier.integrations.oidc import ProviderTokens
from atelier.models.accounts import Identity, SignInState
from atelier.settings import Settings
from atelier.usecases.complete_sign_in import CompleteSignInDeps, complete_sign_in

ADMIN = "moderator@atelier.example"


class _States:
    def __init__(self) -> None:
        self.pending = SignInState(
            state_hash=tokens.hash_token("state-1"),
            browser_binding_hash=tokens.hash_token("binding-1"),
            nonce="n-1",
            code_verifier="v-1",
            provider="generic",
            redirect_to="/",
            expires_at=datetime.now(UTC) + timedelta(minutes=5),
        )

    def consume(self, state_hash: str) -> SignInState | None:
        return self.pending if state_hash == self.pending.state_hash else None


class _Provider:
    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    def check_response_issuer(self, _issuer: str | None) -> None:
        return None

    def exchange_code(self, **_: Any) -> ProviderTokens:
        return ProviderTokens("id-token")

    def identify(self, _tokens: ProviderTokens, *, nonce: str) -> Identity:
        assert nonce == "n-1"
        return self.identity


class _ReachedAccounts(Exception):
    """Raised by the account store: the sign-in went past the identity checks."""


class _Accounts:
    def find_by_identity(self, issuer: str, subject: str) -> None:
        raise _ReachedAccounts


def _sign_in(email: str, *, verified: bool) -> None:
    identity = Identity(issuer="https://idp.example", subject="s-1", email=email, email_verified=verified)
    complete_sign_in(
        CompleteSignInDeps(
            provider_for=lambda _name: _Provider(identity),
            states=_States(),
            accounts=_Accounts(),
            sessions=None,
            clock=SystemClock(),
            settings=Settings(admin_emails=[ADMIN]),
        ),
        code="code-1",
        state="state-1",
        provider_error=None,
        browser_binding="binding-1",
        callback_url="https://api.example/v1/auth/callback",
    )


@pytest.mark.parametrize("email", [ADMIN, ADMIN.upper(), f" {ADMIN} "])
def test_an_unverified_admin_address_is_refused(email: str) -> None:
    with pytest.raises(errors.SignInFailedError):
        _sign_in(email, verified=False)


def test_a_verified_admin_address_goes_on_to_the_account() -> None:
    with pytest.raises(_ReachedAccounts):
        _sign_in(ADMIN, verified=True)


def test_an_unverified_ordinary_address_goes_on_to_the_account() -> None:
    with pytest.raises(_ReachedAccounts):
        _sign_in("someone@example.com", verified=False)
