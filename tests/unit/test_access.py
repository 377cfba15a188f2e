"""Who may call a route: each kind of access against each kind of caller."""

from __future__ import annotations

from typing import get_args

import pytest

from atelier import errors
from atelier.api.access import Access, InsufficientScopeError, SessionRequiredError
from atelier.api.schemas.accounts import ScopeName
from atelier.models.accounts import DEFAULT_SCOPES, Principal, PrincipalKind, Scope

ANONYMOUS = Principal.anonymous()
SESSION = Principal(kind=PrincipalKind.ACCOUNT, account_id="acc_1", via="session")
DEFAULT_KEY = Principal(kind=PrincipalKind.ACCOUNT, account_id="acc_1", via="api_key", scopes=DEFAULT_SCOPES)
FULL_KEY = Principal(kind=PrincipalKind.ACCOUNT, account_id="acc_1", via="api_key", scopes=frozenset(Scope))
ADMIN_ID = "acc_admin"


def require_admin(account_id: str | None) -> str:
    if account_id != ADMIN_ID:
        raise errors.NotFoundError("No such route.")
    return account_id


def outcome(access: Access, caller: Principal) -> str:
    try:
        access.enforce(caller, require_admin=require_admin)
    except errors.AtelierError as error:
        return error.code
    return "allowed"


@pytest.mark.parametrize(
    ("access", "anonymous", "session", "default_key", "full_key"),
    [
        (Access.public(), "allowed", "allowed", "allowed", "allowed"),
        (Access.signed("stripeSignature"), "allowed", "allowed", "allowed", "allowed"),
        (Access.optional(Scope.LIBRARY_READ), "allowed", "allowed", "allowed", "allowed"),
        (Access.optional(Scope.LIBRARY_WRITE), "allowed", "allowed", "insufficient_scope", "allowed"),
        (Access.signed_in(), "not_signed_in", "allowed", "allowed", "allowed"),
        (Access.scoped(Scope.GENERATE), "not_signed_in", "allowed", "allowed", "allowed"),
        (Access.scoped(Scope.BILLING_READ), "not_signed_in", "allowed", "insufficient_scope", "allowed"),
        (Access.scoped(Scope.WEBHOOKS_READ), "not_signed_in", "allowed", "insufficient_scope", "allowed"),
        (Access.scoped(Scope.WEBHOOKS_WRITE), "not_signed_in", "allowed", "insufficient_scope", "allowed"),
        (Access.scoped(Scope.ACCOUNT_EXPORT), "not_signed_in", "allowed", "insufficient_scope", "allowed"),
        (Access.session(), "not_signed_in", "allowed", "session_required", "session_required"),
        (Access.admin(), "not_found", "not_found", "not_found", "not_found"),
    ],
)
def test_each_access_admits_exactly_its_callers(access, anonymous, session, default_key, full_key):
    assert [outcome(access, caller) for caller in (ANONYMOUS, SESSION, DEFAULT_KEY, FULL_KEY)] == [
        anonymous,
        session,
        default_key,
        full_key,
    ]


def test_an_admin_needs_a_session_not_a_key():
    admin_session = SESSION.model_copy(update={"account_id": ADMIN_ID})
    admin_key = FULL_KEY.model_copy(update={"account_id": ADMIN_ID})
    assert outcome(Access.admin(), admin_session) == "allowed"
    with pytest.raises(SessionRequiredError):
        Access.admin().enforce(admin_key, require_admin=require_admin)


def test_a_missing_scope_is_named():
    with pytest.raises(InsufficientScopeError) as refused:
        Access.scoped(Scope.LIBRARY_WRITE).enforce(DEFAULT_KEY, require_admin=require_admin)
    assert refused.value.details == {"required_scope": "library:write"}
    assert "library:write" in refused.value.message


def test_a_signed_route_reads_no_credentials_and_names_its_signature_scheme():
    # The handler verifies the sender's signature over the body; the guard reads no cookie or key.
    assert not Access.signed("stripeSignature").reads_credentials
    with pytest.raises(ValueError, match="signature scheme"):
        Access.signed()


def test_the_security_requirement_follows_the_access():
    assert Access.public().security() == [{}]
    assert Access.signed("stripeSignature").security() == [{"stripeSignature": []}]
    assert Access.admin().security() == [{"session": ["admin"]}]
    assert Access.session().security() == [{"session": []}]
    assert Access.signed_in().security() == [{"session": []}, {"apiKey": []}]
    assert Access.scoped(Scope.GENERATE).security() == [{"session": []}, {"apiKey": ["generate"]}]
    assert Access.optional(Scope.LIBRARY_READ).security() == [{}, {"session": []}, {"apiKey": ["library:read"]}]


def test_a_key_is_made_with_any_scope_but_gets_webhooks_and_exports_only_when_named():
    assert set(get_args(ScopeName)) == {scope.value for scope in Scope}
    assert {Scope.GENERATE, Scope.LIBRARY_READ} == DEFAULT_SCOPES
