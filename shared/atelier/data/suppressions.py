"""Addresses SES reported as permanently bouncing or complaining: PK=SUPPRESSION#<address hash>
SK=POINTER, with the reason and when. Only the address's hash is kept; the account row lists the
suppression of its address as one of its pointers, so the export shows it and the purge deletes it
(docs/decisions.md, "Email suppressions")."""

from __future__ import annotations

import hashlib
from datetime import datetime

from pynamodb.attributes import UnicodeAttribute, UTCDateTimeAttribute

from atelier.data import keys
from atelier.data.base import MainTableModel, translate_errors


def address_hash(address: str) -> str:
    """The suppression's key for an address (trimmed, lower-cased: SES reports it as it was sent)."""
    return hashlib.sha256(f"atelier-email:{address.strip().lower()}".encode()).hexdigest()


class SuppressionItem(MainTableModel):
    reason = UnicodeAttribute()  # "bounce" (permanent) or "complaint"
    suppressed_at = UTCDateTimeAttribute()


class SuppressionRepository:
    def suppress(self, address: str, reason: str, at: datetime) -> None:
        """Records (or refreshes) the suppression of an address."""
        item = SuppressionItem(
            keys.suppression_pk(address_hash(address)),
            keys.POINTER_SK,
            entity="email_suppression",
            reason=reason,
            suppressed_at=at,
        )
        with translate_errors():
            item.save()

    def is_suppressed(self, address: str) -> bool:
        with translate_errors():
            try:
                SuppressionItem.get(keys.suppression_pk(address_hash(address)), keys.POINTER_SK)
            except SuppressionItem.DoesNotExist:
                return False
        return True

    def lift(self, address: str) -> None:
        """Lets email go to the address again (an operator's decision, docs/runbook.md)."""
        with translate_errors():
            SuppressionItem(keys.suppression_pk(address_hash(address)), keys.POINTER_SK).delete()
