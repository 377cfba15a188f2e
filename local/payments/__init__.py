"""The local payments sandbox: stand-ins for the parts of Stripe, PayPal and Creem that Atelier
uses, and a checkout page that pays. Never deployed.

Mounted at:

- ``/_local/stripe/v1/...``: Checkout Sessions (form-encoded, as Stripe's API is), subscription
  cancel, customer delete, invoice payments, charges (retrieve);
- ``/_local/paypal/v1/oauth2/token``, ``/_local/paypal/v2/checkout/orders[/{id}[/capture]]``,
  ``/_local/paypal/v1/notifications/verify-webhook-signature`` (SUCCESS only for a delivery this
  sandbox signed, with its body unchanged) and the signing certificate;
- ``/_local/creem/v1/checkouts``, ``/_local/creem/v1/subscriptions/{id}/cancel``,
  ``/_local/creem/v1/transactions?transaction_id=...``;
- ``/_local/checkout``: every checkout the stand-ins create is paid at
  ``/_local/checkout/{provider checkout id}``. ``POST .../pay``, ``/renew`` (plans), ``/refund``
  (optional JSON ``{"amount_minor": n}``), ``/dispute`` (Stripe: ``{"charge_only": true}`` names
  the charge and no payment intent) and ``/cancel-subscription`` send the
  provider's own webhook events, in its own JSON shapes and signed as it signs them, to
  ``{runtime}/v1/webhooks/{stripe|paypal|creem}``. With ``?deliver=false`` nothing is sent and the
  answer is ``{"events": [{provider, type, url, headers, body}]}`` for a test to replay, reorder or
  duplicate. ``GET /_local/checkout`` lists the checkouts, ``GET .../{id}/events`` every event
  issued for one. Paying at Creem takes ``{"tax_percent": n}`` (sales tax on top of the price, for
  that payment and the renewals) and ``{"amount_paid": false}`` (orders without ``amount_paid`` and
  its breakdown, as Creem's documented ``checkout.completed`` reads).

PayPal is paid the PayPal way: paying approves the order and sends the browser to the return URL
with ``?token=<order id>``; the application captures, and the capture sends
``PAYMENT.CAPTURE.COMPLETED``. Events caused by API calls (a capture, a cancellation) are delivered
in the background, as the providers do.

The secrets (in ``common``) are documented local-only values, shared by the sandbox and the settings its
``environment`` hook gives the functions.

The parts: ``common`` (constants, catalog, checkout state), ``core`` (the shared state, delivery,
and the ``ProviderStandIn`` protocol), one module per provider (``stripe``, ``paypal``, ``creem``),
``page`` (the checkout page) and ``sandbox`` (the page's routes over the three).
"""

from local.payments.common import (
    CHECKOUT_PREFIX,
    CREEM_API_KEY,
    CREEM_PREFIX,
    CREEM_WEBHOOK_SECRET,
    LOCAL_CATALOG,
    PAYPAL_CERT_ID,
    PAYPAL_CLIENT_ID,
    PAYPAL_CLIENT_SECRET,
    PAYPAL_PREFIX,
    PAYPAL_WEBHOOK_ID,
    STRIPE_API_VERSION,
    STRIPE_PREFIX,
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    Checkout,
    Deliverer,
    Payment,
    SandboxError,
    Webhook,
    http_deliverer,
    local_payments_environment,
    raw_json_member,
)
from local.payments.core import ProviderStandIn, SandboxCore
from local.payments.creem import creem_signature
from local.payments.paypal import paypal_message
from local.payments.sandbox import LocalPaymentsSandbox, payments_stand_ins
from local.payments.stripe import decode_stripe_form, stripe_signature

# The name tests have long used for PayPal's signed message.
_paypal_message = paypal_message

__all__ = [
    "CHECKOUT_PREFIX",
    "CREEM_API_KEY",
    "CREEM_PREFIX",
    "CREEM_WEBHOOK_SECRET",
    "LOCAL_CATALOG",
    "PAYPAL_CERT_ID",
    "PAYPAL_CLIENT_ID",
    "PAYPAL_CLIENT_SECRET",
    "PAYPAL_PREFIX",
    "PAYPAL_WEBHOOK_ID",
    "STRIPE_API_VERSION",
    "STRIPE_PREFIX",
    "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "Checkout",
    "Deliverer",
    "LocalPaymentsSandbox",
    "Payment",
    "ProviderStandIn",
    "SandboxCore",
    "SandboxError",
    "Webhook",
    "creem_signature",
    "decode_stripe_form",
    "http_deliverer",
    "local_payments_environment",
    "payments_stand_ins",
    "paypal_message",
    "raw_json_member",
    "stripe_signature",
]
