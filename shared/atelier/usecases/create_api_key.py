"""Creates an API key: the key is returned this once, only its hash is kept, and the account
holder gets a security email."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from atelier import errors, tokens
from atelier.clock import Clock
from atelier.data.accounts import AccountRepository
from atelier.data.api_keys import ApiKeyRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.rate_limits import RateLimiter
from atelier.ids import IdPrefix, new_id
from atelier.integrations.email import Mailer
from atelier.models.accounts import DEFAULT_SCOPES, ApiKey, Scope
from atelier.models.email import EmailKind
from atelier.settings import Settings
from atelier.usecases.send_email import send_email

if TYPE_CHECKING:
    from atelier.services import Services


class TooManyApiKeysError(errors.ConflictError):
    code = "too_many_api_keys"
    default_message = "Revoke a key before creating another."


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    key: str


@dataclass(frozen=True)
class CreateApiKeyDeps:
    """What `create_api_key` works with, built once per function (`Services.dependencies`)."""

    api_keys: ApiKeyRepository
    accounts: AccountRepository
    rate_limiter: RateLimiter
    mailer: Mailer
    sent_emails: SentEmailRepository
    clock: Clock
    settings: Settings

    @classmethod
    def from_services(cls, services: Services) -> CreateApiKeyDeps:
        return cls(
            api_keys=services.api_keys,
            accounts=services.accounts,
            rate_limiter=services.rate_limiter,
            mailer=services.mailer,
            sent_emails=services.sent_emails,
            clock=services.clock,
            settings=services.settings,
        )


def create_api_key(
    deps: CreateApiKeyDeps,
    account_id: str,
    name: str,
    scopes: frozenset[Scope] | None = None,
) -> CreatedApiKey:
    now = deps.clock.now()
    deps.rate_limiter.hit(
        "api-key-create",
        account_id,
        limit=deps.settings.account_limits.api_key_creation_limit,
        window_seconds=deps.settings.account_limits.api_key_creation_window_seconds,
        now=now,
    )
    if deps.api_keys.count(account_id) >= deps.settings.account_limits.max_api_keys_per_account:
        raise TooManyApiKeysError()
    account = deps.accounts.require(account_id)
    key = tokens.new_token(tokens.API_KEY_PREFIX)
    api_key = ApiKey(
        id=new_id(IdPrefix.API_KEY),
        account_id=account_id,
        ledger_id=account.ledger_id,
        default_workspace_id=account.default_workspace_id,
        name=name,
        prefix=key[:8],
        created_at=now,
        scopes=scopes or DEFAULT_SCOPES,
    )
    deps.api_keys.create(api_key, tokens.hash_token(key))
    send_email(
        account,
        EmailKind.SECURITY,
        "A new API key was created on your Atelier account",
        f"An API key named “{name}” (starting {api_key.prefix}) was created, allowed to: "
        f"{', '.join(sorted(api_key.scopes))}. If this was not you, "
        "revoke it in your account settings and end all sessions.",
        mailer=deps.mailer,
        sent_emails=deps.sent_emails,
        clock=deps.clock,
    )
    return CreatedApiKey(api_key=api_key, key=key)
