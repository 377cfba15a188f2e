"""Sends an email to an account holder and keeps the record of it (P13): at most once, so the record
is written after the send, and a record that cannot be written is logged, never retried by failing."""

from __future__ import annotations

from atelier import errors
from atelier.clock import Clock
from atelier.data.emails import SentEmailRepository
from atelier.ids import IdPrefix, new_id
from atelier.integrations.email import Mailer
from atelier.models.accounts import Account
from atelier.models.email import EmailKind, OutgoingEmail, SentEmail
from atelier.observability import logger


def send_email(
    account: Account,
    kind: EmailKind,
    subject: str,
    text: str,
    *,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
) -> bool:
    """Answers whether the email went out. Marketing goes only to those who opted in; a mail
    outage is logged and does not undo the action the email reports on."""
    if not kind.is_transactional and not account.consent.marketing_emails:
        return False
    try:
        mailer.send(OutgoingEmail(to=account.email, kind=kind, subject=subject, text=text))
    except errors.DependencyUnavailableError:
        logger.warning("email not sent", extra={"email_kind": kind.value})
        return False
    sent = SentEmail(id=new_id(IdPrefix.EMAIL), account_id=account.id, kind=kind, subject=subject, sent_at=clock.now())
    try:
        sent_emails.record(sent)
    except errors.DependencyUnavailableError:
        # The email went out and cannot be taken back: failing now would only make the caller's
        # retry (a redelivery, a client repeating its request) send it a second time.
        logger.warning("sent email not recorded", extra={"email_kind": kind.value})
    return True
