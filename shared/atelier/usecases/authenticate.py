"""Resolves who is making a request: anonymous, an account through its session cookie, or an
account through an API key; and guards cookie-authenticated unsafe requests against other sites."""

from __future__ import annotations

from datetime import timedelta

from atelier import errors, tokens
from atelier.clock import Clock
from atelier.data.api_keys import ApiKeyRepository
from atelier.data.sessions import SessionRepository
from atelier.models.accounts import Principal, PrincipalKind
from atelier.settings import Settings

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A key's last use is recorded to this precision: at most one write per key per interval.
API_KEY_USE_PRECISION = timedelta(minutes=5)


def authenticate(
    *,
    method: str,
    session_token: str | None,
    bearer_token: str | None,
    origin: str | None,
    allowed_origins: frozenset[str],
    sessions: SessionRepository,
    api_keys: ApiKeyRepository,
    clock: Clock,
    settings: Settings,
) -> Principal:
    if bearer_token is not None:
        # A key that does not work is an error, not a fall back to anonymous: scripts should know.
        found = api_keys.find_by_token_hash(tokens.hash_token(bearer_token)) if bearer_token else None
        if found is None:
            raise errors.NotSignedInError("The API key is not valid.")
        now = clock.now()
        if found.last_used_at is None or now - found.last_used_at >= API_KEY_USE_PRECISION:
            api_keys.record_use(found, tokens.hash_token(bearer_token), now)
        return Principal(
            kind=PrincipalKind.ACCOUNT,
            account_id=found.account_id,
            via="api_key",
            api_key_id=found.api_key_id,
            ledger_id=found.ledger_id,
            default_workspace_id=found.default_workspace_id,
            scopes=found.scopes,
        )

    if not session_token:
        return Principal.anonymous()
    token_hash = tokens.hash_token(session_token)
    session = sessions.find_by_token_hash(token_hash)
    now = clock.now()
    if session is None or not session.is_live(now):
        return Principal.anonymous()
    if method.upper() in UNSAFE_METHODS and origin not in allowed_origins:
        raise errors.ForbiddenOriginError()
    sessions.touch(token_hash, session, now, timedelta(seconds=settings.sign_in.session_idle_seconds))
    return Principal(
        kind=PrincipalKind.ACCOUNT,
        account_id=session.account_id,
        via="session",
        session_id=session.id,
        ledger_id=session.ledger_id,
        default_workspace_id=session.default_workspace_id,
    )


def require_account_id(principal: Principal) -> str:
    if not principal.is_signed_in or principal.account_id is None:
        raise errors.NotSignedInError()
    return principal.account_id
