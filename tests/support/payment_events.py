"""Payment events as the provider adapters hand them to the use case, and their handling through the
real code: purchases of a pack and the refunds and disputes that reverse them."""

from __future__ import annotations

from datetime import UTC, datetime

from atelier.data.accounts import AccountRepository
from atelier.integrations.email import Mailer
from atelier.integrations.payments.base import PaymentEvent, PaymentEventKind
from atelier.models.billing import Money
from atelier.models.email import OutgoingEmail
from atelier.services import get_services
from atelier.usecases.handle_payment_event import Outcome, PaymentEventDeps, handle_payment_event

PACK_PRICES = {"pack_starter": 999, "pack_studio": 4499}
_REVERSAL_EVENT_TYPES = {
    PaymentEventKind.REFUND: "charge.refunded",
    PaymentEventKind.DISPUTE: "charge.dispute.created",
}


class KeptMail:
    """A mailer that keeps what it is given, for tests that read the emails themselves."""

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []

    def send(self, message: OutgoingEmail) -> None:
        self.sent.append(message)


def handle_event(
    event: PaymentEvent, *, accounts: AccountRepository | None = None, mailer: Mailer | None = None
) -> Outcome:
    """Handles one event as the webhook function does, mailing into `mailer` (kept, by default)."""
    services = get_services()
    return handle_payment_event(
        PaymentEventDeps(
            payments=services.payments,
            wallets=services.wallets,
            accounts=accounts or services.accounts,
            mailer=mailer or KeptMail(),
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
        ),
        event,
    )


def pack_purchase(account_id: str, session: str, item_id: str = "pack_starter") -> PaymentEvent:
    """A Stripe checkout of a pack, paid; its payment is known as `pi_<session>`."""
    return PaymentEvent(
        provider="stripe",
        event_id=f"evt_{session}",
        event_type="checkout.session.completed",
        kind=PaymentEventKind.PAYMENT_SUCCEEDED,
        occurred_at=datetime.now(UTC),
        account_id=account_id,
        item_id=item_id,
        payment_key=session,
        payment_refs=[f"pi_{session}"],
        amount=Money(value_minor=PACK_PRICES[item_id], currency="usd"),
    )


def reversal(
    session: str, reversal_id: str, *, kind: PaymentEventKind = PaymentEventKind.REFUND, value_minor: int = 999
) -> PaymentEvent:
    """A refund (or a dispute) of `value_minor` of the purchase made in checkout `session`."""
    return PaymentEvent(
        provider="stripe",
        event_id=f"evt_{reversal_id}",
        event_type=_REVERSAL_EVENT_TYPES[kind],
        kind=kind,
        occurred_at=datetime.now(UTC),
        reversal_key=reversal_id,
        reversed_payment=f"pi_{session}",
        amount=Money(value_minor=value_minor, currency="usd"),
    )
