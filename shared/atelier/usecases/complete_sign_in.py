"""Completes an OpenID Connect sign-in: consumes the state once, checks the browser binding and the
issuer the callback names (RFC 9207), exchanges the code with PKCE, verifies the ID token (and reads
UserInfo when the token carries no email), checks the address and name the provider gave, finds or
creates the account, and opens a new session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier import errors, tokens
from atelier.clock import Clock
from atelier.data.accounts import AccountAlreadyExistsError, AccountRepository
from atelier.data.sessions import SessionRepository
from atelier.data.sign_in_states import SignInStateRepository
from atelier.ids import IdPrefix, new_id
from atelier.integrations.oidc import OidcProvider
from atelier.models.accounts import Account, AccountStatus, Identity, Session, Workspace
from atelier.models.email import clean_display_name, deliverable_address
from atelier.settings import Settings
from atelier.usecases.moderate import is_admin_address
from atelier.usecases.open_session import open_session

if TYPE_CHECKING:
    from atelier.services import Services

DEFAULT_WORKSPACE_NAME = "Personal"
# Where a sign-in lands while the account's deletion is scheduled, whatever page it started from:
# the studio's deletion section, with its countdown and "Cancel deletion" (P9).
DELETION_PAGE = "/settings#delete-account"


@dataclass(frozen=True)
class SignInResult:
    account: Account
    session_token: str
    session: Session
    redirect_to: str
    created: bool


@dataclass(frozen=True)
class CompleteSignInDeps:
    """What `complete_sign_in` works with, built once per function (`Services.dependencies`)."""

    provider_for: Callable[[str], OidcProvider]
    states: SignInStateRepository
    accounts: AccountRepository
    sessions: SessionRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> CompleteSignInDeps:
        return cls(
            provider_for=services.oidc_provider,
            states=services.sign_in_states,
            accounts=services.accounts,
            sessions=services.sessions,
            clock=services.clock,
            settings=services.settings,
        )


def complete_sign_in(
    deps: CompleteSignInDeps,
    *,
    code: str | None,
    state: str | None,
    provider_error: str | None,
    response_issuer: str | None = None,
    browser_binding: str | None,
    callback_url: str,
) -> SignInResult:
    if not state or not browser_binding:
        raise errors.SignInFailedError()
    # Consumed before anything else, so a callback URL works once only, whatever happens next.
    pending = deps.states.consume(tokens.hash_token(state))
    now = deps.clock.now()
    if pending is None or now >= pending.expires_at:
        raise errors.SignInFailedError()
    if not tokens.same(pending.browser_binding_hash, tokens.hash_token(browser_binding)):
        raise errors.SignInFailedError()
    provider = deps.provider_for(pending.provider)
    # Before the answer is read at all, error or code: it must come from the provider asked.
    provider.check_response_issuer(response_issuer)
    if provider_error or not code:
        raise errors.SignInFailedError("The identity provider did not approve the sign-in.")
    provider_tokens = provider.exchange_code(code=code, code_verifier=pending.code_verifier, redirect_uri=callback_url)
    identity = _checked(provider.identify(provider_tokens, nonce=pending.nonce))
    if not identity.email_verified and is_admin_address(identity.email, deps.settings):
        # The admin role goes with the address: only an address its provider vouches for claims it.
        raise errors.SignInFailedError("The identity provider has not verified this email address.")

    account, created = _find_or_create_account(identity, accounts=deps.accounts, clock=deps.clock)
    token, session = open_session(account, sessions=deps.sessions, clock=deps.clock, settings=deps.settings)
    leaving = account.status is AccountStatus.DELETION_SCHEDULED
    return SignInResult(
        account=account,
        session_token=token,
        session=session,
        redirect_to=DELETION_PAGE if leaving else pending.redirect_to,
        created=created,
    )


def _checked(identity: Identity) -> Identity:
    """The identity with an address mail can go to (one mailbox, no control characters, a sane
    length) and a name fit to show and to write into mail; an unusable address refuses sign-in."""
    email = deliverable_address(identity.email)
    if email is None:
        raise errors.SignInFailedError("The identity provider's email address cannot receive mail from Atelier.")
    return identity.model_copy(update={"email": email, "name": clean_display_name(identity.name)})


def _find_or_create_account(identity: Identity, *, accounts: AccountRepository, clock: Clock) -> tuple[Account, bool]:
    """Found again by (issuer, subject), never by email alone: an email can change hands."""
    existing = accounts.find_by_identity(identity.issuer, identity.subject)
    if existing is not None:
        return existing, False
    now = clock.now()
    account_id = new_id(IdPrefix.ACCOUNT)
    workspace = Workspace(
        id=new_id(IdPrefix.WORKSPACE),
        account_id=account_id,
        name=DEFAULT_WORKSPACE_NAME,
        created_at=now,
        is_default=True,
    )
    account = Account(
        id=account_id,
        email=identity.email,
        name=identity.name or identity.email.split("@", 1)[0],
        identity_issuer=identity.issuer,
        identity_subject=identity.subject,
        picture_url=identity.picture_url,
        created_at=now,
        default_workspace_id=workspace.id,
        ledger_id=new_id(IdPrefix.LEDGER),
    )
    try:
        accounts.create(account, workspace)
    except AccountAlreadyExistsError:
        # Two first sign-ins raced; the other one created the account.
        raced = accounts.find_by_identity(identity.issuer, identity.subject)
        if raced is None:
            raise
        return raced, False
    return account, True
