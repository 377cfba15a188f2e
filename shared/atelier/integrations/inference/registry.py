"""Builds the inference provider adapters from the settings, once per container and only when used,
and holds what the HTTP adapters share: secrets read when first needed, and one JSON call that maps
every way a provider can fail onto the two errors the worker acts on.

- ``ProviderError`` (retry later): 429, 5xx, timeouts, network errors, an answer that is not the
  JSON promised, and 401/402/403, which say our account or key is wrong (nothing the request can
  fix, and a retry after the key is fixed succeeds).
- ``ProviderRejectedError`` (never retry): any other 4xx, content policy refusals included.

Secrets are given either directly (local and test stacks) or as the name of an SSM SecureString
(``*_parameter`` settings, deployed stacks). Nothing here logs a key, a prompt or a body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from atelier.integrations.inference.base import InferenceProvider, ProviderError, ProviderRejectedError
from atelier.integrations.resilience import Resilient, TransientFailure, parse_retry_after
from atelier.settings import Settings

if TYPE_CHECKING:
    import httpx

# A secret value, or a function that fetches it when called.
type Secret = str | Callable[[], str]

PROVIDER_NAMES = ("local", "openai", "modelark", "runpod", "replicate")

DEFAULT_HTTP_TIMEOUT_SECONDS = 30.0
# Synchronous generation (OpenAI Images, Seedream) answers only once the image exists: the worker
# function's timeout (120 s) must leave room past this for the download and the store.
DEFAULT_SYNC_TIMEOUT_SECONDS = 100.0
CONNECT_TIMEOUT_SECONDS = 5.0

_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_CONFIGURATION_STATUSES = (401, 402, 403)


def reveal(secret: Secret, what: str) -> str:
    """The secret's value. An unconfigured secret is a broken dependency, never an empty key."""
    value = secret() if callable(secret) else secret
    if not value:
        raise ProviderError(f"The inference provider is not configured ({what}).")
    return value


def secret_setting(value: str, parameter: str) -> Secret:
    """The value when one is given, else a fetcher for the named SSM parameter ("" when neither)."""
    if value or not parameter:
        return value

    def fetch() -> str:
        from atelier.integrations.secrets import get_secret

        try:
            return get_secret(parameter)
        except Exception as exc:  # SSM unreachable, throttled or the parameter missing
            raise ProviderError("An inference provider secret could not be read.") from exc

    return fetch


def path_segment(value: str) -> str:
    """A provider id made safe to put in a URL path."""
    return quote(value, safe="")


def callback_token(key: str, provider: str, job_id: str) -> str:
    """Authenticates a callback URL for providers that do not sign their callbacks: an HMAC of our
    job id keyed with our API key at that provider (which only the provider and we know)."""
    return hmac.new(key.encode(), f"{provider}-callback:{job_id}".encode(), hashlib.sha256).hexdigest()[:32]


def tokened_callback_url(url: str, key: str, provider: str, job_id: str, **extra: str) -> str:
    """The callback URL with the job, any extra fields the callback cannot tell, and the token."""
    query = {"job": job_id, **extra, "token": callback_token(key, provider, job_id)}
    return f"{url}{'&' if '?' in url else '?'}{urlencode(query)}"


def verify_callback_token(query: Mapping[str, str] | None, key: Callable[[], str], provider: str) -> None:
    """Raises CallbackSignatureError unless the query carries the token of the job it names (the
    key is read only for a callback that has a token to check)."""
    from atelier.integrations.inference.base import CallbackSignatureError

    job_id = (query or {}).get("job", "")
    token = (query or {}).get("token", "")
    if not job_id or not token or not hmac.compare_digest(token, callback_token(key(), provider, job_id)):
        raise CallbackSignatureError()


def callback_id(raw_body: bytes, field: str = "id") -> str:
    """The provider's job id a callback body names (CallbackSignatureError when it names none)."""
    from atelier.integrations.inference.base import CallbackSignatureError

    try:
        value = json.loads(raw_body).get(field)
    except (ValueError, AttributeError) as exc:
        raise CallbackSignatureError("The callback names no job.") from exc
    if not isinstance(value, str) or not value or len(value) > 200:
        raise CallbackSignatureError("The callback names no job.")
    return value


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# ------------------------------------------------------------------------------------------
# The JSON call every HTTP adapter makes.
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiAnswer:
    status: int
    body: Any
    headers: Mapping[str, str]


