"""Builds the inference provider adapters from the settings, once per container and only when used.

Each provider has one builder below; an adapter's module is imported only by its builder. What the
HTTP adapters share lives beside this, in modules of its own that import no adapter: secrets
(``credentials``), the JSON call (``json_api``), failure texts (``failures``) and callback
tokens (``callbacks``). Their names are re-exported here for the code that imported them from here.
"""

from __future__ import annotations

from collections.abc import Callable

from atelier.integrations import provider_cache
from atelier.integrations.inference.base import InferenceProvider, ProviderRejectedError
from atelier.integrations.inference.callbacks import (
    callback_id,
    callback_token,
    origin_of,
    path_segment,
    tokened_callback_url,
    verify_callback_token,
)
from atelier.integrations.inference.credentials import Secret, reveal, secret_setting
from atelier.integrations.inference.failures import machine_code, malformed, short_text
from atelier.integrations.inference.json_api import (
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_HTTP_TIMEOUT_SECONDS,
    DEFAULT_SYNC_TIMEOUT_SECONDS,
    ApiAnswer,
    JsonApi,
    new_http_client,
)
from atelier.settings import Settings

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "DEFAULT_HTTP_TIMEOUT_SECONDS",
    "DEFAULT_SYNC_TIMEOUT_SECONDS",
    "PROVIDER_NAMES",
    "ApiAnswer",
    "JsonApi",
    "Secret",
    "callback_id",
    "callback_token",
    "forget_providers",
    "machine_code",
    "malformed",
    "new_http_client",
    "origin_of",
    "path_segment",
    "provider_for",
    "reveal",
    "secret_setting",
    "short_text",
    "tokened_callback_url",
    "verify_callback_token",
]

_FAMILY = "inference"


def _hosts(listed: str) -> list[str]:
    return [host.strip() for host in listed.split(",") if host.strip()]


def _trusted_origin(settings: Settings, base_url: str) -> str | None:
    """The local runtime's stand-ins serve outputs from their own (plain HTTP, loopback) origin."""
    return origin_of(base_url) if settings.platform.local_runtime else None


def _positive(seconds: float, default: float) -> float:
    return seconds if seconds > 0 else default


def _http_timeout(settings: Settings) -> float:
    return _positive(settings.inference.inference_http_timeout_seconds, DEFAULT_HTTP_TIMEOUT_SECONDS)


def _sync_timeout(settings: Settings) -> float:
    return _positive(settings.inference.inference_sync_timeout_seconds, DEFAULT_SYNC_TIMEOUT_SECONDS)


def _local(settings: Settings) -> InferenceProvider:
    from atelier.integrations.inference.local import LocalProvider

    return LocalProvider()


def _openai(settings: Settings) -> InferenceProvider:
    from atelier.integrations.inference.openai_images import DEFAULT_API_BASE, OpenAIImagesProvider

    base = settings.inference.openai_api_base or DEFAULT_API_BASE
    return OpenAIImagesProvider(
        api_key=secret_setting(settings.inference.openai_api_key, settings.inference.openai_api_key_parameter),
        api_base=base,
        timeout_seconds=_sync_timeout(settings),
        trusted_origin=_trusted_origin(settings, base),
    )


def _modelark(settings: Settings) -> InferenceProvider:
    from atelier.integrations.inference.modelark import DEFAULT_API_BASE, ModelArkProvider

    base = settings.inference.modelark_api_base or DEFAULT_API_BASE
    return ModelArkProvider(
        api_key=secret_setting(settings.inference.modelark_api_key, settings.inference.modelark_api_key_parameter),
        api_base=base,
        timeout_seconds=_http_timeout(settings),
        sync_timeout_seconds=_sync_timeout(settings),
        output_hosts=_hosts(settings.inference.modelark_output_hosts) or None,
        trusted_origin=_trusted_origin(settings, base),
    )


def _runpod(settings: Settings) -> InferenceProvider:
    from atelier.integrations.inference.runpod import DEFAULT_API_BASE, RunPodProvider

    base = settings.inference.runpod_api_base or DEFAULT_API_BASE
    return RunPodProvider(
        api_key=secret_setting(settings.inference.runpod_api_key, settings.inference.runpod_api_key_parameter),
        api_base=base,
        timeout_seconds=_http_timeout(settings),
        output_hosts=_hosts(settings.inference.runpod_output_hosts),
        trusted_origin=_trusted_origin(settings, base),
    )


def _replicate(settings: Settings) -> InferenceProvider:
    from atelier.integrations.inference.replicate import DEFAULT_API_BASE, ReplicateProvider

    base = settings.inference.replicate_api_base or DEFAULT_API_BASE
    return ReplicateProvider(
        api_token=secret_setting(
            settings.inference.replicate_api_token, settings.inference.replicate_api_token_parameter
        ),
        webhook_secret=secret_setting(
            settings.inference.replicate_webhook_secret, settings.inference.replicate_webhook_secret_parameter
        ),
        api_base=base,
        timeout_seconds=_http_timeout(settings),
        output_hosts=_hosts(settings.inference.replicate_output_hosts) or None,
        trusted_origin=_trusted_origin(settings, base),
    )


BUILDERS: dict[str, Callable[[Settings], InferenceProvider]] = {
    "local": _local,
    "openai": _openai,
    "modelark": _modelark,
    "runpod": _runpod,
    "replicate": _replicate,
}
PROVIDER_NAMES = tuple(BUILDERS)


def provider_for(name: str, settings: Settings) -> InferenceProvider:
    """The adapter for a provider name (ProviderRejectedError for a name Atelier does not know)."""
    build = BUILDERS.get(name)
    if build is None:
        raise ProviderRejectedError("This inference provider is not available.", details={"provider": name})
    return provider_cache.built_provider(_FAMILY, name, settings, lambda: build(settings))


def forget_providers() -> None:
    """Drops the built adapters (tests that change settings call this)."""
    provider_cache.forget(_FAMILY)
