"""Corrects the account's name, email or preferences (the right to rectification). Name and
preferences change at once; a new email address only once it is confirmed from that address
(see change_email.py), and asking for the current address again drops a pending change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from atelier.services import Services


@dataclass(frozen=True)
class UpdateProfileDeps:
    """What `update_profile` works with, built once per function (`Services.dependencies`)."""

    accounts: AccountRepository
    email_changes: EmailChangeRepository
    rate_limiter: RateLimiter
    mailer: Mailer
    sent_emails: SentEmailRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> UpdateProfileDeps:
        return cls(
            accounts=services.accounts,
            email_changes=services.email_changes,
            rate_limiter=services.rate_limiter,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
        )


def update_profile(
    deps: UpdateProfileDeps,
    account_id: str,
    *,
    name: str | None,
    email: str | None,
    preferences: Preferences | None,
    site_base_url: str,
) -> AccountView:
    before = deps.accounts.require(account_id)
    if email is None or email == before.email:
        after = deps.accounts.update_profile(account_id, name=name, email=None, preferences=preferences)
        if email is not None:
            deps.email_changes.discard(account_id)
        pending = live_email_change(account_id, email_changes=deps.email_changes, now=deps.clock.now())
        return AccountView(account=after, pending=pending)
    # The change of address first: its refusals (an admin's address, too many requests) come before
    # anything is written, name and preferences included.
    pending = request_email_change(
        before,
        email,
        site_base_url=site_base_url,
        email_changes=deps.email_changes,
        rate_limiter=deps.rate_limiter,
        mailer=deps.mailer,
        sent_emails=deps.sent_emails,
        clock=deps.clock,
        settings=deps.settings,
    )
    after = deps.accounts.update_profile(account_id, name=name, email=None, preferences=preferences)
    return AccountView(account=after, pending=pending)
