"""The clients: ``Atelier`` (synchronous) and ``AsyncAtelier`` (asyncio), with the same resources.

Configuration comes from the arguments, else the environment: ``ATELIER_API_KEY`` (sent as
``Authorization: Bearer``) and ``ATELIER_BASE_URL`` (default: the production API; ``make dev`` serves
it at ``http://127.0.0.1:3000``).
"""

from __future__ import annotations

from types import TracebackType

import httpx

from ._transport import DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT, AsyncTransport, SyncTransport, settings_from
from .resources import (
    Assets,
    AsyncAssets,
    AsyncExports,
    AsyncJobs,
    AsyncModels,
    AsyncWebhookEndpoints,
    Exports,
    Jobs,
    Models,
    WebhookEndpoints,
)


class Atelier:
    """A synchronous client. Use it as a context manager, or ``close()`` it, to release connections.

    ``http_client`` is an ``httpx.Client`` of your own (proxies, certificates, other credentials); the
    key is still sent when there is one. ``max_retries`` bounds the retries of a 429 or 503 on requests
    that are safe to repeat, and a ``Retry-After`` longer than ``max_retry_wait`` is not waited for."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        http_client: httpx.Client | None = None,
    ) -> None:
        settings = settings_from(api_key, base_url, max_retries, max_retry_wait, key_required=http_client is None)
        self._transport = SyncTransport(settings, http_client)
        self.base_url = settings.base_url
        self.jobs = Jobs(self._transport)
        self.assets = Assets(self._transport)
        self.exports = Exports(self._transport)
        self.webhook_endpoints = WebhookEndpoints(self._transport)
        self.models = Models(self._transport)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Atelier:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class AsyncAtelier:
    """An asyncio client with the same resources as ``Atelier``, each method a coroutine."""

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        settings = settings_from(api_key, base_url, max_retries, max_retry_wait, key_required=http_client is None)
        self._transport = AsyncTransport(settings, http_client)
        self.base_url = settings.base_url
        self.jobs = AsyncJobs(self._transport)
        self.assets = AsyncAssets(self._transport)
        self.exports = AsyncExports(self._transport)
        self.webhook_endpoints = AsyncWebhookEndpoints(self._transport)
        self.models = AsyncModels(self._transport)

    async def close(self) -> None:
        await self._transport.close()

    async def __aenter__(self) -> AsyncAtelier:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()
