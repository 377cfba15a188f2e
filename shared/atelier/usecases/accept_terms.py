"""Accepts the terms in force and attests the minimum age."""

from __future__ import annotations

from atelier import errors
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.policies import PolicyRepository
from atelier.models.accounts import Account, PolicyKind
from atelier.settings import Settings
from atelier.usecases.read_policy import read_policy


class StaleTermsVersionError(errors.ConflictError):
    code = "terms_version_mismatch"
    default_message = "These are not the terms in force; read the current ones and accept those."


def accept_terms(
    account_id: str,
    version: str,
    *,
    accounts: AccountRepository,
    policies: PolicyRepository,
    clock: Clock,
    settings: Settings,
) -> Account:
    current = read_policy(PolicyKind.TERMS, policies=policies, clock=clock, settings=settings).in_force
    if version != current.version:
        raise StaleTermsVersionError(details={"current_version": current.version})
    return accounts.accept_terms(account_id, version, clock.now())
