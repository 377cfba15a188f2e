"""Corrects the account's name, email or preferences (the right to rectification). Name and
preferences change at once; a new email address only once it is confirmed from that address
(see change_email.py), and asking for the current address again drops a pending change."""

from __future__ import annotations

from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.email_changes import EmailChangeRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.rate_limits import RateLimiter
from atelier.integrations.email import Mailer
from atelier.models.accounts import Preferences
from atelier.settings import Settings
from atelier.usecases.change_email import request_email_change
from atelier.usecases.get_account import AccountView, live_email_change


def update_profile(
    account_id: str,
    *,
    name: str | None,
    email: str | None,
    preferences: Preferences | None,
    site_base_url: str,
    accounts: AccountRepository,
    email_changes: EmailChangeRepository,
    rate_limiter: RateLimiter,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
    settings: Settings,
) -> AccountView:
    before = accounts.require(account_id)
    if email is None or email == before.email:
        after = accounts.update_profile(account_id, name=name, email=None, preferences=preferences)
        if email is not None:
            email_changes.discard(account_id)
        pending = live_email_change(account_id, email_changes=email_changes, now=clock.now())
        return AccountView(account=after, pending=pending)
    # The change of address first: its refusals (an admin's address, too many requests) come before
    # anything is written, name and preferences included.
    pending = request_email_change(
        before,
        email,
        site_base_url=site_base_url,
        email_changes=email_changes,
        rate_limiter=rate_limiter,
        mailer=mailer,
        sent_emails=sent_emails,
        clock=clock,
        settings=settings,
    )
    after = accounts.update_profile(account_id, name=name, email=None, preferences=preferences)
    return AccountView(account=after, pending=pending)
