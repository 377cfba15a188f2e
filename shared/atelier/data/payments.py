"""The payment inbox (one row per provider event), checkouts and subscriptions."""

from __future__ import annotations

from datetime import datetime, timedelta

from pynamodb.exceptions import PutError

from atelier.data import keys
from atelier.data.base import Transaction, epoch_seconds, is_conditional_failure, translate_errors
from atelier.data.items import CheckoutItem, InboxItem, SubscriptionItem, UnmatchedPaymentItem
from atelier.data.unit_of_work import Step
from atelier.models.billing import Money, Subscription, UnmatchedPayment

# Providers retry for days (Stripe: 3); a month keeps every redelivery recognisable.
INBOX_RETENTION = timedelta(days=30)


class PaymentRecordsRepository:
    # -- inbox ---------------------------------------------------------------------------------
    def record_event(self, provider: str, event_id: str, event_type: str, now: datetime) -> bool:
        """Records the event if it is new. Answers False when it was already processed; an event
        received before but not processed (the earlier attempt failed) is processed again."""
        item = InboxItem(
            keys.inbox_pk(provider, event_id),
            keys.POINTER_SK,
            entity="payment_event",
            event_type=event_type,
            status="received",
            received_at=now,
            expires_at=epoch_seconds(now + INBOX_RETENTION),
        )
        with translate_errors():
            try:
                item.save(condition=InboxItem.pk.does_not_exist())
                return True
            except PutError as exc:
                if not is_conditional_failure(exc):
                    raise
            existing = InboxItem.get(keys.inbox_pk(provider, event_id), keys.POINTER_SK, consistent_read=True)
        return existing.status != "processed"

    def mark_processed_step(self, provider: str, event_id: str) -> Step:
        """A step that marks the event processed, for use inside a money unit of work."""

        def write(tx: Transaction) -> None:
            tx.update(
                InboxItem(keys.inbox_pk(provider, event_id), keys.POINTER_SK),
                actions=[InboxItem.status.set("processed")],
            )

        return Step("inbox", write)

    def mark_processed(self, provider: str, event_id: str) -> None:
        with translate_errors():
            InboxItem(keys.inbox_pk(provider, event_id), keys.POINTER_SK).update(
                actions=[InboxItem.status.set("processed")]
            )

    # -- unmatched payments --------------------------------------------------------------------
    def record_unmatched_payment(self, payment: UnmatchedPayment) -> bool:
        """Keeps a paid object no account could be credited for, once: False when it was kept
        before (another event about the same payment)."""
        at_ms = int(payment.received_at.timestamp() * 1000)
        item = UnmatchedPaymentItem(
            keys.unmatched_payment_pk(payment.provider, payment.payment_key),
            keys.UNMATCHED_PAYMENT_SK,
            entity="unmatched_payment",
            provider=payment.provider,
            payment_key=payment.payment_key,
            event_id=payment.event_id,
            event_type=payment.event_type,
            reason=payment.reason,
            item_id=payment.item_id,
            amount_minor=payment.amount.value_minor if payment.amount else None,
            currency=payment.amount.currency if payment.amount else None,
            received_at=payment.received_at,
            gsi1pk=keys.UNMATCHED_PAYMENTS,
            gsi1sk=keys.unmatched_payments_sk(at_ms, payment.provider, payment.payment_key),
        )
        with translate_errors():
            try:
                item.save(condition=UnmatchedPaymentItem.pk.does_not_exist())
            except PutError as exc:
                if is_conditional_failure(exc):
                    return False
                raise
        return True

    def unmatched_payments(self, *, limit: int = 100) -> list[UnmatchedPayment]:
        """The payments kept for an operator, oldest first."""
        with translate_errors():
            items = UnmatchedPaymentItem.listed.query(keys.UNMATCHED_PAYMENTS, limit=limit)
            return [
                UnmatchedPayment(
                    provider=item.provider,
                    payment_key=item.payment_key,
                    event_id=item.event_id,
                    event_type=item.event_type,
                    reason=item.reason,
                    item_id=item.item_id,
                    amount=Money(value_minor=int(item.amount_minor), currency=item.currency)
                    if item.amount_minor is not None and item.currency
                    else None,
                    received_at=item.received_at,
                )
                for item in items
            ]

    # -- checkouts -----------------------------------------------------------------------------
    def save_checkout(
        self,
        account_id: str,
        checkout_id: str,
        provider: str,
        provider_checkout_id: str,
        item_id: str,
        now: datetime,
    ) -> None:
        with translate_errors():
            CheckoutItem(
                keys.account_pk(account_id),
                keys.checkout_sk(checkout_id),
                entity="checkout",
                checkout_id=checkout_id,
                provider=provider,
                provider_checkout_id=provider_checkout_id,
                item_id=item_id,
                status="open",
                created_at=now,
            ).save()

    # -- subscriptions -------------------------------------------------------------------------
    def save_subscription(
        self, account_id: str, subscription: Subscription, customer_id: str | None, now: datetime
    ) -> None:
        item = SubscriptionItem(
            keys.account_pk(account_id),
            keys.subscription_sk(subscription.provider, subscription.subscription_id),
            entity="subscription",
            provider=subscription.provider,
            subscription_id=subscription.subscription_id,
            customer_id=customer_id,
            plan_id=subscription.plan_id,
            status=subscription.status,
            current_period_end=subscription.current_period_end,
            updated_at=now,
        )
        with translate_errors():
            item.save()

    def subscriptions(self, account_id: str) -> list[tuple[Subscription, str | None]]:
        with translate_errors():
            items = SubscriptionItem.query(
                keys.account_pk(account_id), SubscriptionItem.sk.startswith(keys.SUBSCRIPTION_PREFIX)
            )
            return [
                (
                    Subscription(
                        provider=item.provider,
                        subscription_id=item.subscription_id,
                        plan_id=item.plan_id,
                        status=item.status,
                        current_period_end=item.current_period_end,
                    ),
                    item.customer_id,
                )
                for item in items
            ]
