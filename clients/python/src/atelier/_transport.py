"""Requests to the API: authentication, error mapping and bounded retries, sync and async alike.

A request is retried on 429 and 503 (and on a failed connection) only when repeating it cannot do a
thing twice: a safe or idempotent method, or a POST carrying an ``Idempotency-Key``. The wait is the
``Retry-After`` the API asked for when it gave one (a request whose asked-for wait is longer than
``max_retry_wait`` is not retried: the error, with its ``retry_after``, is raised at once), otherwise
an exponential backoff with jitter.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from ._version import __version__
from .errors import APIConnectionError, ConfigurationError, error_from_response, retry_after_of

API_KEY_VARIABLE = "ATELIER_API_KEY"
BASE_URL_VARIABLE = "ATELIER_BASE_URL"
# The production API: the studio's origin, which serves the API under /v1/ (README, "Deploy").
DEFAULT_BASE_URL = "https://studio.example.com"
LOCAL_BASE_URL = "http://127.0.0.1:3000"

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_WAIT = 60.0
RETRIED_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class Settings:
    api_key: str | None
    base_url: str
    max_retries: int
    max_retry_wait: float


def settings_from(
    api_key: str | None, base_url: str | None, max_retries: int, max_retry_wait: float, *, key_required: bool
) -> Settings:
    key = api_key if api_key is not None else os.environ.get(API_KEY_VARIABLE) or None
    if key_required and not key:
        raise ConfigurationError(
            f"No API key: pass api_key= or set {API_KEY_VARIABLE} (make one in the studio, Settings > API keys).",
            code="missing_api_key",
        )
    url = (base_url or os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL).rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigurationError(f"The base URL must start with https:// or http://: {url!r}", code="invalid_base_url")
    return Settings(api_key=key, base_url=url, max_retries=max(0, max_retries), max_retry_wait=max_retry_wait)


def default_headers(settings: Settings) -> dict[str, str]:
    headers = {"User-Agent": f"atelier-python/{__version__}", "Accept": "application/json"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    return headers


def may_retry(method: str, headers: Mapping[str, str] | None) -> bool:
    return method.upper() in IDEMPOTENT_METHODS or any(name.lower() == "idempotency-key" for name in headers or {})


def backoff(attempt: int) -> float:
    return float(min(8.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not a secret


def same_origin(url: str, base_url: str) -> bool:
    target, base = urlsplit(url), urlsplit(base_url)
    return (target.scheme, target.netloc) == (base.scheme, base.netloc)


def absolute(url: str, base_url: str) -> str:
    return urljoin(base_url + "/", url)


def _wait_before_retry(response: httpx.Response | None, attempt: int, settings: Settings) -> float | None:
    """Seconds to wait before the next attempt, or None when the request is not to be retried."""
    if attempt >= settings.max_retries:
        return None
    if response is None:
        return backoff(attempt)
    if response.status_code not in RETRIED_STATUSES:
        return None
    asked = retry_after_of(response)
    if asked is None:
        return backoff(attempt)
    return asked if asked <= settings.max_retry_wait else None


class SyncTransport:
    def __init__(
        self, settings: Settings, http_client: httpx.Client | None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.settings = settings
        self._owns_client = http_client is None
        self.http = http_client or httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=False)
        self._sleep = sleep

    def close(self) -> None:
        if self._owns_client:
            self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        sent = {**default_headers(self.settings), **(headers or {})}
        query = {name: value for name, value in (params or {}).items() if value is not None}
        url = absolute(path, self.settings.base_url)
        retryable = may_retry(method, headers)
        attempt = 0
        while True:
            try:
                response = self.http.request(method, url, params=query, json=json, headers=sent)
            except httpx.TransportError as exc:
                wait = _wait_before_retry(None, attempt, self.settings) if retryable else None
                if wait is None:
                    raise APIConnectionError(
                        f"Could not reach {self.settings.base_url}: {exc}", code="connection_error"
                    ) from exc
            else:
                if response.is_success:
                    return response
                wait = _wait_before_retry(response, attempt, self.settings) if retryable else None
                if wait is None:
                    raise error_from_response(response)
            self._sleep(wait)
            attempt += 1

    @contextmanager
    def download(self, url: str) -> Iterator[httpx.Response]:
        """Streams a file. Links are short-lived and usually on another host (object storage): the API
        key is sent only to the API's own origin."""
        target = absolute(url, self.settings.base_url)
        headers = default_headers(self.settings) if same_origin(target, self.settings.base_url) else {}
        headers.pop("Accept", None)
        try:
            with self.http.stream("GET", target, headers=headers) as response:
                if not response.is_success:
                    response.read()
                    raise error_from_response(response)
                yield response
        except httpx.TransportError as exc:
            raise APIConnectionError(f"Could not download the file: {exc}", code="connection_error") from exc


class AsyncTransport:
    def __init__(self, settings: Settings, http_client: httpx.AsyncClient | None) -> None:
        self.settings = settings
        self._owns_client = http_client is None
        self.http = http_client or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=False)

    async def close(self) -> None:
        if self._owns_client:
            await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        sent = {**default_headers(self.settings), **(headers or {})}
        query = {name: value for name, value in (params or {}).items() if value is not None}
        url = absolute(path, self.settings.base_url)
        retryable = may_retry(method, headers)
        attempt = 0
        while True:
            try:
                response = await self.http.request(method, url, params=query, json=json, headers=sent)
            except httpx.TransportError as exc:
                wait = _wait_before_retry(None, attempt, self.settings) if retryable else None
                if wait is None:
                    raise APIConnectionError(
                        f"Could not reach {self.settings.base_url}: {exc}", code="connection_error"
                    ) from exc
            else:
                if response.is_success:
                    return response
                wait = _wait_before_retry(response, attempt, self.settings) if retryable else None
                if wait is None:
                    raise error_from_response(response)
            await asyncio.sleep(wait)
            attempt += 1

    @asynccontextmanager
    async def download(self, url: str) -> AsyncIterator[httpx.Response]:
        target = absolute(url, self.settings.base_url)
        headers = default_headers(self.settings) if same_origin(target, self.settings.base_url) else {}
        headers.pop("Accept", None)
        try:
            async with self.http.stream("GET", target, headers=headers) as response:
                if not response.is_success:
                    await response.aread()
                    raise error_from_response(response)
                yield response
        except httpx.TransportError as exc:
            raise APIConnectionError(f"Could not download the file: {exc}", code="connection_error") from exc