def new_http_client(read_timeout: float) -> httpx.Client:
    import httpx

    return httpx.Client(timeout=httpx.Timeout(read_timeout, connect=CONNECT_TIMEOUT_SECONDS), follow_redirects=False)


class JsonApi:
    """One provider's JSON API under ``base_url``, authenticated by ``auth`` (headers, built per call
    so a secret is read only when needed)."""

    def __init__(
        self,
        provider: str,
        base_url: str,
        auth: Callable[[], dict[str, str]],
        http: httpx.Client | None = None,
        *,
        timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS,
        resilient: Resilient | None = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._http = http
        self._timeout_seconds = timeout_seconds
        self._lock = threading.Lock()
        self.resilient = resilient or Resilient(provider)

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            with self._lock:
                if self._http is None:
                    self._http = new_http_client(self._timeout_seconds)
        return self._http

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
        empty_ok: bool = False,
        repeatable: bool | None = None,
    ) -> ApiAnswer:
        """Calls the API; answers the parsed JSON of a 2xx, or raises the error the status means.
        Passing failures are retried (see atelier.integrations.resilience) when the call is safe to
        repeat: by default a GET or HEAD, or a request carrying an ``Idempotency-Key``."""
        if repeatable is None:
            named = {name.lower() for name in headers or {}}
            repeatable = method in ("GET", "HEAD") or "idempotency-key" in named
        return self.resilient.call(
            lambda: self._attempt(method, path, body, headers, timeout_seconds, empty_ok), repeatable=repeatable
        )

    def _attempt(
        self,
        method: str,
        path: str,
        body: Any,
        headers: Mapping[str, str] | None,
        timeout_seconds: float | None,
        empty_ok: bool,
    ) -> ApiAnswer:
        import httpx

        request_headers = {"Accept": "application/json", **self._auth(), **(headers or {})}
        options: dict[str, Any] = {}
        if timeout_seconds is not None:
            options["timeout"] = httpx.Timeout(timeout_seconds, connect=CONNECT_TIMEOUT_SECONDS)
        try:
            response = self.http.request(
                method, f"{self.base_url}{path}", json=body, headers=request_headers, **options
            )
        except httpx.TimeoutException as exc:
            raise TransientFailure(ProviderError(details={"provider": self.provider, "reason": "timeout"})) from exc
        except httpx.HTTPError as exc:
            raise TransientFailure(ProviderError(details={"provider": self.provider, "reason": "network"})) from exc
        status = response.status_code
        if status in _CONFIGURATION_STATUSES:
            # Our key or account is wrong: no retry fixes that now, but the queue may after it is fixed.
            raise ProviderError(details={"provider": self.provider, "status": status, "code": _error_code(response)})
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise TransientFailure(
                ProviderError(
                    details={"provider": self.provider, "status": status, "code": _error_code(response)},
                    retry_after_seconds=None if retry_after is None else min(round(retry_after), 3600),
                ),
                retry_after_seconds=retry_after,
            )
        if status >= 400:
            raise ProviderRejectedError(
                details={"provider": self.provider, "status": status, "code": _error_code(response)}
            )
        if status >= 300:
            raise ProviderError(details={"provider": self.provider, "status": status, "reason": "redirect"})
        if empty_ok and not response.content.strip():
            return ApiAnswer(status, None, response.headers)
        try:
            parsed = response.json()
        except ValueError as exc:
            raise TransientFailure(
                ProviderError(details={"provider": self.provider, "reason": "malformed_answer"})
            ) from exc
        return ApiAnswer(status, parsed, response.headers)


def malformed(provider: str) -> ProviderError:
    """The error for an answer that is JSON but not of the documented shape."""
    return ProviderError(details={"provider": provider, "reason": "malformed_answer"})


def _error_code(response: httpx.Response) -> str | None:
    """The provider's own error code, when it gives a short machine-readable one (never its message,
    which may repeat the prompt)."""
    try:
        document = response.json()
    except ValueError:
        return None
    candidates: list[Any] = []
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict):
            candidates += [error.get("code"), error.get("type")]
        candidates += [document.get("code"), document.get("title")]
    for candidate in candidates:
        if isinstance(candidate, str) and _ERROR_CODE.fullmatch(candidate.replace(" ", "_")):
            return candidate.replace(" ", "_")
    return None


