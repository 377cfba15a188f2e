"""The JSON call every HTTP inference adapter makes, mapping every way a provider can fail onto the
two errors the worker acts on.

- ``ProviderError`` (retry later): 429, 5xx, timeouts, network errors, an answer that is not the
  JSON promised, and 401/402/403, which say our account or key is wrong (nothing the request can
  fix, and a retry after the key is fixed succeeds).
- ``ProviderRejectedError`` (never retry): any other 4xx, content policy refusals included.

Nothing here logs a key, a prompt or a body.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from atelier.integrations.inference.base import ProviderError, ProviderRejectedError
from atelier.integrations.inference.failures import ERROR_CODE
from atelier.integrations.resilience import Resilient, TransientFailure, parse_retry_after

if TYPE_CHECKING:
    import httpx

DEFAULT_HTTP_TIMEOUT_SECONDS = 30.0
# Synchronous generation (OpenAI Images, Seedream) answers only once the image exists: the worker
# function's timeout (120 s) must leave room past this for the download and the store.
DEFAULT_SYNC_TIMEOUT_SECONDS = 100.0
CONNECT_TIMEOUT_SECONDS = 5.0

_CONFIGURATION_STATUSES = (401, 402, 403)


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
        if isinstance(candidate, str) and ERROR_CODE.fullmatch(candidate.replace(" ", "_")):
            return candidate.replace(" ", "_")
    return None
