"""The collaborators a function hands to its use cases, built lazily once per container.

A use case that routes call takes one frozen dependencies dataclass (`SubmitJobDeps`, ...) with a
`from_services` classmethod; handlers ask `get_services().dependencies(SubmitJobDeps)`, which builds
it once, so a route is one call. Tests build deps of their own (`dataclasses.replace` swaps one
collaborator for a fake) or pass fakes to use cases directly."""

from __future__ import annotations

import threading
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, cast

from atelier import errors
from atelier.clock import Clock, SystemClock
from atelier.settings import Settings, get_settings

if TYPE_CHECKING:
    from atelier.data.accounts import AccountRepository
    from atelier.data.api_keys import ApiKeyRepository
    from atelier.data.assets import AssetRepository, UploadRepository
    from atelier.data.email_changes import EmailChangeRepository
    from atelier.data.emails import SentEmailRepository
    from atelier.data.exports import ExportRepository
    from atelier.data.gallery import GalleryRepository
    from atelier.data.jobs import JobRepository
    from atelier.data.moderation import ModerationRepository
    from atelier.data.payments import PaymentRecordsRepository
    from atelier.data.policies import PolicyRepository
    from atelier.data.policy_notices import PolicyNoticeRepository
    from atelier.data.privacy import PrivacyRepository
    from atelier.data.rate_limits import RateLimiter
    from atelier.data.reports import ReportRepository
    from atelier.data.retention import RetentionRepository
    from atelier.data.sessions import SessionRepository
    from atelier.data.shares import ShareRepository
    from atelier.data.sign_in_states import SignInStateRepository
    from atelier.data.suppressions import SuppressionRepository
    from atelier.data.wallets import WalletRepository
    from atelier.data.webhooks import WebhookRepository
    from atelier.data.workflows import WorkflowRepository
    from atelier.data.workspaces import WorkspaceRepository
    from atelier.integrations.bulk_storage import BulkObjectStore
    from atelier.integrations.email import Mailer
    from atelier.integrations.inference.base import InferenceProvider
    from atelier.integrations.moderation import BlocklistModeration
    from atelier.integrations.oidc import OidcProvider
    from atelier.integrations.payments.base import PaymentProvider
    from atelier.integrations.public_media import PublicMedia
    from atelier.integrations.queue import MessageQueue
    from atelier.integrations.storage import ObjectStore
    from atelier.integrations.web_index import WebIndex
    from atelier.integrations.webhooks import WebhookSender
    from atelier.usecases.deliver_webhooks import WebhookEvents
    from atelier.usecases.screen_media import OutputSafety


class BuiltFromServices(Protocol):
    """A use case's dependencies dataclass."""

    @classmethod
    def from_services(cls, services: Services) -> Self: ...


DepsT = TypeVar("DepsT", bound=BuiltFromServices)


