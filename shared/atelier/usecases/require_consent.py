"""The consent guard (P14): no generation, purchase, publication or share until the account has
accepted the terms in force and attested the minimum age."""

from __future__ import annotations

from atelier import errors
from atelier.clock import Clock
from atelier.data.policies import PolicyRepository
from atelier.models.accounts import Account, AccountStatus, PolicyKind
from atelier.settings import Settings
from atelier.usecases.read_policy import read_policy


def require_consent(account: Account, *, policies: PolicyRepository, clock: Clock, settings: Settings) -> None:
    terms = read_policy(PolicyKind.TERMS, policies=policies, clock=clock, settings=settings).in_force
    if not account.age_confirmed or account.terms_version != terms.version:
        raise errors.ConsentRequiredError(
            details={"terms_version": terms.version, "minimum_age": settings.sign_in.minimum_age},
        )


def require_good_standing(account: Account) -> None:
    """Generation, publication and shares need an active account: neither suspended by a moderator
    (P19) nor restricted by a debt or a deletion countdown."""
    if account.status is AccountStatus.SUSPENDED:
        raise errors.AccountSuspendedError()
    if account.status is not AccountStatus.ACTIVE:
        raise errors.AccountRestrictedError()
