"""Sends an email to an account holder and keeps the record of it (P13): at most once, so the record
is written after the send, and a record that cannot be written is logged, never retried by failing.

Every email reports on an action that has already committed, so this is the one place a
notification failure is handled: whatever goes wrong building or sending the message (an outage, an
address or header the mail library refuses) is logged and counted (the `EmailsNotSent` metric),
and the caller carries on; no handler or use case catches mail errors itself."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from atelier import errors
from atelier.clock import Clock
from atelier.data.emails import SentEmailRepository
from atelier.ids import IdPrefix, new_id
from atelier.integrations.email import Mailer, SuppressedAddressError
from atelier.models.accounts import Account
from atelier.models.email import EmailKind, OutgoingEmail, SentEmail
from atelier.observability import logger, metrics, record_metric


def send_email(
    account: Account,
    kind: EmailKind,
    subject: str,
    text: str,
    *,
    to: str | None = None,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
) -> bool:
    """Answers whether the email went out. It goes to the account's address, or to `to` (a new
    address being confirmed). Marketing goes only to those who opted in. Never raises for the mail
    itself: the action the email reports on stands whatever happens here."""
    if not kind.is_transactional and not account.consent.marketing_emails:
        return False
    try:
        mailer.send(OutgoingEmail(to=to or account.email, kind=kind, subject=subject, text=text))
    except SuppressedAddressError:
        logger.info("email not sent to a suppressed address", extra={"email_kind": kind.value})
        record_metric("EmailsSuppressed", kind=kind.value)
        return False
    except Exception as exc:
        logger.warning("email not sent", extra={"email_kind": kind.value, "reason": type(exc).__name__})
        metrics.add_metric(name="EmailsNotSent", unit=MetricUnit.Count, value=1)
        return False
    record_metric("EmailsSent", kind=kind.value)
    sent = SentEmail(id=new_id(IdPrefix.EMAIL), account_id=account.id, kind=kind, subject=subject, sent_at=clock.now())
    try:
        sent_emails.record(sent)
    except errors.DependencyUnavailableError:
        # The email went out and cannot be taken back: failing now would only make the caller's
        # retry (a redelivery, a client repeating its request) send it a second time.
        logger.warning("sent email not recorded", extra={"email_kind": kind.value})
    return True