def short_text(value: Any, limit: int = 300) -> str | None:
    """A provider's failure text, cut short and without tracebacks."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first[:limit] or None


def machine_code(value: Any, default: str) -> str:
    if isinstance(value, str) and _ERROR_CODE.fullmatch(value):
        return value
    return default


# ------------------------------------------------------------------------------------------
# The registry.
# ------------------------------------------------------------------------------------------
_lock = threading.Lock()
_built: dict[str, tuple[Settings, InferenceProvider]] = {}


def provider_for(name: str, settings: Settings) -> InferenceProvider:
    """The adapter for a provider name (ProviderRejectedError for a name Atelier does not know)."""
    if name not in PROVIDER_NAMES:
        raise ProviderRejectedError("This inference provider is not available.", details={"provider": name})
    with _lock:
        built = _built.get(name)
        if built is not None and built[0] is settings:
            return built[1]
    provider = _build(name, settings)
    with _lock:
        _built[name] = (settings, provider)
    return provider


def forget_providers() -> None:
    """Drops the built adapters (tests that change settings call this)."""
    with _lock:
        _built.clear()


def _setting(settings: Settings, name: str, default: str = "") -> str:
    value = getattr(settings, name, default)
    return default if value is None else str(value)


def _seconds(settings: Settings, name: str, default: float) -> float:
    try:
        value = float(getattr(settings, name, default))
    except (TypeError, ValueError):
        return default
    return value if value > 0 else default


def _hosts(settings: Settings, name: str) -> list[str]:
    value = getattr(settings, name, "")
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return [str(item).strip() for item in items if str(item).strip()]


def _trusted_origin(settings: Settings, base_url: str) -> str | None:
    """The local runtime's stand-ins serve outputs from their own (plain HTTP, loopback) origin."""
    return origin_of(base_url) if getattr(settings, "local_runtime", False) else None


def _build(name: str, settings: Settings) -> InferenceProvider:
    http_timeout = _seconds(settings, "inference_http_timeout_seconds", DEFAULT_HTTP_TIMEOUT_SECONDS)
    sync_timeout = _seconds(settings, "inference_sync_timeout_seconds", DEFAULT_SYNC_TIMEOUT_SECONDS)
    if name == "local":
        from atelier.integrations.inference.local import LocalProvider

        return LocalProvider()
    if name == "openai":
        from atelier.integrations.inference.openai_images import DEFAULT_API_BASE, OpenAIImagesProvider

        base = _setting(settings, "openai_api_base") or DEFAULT_API_BASE
        return OpenAIImagesProvider(
            api_key=secret_setting(
                _setting(settings, "openai_api_key"), _setting(settings, "openai_api_key_parameter")
            ),
            api_base=base,
            timeout_seconds=sync_timeout,
            trusted_origin=_trusted_origin(settings, base),
        )
    if name == "modelark":
        from atelier.integrations.inference.modelark import DEFAULT_API_BASE, ModelArkProvider

        base = _setting(settings, "modelark_api_base") or DEFAULT_API_BASE
        return ModelArkProvider(
            api_key=secret_setting(
                _setting(settings, "modelark_api_key"), _setting(settings, "modelark_api_key_parameter")
            ),
            api_base=base,
            timeout_seconds=http_timeout,
            sync_timeout_seconds=sync_timeout,
            output_hosts=_hosts(settings, "modelark_output_hosts") or None,
            trusted_origin=_trusted_origin(settings, base),
        )
    if name == "runpod":
        from atelier.integrations.inference.runpod import DEFAULT_API_BASE, RunPodProvider

        base = _setting(settings, "runpod_api_base") or DEFAULT_API_BASE
        return RunPodProvider(
            api_key=secret_setting(
                _setting(settings, "runpod_api_key"), _setting(settings, "runpod_api_key_parameter")
            ),
            api_base=base,
            timeout_seconds=http_timeout,
            output_hosts=_hosts(settings, "runpod_output_hosts"),
            trusted_origin=_trusted_origin(settings, base),
        )
    from atelier.integrations.inference.replicate import DEFAULT_API_BASE, ReplicateProvider

    base = _setting(settings, "replicate_api_base") or DEFAULT_API_BASE
    return ReplicateProvider(
        api_token=secret_setting(
            _setting(settings, "replicate_api_token"), _setting(settings, "replicate_api_token_parameter")
        ),
        webhook_secret=secret_setting(
            _setting(settings, "replicate_webhook_secret"), _setting(settings, "replicate_webhook_secret_parameter")
        ),
        api_base=base,
        timeout_seconds=http_timeout,
        output_hosts=_hosts(settings, "replicate_output_hosts") or None,
        trusted_origin=_trusted_origin(settings, base),
    )
