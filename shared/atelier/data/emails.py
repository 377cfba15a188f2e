"""The record of emails sent to an account (kind, subject, time), kept 30 days for the account's
export and then removed."""

from __future__ import annotations

from datetime import timedelta

from atelier.data import keys
from atelier.data.base import epoch_seconds, translate_errors
from atelier.data.items import SentEmailItem
from atelier.models.email import EmailKind, SentEmail

SENT_EMAIL_RETENTION = timedelta(days=30)


class SentEmailRepository:
    def record(self, sent: SentEmail) -> None:
        item = SentEmailItem(
            keys.account_pk(sent.account_id),
            keys.email_sk(sent.id),
            entity="sent_email",
            email_id=sent.id,
            kind=sent.kind.value,
            subject=sent.subject,
            sent_at=sent.sent_at,
            expires_at=epoch_seconds(sent.sent_at + SENT_EMAIL_RETENTION),
        )
        with translate_errors():
            item.save()

    def list(self, account_id: str) -> list[SentEmail]:
        with translate_errors():
            items = SentEmailItem.query(keys.account_pk(account_id), SentEmailItem.sk.startswith(keys.EMAIL_PREFIX))
            return [
                SentEmail(
                    id=item.email_id,
                    account_id=account_id,
                    kind=EmailKind(item.kind),
                    subject=item.subject,
                    sent_at=item.sent_at,
                )
                for item in items
            ]
