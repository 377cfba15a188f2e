"""Changing the account's email address: the new address takes effect only once the link sent to it
is used, and the old address is told at once.

`request_email_change` stores the pending change (the token's hash only; one per account, a newer
request replaces it) and, after that has committed, emails the link to the new address and a notice
to the old one. `confirm_email_change` takes the token back from the signed-in account holder (the
web page the link opens posts it), makes the address the account's and spends the token, in one
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from atelier import errors, tokens
from atelier.clock import Clock, isoformat
from atelier.data.accounts import AccountRepository
from atelier.data.email_changes import EmailChangeRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.rate_limits import RateLimiter
from atelier.integrations.email import Mailer
from atelier.models.accounts import Account, PendingEmailChange
from atelier.models.email import EmailKind
from atelier.settings import Settings
from atelier.usecases.moderate import is_admin_address
from atelier.usecases.send_email import send_email

if TYPE_CHECKING:
    from atelier.services import Services

# The web page the emailed link opens; it posts the token to POST /v1/me/email-confirmations.
CONFIRMATION_PAGE = "/settings/email"


class EmailConfirmationInvalidError(errors.InvalidFieldError):
    code = "email_confirmation_invalid"
    default_message = "This confirmation link is not valid: it was used, replaced by a newer one, or has expired."


def refuse_admin_address(new_email: str, current_email: str, settings: Settings) -> None:
    """The admin role goes with an admin's address as the identity provider gave it at sign-in; an
    address typed in here must never confer it."""
    if is_admin_address(new_email, settings) and not is_admin_address(current_email, settings):
        raise errors.ForbiddenError("This email address cannot be used for this account.")


def request_email_change(
    account: Account,
    new_email: str,
    *,
    site_base_url: str,
    email_changes: EmailChangeRepository,
    rate_limiter: RateLimiter,
    mailer: Mailer,
    sent_emails: SentEmailRepository,
    clock: Clock,
    settings: Settings,
) -> PendingEmailChange:
    refuse_admin_address(new_email, account.email, settings)
    now = clock.now()
    # Each request mails an address the caller chose: bounded, so the account cannot spam with it.
    rate_limiter.hit(
        "email-change",
        account.id,
        limit=settings.account_limits.email_change_limit,
        window_seconds=settings.account_limits.email_change_window_seconds,
        now=now,
    )
    token = tokens.new_token()
    change = PendingEmailChange(
        account_id=account.id,
        new_email=new_email,
        token_hash=tokens.hash_token(token),
        requested_at=now,
        expires_at=now + timedelta(seconds=settings.account_limits.email_change_seconds),
    )
    email_changes.save(change)
    link = f"{site_base_url.rstrip('/')}{CONFIRMATION_PAGE}?{urlencode({'token': token})}"
    send_email(
        account,
        EmailKind.SECURITY,
        "Confirm your new Atelier email address",
        f"To use this address for your Atelier account, open this link (it works once, until "
        f"{isoformat(change.expires_at)}):\n\n{link}\n\nIf you did not ask for this, ignore this email.",
        to=new_email,
        mailer=mailer,
        sent_emails=sent_emails,
        clock=clock,
    )
    # Told at the old address, so a hijacked session cannot quietly move the account away.
    send_email(
        account,
        EmailKind.SECURITY,
        "A new email address was requested for your Atelier account",
        f"Someone signed in to your Atelier account asked to use {new_email} instead of this address. "
        "It takes effect only when confirmed from that address. If you did not do this, sign in, "
        "end all sessions and set your address again.",
        mailer=mailer,
        sent_emails=sent_emails,
        clock=clock,
    )
    return change


@dataclass(frozen=True)
class ConfirmEmailChangeDeps:
    """What `confirm_email_change` works with, built once per function (`Services.dependencies`)."""

    accounts: AccountRepository
    email_changes: EmailChangeRepository
    mailer: Mailer
    sent_emails: SentEmailRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> ConfirmEmailChangeDeps:
        return cls(
            accounts=services.accounts,
            email_changes=services.email_changes,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
        )


def confirm_email_change(
    deps: ConfirmEmailChangeDeps,
    account_id: str,
    token: str,
) -> Account:
    before = deps.accounts.require(account_id)
    change = deps.email_changes.pending(account_id)
    if change is None or not tokens.same(change.token_hash, tokens.hash_token(token)):
        raise EmailConfirmationInvalidError(details=[{"field": "token", "location": "body"}])
    if deps.clock.now() >= change.expires_at:
        raise EmailConfirmationInvalidError(details=[{"field": "token", "location": "body"}])
    # Checked again: the admin list may have changed since the request.
    refuse_admin_address(change.new_email, before.email, deps.settings)
    if not deps.email_changes.apply(change):
        # Used or replaced meanwhile (a second click, a newer request).
        raise EmailConfirmationInvalidError(details=[{"field": "token", "location": "body"}])
    after = deps.accounts.require(account_id)
    send_email(
        before,
        EmailKind.SECURITY,
        "Your Atelier email address was changed",
        f"The email address of your Atelier account is now {change.new_email}. If you did not do "
        "this, contact support and end all sessions.",
        mailer=deps.mailer,
        sent_emails=deps.sent_emails,
        clock=deps.clock,
    )
    return after
