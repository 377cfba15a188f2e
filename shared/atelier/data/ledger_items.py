"""PynamoDB item classes of the ledger table: money records kept 7 years (P10). Nothing here names
a person: entries are keyed by the account's pseudonymous ledger id; the account id kept on payment
records (to find the wallet a refund claws back from) is removed when the account is purged."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from atelier.data.base import LedgerTableModel


class _LedgerKeys(LedgerTableModel):
    ledger_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)
    entity = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)


class LedgerEntryItem(_LedgerKeys):
    """ledger_id=<ledger id> entry_id=ENTRY#<time-ordered id>."""

    at = UTCDateTimeAttribute()
    credits = NumberAttribute()
    kind = UnicodeAttribute()
    reference = UnicodeAttribute()
    generation_kind = UnicodeAttribute(null=True)
    amount_minor = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)


class PaymentRecordItem(_LedgerKeys):
    """ledger_id=<ledger id> entry_id=PAYMENT#<provider>#<payment key>: a paid object and the credits
    it granted. Written only if absent, in the grant's transaction: the grant's idempotency key."""

    provider = UnicodeAttribute()
    payment_key = UnicodeAttribute()
    payment_refs = ListAttribute(of=UnicodeAttribute, default=list)
    account_id = UnicodeAttribute(null=True)  # removed at purge
    item_id = UnicodeAttribute(null=True)
    credits = NumberAttribute()
    amount_minor = NumberAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    reversed_minor = NumberAttribute(default=0)
    clawed_credits = NumberAttribute(default=0)
    at = UTCDateTimeAttribute()


class ReversalItem(_LedgerKeys):
    """ledger_id=<ledger id> entry_id=REVERSAL#<provider>#<refund or dispute id>: claws back once."""

    payment_key = UnicodeAttribute()
    kind = UnicodeAttribute()
    amount_minor = NumberAttribute(null=True)
    credits = NumberAttribute()
    at = UTCDateTimeAttribute()


class PaymentRefItem(_LedgerKeys):
    """ledger_id=PAYREF#<provider>#<payment key or ref> entry_id=PAYREF: finds the payment record a
    refund or dispute names (they name a payment intent, charge or capture, not the paid object)."""

    target_ledger_id = UnicodeAttribute()
    payment_key = UnicodeAttribute()
