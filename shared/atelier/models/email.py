"""Email kinds (P13): transactional kinds go to every account holder; marketing only on opt-in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class EmailKind(StrEnum):
    ACCOUNT = "account"
    BILLING = "billing"
    SECURITY = "security"
    PRIVACY = "privacy"
    POLICY = "policy"
    MARKETING = "marketing"
    # To the moderators (the admin addresses), not to an account holder.
    MODERATION = "moderation"

    @property
    def is_transactional(self) -> bool:
        return self is not EmailKind.MARKETING


class OutgoingEmail(BaseModel):
    model_config = ConfigDict(frozen=True)

    to: str
    kind: EmailKind
    subject: str
    text: str


class SentEmail(BaseModel):
    """The record kept of an email sent to an account: kind, time and subject, never the body."""

    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    kind: EmailKind
    subject: str
    sent_at: datetime
