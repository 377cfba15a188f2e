"""Ends this session, or every session of the account and nothing else."""

from __future__ import annotations

from atelier import tokens
from atelier.data.sessions import SessionRepository
from atelier.models.accounts import Principal


def sign_out(principal: Principal, session_token: str | None, *, sessions: SessionRepository) -> None:
    if principal.via != "session" or not session_token or not principal.account_id or not principal.session_id:
        return
    sessions.delete(principal.account_id, principal.session_id, tokens.hash_token(session_token))


def sign_out_everywhere(account_id: str, *, sessions: SessionRepository) -> int:
    return sessions.delete_all(account_id)
