"""Pending changes of email address: one per account, in the account's partition, holding the new
address and only the hash of the token the confirmation link carries."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError, TransactWriteError

from atelier.data import keys
from atelier.data.base import cancellation_codes, epoch_seconds, is_conditional_failure, transaction, translate_errors
from atelier.data.items import AccountItem, EmailChangeItem
from atelier.models.accounts import PendingEmailChange


def _to_change(account_id: str, item: EmailChangeItem) -> PendingEmailChange:
    return PendingEmailChange(
        account_id=account_id,
        new_email=item.new_email,
        token_hash=item.token_hash,
        requested_at=item.requested_at,
        expires_at=item.change_expires_at,
    )


class EmailChangeRepository:
    def save(self, change: PendingEmailChange) -> None:
        """Stores the change, replacing any earlier one (whose link stops working)."""
        item = EmailChangeItem(
            keys.account_pk(change.account_id),
            keys.EMAIL_CHANGE_SK,
            entity="email_change",
            new_email=change.new_email,
            token_hash=change.token_hash,
            requested_at=change.requested_at,
            change_expires_at=change.expires_at,
            expires_at=epoch_seconds(change.expires_at),
        )
        with translate_errors():
            item.save()

    def pending(self, account_id: str) -> PendingEmailChange | None:
        with translate_errors():
            try:
                item = EmailChangeItem.get(keys.account_pk(account_id), keys.EMAIL_CHANGE_SK, consistent_read=True)
            except EmailChangeItem.DoesNotExist:
                return None
        return _to_change(account_id, item)

    def discard(self, account_id: str) -> None:
        with translate_errors():
            try:
                EmailChangeItem(keys.account_pk(account_id), keys.EMAIL_CHANGE_SK).delete()
            except DeleteError as exc:
                if not is_conditional_failure(exc):
                    raise

    def apply(self, change: PendingEmailChange) -> bool:
        """Makes the new address the account's and spends the change, in one transaction, and only
        while the change stored is this one (same token): a link works once. False if it was not."""
        account = AccountItem(keys.account_pk(change.account_id), keys.ACCOUNT_SK)
        with translate_errors():
            try:
                with transaction() as tx:
                    tx.delete(
                        EmailChangeItem(keys.account_pk(change.account_id), keys.EMAIL_CHANGE_SK),
                        condition=EmailChangeItem.token_hash == change.token_hash,
                    )
                    tx.update(
                        account,
                        actions=[AccountItem.email.set(change.new_email)],
                        condition=AccountItem.pk.exists(),
                    )
            except TransactWriteError as exc:
                if "ConditionalCheckFailed" in cancellation_codes(exc):
                    return False
                raise
        return True
