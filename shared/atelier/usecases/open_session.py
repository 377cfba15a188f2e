"""Opens a session: a new random token each time, only its hash stored."""

from __future__ import annotations

from datetime import timedelta

from atelier import tokens
from atelier.clock import Clock
from atelier.data.sessions import SessionRepository
from atelier.ids import IdPrefix, new_id
from atelier.models.accounts import Account, Session
from atelier.settings import Settings


def open_session(
    account: Account, *, sessions: SessionRepository, clock: Clock, settings: Settings
) -> tuple[str, Session]:
    now = clock.now()
    token = tokens.new_token(tokens.SESSION_TOKEN_PREFIX)
    session = Session(
        id=new_id(IdPrefix.SESSION),
        account_id=account.id,
        ledger_id=account.ledger_id,
        default_workspace_id=account.default_workspace_id,
        created_at=now,
        last_seen_at=now,
        idle_expires_at=now + timedelta(seconds=settings.sign_in.session_idle_seconds),
        absolute_expires_at=now + timedelta(seconds=settings.sign_in.session_absolute_seconds),
    )
    sessions.create(session, tokens.hash_token(token))
    return token, session
