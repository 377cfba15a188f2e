"""The moderation audit trail (P7, P19): every moderator action (resolutions and lifted
suspensions), one month at a time, newest first, with the moderator's address beside their id so a
reviewer can tell who acted."""

from __future__ import annotations

from dataclasses import dataclass

from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.moderation import ModerationRepository
from atelier.models.gallery import AuditEntry


@dataclass(frozen=True)
class AuditTrailPage:
    month: str
    entries: list[AuditEntry]
    # Moderator id -> email, for the moderators on this page whose accounts still exist.
    moderators: dict[str, str]
    next_cursor: str | None


def read_audit_trail(
    month: str | None,
    *,
    limit: int,
    cursor: str | None,
    moderation: ModerationRepository,
    accounts: AccountRepository,
    clock: Clock,
) -> AuditTrailPage:
    month = month or clock.now().strftime("%Y-%m")
    entries, next_cursor = moderation.audit_page(month, limit=limit, after=cursor)
    moderators: dict[str, str] = {}
    for moderator_id in {entry.moderator_id for entry in entries}:
        account = accounts.get(moderator_id)
        if account is not None:
            moderators[moderator_id] = account.email
    return AuditTrailPage(month=month, entries=entries, moderators=moderators, next_cursor=next_cursor)
