"""Applies a verified payment-provider event: grants credits for a paid object, claws back for a
refund or dispute, and keeps subscriptions current.

Each event is recorded in the inbox first (written only if absent). Money moves keyed on the paid
object or the refund/dispute object, never on the event id, so a re-sent, reordered or
differently-shaped event about one payment credits once. An event whose payment is not known yet (a
refund that overtook its purchase) is refused with 503 so the provider delivers it again later; the
inbox row stays `received` so that redelivery is processed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.payments import PaymentRecordsRepository
from atelier.data.unit_of_work import Step
from atelier.data.wallets import Grant, Reversal, WalletRepository
from atelier.integrations.email import Mailer
from atelier.integrations.payments.base import PaymentEvent, PaymentEventKind
from atelier.models.accounts import Account
from atelier.models.billing import LedgerKind, Subscription, UnmatchedPayment
from atelier.models.email import EmailKind
from atelier.observability import METRICS_NAMESPACE, SERVICE_NAME, logger, record_metric
from atelier.settings import Settings
from atelier.usecases.read_catalog import catalog_items
from atelier.usecases.send_email import send_email

if TYPE_CHECKING:
    from atelier.services import Services


class Outcome(StrEnum):
    DUPLICATE = "duplicate"
    GRANTED = "granted"
    ALREADY_GRANTED = "already_granted"
    CLAWED_BACK = "clawed_back"
    ALREADY_REVERSED = "already_reversed"
    SUBSCRIPTION_RECORDED = "subscription_recorded"
    UNMATCHED = "unmatched"  # paid, but no account to credit: kept for an operator, and alerted
    IGNORED = "ignored"


class PaymentNotYetKnownError(errors.DependencyUnavailableError):
    code = "payment_not_yet_known"
    default_message = "This event refers to a payment not recorded yet; deliver it again later."


@dataclass(frozen=True)
class PaymentEventDeps:
    """What `handle_payment_event` works with, built once per function (`Services.dependencies`)."""

    payments: PaymentRecordsRepository
    wallets: WalletRepository
    accounts: AccountRepository
    mailer: Mailer
    sent_emails: SentEmailRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> PaymentEventDeps:
        return cls(
            payments=services.payments,
            wallets=services.wallets,
            accounts=services.accounts,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
        )


def handle_payment_event(
    deps: PaymentEventDeps,
    event: PaymentEvent,
) -> Outcome:
    outcome = _apply(
        event,
        payments=deps.payments,
        wallets=deps.wallets,
        accounts=deps.accounts,
        mailer=deps.mailer,
        sent_emails=deps.sent_emails,
        clock=deps.clock,
        settings=deps.settings,
    )
    record_metric("Payments", provider=event.provider, outcome=outcome.value)
    return outcome


def _apply(
    event: PaymentEvent,
    *,
    payments: PaymentRecordsRepository,
    wallets: WalletRepository,
    accounts: AccountRepository,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
    settings: Settings,
) -> Outcome:
    if not payments.record_event(event.provider, event.event_id, event.event_type, clock.now()):
        return Outcome.DUPLICATE
    mark_processed = payments.mark_processed_step(event.provider, event.event_id)

    if event.kind in (PaymentEventKind.PAYMENT_SUCCEEDED, PaymentEventKind.PERIOD_PAID):
        return _grant(
            event,
            mark_processed,
            payments=payments,
            wallets=wallets,
            accounts=accounts,
            settings=settings,
            mailer=mailer,
            sent_emails=sent_emails,
            clock=clock,
        )
    if event.kind in (PaymentEventKind.REFUND, PaymentEventKind.DISPUTE):
        return _reverse(
            event,
            mark_processed,
            wallets=wallets,
            accounts=accounts,
            mailer=mailer,
            sent_emails=sent_emails,
            clock=clock,
        )
    if event.kind in (PaymentEventKind.SUBSCRIPTION_UPDATED, PaymentEventKind.SUBSCRIPTION_CANCELED):
        _record_subscription(event, payments=payments, accounts=accounts, clock=clock, settings=settings)
        payments.mark_processed(event.provider, event.event_id)
        return Outcome.SUBSCRIPTION_RECORDED
    payments.mark_processed(event.provider, event.event_id)
    return Outcome.IGNORED


def _grant(
    event: PaymentEvent,
    mark_processed: Step,
    *,
    payments: PaymentRecordsRepository,
    wallets: WalletRepository,
    accounts: AccountRepository,
    settings: Settings,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
) -> Outcome:
    items = {item.id: item for item in catalog_items(settings)}
    item = items.get(event.item_id or "")
    account = accounts.get(event.account_id) if event.account_id else None
    if item is None or account is None or not event.payment_key:
        return _unmatched(event, item is None, account is None, payments=payments, clock=clock)
    kind = LedgerKind.PURCHASE if event.kind is PaymentEventKind.PAYMENT_SUCCEEDED else LedgerKind.SUBSCRIPTION_GRANT
    granted = wallets.grant(
        Grant(
            account_id=account.id,
            ledger_id=account.ledger_id,
            provider=event.provider,
            payment_key=event.payment_key,
            payment_refs=[ref for ref in event.payment_refs if ref],
            item_id=item.id,
            credits=item.credits,
            kind=kind,
            amount=event.amount,
            at=clock.now(),
        ),
        inbox=mark_processed,
    )
    if not granted:
        payments.mark_processed(event.provider, event.event_id)
        return Outcome.ALREADY_GRANTED
    record_metric("CreditsGranted", item.credits)
    paid = f" ({event.amount.value_minor / 100:.2f} {event.amount.currency.upper()})" if event.amount else ""
    send_email(
        account,
        EmailKind.BILLING,
        f"Your Atelier receipt: {item.credits} credits",
        f"Thank you. {item.credits} credits for “{item.name}”{paid} were added to your account.\n"
        f"Payment reference: {event.provider} {event.payment_key}.",
        mailer=mailer,
        sent_emails=sent_emails,
        clock=clock,
    )
    return Outcome.GRANTED


def _unmatched(
    event: PaymentEvent,
    unknown_item: bool,
    unknown_account: bool,
    *,
    payments: PaymentRecordsRepository,
    clock: Clock,
) -> Outcome:
    """Money arrived that no account can be credited for (no account named, one that does not
    exist, or an item not sold): kept for an operator and alerted on, then acknowledged so the
    provider stops redelivering. Nothing personal is logged: provider object ids only."""
    reason: Literal["no_account", "unknown_account", "unknown_item"] = (
        "no_account" if not event.account_id else "unknown_account" if unknown_account else "unknown_item"
    )
    payment_key = event.payment_key or next(iter(event.payment_refs), None) or event.event_id
    kept = payments.record_unmatched_payment(
        UnmatchedPayment(
            provider=event.provider,
            payment_key=payment_key,
            event_id=event.event_id,
            event_type=event.event_type,
            reason=reason,
            item_id=event.item_id if not unknown_item else None,
            amount=event.amount,
            received_at=clock.now(),
        )
    )
    logger.error(
        "payment cannot be credited; kept for an operator",
        extra={
            "provider": event.provider,
            "event_type": event.event_type,
            "payment_key": payment_key,
            "reason": reason,
            "first_report": kept,
        },
    )
    if kept:
        # The alarm on this metric is what tells an operator (template.yaml: UnmatchedPaymentAlarm).
        with single_metric(
            name="UnmatchedPayment",
            unit=MetricUnit.Count,
            value=1,
            namespace=METRICS_NAMESPACE,
            default_dimensions={"service": SERVICE_NAME},
        ) as metric:
            metric.add_dimension(name="provider", value=event.provider)
    payments.mark_processed(event.provider, event.event_id)
    return Outcome.UNMATCHED


def _reverse(
    event: PaymentEvent,
    mark_processed: Step,
    *,
    wallets: WalletRepository,
    accounts: AccountRepository,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
) -> Outcome:
    reference = event.reversed_payment or event.payment_key
    payment = wallets.find_payment(event.provider, reference) if reference else None
    if payment is None:
        raise PaymentNotYetKnownError()
    kind = LedgerKind.REFUND if event.kind is PaymentEventKind.REFUND else LedgerKind.DISPUTE
    taken = wallets.claw_back(
        payment,
        Reversal(
            provider=event.provider,
            reversal_key=event.reversal_key or event.event_id,
            kind=kind,
            amount=event.amount,
            payment_total=event.payment_total,
            at=clock.now(),
        ),
        inbox=mark_processed,
    )
    if taken is None:
        return Outcome.ALREADY_REVERSED
    record_metric("CreditsClawedBack", taken)
    if payment.account_id is None:
        return Outcome.CLAWED_BACK
    if wallets.get(payment.account_id).balance < 0:
        wallets.restrict(payment.account_id)
    account = accounts.get(payment.account_id)
    if account is not None:
        reference = f"{event.provider} {event.reversal_key or event.event_id}"
        _notify_reversal(account, kind, taken, reference, mailer=mailer, sent_emails=sent_emails, clock=clock)
    return Outcome.CLAWED_BACK


def _notify_reversal(
    account: Account,
    kind: LedgerKind,
    credits: int,
    reference: str,
    *,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
) -> None:
    what = "refund" if kind is LedgerKind.REFUND else "payment dispute"
    send_email(
        account,
        EmailKind.BILLING,
        f"A {what} was applied to your Atelier account",
        f"Because of a {what}, {credits} credits were taken back from your balance. "
        "If your balance is now below zero, generation and publishing are paused until it is topped up.\n"
        # Two refunds of the same size are two emails, each naming its own refund or dispute.
        f"Reference: {reference}.",
        mailer=mailer,
        sent_emails=sent_emails,
        clock=clock,
    )


def _record_subscription(
    event: PaymentEvent,
    *,
    payments: PaymentRecordsRepository,
    accounts: AccountRepository,
    clock: Clock,
    settings: Settings,
) -> None:
    if not event.subscription_id or not event.account_id or accounts.get(event.account_id) is None:
        return
    status = (
        "canceled" if event.kind is PaymentEventKind.SUBSCRIPTION_CANCELED else (event.subscription_status or "active")
    )
    payments.save_subscription(
        event.account_id,
        Subscription(
            provider=event.provider,
            subscription_id=event.subscription_id,
            plan_id=event.item_id or "",
            status=status,
            current_period_end=event.current_period_end,
        ),
        event.customer_id,
        clock.now(),
    )
