"""Money moved by payloads shaped as the providers really send them: Creem orders that give the
price before tax, Stripe disputes that name only a charge, PayPal captures without our custom id.
Each event is the sandbox's (signed as the provider signs it), parsed by the real adapter and
handled by the real money core against the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from atelier.data.payments import PaymentRecordsRepository
from atelier.data.wallets import WalletRepository
from atelier.integrations.payments.base import PaymentEvent, PaymentEventKind
from atelier.models.billing import Money
from tests.support.money import assert_balance_matches_ledger, new_account
from tests.support.payment_events import handle_event
from tests.support.payments import BASE_URL, PaymentsNetwork, body_of, parse

pytestmark = pytest.mark.usefixtures("stack")


@pytest.fixture
def network() -> PaymentsNetwork:
    return PaymentsNetwork()


def credits(account_id: str) -> int:
    return WalletRepository().get(account_id).balance


def handle_all(network: PaymentsNetwork, provider: str, events: list[dict[str, Any]]) -> list[str]:
    adapter = network.provider(provider)
    return [handle_event(parse(adapter, event)).value for event in events]


# ------------------------------------------------------------------------------------------
# Creem: tax
# ------------------------------------------------------------------------------------------
def test_creem_half_refund_of_a_taxed_period_takes_back_half_its_credits(network):
    # Given a monthly plan (400 credits, 24.99 before tax) paid with 21% tax at Creem, whose
    # subscription.paid names only the price before tax
    account = new_account()
    checkout_id = network.checkout("creem", "plan_monthly", account_id=account.id)
    paid = network.events(checkout_id, "pay", {"tax_percent": 21, "amount_paid": False})
    handle_all(network, "creem", paid)
    assert credits(account.id) == 400
    # When half of what the buyer paid (30.24, tax included) is refunded
    (refund,) = network.events(checkout_id, "refund", {"amount_minor": 1512})
    assert handle_all(network, "creem", [refund]) == ["clawed_back"]
    # Then half the credits are taken back, not 243 (half of the tax-inclusive sum over the pre-tax price)
    assert credits(account.id) == 200
    # And the rest of the money refunded takes back the rest, never more
    (rest,) = network.events(checkout_id, "refund")
    handle_all(network, "creem", [rest])
    assert credits(account.id) == 0
    assert_balance_matches_ledger(account)


def test_creem_taxed_pack_from_a_bare_order_is_recorded_tax_included(network):
    # Given a pack (550 credits) paid with 21% tax, its checkout.completed order without amount_paid
    account = new_account()
    checkout_id = network.checkout("creem", "pack_studio", account_id=account.id)
    paid = network.events(checkout_id, "pay", {"tax_percent": 21, "amount_paid": False})
    handle_all(network, "creem", paid)
    # Then the ledger records what the buyer paid, tax included
    (purchase,) = [entry for entry in WalletRepository().entries(account.ledger_id, limit=10)[0] if entry.credits > 0]
    assert purchase.amount == Money(value_minor=5444, currency="usd")
    # And a quarter of it refunded takes back a quarter of the credits
    (refund,) = network.events(checkout_id, "refund", {"amount_minor": 1361})
    handle_all(network, "creem", [refund])
    assert credits(account.id) == 550 - 138  # ceil(550 * 1361 / 5444)
    assert_balance_matches_ledger(account)


def test_a_refund_naming_the_tax_inclusive_total_claws_back_in_proportion_to_it(network):
    # Given a period recorded at its price before tax (as payments were recorded before), 400 credits
    account = new_account()
    handle_event(
        PaymentEvent(
            provider="creem",
            event_id="evt_old_period",
            event_type="subscription.paid",
            kind=PaymentEventKind.PERIOD_PAID,
            occurred_at=datetime.now(UTC),
            account_id=account.id,
            item_id="plan_monthly",
            payment_key="tran_old_period",
            amount=Money(value_minor=2499, currency="usd"),
        )
    )
    # When a refund of half arrives naming, as Creem's do, the transaction's amount_paid
    transaction = {"id": "tran_old_period", "amount": 2499, "amount_paid": 3024, "subscription": "sub_old"}
    refund = {"id": "ref_old", "object": "refund", "refund_amount": 1512, "refund_currency": "USD"}
    webhook = network.sandbox.creem_event(BASE_URL, "refund.created", refund | {"transaction": transaction})
    handle_event(network.creem().parse_webhook(webhook.headers, webhook.body))
    # Then half the credits go, measured against what was paid
    assert credits(account.id) == 200
    assert_balance_matches_ledger(account)


# ------------------------------------------------------------------------------------------
# Stripe: a dispute naming only its charge
# ------------------------------------------------------------------------------------------
def test_stripe_dispute_naming_only_a_charge_claws_back_its_purchase(network):
    # Given a pack bought through a Stripe checkout (its events name the payment intent, never the charge)
    account = new_account()
    session_id = network.checkout("stripe", "pack_starter", account_id=account.id)
    handle_all(network, "stripe", network.events(session_id, "pay"))
    assert credits(account.id) == 100
    # When a dispute names only the charge, with no payment intent (as Stripe's fixture does)
    (dispute,) = network.events(session_id, "dispute", {"charge_only": True})
    assert body_of(dispute)["data"]["object"]["payment_intent"] is None
    outcome = handle_all(network, "stripe", [dispute])
    # Then the charge is traced to its payment and the credits are clawed back (not a 503 forever)
    assert outcome == ["clawed_back"]
    assert credits(account.id) == 0
    assert_balance_matches_ledger(account)


# ------------------------------------------------------------------------------------------
# PayPal: a capture without our custom id
# ------------------------------------------------------------------------------------------
def capture_without_custom_id(network: PaymentsNetwork, **changes: Any) -> dict[str, Any]:
    """A PAYMENT.CAPTURE.COMPLETED of an order made without our custom_id, signed as PayPal signs."""
    order_id = network.checkout("paypal", "pack_starter")
    network.act(order_id, "pay")
    network.paypal().complete_return(order_id)
    network.sandbox.wait_for_deliveries()
    resource = body_of(network.issued(order_id)[0])["resource"] | {"custom_id": None} | changes
    return network.sandbox.paypal_event(BASE_URL, "PAYMENT.CAPTURE.COMPLETED", "capture", resource, "Paid").as_json()


def emitted_metrics(output: str, name: str) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{") and '"_aws"' in line]
    return [record for record in records if name in record]


def test_paypal_capture_without_our_custom_id_is_kept_for_an_operator_and_alerted_once(network, capsys):
    # Given a completed capture that names none of our ids
    capture = capture_without_custom_id(network)
    event = parse(network.paypal(), capture)
    payments = PaymentRecordsRepository()
    before = {(kept.provider, kept.payment_key) for kept in payments.unmatched_payments(limit=1000)}
    capsys.readouterr()
    # When it is handled, and delivered again
    first, again = handle_event(event), handle_event(event)
    # Then it is acknowledged as unmatched (so PayPal stops retrying), kept once for an operator...
    assert (first.value, again.value) == ("unmatched", "duplicate")
    kept = [p for p in payments.unmatched_payments(limit=1000) if (p.provider, p.payment_key) not in before]
    assert [(p.provider, p.payment_key, p.reason, p.amount) for p in kept] == [
        ("paypal", event.payment_key, "no_account", Money(value_minor=999, currency="usd"))
    ]
    # ...and counted once on the metric the alarm watches, by provider
    (metric,) = emitted_metrics(capsys.readouterr().out, "UnmatchedPayment")
    # (with the dimensions the alarm in template.yaml names, whatever the process's default service)
    assert (metric["service"], metric["provider"], metric["UnmatchedPayment"]) == ("atelier", "paypal", [1.0])
    assert sorted(metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["provider", "service"]


def test_paypal_capture_outside_any_order_is_kept_too(network):
    capture = capture_without_custom_id(network, supplementary_data={})
    event = parse(network.paypal(), capture)
    assert handle_event(event).value == "unmatched"
    capture_id = body_of(capture)["resource"]["id"]
    assert capture_id in {kept.payment_key for kept in PaymentRecordsRepository().unmatched_payments(limit=1000)}


def test_a_payment_for_an_account_that_does_not_exist_is_kept_and_credits_nobody(network):
    # Given a Stripe purchase naming an account that is not (or no longer) there
    session_id = network.checkout("stripe", "pack_starter", account_id="acct_gone")
    completed, _ = network.events(session_id, "pay")
    # When it is handled, then it is kept as unmatched for that reason
    assert handle_all(network, "stripe", [completed]) == ["unmatched"]
    kept = {kept.payment_key: kept for kept in PaymentRecordsRepository().unmatched_payments(limit=1000)}
    assert kept[session_id].reason == "unknown_account"
