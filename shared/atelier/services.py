"""The collaborators a function hands to its use cases, built lazily once per container.

Handlers take them from `get_services()`; tests build a `Services` of their own (or pass fakes to
use cases directly)."""

from __future__ import annotations

import threading
from functools import cached_property, lru_cache

from atelier import errors
from atelier.clock import Clock, SystemClock
from atelier.data.accounts import AccountRepository
from atelier.data.api_keys import ApiKeyRepository
from atelier.data.assets import AssetRepository, UploadRepository
from atelier.data.emails import SentEmailRepository
from atelier.data.jobs import JobRepository
from atelier.data.payments import PaymentRecordsRepository
from atelier.data.policies import PolicyRepository
from atelier.data.rate_limits import RateLimiter
from atelier.data.sessions import SessionRepository
from atelier.data.sign_in_states import SignInStateRepository
from atelier.data.wallets import WalletRepository
from atelier.data.workspaces import WorkspaceRepository
from atelier.integrations.email import Mailer, SesMailer
from atelier.integrations.inference.base import InferenceProvider
from atelier.integrations.moderation import BlocklistModeration
from atelier.integrations.oidc import OidcClient, OidcProvider
from atelier.integrations.payments.base import PaymentProvider
from atelier.integrations.queue import MessageQueue
from atelier.integrations.storage import ObjectStore
from atelier.settings import Settings, get_settings


class Services:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, mailer: Mailer | None = None):
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._mailer = mailer
        self._providers: dict[str, OidcProvider] = {}
        self._payment_providers: dict[str, PaymentProvider] = {}
        self._inference_providers: dict[str, InferenceProvider] = {}
        self._providers_lock = threading.Lock()

    @cached_property
    def accounts(self) -> AccountRepository:
        return AccountRepository()

    @cached_property
    def sessions(self) -> SessionRepository:
        return SessionRepository()

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository()

    @cached_property
    def workspaces(self) -> WorkspaceRepository:
        return WorkspaceRepository()

    @cached_property
    def sign_in_states(self) -> SignInStateRepository:
        return SignInStateRepository()

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        return RateLimiter()

    @cached_property
    def sent_emails(self) -> SentEmailRepository:
        return SentEmailRepository()

    @cached_property
    def policies(self) -> PolicyRepository:
        return PolicyRepository()

    @cached_property
    def wallets(self) -> WalletRepository:
        return WalletRepository()

    @cached_property
    def payments(self) -> PaymentRecordsRepository:
        return PaymentRecordsRepository()

    @cached_property
    def jobs(self) -> JobRepository:
        return JobRepository()

    @cached_property
    def assets(self) -> AssetRepository:
        return AssetRepository()

    @cached_property
    def uploads(self) -> UploadRepository:
        return UploadRepository()

    @cached_property
    def asset_storage(self) -> ObjectStore:
        return ObjectStore(self.settings.assets_bucket_name)

    @cached_property
    def export_storage(self) -> ObjectStore:
        return ObjectStore(self.settings.exports_bucket_name)

    @cached_property
    def generation_queue(self) -> MessageQueue:
        return MessageQueue(self.settings.generation_queue_url)

    @cached_property
    def moderation(self) -> BlocklistModeration:
        return BlocklistModeration(self.settings.blocked_prompt_terms)

    def inference_provider(self, name: str) -> InferenceProvider:
        with self._providers_lock:
            if name in self._inference_providers:
                return self._inference_providers[name]
        from atelier.integrations.inference.registry import provider_for

        provider = provider_for(name, self.settings)
        with self._providers_lock:
            return self._inference_providers.setdefault(name, provider)

    def use_inference_provider(self, name: str, provider: InferenceProvider) -> None:
        with self._providers_lock:
            self._inference_providers[name] = provider

    def payment_provider(self, name: str) -> PaymentProvider:
        with self._providers_lock:
            if name in self._payment_providers:
                return self._payment_providers[name]
        if name not in self.settings.payment_providers:
            raise errors.InvalidFieldError(
                "That payment provider is not available.", details=[{"field": "provider", "location": "body"}]
            )
        from atelier.integrations.payments.registry import provider_for

        provider = provider_for(name, self.settings)
        with self._providers_lock:
            return self._payment_providers.setdefault(name, provider)

    def use_payment_provider(self, name: str, provider: PaymentProvider) -> None:
        with self._providers_lock:
            self._payment_providers[name] = provider

    @property
    def mailer(self) -> Mailer:
        if self._mailer is None:
            self._mailer = SesMailer(self.settings.email_from)
        return self._mailer

    def oidc_provider(self, name: str) -> OidcProvider:
        with self._providers_lock:
            if name in self._providers:
                return self._providers[name]
        configured = self.settings.oidc_providers.get(name)
        if configured is None:
            raise errors.InvalidFieldError(
                "Unknown identity provider.", details=[{"field": "provider", "location": "query"}]
            )
        secret = configured.client_secret
        if not secret and configured.client_secret_parameter:
            from atelier.integrations.secrets import get_secret

            secret = get_secret(configured.client_secret_parameter)
        provider = OidcClient(configured, secret)
        with self._providers_lock:
            return self._providers.setdefault(name, provider)

    def use_oidc_provider(self, name: str, provider: OidcProvider) -> None:
        """Hands in a provider (tests, the local runtime's issuer) instead of building one."""
        with self._providers_lock:
            self._providers[name] = provider


@lru_cache(maxsize=1)
def get_services() -> Services:
    return Services(get_settings())
