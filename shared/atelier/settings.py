"""Settings: one pydantic model over the environment, read once through a cached getter.

Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from atelier import __version__


def _comma_separated(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _json_object(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    return value


def _json_list(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value) if value.strip() else []
    return value


CommaSeparated = Annotated[list[str], BeforeValidator(_comma_separated)]


class OidcProviderSettings(BaseModel):
    """One OpenID Connect identity provider, found by discovery from its issuer URL."""

    model_config = ConfigDict(frozen=True)

    issuer: str
    client_id: str
    # Local and test stacks may give the secret itself; deployed stacks name an SSM SecureString.
    client_secret: str = ""
    client_secret_parameter: str = ""
    scopes: str = "openid email profile"


def _default_catalog() -> dict[str, Any]:
    usd = "usd"
    return {
        "packs": [
            {"id": "pack_starter", "name": "Starter", "credits": 100, "price": {"value_minor": 999, "currency": usd}},
            {"id": "pack_studio", "name": "Studio", "credits": 550, "price": {"value_minor": 4499, "currency": usd}},
        ],
        "plans": [
            {
                "id": "plan_monthly",
                "name": "Monthly",
                "credits": 400,
                "price": {"value_minor": 2499, "currency": usd},
                "interval": "month",
            }
        ],
    }


def _dimension(default: int, low: int = 256, high: int = 2048) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high, "default": default}


def _default_models() -> list[dict[str, Any]]:
    seed = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
    return [
        {
            "id": "local-image",
            "kind": "image",
            "provider": "local",
            "provider_model": "local-image",
            "name": "Local image (CPU)",
            "price": {"base": 1, "per_megapixel": 1},
            "params": {"width": _dimension(512, 64, 1024), "height": _dimension(512, 64, 1024), "seed": seed},
            "max_reference_images": 2,
            "expected_seconds": 1,
        },
        {
            "id": "local-video",
            "kind": "video",
            "provider": "local",
            "provider_model": "local-video",
            "name": "Local video (CPU)",
            "price": {"base": 2, "per_second": 2},
            "params": {
                "duration_s": {"type": "number", "minimum": 1, "maximum": 4, "default": 2},
                "width": _dimension(256, 64, 512),
                "height": _dimension(256, 64, 512),
                "seed": seed,
            },
            "expected_seconds": 3,
        },
        {
            "id": "gpt-image-1",
            "kind": "image",
            "provider": "openai",
            "provider_model": "gpt-image-1",
            "name": "GPT Image",
            "price": {"base": 8},
            "params": {
                "size": {"type": "string", "choices": ["1024x1024", "1024x1536", "1536x1024"], "default": "1024x1024"},
                "quality": {"type": "string", "choices": ["low", "medium", "high"], "default": "medium"},
            },
        },
        {
            "id": "seedream-4",
            "kind": "image",
            "provider": "modelark",
            "provider_model": "seedream-4-0-250828",
            "name": "Seedream 4",
            "price": {"base": 6},
            "params": {"size": {"type": "string", "choices": ["1K", "2K", "4K"], "default": "2K"}, "seed": seed},
            "max_reference_images": 4,
        },
        {
            "id": "seedance-1-pro",
            "kind": "video",
            "provider": "modelark",
            "provider_model": "seedance-1-0-pro-250528",
            "name": "Seedance 1 Pro",
            "price": {"base": 10, "per_second": 8},
            "params": {
                "duration_s": {"type": "integer", "minimum": 3, "maximum": 12, "default": 5},
                "resolution": {"type": "string", "choices": ["480p", "720p", "1080p"], "default": "720p"},
                "seed": seed,
            },
            "max_reference_images": 1,
            "expected_seconds": 60,
        },
    ]


def _default_providers() -> dict[str, OidcProviderSettings]:
    return {
        "google": OidcProviderSettings(
            issuer="https://accounts.google.com",
            client_id="",
            client_secret_parameter="/atelier/oidc/google/client-secret",  # noqa: S106 - a parameter name
        )
    }


class MediaModerationRule(BaseModel):
    """What a moderation label (or its parent category) at or above ``min_confidence`` means."""

    model_config = ConfigDict(frozen=True)

    verdict: str  # "restricted", "blocked" or "minor_safety"
    min_confidence: float = 80.0

    @field_validator("verdict")
    @classmethod
    def _known_verdict(cls, value: str) -> str:
        if value not in ("allowed", "restricted", "blocked", "minor_safety"):
            raise ValueError("a media moderation rule's verdict is allowed, restricted, blocked or minor_safety")
        return value


def _default_media_rules() -> dict[str, MediaModerationRule]:
    """Rekognition's moderation taxonomy (v7 names, and v6's for the same categories)."""
    blocked, restricted = "blocked", "restricted"
    return {
        "Explicit": MediaModerationRule(verdict=blocked, min_confidence=80),
        "Explicit Nudity": MediaModerationRule(verdict=blocked, min_confidence=80),
        "Explicit Sexual Activity": MediaModerationRule(verdict=blocked, min_confidence=80),
        "Graphic Violence": MediaModerationRule(verdict=blocked, min_confidence=85),
        "Hate Symbols": MediaModerationRule(verdict=blocked, min_confidence=85),
        "Non-Explicit Nudity of Intimate parts and Kissing": MediaModerationRule(verdict=restricted, min_confidence=70),
        "Suggestive": MediaModerationRule(verdict=restricted, min_confidence=80),
        "Violence": MediaModerationRule(verdict=restricted, min_confidence=80),
        "Visually Disturbing": MediaModerationRule(verdict=restricted, min_confidence=80),
    }


class _Concern(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class PlatformSettings(_Concern):
    """Where and how this deployment runs."""

    version: str = __version__
    stage: str = "dev"
    log_level: str = "INFO"
    aws_region: str = "us-east-1"
    # The object store's address when it is not AWS's own (the local runtime's emulator): the
    # studio's content security policy lets media load from it.
    aws_endpoint_url: str = ""
    aws_endpoint_url_s3: str = ""
    # Where the API is reachable from the outside, e.g. https://api.example.com (no trailing slash).
    api_base_url: str = ""
    # Origins allowed to make cookie-authenticated unsafe requests; the API's own origin is always allowed.
    web_origins: CommaSeparated = Field(default_factory=list)
    # Set by the local runtime only: enables the `/_local/` stand-ins' integrations.
    local_runtime: bool = False
    # Salt for one-way hashes of client addresses and account ids used as rate-limit keys.
    address_hash_salt: str = "atelier-address-salt"

    @property
    def allowed_origins(self) -> frozenset[str]:
        """Web origins allowed to make cookie-authenticated unsafe requests (besides the API's own)."""
        return frozenset(self.web_origins)


class ResourceSettings(_Concern):
    """The stack's tables, buckets and queues, by name or URL."""

    main_table_name: str = "atelier-dev-main"
    ledger_table_name: str = "atelier-dev-ledger"
    assets_bucket_name: str = "atelier-dev-assets"
    exports_bucket_name: str = "atelier-dev-exports"
    # Public copies of published media, served at <media base>/media/... (CloudFront in production).
    public_media_bucket_name: str = "atelier-dev-public-media"
    # The web studio's bucket (its index.html is the share page's body) and a local file instead.
    web_bucket_name: str = ""
    web_index_path: str = ""
    generation_queue_url: str = ""
    export_queue_url: str = ""
    policy_notice_queue_url: str = ""
    webhook_queue_url: str = ""


class SignInSettings(_Concern):
    """Sign-in with OpenID Connect, sessions, the age attested at sign-up, and who is an admin."""

    # Sign-in (OpenID Connect). OIDC_PROVIDERS is a JSON object: name -> OidcProviderSettings.
    oidc_providers: Annotated[dict[str, OidcProviderSettings], BeforeValidator(_json_object)] = Field(
        default_factory=_default_providers
    )
    oidc_default_provider: str = "google"
    sign_in_state_seconds: int = 600
    session_idle_seconds: int = 7 * 24 * 3600
    session_absolute_seconds: int = 30 * 24 * 3600
    # Minimum age users attest to at sign-up (P14): 16 or 18 depending on the markets served.
    minimum_age: Annotated[int, BeforeValidator(int)] = 16
    # Accounts whose (verified, provider-given) email is listed here hold the admin role.
    admin_emails: CommaSeparated = Field(default_factory=list)
    # Rate limits (fixed windows, counted in DynamoDB).
    sign_in_limit_per_address: int = 30
    sign_in_window_seconds: int = 300

    @field_validator("minimum_age")
    @classmethod
    def _supported_minimum_age(cls, value: int) -> int:
        if value not in (16, 18):
            raise ValueError("MINIMUM_AGE must be 16 or 18")
        return value


class AccountLimitSettings(_Concern):
    """What one account may hold or ask for: API keys, workspaces, email changes."""

    api_key_creation_limit: int = 10
    api_key_creation_window_seconds: int = 3600
    max_api_keys_per_account: int = 25
    max_workspaces_per_account: int = 50
    # How long the link confirming a new email address works.
    email_change_seconds: int = 24 * 3600
    # Requests for a new address (each mails an address the caller chose) per account per window.
    email_change_limit: int = 5
    email_change_window_seconds: int = 3600


class PolicySettings(_Concern):
    """Terms and privacy policy versions, and the notice of their changes (P15)."""

    # Terms and privacy versions in force until the first version is published through the API.
    initial_terms_version: str = "2026-01-01"
    initial_privacy_version: str = "2026-01-01"
    # A material policy change takes effect at least this many days after it is published (P15).
    policy_notice_days: int = 14
    policy_notice_page_size: int = 50


class EmailSettings(_Concern):
    """Outgoing email (SES)."""

    # Email (SES). The sender's identity is declared in template.yaml.
    email_from: str = "Atelier <no-reply@atelier.example.com>"
    # The SES configuration set whose bounce and complaint events suppress addresses ("" sends without).
    email_configuration_set: str = ""


class BillingSettings(_Concern):
    """The catalog and the payment providers."""

    # Billing. CATALOG is a JSON object {"packs": [...], "plans": [...]} of CatalogItem fields.
    catalog: Annotated[dict[str, Any], BeforeValidator(_json_object)] = Field(default_factory=_default_catalog)
    payment_providers: CommaSeparated = Field(default_factory=lambda: ["stripe", "paypal", "creem"])
    stripe_secret_key: str = ""
    stripe_secret_key_parameter: str = ""
    stripe_webhook_secret: str = ""
    stripe_webhook_secret_parameter: str = ""
    # Empty in production (the library's default); the local runtime points it at its stand-in.
    stripe_api_base: str = ""
    paypal_client_id: str = ""
    paypal_client_secret: str = ""
    paypal_client_secret_parameter: str = ""
    paypal_webhook_id: str = ""
    paypal_api_base: str = "https://api-m.paypal.com"
    creem_api_key: str = ""
    creem_api_key_parameter: str = ""
    creem_webhook_secret: str = ""
    creem_webhook_secret_parameter: str = ""
    creem_api_base: str = "https://api.creem.io"
    # Where the buyer lands after paying or cancelling (the web studio).
    checkout_success_url: str = ""
    checkout_cancel_url: str = ""
    # A Stripe webhook older than this is refused as a replay.
    webhook_tolerance_seconds: int = 300


class GenerationSettings(_Concern):
    """The models on offer and how jobs are admitted, run and timed out."""

    # Generation. MODELS is a JSON list of ModelSpec fields.
    models: Annotated[list[dict[str, Any]], BeforeValidator(_json_list)] = Field(default_factory=_default_models)
    max_jobs_in_flight: int = 5
    job_submissions_per_minute: int = 30
    max_prompt_length: int = 2000
    image_job_deadline_seconds: int = 600
    video_job_deadline_seconds: int = 3600
    generation_max_receives: int = 5
    # How long a worker holds the right to start a queued job: longer than the worker's timeout
    # (120 s), shorter than the queue's visibility timeout (720 s), so a redelivery after a crash
    # can start it again while a duplicate delivery meanwhile cannot.
    generation_start_lease_seconds: int = 180
    output_max_bytes: int = 200 * 1024 * 1024
    # How long a model takes when MODELS does not say (the worker's first look is near it).
    image_expected_seconds: float = 15
    video_expected_seconds: float = 90
    # The longest a worker waits in-process for a job about to finish (beyond it, a delayed message),
    # and the time it keeps for the download and the store after the wait.
    generation_inline_wait_seconds: float = 10
    generation_reserve_seconds: float = 60
    # A job whose provider has been failing (its circuit open) this long fails, its hold released.
    provider_outage_limit_seconds: float = 300
    # Words that refuse a prompt outright (moderation's first line; a moderation service may add more).
    blocked_prompt_terms: CommaSeparated = Field(default_factory=list)


class UploadSettings(_Concern):
    """Reference-image uploads."""

    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_pixels: int = 4096 * 4096
    upload_url_seconds: int = 600
    # Reference uploads never used in a job: how many may be started per window, how many (and how
    # many declared bytes) an account may hold at once, and how long one is kept before the
    # retention sweep deletes it with its object (the bucket's lifecycle rule is the backstop).
    upload_rate_limit: int = 30
    upload_rate_window_seconds: int = 3600
    max_unused_uploads: int = 50
    max_unused_upload_bytes: int = 200 * 1024 * 1024
    unused_upload_days: int = 3


class MediaSettings(_Concern):
    """How stored and published media are handed out."""

    # Where /media/ is served; empty means the API's own public base URL (the same origin).
    media_base_url: str = ""
    # How long caches may keep a public copy: the longest a withdrawn copy may still be served.
    public_media_cache_seconds: int = 600
    # How long the share page's preview image URL of a private (link-shared) item stays valid.
    share_preview_url_seconds: int = 86_400
    download_url_seconds: int = 300


class InferenceSettings(_Concern):
    """The inference providers: addresses, credentials (given directly or as SSM parameter names), timeouts."""

    # Inference providers. Keys given directly (local and test stacks) or as SSM parameter names.
    inference_http_timeout_seconds: float = 30
    # OpenAI and Seedream answer only once the image exists: below the worker's timeout.
    inference_sync_timeout_seconds: float = 100
    openai_api_base: str = ""
    openai_api_key: str = ""
    openai_api_key_parameter: str = ""
    modelark_api_base: str = ""
    modelark_api_key: str = ""
    modelark_api_key_parameter: str = ""
    modelark_output_hosts: str = ""
    runpod_api_base: str = ""
    runpod_api_key: str = ""
    runpod_api_key_parameter: str = ""
    runpod_output_hosts: str = ""
    replicate_api_base: str = ""
    replicate_api_token: str = ""
    replicate_api_token_parameter: str = ""
    replicate_webhook_secret: str = ""
    replicate_webhook_secret_parameter: str = ""
    replicate_output_hosts: str = ""


class PrivacySettings(_Concern):
    """ "Download my data" (P8), "delete my account" (P9) and retention (P11)."""

    # The countdown before a scheduled deletion is purged (72 hours: the privacy policy's promise).
    deletion_grace_seconds: int = 72 * 3600
    # Export requests each account may make per day, and how long an export's archive and link last.
    export_requests_per_day: int = 3
    export_available_seconds: int = 7 * 24 * 3600
    # An export lock older than this belongs to an export that died; a new request may take it over.
    export_stale_seconds: int = 6 * 3600
    # Deliveries of an export message before the export is marked failed (the queue's maxReceiveCount).
    export_max_receives: int = 3
    # Size of each part of an archive's multipart upload (S3's minimum is 5 MiB).
    export_part_bytes: int = 8 * 1024 * 1024
    # How long one purge run may work before leaving the rest to the next run (the function times
    # out at 300 s), and how many due accounts it takes per run.
    purge_time_budget_seconds: int = 240
    purge_batch_size: int = 25
    # An account still due this long after its purge time counts as overdue (PurgeOverdueAlarm).
    purge_overdue_after_seconds: int = 3600
    # Payment-provider calls a purge could not make are retried on later runs, this many times.
    purge_provider_attempts: int = 96
    # Days of the expiry index the retention sweep looks back over (older days were swept before).
    retention_lookback_days: int = 7


class CommunitySettings(_Concern):
    """The public gallery and reports of content (P6, P7, P17)."""

    # Gallery, shares, reports, moderation and policy notices (P6, P7, P15, P17).
    # The oldest month the gallery's cursor walks back to (yyyy-mm).
    gallery_first_month: str = "2026-01"
    reports_per_hour: int = 20
    # A minor-safety report hides the item at once, pending review, only on a stronger signal than
    # one account's word (P17): this many distinct reporters of it within the window, or a reporter
    # whose earlier reports moderators upheld at least `report_trusted_min_upheld` times and in at
    # least `report_trusted_min_precision` of the resolved cases.
    report_hold_min_reporters: int = 3
    report_hold_window_seconds: int = 24 * 3600
    report_trusted_min_upheld: int = 3
    report_trusted_min_precision: float = 0.8
    # This many reports (of anything, by anyone) within the window alert the moderators: an email
    # to each admin address and the ReportBurst metric, once per window.
    report_burst_threshold: int = 30
    report_burst_window_seconds: int = 3600


class OutboundWebhookSettings(_Concern):
    """Webhooks the platform sends to its developers' endpoints."""

    max_webhook_endpoints_per_account: int = 20
    # Each attempt's whole budget (connect, send, answer); redirects are never followed.
    webhook_timeout_seconds: float = 10
    # Retries wait base * 4^(n-1) seconds (at most the maximum), give or take a fifth at random,
    # and stop once the next one would start this long after the first attempt.
    webhook_retry_base_seconds: float = 30
    webhook_retry_max_delay_seconds: int = 6 * 3600
    webhook_retry_window_seconds: int = 24 * 3600
    # An endpoint failing for this long without one success is disabled and its owner emailed.
    webhook_disable_after_seconds: int = 3 * 24 * 3600
    # A rotated secret still signs deliveries (next to the new one) for this long.
    webhook_secret_overlap_seconds: int = 24 * 3600


class TrustSettings(_Concern):
    """Media moderation (P17) and provenance (P18)."""

    # Rekognition's endpoint (empty: the region's own; the local runtime points it at its stand-in).
    rekognition_endpoint_url: str = ""
    moderation_timeout_seconds: float = 10
    # Labels below this confidence are not even returned; the rules then judge the rest.
    moderation_min_confidence: float = 50
    moderation_video_frame_seconds: float = 2.0
    media_moderation_rules: Annotated[dict[str, MediaModerationRule], BeforeValidator(_json_object)] = Field(
        default_factory=_default_media_rules
    )
    # Known-bad perceptual hashes (pHash in ImageHash's hex format) and how many bits apart still match.
    known_bad_image_hashes: CommaSeparated = Field(default_factory=list)
    known_bad_hash_distance: int = 4
    # Older published or shared items the backlog sweep checks per run (each is one or more
    # Rekognition calls; the rest wait, hidden, for the next run).
    screening_backlog_batch: int = 200
    # C2PA signing: the key and certificate chain (PEM) given directly (local and test stacks) or
    # as SSM SecureString parameter names (deployed stacks).
    c2pa_signing_key: str = ""
    c2pa_signing_key_parameter: str = ""
    c2pa_certificate_chain: str = ""
    c2pa_certificate_chain_parameter: str = ""
    # Trust anchors (PEM) the platform reads its own manifests against; empty: the chain's last certificate.
    c2pa_trust_anchors: str = ""


_CONCERNS: dict[str, type[_Concern]] = {
    "platform": PlatformSettings,
    "resources": ResourceSettings,
    "sign_in": SignInSettings,
    "account_limits": AccountLimitSettings,
    "policy": PolicySettings,
    "email": EmailSettings,
    "billing": BillingSettings,
    "generation": GenerationSettings,
    "uploads": UploadSettings,
    "media": MediaSettings,
    "inference": InferenceSettings,
    "privacy": PrivacySettings,
    "community": CommunitySettings,
    "outbound_webhooks": OutboundWebhookSettings,
    "trust": TrustSettings,
}
# Which concern holds each field: the environment is flat, the settings are not.
CONCERN_OF_FIELD: dict[str, str] = {
    name: concern for concern, model in _CONCERNS.items() for name in model.model_fields
}


class Settings(BaseModel):
    """Every setting, grouped by concern. A field is named as its environment variable in lower case,
    and no two concerns share a field name: `Settings.from_environ` reads the flat environment, and
    flat field names given to the constructor or `replace` go to their concern."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    platform: PlatformSettings = Field(default_factory=PlatformSettings)
    resources: ResourceSettings = Field(default_factory=ResourceSettings)
    sign_in: SignInSettings = Field(default_factory=SignInSettings)
    account_limits: AccountLimitSettings = Field(default_factory=AccountLimitSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    uploads: UploadSettings = Field(default_factory=UploadSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    community: CommunitySettings = Field(default_factory=CommunitySettings)
    outbound_webhooks: OutboundWebhookSettings = Field(default_factory=OutboundWebhookSettings)
    trust: TrustSettings = Field(default_factory=TrustSettings)

    @model_validator(mode="before")
    @classmethod
    def _flat_names_to_concerns(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        grouped: dict[str, Any] = {}
        flat: dict[str, dict[str, Any]] = {}
        for name, value in data.items():
            concern = CONCERN_OF_FIELD.get(name)
            if name in cls.model_fields:
                grouped[name] = value
            elif concern is not None:
                flat.setdefault(concern, {})[name] = value
        for concern, values in flat.items():
            given = grouped.get(concern)
            if isinstance(given, BaseModel):
                given = given.model_dump()
            grouped[concern] = {**(given or {}), **values}
        return grouped

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed, by their flat names, validated like the environment's."""
        return Settings.model_validate({**self.model_dump(), **changes})

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        values: dict[str, Any] = {name.lower(): value for name, value in environ.items()}
        # Lambda sets AWS_REGION; boto3 users often set AWS_DEFAULT_REGION only.
        if "aws_region" not in values and "aws_default_region" in values:
            values["aws_region"] = values["aws_default_region"]
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)


def sdk_tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the X-Ray SDK traces (`XRAY_SDK_TRACING`). Read on its own, not through `Settings`:
    the tracer is built when its module is imported, before anything needs the settings (and
    reading them then would keep whatever environment the process had at that moment)."""
    return environ.get("XRAY_SDK_TRACING", "false").lower() in {"1", "true", "yes"}
