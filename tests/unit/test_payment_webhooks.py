"""Webhooks from the local payments sandbox verify and normalise into the `PaymentEvent` the money
code keys on; anything altered, forged, stale or unknown does not get through as money."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import pytest

from atelier import errors
from atelier.integrations.payments.base import PaymentEventKind, WebhookSignatureError
from atelier.models.billing import Money
from local import payments as sandbox
from tests.support.payments import BASE_URL, PaymentsNetwork, body_of, parse


@pytest.fixture
def network() -> PaymentsNetwork:
    return PaymentsNetwork()


def usd(value_minor: int) -> Money:
    return Money(value_minor=value_minor, currency="usd")


def altered(event: dict, old: str, new: str) -> dict:
    assert old in event["body"]
    return {**event, "body": event["body"].replace(old, new, 1)}


# ------------------------------------------------------------------------------------------
# Stripe
# ------------------------------------------------------------------------------------------
def test_stripe_pack_payment_is_keyed_on_the_checkout_session(network):
    # Given a pack checkout paid in the sandbox
    stripe = network.stripe()
    session_id = network.checkout("stripe", "pack_starter", account_id="acct_ada", checkout_id="chk_1")
    # When its webhooks are parsed
    completed, charge = (parse(stripe, event) for event in network.events(session_id, "pay"))
    # Then the session is the paid object, its payment intent the reference refunds will name
    payment_intent = network.sandbox.checkout(session_id).payments[0].id
    assert completed.kind is PaymentEventKind.PAYMENT_SUCCEEDED
    assert (completed.payment_key, completed.payment_refs) == (session_id, [payment_intent])
    assert (completed.account_id, completed.checkout_id, completed.item_id) == ("acct_ada", "chk_1", "pack_starter")
    assert completed.amount == usd(999)
    assert completed.event_type == "checkout.session.completed"
    assert charge.kind is PaymentEventKind.IGNORED
    assert charge.event_type == "charge.succeeded"


def test_stripe_plan_grants_on_the_invoice_not_on_the_session(network):
    # Given a plan checkout paid in the sandbox
    stripe = network.stripe()
    session_id = network.checkout("stripe", "plan_monthly", account_id="acct_ada", checkout_id="chk_2")
    # When its three webhooks are parsed
    completed, created, invoice_paid = (parse(stripe, event) for event in network.events(session_id, "pay"))
    # Then the session only records the subscription...
    paid = network.sandbox.checkout(session_id)
    assert completed.kind is PaymentEventKind.SUBSCRIPTION_UPDATED
    assert completed.payment_key is None
    assert (completed.subscription_id, completed.customer_id) == (paid.subscription, paid.customer)
    assert completed.item_id == "plan_monthly"
    assert created.kind is PaymentEventKind.SUBSCRIPTION_UPDATED
    assert created.subscription_status == "active"
    assert created.current_period_end == datetime.fromtimestamp(paid.payments[0].period_end, tz=UTC)
    # ...and the invoice is the paid period, with the payment intent found through /v1/invoice_payments
    assert invoice_paid.kind is PaymentEventKind.PERIOD_PAID
    assert invoice_paid.payment_key == paid.payments[0].invoice
    assert invoice_paid.payment_refs == [paid.payments[0].id]
    assert (invoice_paid.account_id, invoice_paid.item_id) == ("acct_ada", "plan_monthly")
    assert invoice_paid.subscription_id == paid.subscription
    assert invoice_paid.amount == usd(2499)
    assert "payment_intent" not in body_of(network.issued(session_id)[2])["data"]["object"]


def test_stripe_renewal_is_another_period_with_its_own_key(network):
    stripe = network.stripe()
    session_id = network.checkout("stripe", "plan_monthly")
    first = parse(stripe, network.events(session_id, "pay")[2])
    # When the plan renews
    (renewal_event,) = network.events(session_id, "renew")
    renewal = parse(stripe, renewal_event)
    # Then
    assert renewal.kind is PaymentEventKind.PERIOD_PAID
    assert renewal.payment_key != first.payment_key
    assert renewal.current_period_end > first.current_period_end
    assert body_of(renewal_event)["data"]["object"]["billing_reason"] == "subscription_cycle"


def test_stripe_refunds_claw_back_what_each_returned(network):
    # Given a paid pack refunded in two parts
    stripe = network.stripe()
    session_id = network.checkout("stripe", "pack_starter")
    network.events(session_id, "pay")
    (first_event,) = network.events(session_id, "refund", {"amount_minor": 300})
    (second_event,) = network.events(session_id, "refund")
    first, second = parse(stripe, first_event), parse(stripe, second_event)
    # Then each refund is its own reversal, for its own amount, of the payment intent
    payment = network.sandbox.checkout(session_id).payments[0]
    assert first.kind is second.kind is PaymentEventKind.REFUND
    assert (first.reversal_key, first.amount) == (f"{payment.charge}:300", usd(300))
    assert (second.reversal_key, second.amount) == (f"{payment.charge}:999", usd(699))
    assert first.reversed_payment == second.reversed_payment == payment.id
    assert first.account_id == "acct_ada"


def test_stripe_refund_with_its_refund_list_is_keyed_on_the_refund(network):
    # Given a charge.refunded from an API version that lists the charge's refunds
    stripe = network.stripe()
    charge = {
        "id": "ch_1",
        "object": "charge",
        "amount": 999,
        "amount_refunded": 999,
        "currency": "usd",
        "payment_intent": "pi_1",
        "refunds": {
            "object": "list",
            "data": [
                {"id": "re_new", "amount": 699, "created": 200, "charge": "ch_1"},
                {"id": "re_old", "amount": 300, "created": 100, "charge": "ch_1"},
            ],
        },
    }
    webhook = network.sandbox.stripe_event(BASE_URL, "charge.refunded", charge)
    # When
    event = stripe.parse_webhook(webhook.headers, webhook.body)
    # Then
    assert (event.reversal_key, event.amount, event.reversed_payment) == ("re_new", usd(699), "pi_1")


def test_stripe_dispute_names_the_payment_intent(network):
    stripe = network.stripe()
    session_id = network.checkout("stripe", "pack_starter")
    network.events(session_id, "pay")
    (event,) = network.events(session_id, "dispute")
    dispute = parse(stripe, event)
    assert dispute.kind is PaymentEventKind.DISPUTE
    assert dispute.reversal_key == body_of(event)["data"]["object"]["id"]
    assert dispute.reversal_key.startswith("dp_")
    assert dispute.reversed_payment == network.sandbox.checkout(session_id).payments[0].id
    assert dispute.amount == usd(999)


def fixture_shaped_dispute(charge_id: str, amount: int) -> dict:
    """A dispute as Stripe's own `charge.dispute.created` fixture has it: the charge by id, and no
    payment intent."""
    return {
        "id": "dp_fixture1",
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_id,
        "created": int(time.time()),
        "currency": "usd",
        "evidence": {"customer_email_address": None, "uncategorized_text": None},
        "evidence_details": {"due_by": int(time.time()) + 86400, "has_evidence": False, "submission_count": 0},
        "is_charge_refundable": True,
        "livemode": False,
        "metadata": {},
        "payment_intent": None,
        "reason": "general",
        "status": "warning_needs_response",
    }


def test_stripe_dispute_naming_only_its_charge_is_traced_to_the_payment_intent(network):
    # Given a pack paid through a checkout (its events name the payment intent, never the charge)
    stripe = network.stripe()
    session_id = network.checkout("stripe", "pack_starter")
    network.events(session_id, "pay")
    payment = network.sandbox.checkout(session_id).payments[0]
    # When a dispute arrives naming only the charge, shaped as Stripe's fixture and as the sandbox sends it
    fixture = network.sandbox.stripe_event(
        BASE_URL, "charge.dispute.created", fixture_shaped_dispute(payment.charge, 999)
    )
    (from_sandbox,) = network.events(session_id, "dispute", {"charge_only": True})
    assert body_of(from_sandbox)["data"]["object"]["payment_intent"] is None
    # Then each names the payment intent the purchase was recorded under (asked of Stripe's API)
    for dispute in (stripe.parse_webhook(fixture.headers, fixture.body), parse(stripe, from_sandbox)):
        assert dispute.kind is PaymentEventKind.DISPUTE
        assert dispute.reversed_payment == payment.id
        assert dispute.amount == usd(999)


def test_stripe_dispute_whose_charge_cannot_be_looked_up_is_redelivered(network):
    # Given a dispute naming only a charge, while Stripe's API is down
    session_id = network.checkout("stripe", "pack_starter")
    network.events(session_id, "pay")
    (event,) = network.events(session_id, "dispute", {"charge_only": True})
    stripe = network.stripe(handler=lambda request: httpx.Response(503, json={"error": {"message": "down"}}))
    # When it is parsed, then the delivery fails (503) so Stripe sends it again later
    with pytest.raises(errors.DependencyUnavailableError):
        parse(stripe, event)


def test_stripe_subscription_cancellation(network):
    stripe = network.stripe()
    session_id = network.checkout("stripe", "plan_monthly", account_id="acct_ada")
    network.events(session_id, "pay")
    (event,) = network.events(session_id, "cancel-subscription")
    canceled = parse(stripe, event)
    assert canceled.kind is PaymentEventKind.SUBSCRIPTION_CANCELED
    assert canceled.subscription_status == "canceled"
    assert canceled.subscription_id == network.sandbox.checkout(session_id).subscription
    assert (canceled.account_id, canceled.item_id) == ("acct_ada", "plan_monthly")
    assert canceled.current_period_end is not None


def test_stripe_invoice_of_an_older_api_version_carries_its_own_references(network):
    # Given an invoice.paid shaped as before 2025-03-31: subscription_details, payment_intent, charge
    stripe = network.stripe()
    invoice = {
        "id": "in_old",
        "object": "invoice",
        "amount_paid": 2499,
        "currency": "usd",
        "customer": "cus_1",
        "subscription": "sub_1",
        "subscription_details": {"metadata": {"account_id": "acct_ada", "item_id": "plan_monthly"}},
        "payment_intent": "pi_old",
        "charge": "ch_old",
        "lines": {"data": [{"period": {"start": 1_700_000_000, "end": 1_702_592_000}}]},
    }
    webhook = network.sandbox.stripe_event(BASE_URL, "invoice.paid", invoice)
    # When
    event = stripe.parse_webhook(webhook.headers, webhook.body)
    # Then
    assert event.kind is PaymentEventKind.PERIOD_PAID
    assert (event.payment_key, event.payment_refs) == ("in_old", ["pi_old", "ch_old"])
    assert (event.account_id, event.item_id, event.subscription_id) == ("acct_ada", "plan_monthly", "sub_1")
    assert event.current_period_end == datetime.fromtimestamp(1_702_592_000, tz=UTC)


@pytest.mark.parametrize(
    ("event_type", "payment_status", "kind"),
    [
        ("checkout.session.completed", "unpaid", PaymentEventKind.PAYMENT_PENDING),
        ("checkout.session.async_payment_succeeded", "paid", PaymentEventKind.PAYMENT_SUCCEEDED),
        ("checkout.session.async_payment_failed", "unpaid", PaymentEventKind.PAYMENT_FAILED),
    ],
)
def test_stripe_delayed_payment_methods(network, event_type, payment_status, kind):
    stripe = network.stripe()
    session = {
        "id": "cs_test_delayed",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": payment_status,
        "payment_intent": "pi_delayed",
        "amount_total": 999,
        "currency": "usd",
        "client_reference_id": "chk_9",
        "metadata": {"account_id": "acct_ada", "item_id": "pack_starter"},
    }
    webhook = network.sandbox.stripe_event(BASE_URL, event_type, session)
    event = stripe.parse_webhook(webhook.headers, webhook.body)
    assert event.kind is kind
    assert event.payment_key == "cs_test_delayed"
    assert event.checkout_id == "chk_9"  # from client_reference_id when the metadata lacks it


def test_stripe_unknown_event_is_ignored(network):
    webhook = network.sandbox.stripe_event(BASE_URL, "customer.created", {"id": "cus_1", "object": "customer"})
    event = network.stripe().parse_webhook(webhook.headers, webhook.body)
    assert event.kind is PaymentEventKind.IGNORED
    assert event.event_type == "customer.created"


def stripe_paid_event(network: PaymentsNetwork) -> dict:
    session_id = network.checkout("stripe", "pack_starter")
    return network.events(session_id, "pay")[0]


def test_stripe_signature_with_another_secret_is_refused(network):
    event = stripe_paid_event(network)
    with pytest.raises(WebhookSignatureError):
        parse(network.stripe(webhook_secret="whsec_someone_else"), event)


def test_stripe_body_altered_by_one_byte_is_refused(network):
    event = altered(stripe_paid_event(network), '"amount_total": 999', '"amount_total": 990')
    with pytest.raises(WebhookSignatureError):
        parse(network.stripe(), event)


@pytest.mark.parametrize(
    "signature",
    ["", "garbage", "t=notanumber,v1=abc", "v1=" + "0" * 64],
)
def test_stripe_malformed_or_missing_signature_is_refused(network, signature):
    event = stripe_paid_event(network)
    headers = {name: value for name, value in event["headers"].items() if name != "Stripe-Signature"}
    if signature:
        headers["Stripe-Signature"] = signature
    with pytest.raises(WebhookSignatureError):
        parse(network.stripe(), {**event, "headers": headers})


def test_stripe_signature_older_than_the_tolerance_is_refused(network):
    # Given a correctly signed delivery whose timestamp is beyond the tolerance
    event = stripe_paid_event(network)
    body = event["body"].encode()
    stale = sandbox.stripe_signature(body, timestamp=int(time.time()) - 301)
    fresh_enough = sandbox.stripe_signature(body, timestamp=int(time.time()) - 200)
    stripe = network.stripe(tolerance_seconds=300)
    # Then the stale one is a replay, the other one verifies
    with pytest.raises(WebhookSignatureError):
        stripe.parse_webhook({"Stripe-Signature": stale}, body)
    assert stripe.parse_webhook({"stripe-signature": fresh_enough}, body).kind is PaymentEventKind.PAYMENT_SUCCEEDED


def test_stripe_without_a_webhook_secret_verifies_nothing(network):
    event = stripe_paid_event(network)
    with pytest.raises(errors.DependencyUnavailableError) as raised:
        parse(network.stripe(webhook_secret=""), event)
    assert not isinstance(raised.value, WebhookSignatureError)


# ------------------------------------------------------------------------------------------
# PayPal
# ------------------------------------------------------------------------------------------
def paid_paypal_order(network: PaymentsNetwork, **changes) -> str:
    paypal = network.paypal()
    order_id = network.checkout("paypal", "pack_starter", **changes)
    network.act(order_id, "pay")
    paypal.complete_return(order_id)
    network.sandbox.wait_for_deliveries()
    return order_id


def test_paypal_capture_webhook_is_keyed_on_the_order_like_the_return(network):
    # Given an order approved in the sandbox and captured when the buyer came back
    paypal = network.paypal()
    order_id = network.checkout("paypal", "pack_starter", account_id="acct_ada", checkout_id="chk_3")
    network.act(order_id, "pay")
    on_return = paypal.complete_return(order_id)
    network.sandbox.wait_for_deliveries()
    # When the capture's webhook arrives
    (delivery,) = network.receiver.for_provider("paypal")
    event = paypal.parse_webhook(delivery.headers, delivery.body)
    # Then both name the same paid object, so only one of them grants
    capture_id = network.sandbox.checkout(order_id).payments[0].id
    assert event.kind is on_return.kind is PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.event_type == "PAYMENT.CAPTURE.COMPLETED"
    assert event.payment_key == on_return.payment_key == order_id
    assert event.payment_refs == on_return.payment_refs == [capture_id]
    assert (event.account_id, event.checkout_id, event.item_id) == ("acct_ada", "chk_3", "pack_starter")
    assert event.amount == on_return.amount == usd(999)
    assert event.event_id != on_return.event_id


def test_paypal_refund_names_the_capture(network):
    paypal = network.paypal()
    order_id = paid_paypal_order(network)
    (event,) = network.events(order_id, "refund", {"amount_minor": 499})
    refund = parse(paypal, event)
    assert refund.kind is PaymentEventKind.REFUND
    assert refund.reversal_key == body_of(event)["resource"]["id"]
    assert refund.reversed_payment == network.sandbox.checkout(order_id).payments[0].id
    assert refund.amount == usd(499)
    assert refund.account_id == "acct_ada"


def test_paypal_dispute_names_the_disputed_capture(network):
    paypal = network.paypal()
    order_id = paid_paypal_order(network)
    (event,) = network.events(order_id, "dispute")
    dispute = parse(paypal, event)
    assert dispute.kind is PaymentEventKind.DISPUTE
    assert dispute.reversal_key == body_of(event)["resource"]["dispute_id"]
    assert dispute.reversed_payment == network.sandbox.checkout(order_id).payments[0].id
    assert dispute.amount == usd(999)


def completed_capture(network: PaymentsNetwork, **changes) -> dict:
    """A PAYMENT.CAPTURE.COMPLETED as PayPal sends it, with `changes` to its resource."""
    order_id = paid_paypal_order(network)
    resource = body_of(network.issued(order_id)[0])["resource"] | changes
    webhook = network.sandbox.paypal_event(BASE_URL, "PAYMENT.CAPTURE.COMPLETED", "capture", resource, "Paid")
    return webhook.as_json()


def test_paypal_capture_without_our_custom_id_is_a_payment_for_no_account(network):
    # Given a completed capture of an order made without our custom_id
    event = parse(network.paypal(), completed_capture(network, custom_id=None))
    # Then it is still a payment of that order, for no account (the money core keeps it for an operator)
    assert event.kind is PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.payment_key is not None
    assert event.account_id is None
    assert event.amount == usd(999)


def test_paypal_capture_outside_any_order_is_a_payment_keyed_on_the_capture(network):
    # Given a completed capture that names no order (money sent outside any checkout of ours)
    capture = completed_capture(network, custom_id=None, supplementary_data={})
    # When it is parsed, then it is money received, keyed on the capture, not ignored
    event = parse(network.paypal(), capture)
    assert event.kind is PaymentEventKind.PAYMENT_SUCCEEDED
    assert event.payment_key == body_of(capture)["resource"]["id"]
    assert event.account_id is None


def paypal_capture_event(network: PaymentsNetwork) -> dict:
    order_id = paid_paypal_order(network)
    return network.issued(order_id)[0]


def test_paypal_body_altered_by_one_byte_is_refused(network):
    event = paypal_capture_event(network)
    with pytest.raises(WebhookSignatureError):
        parse(network.paypal(), altered(event, '"value":"9.99"', '"value":"9.90"'))


def test_paypal_reserialised_body_is_refused_as_paypal_refuses_it(network):
    # The same JSON with other spacing is other bytes: PayPal's checksum no longer matches.
    event = paypal_capture_event(network)
    with pytest.raises(WebhookSignatureError):
        parse(network.paypal(), {**event, "body": json.dumps(json.loads(event["body"]))})


def test_paypal_forged_transmission_signature_is_refused(network):
    event = paypal_capture_event(network)
    headers = {**event["headers"], "PAYPAL-TRANSMISSION-SIG": "Zm9yZ2Vk"}
    with pytest.raises(WebhookSignatureError):
        parse(network.paypal(), {**event, "headers": headers})


def test_paypal_delivery_for_another_webhook_is_refused(network):
    event = paypal_capture_event(network)
    with pytest.raises(WebhookSignatureError):
        parse(network.paypal(webhook_id="WH-SOMEONE-ELSE"), event)


def test_paypal_delivery_without_transmission_headers_is_refused(network):
    event = paypal_capture_event(network)
    headers = {k: v for k, v in event["headers"].items() if k != "PAYPAL-TRANSMISSION-ID"}
    with pytest.raises(WebhookSignatureError):
        parse(network.paypal(), {**event, "headers": headers})


def test_paypal_unknown_event_is_ignored(network):
    webhook = network.sandbox.paypal_event(BASE_URL, "CHECKOUT.ORDER.APPROVED", "checkout-order", {"id": "X"}, "")
    event = network.paypal().parse_webhook(webhook.headers, webhook.body)
    assert event.kind is PaymentEventKind.IGNORED
    assert event.event_type == "CHECKOUT.ORDER.APPROVED"


# ------------------------------------------------------------------------------------------
# Creem
# ------------------------------------------------------------------------------------------
def test_creem_one_off_payment_is_keyed_on_the_checkout(network):
    creem = network.creem()
    checkout_id = network.checkout("creem", "pack_studio", account_id="acct_ada", checkout_id="chk_4")
    (event,) = network.events(checkout_id, "pay")
    paid = parse(creem, event)
    payment = network.sandbox.checkout(checkout_id).payments[0]
    assert paid.kind is PaymentEventKind.PAYMENT_SUCCEEDED
    assert paid.payment_key == checkout_id
    assert paid.payment_refs == [payment.order, payment.id]
    assert (paid.account_id, paid.checkout_id, paid.item_id) == ("acct_ada", "chk_4", "pack_studio")
    assert paid.amount == usd(4499)


def test_creem_subscription_grants_on_each_period_transaction(network):
    creem = network.creem()
    checkout_id = network.checkout("creem", "plan_monthly", account_id="acct_ada")
    completed, first = (parse(creem, event) for event in network.events(checkout_id, "pay"))
    (renewal_event,) = network.events(checkout_id, "renew")
    renewal = parse(creem, renewal_event)
    paid = network.sandbox.checkout(checkout_id)
    assert completed.kind is PaymentEventKind.SUBSCRIPTION_UPDATED
    assert completed.payment_key is None
    assert completed.subscription_id == paid.subscription
    assert first.kind is renewal.kind is PaymentEventKind.PERIOD_PAID
    assert [first.payment_key, renewal.payment_key] == [payment.id for payment in paid.payments]
    assert (first.account_id, first.item_id) == ("acct_ada", "plan_monthly")
    assert first.amount == usd(2499)
    assert renewal.current_period_end > first.current_period_end


def test_creem_refunds_name_the_order_of_a_pack_and_the_transaction_of_a_period(network):
    creem = network.creem()
    pack = network.checkout("creem", "pack_starter", checkout_id="chk_pack")
    plan = network.checkout("creem", "plan_monthly", checkout_id="chk_plan")
    network.events(pack, "pay")
    network.events(plan, "pay")
    (pack_refund_event,) = network.events(pack, "refund", {"amount_minor": 500})
    (plan_refund_event,) = network.events(plan, "refund")
    pack_refund, plan_refund = parse(creem, pack_refund_event), parse(creem, plan_refund_event)
    assert pack_refund.kind is plan_refund.kind is PaymentEventKind.REFUND
    assert pack_refund.reversed_payment == network.sandbox.checkout(pack).payments[0].order
    assert pack_refund.amount == usd(500)
    assert plan_refund.reversed_payment == network.sandbox.checkout(plan).payments[0].id
    assert plan_refund.reversal_key.startswith("ref_")
    assert pack_refund.checkout_id == "chk_pack"


def test_creem_dispute_and_cancellation(network):
    creem = network.creem()
    checkout_id = network.checkout("creem", "plan_monthly")
    network.events(checkout_id, "pay")
    (dispute_event,) = network.events(checkout_id, "dispute")
    (cancel_event,) = network.events(checkout_id, "cancel-subscription")
    dispute, canceled = parse(creem, dispute_event), parse(creem, cancel_event)
    assert dispute.kind is PaymentEventKind.DISPUTE
    assert dispute.reversal_key.startswith("disp_")
    assert dispute.reversed_payment == network.sandbox.checkout(checkout_id).payments[0].id
    assert canceled.kind is PaymentEventKind.SUBSCRIPTION_CANCELED
    assert canceled.subscription_status == "canceled"
    assert canceled.item_id == "plan_monthly"


def test_creem_pack_paid_with_tax_records_what_the_buyer_paid_though_the_order_omits_it(network):
    # Given a pack paid with 21% sales tax on top, its order without amount_paid (as Creem documents it)
    creem = network.creem()
    checkout_id = network.checkout("creem", "pack_studio")
    (event,) = network.events(checkout_id, "pay", {"tax_percent": 21, "amount_paid": False})
    order = body_of(event)["object"]["order"]
    assert "amount_paid" not in order
    assert order["amount"] == 4499  # the price before tax
    # When it is parsed
    paid = parse(creem, event)
    # Then what was recorded is what the buyer paid, tax included (from the transaction at Creem)
    assert paid.amount == usd(4499 + 945)
    assert network.sandbox.checkout(checkout_id).payments[0].amount_minor == 5444


@pytest.mark.parametrize(
    ("order_fields", "tax_mode", "paid"),
    [
        ({"amount": 1000, "amount_paid": 1210}, "exclusive", 1210),
        ({"amount": 1000, "amount_due": 1210}, "exclusive", 1210),
        ({"amount": 1000, "tax_amount": 210}, "exclusive", 1210),
        ({"amount": 1000, "tax_amount": "210"}, "exclusive", 1210),
        ({"sub_total": 1100, "discount_amount": 100, "tax_amount": 210}, "exclusive", 1210),
        ({"amount": 1210}, "inclusive", 1210),
    ],
)
def test_creem_paid_amount_from_each_shape_an_order_comes_in(network, order_fields, tax_mode, paid):
    # Given a checkout.completed whose order carries only some of its amounts
    checkout = {
        "id": "ch_shape",
        "object": "checkout",
        "order": {"id": "ord_shape", "currency": "EUR", "status": "paid", **order_fields},
        "product": {"id": "prod_shape", "price": 1000, "tax_mode": tax_mode},
        "metadata": {"account_id": "acct_ada", "checkout_id": "chk_shape", "item_id": "pack_starter"},
    }
    webhook = network.sandbox.creem_event(BASE_URL, "checkout.completed", checkout)
    # When it is parsed, then the amount is what was paid, tax included
    event = network.creem().parse_webhook(webhook.headers, webhook.body)
    assert event.amount == Money(value_minor=paid, currency="eur")


def test_creem_periods_paid_with_tax_record_their_transactions_amount_not_the_price(network):
    # Given a plan paid with 21% sales tax, and renewed (subscription.paid names only the product's price)
    creem = network.creem()
    checkout_id = network.checkout("creem", "plan_monthly")
    _, first_event = network.events(checkout_id, "pay", {"tax_percent": 21, "amount_paid": False})
    (renewal_event,) = network.events(checkout_id, "renew")
    assert body_of(first_event)["object"]["product"]["price"] == 2499
    # When they are parsed, then each period is what its transaction says was paid
    assert parse(creem, first_event).amount == parse(creem, renewal_event).amount == usd(2499 + 525)


def test_creem_period_whose_transaction_cannot_be_looked_up_is_redelivered(network):
    checkout_id = network.checkout("creem", "plan_monthly")
    _, period = network.events(checkout_id, "pay", {"tax_percent": 21})
    creem = network.creem(handler=lambda request: httpx.Response(503, json={"message": ["down"]}))
    with pytest.raises(errors.DependencyUnavailableError):
        parse(creem, period)


def test_creem_refund_and_dispute_name_what_the_reversed_payment_came_to(network):
    # Given a plan period paid with tax, then half refunded and disputed
    creem = network.creem()
    checkout_id = network.checkout("creem", "plan_monthly")
    network.events(checkout_id, "pay", {"tax_percent": 21, "amount_paid": False})
    (refund_event,) = network.events(checkout_id, "refund", {"amount_minor": 1512})
    (dispute_event,) = network.events(checkout_id, "dispute")
    refund, dispute = parse(creem, refund_event), parse(creem, dispute_event)
    # Then each carries the whole the payment came to, tax included, beside what it returns
    assert refund.amount == usd(1512)
    assert refund.payment_total == dispute.payment_total == usd(3024)


def creem_paid_event(network: PaymentsNetwork) -> dict:
    return network.events(network.checkout("creem", "pack_starter"), "pay")[0]


def test_creem_signature_with_another_secret_is_refused(network):
    with pytest.raises(WebhookSignatureError):
        parse(network.creem(webhook_secret="whsec_someone_else"), creem_paid_event(network))


def test_creem_body_altered_by_one_byte_is_refused(network):
    event = altered(creem_paid_event(network), '"amount":999', '"amount":990')
    with pytest.raises(WebhookSignatureError):
        parse(network.creem(), event)


def test_creem_missing_signature_is_refused(network):
    event = creem_paid_event(network)
    with pytest.raises(WebhookSignatureError):
        parse(network.creem(), {**event, "headers": {"Content-Type": "application/json"}})


def test_creem_unknown_event_is_ignored(network):
    webhook = network.sandbox.creem_event(BASE_URL, "subscription.trialing", {"id": "sub_1", "object": "subscription"})
    event = network.creem().parse_webhook(webhook.headers, webhook.body)
    assert event.kind is PaymentEventKind.IGNORED
    assert event.event_id == json.loads(webhook.body)["id"]
