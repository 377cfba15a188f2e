"""Corrects the account's name, email or preferences (the right to rectification)."""

from __future__ import annotations

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.emails import SentEmailRepository
from atelier.integrations.email import Mailer
from atelier.models.accounts import Account, Preferences
from atelier.models.email import EmailKind
from atelier.settings import Settings
from atelier.usecases.moderate import is_admin_address
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
    settings: Settings,
) -> Account:
    before = accounts.require(account_id)
    if email is not None and is_admin_address(email, settings) and not is_admin_address(before.email, settings):
        # The admin role goes with an admin's address as the identity provider gave it at sign-in;
        # an address typed in here must never confer it.
        raise errors.ForbiddenError("This email address cannot be used for this account.")
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
