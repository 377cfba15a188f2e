"""Corrects the account's name, email or preferences (the right to rectification)."""

from __future__ import annotations

from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.emails import SentEmailRepository
from atelier.integrations.email import Mailer
from atelier.models.accounts import Account, Preferences
from atelier.models.email import EmailKind
from atelier.usecases.send_email import send_email


def update_profile(
    account_id: str,
    *,
    name: str | None,
    email: str | None,
    preferences: Preferences | None,
    accounts: AccountRepository,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
) -> Account:
    before = accounts.require(account_id)
    after = accounts.update_profile(account_id, name=name, email=email, preferences=preferences)
    if email is not None and email != before.email:
        # Told at the old address, so a hijacked session cannot quietly move the account away.
        send_email(
            before,
            EmailKind.SECURITY,
            "Your Atelier email address was changed",
            f"The email address of your Atelier account was changed to {email}. "
            "If you did not do this, sign in and change it back, then end all sessions.",
            mailer=mailer,
            sent_emails=sent_emails,
            clock=clock,
        )
    return after
