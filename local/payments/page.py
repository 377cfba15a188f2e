"""The sandbox's checkout page: what is bought, and the buttons that make money move."""

from __future__ import annotations

import html
from decimal import Decimal

from local.payments.common import CHECKOUT_PREFIX, ZERO_DECIMAL, Checkout


def small_page(title: str, text: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem">'
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )


def checkout_page(checkout: Checkout, provider: str) -> str:
    """``provider``: the provider's name as the buyer reads it."""
    exponent = 0 if checkout.currency in ZERO_DECIMAL else 2
    price = f"{Decimal(checkout.amount_minor).scaleb(-exponent):.{exponent}f} {checkout.currency.upper()}"
    every = f" every {checkout.interval}" if checkout.interval else ""
    if checkout.status == "open":
        buttons = _button(checkout, "pay", f"Pay {price}")
    else:
        latest = checkout.latest_payment
        subscribed = checkout.subscription is not None and checkout.subscription_status == "active"
        offered = [
            ("renew", "Renew: pay the next period", subscribed),
            ("refund", "Refund in full", latest is not None and latest.refundable_minor > 0),
            ("dispute", "Open a dispute", latest is not None and latest.refundable_minor > 0),
            ("cancel-subscription", "Cancel the subscription", subscribed),
        ]
        buttons = f"<p>This checkout is {html.escape(checkout.status)}.</p>" + "".join(
            _button(checkout, action, label) for action, label, available in offered if available
        )
    cancel = (
        f'<p><a href="{html.escape(checkout.cancel_url)}">Cancel</a></p>'
        if checkout.cancel_url and checkout.status == "open"
        else ""
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Pay with {provider} (local sandbox)</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        '<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem">'
        f"<h1>{html.escape(checkout.item_name)}</h1>"
        f"<p><strong>{html.escape(price)}</strong>{html.escape(every)}</p>"
        f"<p>Paid through {provider}'s local sandbox: no card, no money. Paying sends {provider}'s signed webhooks.</p>"
        f"{buttons}{cancel}</body></html>"
    )


def _button(checkout: Checkout, action: str, label: str) -> str:
    target = f"{CHECKOUT_PREFIX}/{html.escape(checkout.id)}/{action}"
    return (
        f'<form method="post" action="{target}" style="margin:.5rem 0">'
        f'<button type="submit" style="padding:.5rem 1rem">{html.escape(label)}</button></form>'
    )
