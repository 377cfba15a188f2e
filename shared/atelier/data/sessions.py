"""Sign-in sessions: a token pointer (looked up by the token's hash) and the owner's listing of it,
always written and deleted together."""

from __future__ import annotations

from datetime import datetime, timedelta

from atelier.data import keys
from atelier.data.base import epoch_seconds, transaction, translate_errors
from atelier.data.items import PointerItem, SessionItem
from atelier.models.accounts import Session

# Refreshing the idle deadline costs a write, so it happens at most this often per session.
_IDLE_REFRESH_INTERVAL = timedelta(minutes=15)


def _to_session(pointer: PointerItem) -> Session:
    return Session(
        id=pointer.ref_id or "",
        account_id=pointer.account_id,
        ledger_id=pointer.ledger_id,
        default_workspace_id=pointer.default_workspace_id,
        created_at=pointer.created_at,
        last_seen_at=pointer.last_seen_at or pointer.created_at,
        idle_expires_at=pointer.idle_expires_at or pointer.created_at,
        absolute_expires_at=pointer.absolute_expires_at or pointer.created_at,
    )


class SessionRepository:
    def create(self, session: Session, token_hash: str) -> None:
        pointer = PointerItem(
            keys.session_pointer_pk(token_hash),
            keys.POINTER_SK,
            entity="session_token",
            account_id=session.account_id,
            ref_id=session.id,
            ledger_id=session.ledger_id,
            default_workspace_id=session.default_workspace_id,
            created_at=session.created_at,
            last_seen_at=session.last_seen_at,
            idle_expires_at=session.idle_expires_at,
            absolute_expires_at=session.absolute_expires_at,
            expires_at=epoch_seconds(session.absolute_expires_at),
        )
        listing = SessionItem(
            keys.account_pk(session.account_id),
            keys.session_sk(session.id),
            entity="session",
            session_id=session.id,
            token_hash=token_hash,
            created_at=session.created_at,
            expires_at=epoch_seconds(session.absolute_expires_at),
        )
        with translate_errors(), transaction() as tx:
            tx.save(pointer, condition=PointerItem.pk.does_not_exist())
            tx.save(listing)

    def find_by_token_hash(self, token_hash: str) -> Session | None:
        with translate_errors():
            try:
                pointer = PointerItem.get(keys.session_pointer_pk(token_hash), keys.POINTER_SK, consistent_read=True)
            except PointerItem.DoesNotExist:
                return None
        if pointer.entity != "session_token":
            return None
        return _to_session(pointer)

    def touch(self, token_hash: str, session: Session, now: datetime, idle: timedelta) -> Session:
        """Moves the idle deadline on, at most every few minutes."""
        if now - session.last_seen_at < _IDLE_REFRESH_INTERVAL:
            return session
        idle_expires_at = min(now + idle, session.absolute_expires_at)
        pointer = PointerItem(keys.session_pointer_pk(token_hash), keys.POINTER_SK)
        with translate_errors():
            pointer.update(
                actions=[PointerItem.last_seen_at.set(now), PointerItem.idle_expires_at.set(idle_expires_at)],
                condition=PointerItem.pk.exists(),
            )
        return session.model_copy(update={"last_seen_at": now, "idle_expires_at": idle_expires_at})

    def delete(self, account_id: str, session_id: str, token_hash: str) -> None:
        with translate_errors(), transaction() as tx:
            tx.delete(PointerItem(keys.session_pointer_pk(token_hash), keys.POINTER_SK))
            tx.delete(SessionItem(keys.account_pk(account_id), keys.session_sk(session_id)))

    def delete_all(self, account_id: str) -> int:
        """Ends every session of the account; answers how many there were."""
        with translate_errors():
            listings = list(
                SessionItem.query(keys.account_pk(account_id), SessionItem.sk.startswith(keys.SESSION_PREFIX))
            )
            with SessionItem.batch_write() as batch:
                for listing in listings:
                    batch.delete(PointerItem(keys.session_pointer_pk(listing.token_hash), keys.POINTER_SK))
                    batch.delete(listing)
        return len(listings)
