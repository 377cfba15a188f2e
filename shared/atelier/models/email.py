"""Email kinds (P13): transactional kinds go to every account holder; marketing only on opt-in."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

# An address mail can be sent to: ASCII only (SES takes neither UTF-8 local parts nor unencoded
# international domains), exactly one mailbox, and none of the characters that make a header hold
# another mailbox or none at all (`,` `;` `<` `[` spaces, control characters...).
EMAIL_ADDRESS_PATTERN = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(?:[A-Za-z0-9-]+\.)+[A-Za-z0-9-]+$"
EMAIL_ADDRESS_MAX_LENGTH = 254
DISPLAY_NAME_MAX_LENGTH = 100
_EMAIL_ADDRESS = re.compile(EMAIL_ADDRESS_PATTERN)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def deliverable_address(value: str) -> str | None:
    """The address, without surrounding spaces, if it is one mailbox mail can be sent to; None
    otherwise (a control character anywhere, a trailing newline included, refuses it)."""
    address = value.strip(" ")
    if len(address) > EMAIL_ADDRESS_MAX_LENGTH or not _EMAIL_ADDRESS.fullmatch(address):
        return None
    return address


def clean_display_name(value: str) -> str:
    """A name as shown and written into mail: control characters (CR, LF, NUL...) become spaces,
    runs of spaces one, trimmed and cut to the display length."""
    text = " ".join(_CONTROL_CHARACTERS.sub(" ", value).split())
    return text[:DISPLAY_NAME_MAX_LENGTH].strip()


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
