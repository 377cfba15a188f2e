"""Schedules, cancels and reports an account's deletion (P9): a 72-hour countdown, cancellable until
the purge starts, then the purge (see `purge_account`).

During the countdown the account is `deletion_scheduled`: it can still sign in (to cancel), export
its data and read its own library, but it cannot generate or buy (the job submission transaction
requires an active account; checkout refuses), and its public content stops being public at once:
every public read path asks `is_publicly_visible` (or `public_only`), which treats an owner whose
deletion is scheduled as not public. The assets' own visibility is left as it was, so a cancellation
restores everything exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from atelier import errors
from atelier.clock import Clock, isoformat
from atelier.data.accounts import AccountRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.gallery import hide_public_content, restore_public_content
from atelier.data.privacy import PrivacyRepository
from atelier.data.wallets import WalletRepository
from atelier.integrations.email import Mailer
from atelier.integrations.public_media import PublicMedia
from atelier.models.accounts import AccountStatus
from atelier.models.email import EmailKind
from atelier.models.generation import Asset, Visibility
from atelier.models.privacy import DeletionState
from atelier.settings import Settings
from atelier.usecases.publish_media import restore_account, withdraw_account
from atelier.usecases.send_email import send_email

if TYPE_CHECKING:
    from atelier.services import Services
    from atelier.usecases.deliver_webhooks import WebhookEvents


@dataclass(frozen=True)
class ScheduleDeletionDeps:
    """What `schedule_deletion` works with, built once per function (`Services.dependencies`)."""

    privacy: PrivacyRepository
    accounts: AccountRepository
    mailer: Mailer
    sent_emails: SentEmailRepository
    public_media: PublicMedia
    clock: Clock
    settings: Settings
    events: WebhookEvents | None = None

    @classmethod
    def from_services(cls, services: Services) -> ScheduleDeletionDeps:
        return cls(
            privacy=services.privacy,
            accounts=services.accounts,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            public_media=services.public_media,
            clock=services.clock,
            settings=services.settings,
            events=services.webhook_events,
        )


def schedule_deletion(
    deps: ScheduleDeletionDeps,
    account_id: str,
) -> DeletionState:
    now = deps.clock.now()
    state = deps.privacy.schedule_deletion(
        account_id, requested_at=now, purge_at=now + timedelta(seconds=deps.settings.privacy.deletion_grace_seconds)
    )
    assert state.purge_at is not None
    # Public items and share links stop at once; the countdown can still be cancelled.
    hide_public_content(account_id)
    withdraw_account(account_id, public_media=deps.public_media)
    send_email(
        deps.accounts.require(account_id),
        EmailKind.PRIVACY,
        "Your Atelier account is scheduled for deletion",
        "You asked us to delete your Atelier account.\n\n"
        f"On {isoformat(state.purge_at)} your account and everything in it (your library, jobs, "
        "uploads, workspaces and settings) will be removed for good. Until then you can cancel: "
        "sign in and cancel the deletion from your account page. Your public items are hidden "
        "from now on. If you did not ask for this, sign in and cancel it now.\n\n"
        "Records of payments are kept for 7 years, as the law requires, with nothing that names you.",
        mailer=deps.mailer,
        sent_emails=deps.sent_emails,
        clock=deps.clock,
    )
    if deps.events is not None:
        deps.events.deletion_scheduled(account_id, requested_at=now, purge_at=state.purge_at)
    return state


@dataclass(frozen=True)
class CancelDeletionDeps:
    """What `cancel_deletion` works with, built once per function (`Services.dependencies`)."""

    privacy: PrivacyRepository
    accounts: AccountRepository
    wallets: WalletRepository
    mailer: Mailer
    sent_emails: SentEmailRepository
    public_media: PublicMedia
    clock: Clock

    @classmethod
    def from_services(cls, services: Services) -> CancelDeletionDeps:
        return cls(
            privacy=services.privacy,
            accounts=services.accounts,
            wallets=services.wallets,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            public_media=services.public_media,
            clock=services.clock,
        )


def cancel_deletion(
    deps: CancelDeletionDeps,
    account_id: str,
) -> DeletionState:
    """Ends the countdown and restores the account's status from before it (active or restricted),
    as the wallet now has it: a chargeback during the countdown restricts, a debt paid lifts."""
    cancelled = deps.privacy.cancel_deletion(account_id)
    deps.wallets.align_account_status(account_id)
    state = deps.privacy.deletion_state(account_id) or cancelled  # read again: aligning may change the status
    restore_public_content(account_id)
    restore_account(account_id, public_media=deps.public_media)
    send_email(
        deps.accounts.require(account_id),
        EmailKind.PRIVACY,
        "Your Atelier account will not be deleted",
        "The deletion of your Atelier account was cancelled; everything is as it was, and your public "
        "items are visible again. If you did not cancel it, sign in and review your sessions.",
        mailer=deps.mailer,
        sent_emails=deps.sent_emails,
        clock=deps.clock,
    )
    return state


def deletion_state(account_id: str, *, privacy: PrivacyRepository) -> DeletionState:
    state = privacy.deletion_state(account_id)
    if state is None:
        raise errors.NotFoundError()
    return state


def owner_is_public(status: AccountStatus) -> bool:
    """Whether an account's public content may be shown to others: not once its deletion is
    scheduled, nor while it is suspended."""
    return status.shows_public_content


def is_publicly_visible(asset: Asset, owner_status: AccountStatus) -> bool:
    """The one rule every public read path (gallery, share links) applies to an asset."""
    return asset.visibility is Visibility.PUBLIC and not asset.removed and owner_is_public(owner_status)


def public_only(assets: Sequence[Asset], *, privacy: PrivacyRepository) -> list[Asset]:
    """The assets others may see, reading each distinct owner's status once (in batches)."""
    candidates = [asset for asset in assets if asset.visibility is Visibility.PUBLIC and not asset.removed]
    if not candidates:
        return []
    statuses = privacy.owner_statuses(asset.account_id for asset in candidates)
    return [
        asset
        for asset in candidates
        if asset.account_id in statuses and is_publicly_visible(asset, statuses[asset.account_id])
    ]
