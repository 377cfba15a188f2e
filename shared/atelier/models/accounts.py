"""Accounts and what hangs off them: identity, consent, preferences, sessions, API keys, workspaces."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AccountStatus(StrEnum):
    ACTIVE = "active"
    RESTRICTED = "restricted"
    DELETION_SCHEDULED = "deletion_scheduled"
    # Never stored in the account row's `status` (which money and deletion flows move): a moderator's
    # suspension is its own attribute, `suspended_at`, and shows as this status while it stands (P19).
    SUSPENDED = "suspended"

    @property
    def shows_public_content(self) -> bool:
        """Whether others may see this account's public items and share links."""
        return self in (AccountStatus.ACTIVE, AccountStatus.RESTRICTED)


def effective_status(stored: str, suspended_at: datetime | None) -> AccountStatus:
    """The status an account has: a standing suspension wins over the stored status."""
    return AccountStatus.SUSPENDED if suspended_at is not None else AccountStatus(stored)


class Consent(BaseModel):
    """Optional processing, all off until the account holder turns it on (P12, P13, P16)."""

    model_config = ConfigDict(frozen=True)

    analytics: bool = False
    product_improvement: bool = False
    marketing_emails: bool = False


class Preferences(BaseModel):
    model_config = ConfigDict(frozen=True)

    theme: Literal["system", "light", "dark"] = "system"


class Account(BaseModel):
    """The account. Its personal fields are those of P1: name, email, identity-provider id (issuer
    and subject), picture URL and created time; and the profile picture the person chose to upload."""

    model_config = ConfigDict(frozen=True)

    id: str
    email: str
    name: str
    identity_issuer: str
    identity_subject: str
    picture_url: str | None = None
    created_at: datetime
    status: AccountStatus = AccountStatus.ACTIVE
    # Set by a moderator's suspension, cleared only by a moderator lifting it (P19).
    suspended_at: datetime | None = None
    age_confirmed: bool = False
    terms_version: str | None = None
    terms_accepted_at: datetime | None = None
    consent: Consent = Field(default_factory=Consent)
    consent_updated_at: datetime | None = None
    preferences: Preferences = Field(default_factory=Preferences)
    default_workspace_id: str
    # Pseudonymous id the ledger is keyed by (P10): links money entries to no person once purged.
    ledger_id: str
    # The profile picture the person uploaded: a 256 px WebP copy under the account's prefix.
    avatar_key: str | None = None


class Identity(BaseModel):
    """What a verified ID token says about the person signing in."""

    model_config = ConfigDict(frozen=True)

    issuer: str
    subject: str
    email: str
    email_verified: bool = False
    name: str = ""
    picture_url: str | None = None


class PendingEmailChange(BaseModel):
    """A new address the account holder asked for, in effect once the link sent to it is used."""

    model_config = ConfigDict(frozen=True)

    account_id: str
    new_email: str
    token_hash: str
    requested_at: datetime
    expires_at: datetime


class Session(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    ledger_id: str | None = None
    default_workspace_id: str | None = None
    created_at: datetime
    last_seen_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return now < self.idle_expires_at and now < self.absolute_expires_at


class Scope(StrEnum):
    """What an API key may do. A session may do everything its account may; a key only what its
    scopes name, and never what needs a session (the account, its keys, sessions and deletion)."""

    GENERATE = "generate"
    LIBRARY_READ = "library:read"
    LIBRARY_WRITE = "library:write"
    BILLING_READ = "billing:read"
    # Webhook endpoints: reading them, their delivery logs and the default secret (which verifies
    # deliveries to a job's own `webhook_url`); writing registers, changes, removes, rotates, resends.
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    # Requesting, reading and downloading the archive of all the account's data.
    ACCOUNT_EXPORT = "account:export"


# What a key made without scopes gets, and what a key stored before scopes existed is treated as.
DEFAULT_SCOPES: frozenset[Scope] = frozenset({Scope.GENERATE, Scope.LIBRARY_READ})


class ApiKey(BaseModel):
    """An API key's metadata; the key itself is shown once at creation and only its hash is kept."""

    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    ledger_id: str | None = None
    default_workspace_id: str | None = None
    name: str
    prefix: str
    created_at: datetime
    scopes: frozenset[Scope] = DEFAULT_SCOPES
    last_used_at: datetime | None = None


class Workspace(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    account_id: str
    name: str
    created_at: datetime
    is_default: bool = False
    # How many jobs, assets and workflows live in it; a workspace is deleted only when empty.
    content_count: int = 0


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    ACCOUNT = "account"


class Principal(BaseModel):
    """Who is making a request, resolved once per request."""

    model_config = ConfigDict(frozen=True)

    kind: PrincipalKind
    account_id: str | None = None
    via: Literal["session", "api_key"] | None = None
    session_id: str | None = None
    api_key_id: str | None = None
    ledger_id: str | None = None
    default_workspace_id: str | None = None
    # What an API key may do; empty for a session, which is held to no scope.
    scopes: frozenset[Scope] = frozenset()

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(kind=PrincipalKind.ANONYMOUS)

    @property
    def is_signed_in(self) -> bool:
        return self.kind is PrincipalKind.ACCOUNT


class SignInState(BaseModel):
    """What a sign-in started with, kept server-side until its callback consumes it once."""

    model_config = ConfigDict(frozen=True)

    state_hash: str
    browser_binding_hash: str
    nonce: str
    code_verifier: str
    provider: str
    redirect_to: str
    expires_at: datetime


class PolicyKind(StrEnum):
    TERMS = "terms"
    PRIVACY = "privacy"


class PolicyVersion(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: PolicyKind
    version: str
    summary: str
    effective_at: datetime
    published_at: datetime
    material: bool = False