class Services:
    def __init__(self, settings: Settings, *, clock: Clock | None = None, mailer: Mailer | None = None):
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._mailer = mailer
        self._dependencies: dict[type[Any], Any] = {}
        self._dependencies_lock = threading.Lock()
        self._providers: dict[str, OidcProvider] = {}
        self._payment_providers: dict[str, PaymentProvider] = {}
        self._inference_providers: dict[str, InferenceProvider] = {}
        self._providers_lock = threading.Lock()

    def dependencies(self, kind: type[DepsT]) -> DepsT:
        """The use case's dependencies, built from these services the first time they are asked for."""
        with self._dependencies_lock:
            built = self._dependencies.get(kind)
        if built is None:
            fresh = kind.from_services(self)
            with self._dependencies_lock:
                built = self._dependencies.setdefault(kind, fresh)
        return cast(DepsT, built)

    def forget_dependencies(self) -> None:
        """Drops the dependencies built so far: the next use builds them from the services as they
        are then (after a collaborator was replaced, the clock say)."""
        with self._dependencies_lock:
            self._dependencies.clear()

    @cached_property
    def accounts(self) -> AccountRepository:
        from atelier.data.accounts import AccountRepository

        return AccountRepository()

    @cached_property
    def email_changes(self) -> EmailChangeRepository:
        from atelier.data.email_changes import EmailChangeRepository

        return EmailChangeRepository()

    @cached_property
    def sessions(self) -> SessionRepository:
        from atelier.data.sessions import SessionRepository

        return SessionRepository()

    @cached_property
    def api_keys(self) -> ApiKeyRepository:
        from atelier.data.api_keys import ApiKeyRepository

        return ApiKeyRepository()

    @cached_property
    def workspaces(self) -> WorkspaceRepository:
        from atelier.data.workspaces import WorkspaceRepository

        return WorkspaceRepository()

    @cached_property
    def sign_in_states(self) -> SignInStateRepository:
        from atelier.data.sign_in_states import SignInStateRepository

        return SignInStateRepository()

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        from atelier.data.rate_limits import RateLimiter

        return RateLimiter()

    @cached_property
    def sent_emails(self) -> SentEmailRepository:
        from atelier.data.emails import SentEmailRepository

        return SentEmailRepository()

    @cached_property
    def suppressions(self) -> SuppressionRepository:
        from atelier.data.suppressions import SuppressionRepository

        return SuppressionRepository()

    @cached_property
    def policies(self) -> PolicyRepository:
        from atelier.data.policies import PolicyRepository

        return PolicyRepository()

    @cached_property
    def wallets(self) -> WalletRepository:
        from atelier.data.wallets import WalletRepository

        return WalletRepository()

    @cached_property
    def payments(self) -> PaymentRecordsRepository:
        from atelier.data.payments import PaymentRecordsRepository

        return PaymentRecordsRepository()

    @cached_property
    def jobs(self) -> JobRepository:
        from atelier.data.jobs import JobRepository

        return JobRepository()

    @cached_property
    def assets(self) -> AssetRepository:
        from atelier.data.assets import AssetRepository

        return AssetRepository()

    @cached_property
    def uploads(self) -> UploadRepository:
        from atelier.data.assets import UploadRepository

        return UploadRepository()

    @cached_property
    def asset_storage(self) -> ObjectStore:
        from atelier.integrations.storage import ObjectStore

        return ObjectStore(self.settings.resources.assets_bucket_name)

    @cached_property
    def public_media(self) -> PublicMedia:
        from atelier.integrations.public_media import PublicMedia
        from atelier.integrations.storage import ObjectStore

        return PublicMedia(
            ObjectStore(self.settings.resources.public_media_bucket_name),
            self.asset_storage,
            cache_seconds=self.settings.media.public_media_cache_seconds,
        )

    @cached_property
    def web_index(self) -> WebIndex:
        from atelier.integrations.storage import ObjectStore
        from atelier.integrations.web_index import WebIndex

        if self.settings.resources.web_index_path:
            return WebIndex(path=self.settings.resources.web_index_path, ttl_seconds=1.0)
        return WebIndex(store=ObjectStore(self.settings.resources.web_bucket_name))

    @cached_property
    def export_storage(self) -> ObjectStore:
        from atelier.integrations.storage import ObjectStore

        return ObjectStore(self.settings.resources.exports_bucket_name)

    @cached_property
    def generation_queue(self) -> MessageQueue:
        from atelier.integrations.queue import MessageQueue

        return MessageQueue(self.settings.resources.generation_queue_url)

    @cached_property
    def moderation(self) -> BlocklistModeration:
        from atelier.integrations.moderation import BlocklistModeration

        return BlocklistModeration(self.settings.generation.blocked_prompt_terms)

    def forget_providers(self) -> None:
        """Drops the inference, payment and sign-in providers built so far (each holds a secret read
        from SSM, an HTTP connection pool and timed caches); the next use builds them again."""
        with self._providers_lock:
            self._inference_providers.clear()
            self._payment_providers.clear()
            self._providers.clear()

    def inference_provider(self, name: str) -> InferenceProvider:
        with self._providers_lock:
            if name in self._inference_providers:
                return self._inference_providers[name]
        from atelier.integrations.inference.registry import provider_for

        provider = provider_for(name, self.settings)
        with self._providers_lock:
            return self._inference_providers.setdefault(name, provider)

    def payment_provider(self, name: str) -> PaymentProvider:
        with self._providers_lock:
            if name in self._payment_providers:
                return self._payment_providers[name]
        if name not in self.settings.billing.payment_providers:
            raise errors.InvalidFieldError(
                "That payment provider is not available.", details=[{"field": "provider", "location": "body"}]
            )
        from atelier.integrations.payments.registry import provider_for

        provider = provider_for(name, self.settings)
        with self._providers_lock:
            return self._payment_providers.setdefault(name, provider)

    @property
    def mailer(self) -> Mailer:
        if self._mailer is None:
            from atelier.integrations.email import SesMailer, SuppressingMailer

            self._mailer = SuppressingMailer(
                SesMailer(
                    self.settings.email.email_from, configuration_set=self.settings.email.email_configuration_set
                ),
                self.suppressions.is_suppressed,
            )
        return self._mailer

    def oidc_provider(self, name: str) -> OidcProvider:
        with self._providers_lock:
            if name in self._providers:
                return self._providers[name]
        configured = self.settings.sign_in.oidc_providers.get(name)
        if configured is None:
            raise errors.InvalidFieldError(
                "Unknown identity provider.", details=[{"field": "provider", "location": "query"}]
            )
        secret = configured.client_secret
        if not secret and configured.client_secret_parameter:
            from atelier.integrations.secrets import get_secret

            secret = get_secret(configured.client_secret_parameter)
        from atelier.integrations.oidc import OidcClient

        # Plain http only to an issuer on this machine, and only in the local runtime.
        provider = OidcClient(configured, secret, allow_loopback_http=self.settings.platform.local_runtime)
        with self._providers_lock:
            return self._providers.setdefault(name, provider)

    # -- privacy: exports, deletion and purge, retention ------------------------------------------
    @cached_property
    def exports(self) -> ExportRepository:
        from atelier.data.exports import ExportRepository

        return ExportRepository()

    @cached_property
    def privacy(self) -> PrivacyRepository:
        from atelier.data.privacy import PrivacyRepository

        return PrivacyRepository()

    @cached_property
    def retention(self) -> RetentionRepository:
        from atelier.data.retention import RetentionRepository

        return RetentionRepository()

    @cached_property
    def export_queue(self) -> MessageQueue:
        from atelier.integrations.queue import MessageQueue

        return MessageQueue(self.settings.resources.export_queue_url)

    @cached_property
    def asset_objects(self) -> BulkObjectStore:
        """The assets bucket, by whole prefixes (exports read it, purges empty it)."""
        from atelier.integrations.bulk_storage import BulkObjectStore

        return BulkObjectStore(self.settings.resources.assets_bucket_name)

    @cached_property
    def export_objects(self) -> BulkObjectStore:
        from atelier.integrations.bulk_storage import BulkObjectStore

        return BulkObjectStore(self.settings.resources.exports_bucket_name)

    # -- gallery, shares, workflows, reports, moderation, policy notices --------------------------
    @cached_property
    def gallery(self) -> GalleryRepository:
        from atelier.data.gallery import GalleryRepository

        return GalleryRepository()

    @cached_property
    def shares(self) -> ShareRepository:
        from atelier.data.shares import ShareRepository

        return ShareRepository()

    @cached_property
    def workflows(self) -> WorkflowRepository:
        from atelier.data.workflows import WorkflowRepository

        return WorkflowRepository()

    @cached_property
    def reports(self) -> ReportRepository:
        from atelier.data.reports import ReportRepository

        return ReportRepository()

    @cached_property
    def output_safety(self) -> OutputSafety:
        """Media moderation (Rekognition, and the known-bad hash list) and the C2PA signer (P17, P18)."""
        from atelier.integrations.media_moderation import RekognitionModeration, rekognition_client
        from atelier.integrations.provenance import ProvenanceSigner, SigningCredentials, credentials_from_settings
        from atelier.usecases.screen_media import OutputSafety

        settings = self.settings
        client = lru_cache(maxsize=1)(lambda: rekognition_client(settings))
        credentials: list[SigningCredentials] = []

        def signing_credentials() -> SigningCredentials:
            if not credentials:  # read once per container; a failure is retried on the next output
                credentials.append(credentials_from_settings(settings))
            return credentials[0]

        return OutputSafety(
            moderation=RekognitionModeration(client, settings),
            signer=ProvenanceSigner(signing_credentials),
            moderation_records=self.moderation_actions,
            reports=self.reports,
            trust_anchors=settings.trust.c2pa_trust_anchors,
        )

    @cached_property
    def moderation_actions(self) -> ModerationRepository:
        from atelier.data.moderation import ModerationRepository

        return ModerationRepository()

    @cached_property
    def policy_notices(self) -> PolicyNoticeRepository:
        from atelier.data.policy_notices import PolicyNoticeRepository

        return PolicyNoticeRepository()

    @cached_property
    def policy_notice_queue(self) -> MessageQueue:
        from atelier.integrations.queue import MessageQueue

        return MessageQueue(self.settings.resources.policy_notice_queue_url)

    # -- outbound webhooks ------------------------------------------------------------------------
    @cached_property
    def webhooks(self) -> WebhookRepository:
        from atelier.data.webhooks import WebhookRepository

        return WebhookRepository()

    @cached_property
    def webhook_queue(self) -> MessageQueue:
        from atelier.integrations.queue import MessageQueue

        return MessageQueue(self.settings.resources.webhook_queue_url)

    @cached_property
    def webhook_events(self) -> WebhookEvents:
        from atelier.usecases.deliver_webhooks import WebhookEvents

        return WebhookEvents(self.webhooks, self.webhook_queue, self.clock)

    @cached_property
    def webhook_sender(self) -> WebhookSender:
        from atelier.integrations.webhooks import WebhookSender

        # Plain http to 127.0.0.1 only in the local runtime, for a developer's own listener.
        return WebhookSender(
            timeout_seconds=self.settings.outbound_webhooks.webhook_timeout_seconds,
            allow_local=self.settings.platform.local_runtime,
        )


@lru_cache(maxsize=1)
def get_services() -> Services:
    return Services(get_settings())
