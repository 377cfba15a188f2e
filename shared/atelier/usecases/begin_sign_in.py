"""Starts an OpenID Connect sign-in: state, nonce and PKCE, bound to the browser by a cookie."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from atelier import errors, tokens
from atelier.clock import Clock
from atelier.data.rate_limits import RateLimiter
from atelier.data.sign_in_states import SignInStateRepository
from atelier.integrations.oidc import OidcProvider
from atelier.models.accounts import SignInState
from atelier.settings import Settings

if TYPE_CHECKING:
    from atelier.services import Services

# A path on this site, or nothing (which means "/"): a `/` not followed by another `/` (nor by a
# backslash, which is no allowed character). Written without lookarounds, so the login route's
# query schema can carry it and every JSON Schema tool reads it the same way.
SAFE_REDIRECT_PATTERN = r"^(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@%?][A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*)?)?$"
_SAFE_PATH = re.compile(SAFE_REDIRECT_PATTERN)


@dataclass(frozen=True)
class SignInStart:
    authorization_url: str
    browser_binding: str


def safe_redirect_path(redirect_to: str | None) -> str:
    """Only a path on this site: no scheme, no host, no `//` or `/\\` that browsers read as a host."""
    if not redirect_to:
        return "/"
    # fullmatch: with `match`, the pattern's `$` also matches before a trailing newline.
    if len(redirect_to) > 512 or not _SAFE_PATH.fullmatch(redirect_to) or "/\\" in redirect_to:
        raise errors.InvalidFieldError(
            "redirect_to must be a path on this site.", details=[{"field": "redirect_to", "location": "query"}]
        )
    return redirect_to


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class BeginSignInDeps:
    """What `begin_sign_in` works with, built once per function (`Services.dependencies`)."""

    states: SignInStateRepository
    rate_limiter: RateLimiter
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> BeginSignInDeps:
        return cls(
            states=services.sign_in_states,
            rate_limiter=services.rate_limiter,
            clock=services.clock,
            settings=services.settings,
        )


def begin_sign_in(
    deps: BeginSignInDeps,
    *,
    provider_name: str,
    provider: OidcProvider,
    callback_url: str,
    redirect_to: str | None,
    login_hint: str | None,
    client_address: str,
) -> SignInStart:
    destination = safe_redirect_path(redirect_to)
    now = deps.clock.now()
    deps.rate_limiter.hit(
        "sign-in",
        client_address,
        limit=deps.settings.sign_in.sign_in_limit_per_address,
        window_seconds=deps.settings.sign_in.sign_in_window_seconds,
        now=now,
    )
    state, nonce, verifier, binding = (tokens.new_token() for _ in range(4))
    deps.states.save(
        SignInState(
            state_hash=tokens.hash_token(state),
            browser_binding_hash=tokens.hash_token(binding),
            nonce=nonce,
            code_verifier=verifier,
            provider=provider_name,
            redirect_to=destination,
            expires_at=now + timedelta(seconds=deps.settings.sign_in.sign_in_state_seconds),
        )
    )
    url = provider.authorization_url(
        redirect_uri=callback_url,
        state=state,
        nonce=nonce,
        code_challenge=code_challenge(verifier),
        login_hint=login_hint,
    )
    return SignInStart(authorization_url=url, browser_binding=binding)
