"""The API's resources, each in a synchronous and an asynchronous flavour with the same methods."""

from __future__ import annotations

import asyncio
import builtins
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel

from ._polling import Schedule
from ._transport import AsyncTransport, SyncTransport
from .errors import AtelierError, WaitTimeoutError
from .models import (
    Asset,
    AssetKind,
    AssetPage,
    CreatedWebhookEndpoint,
    CreateWebhookEndpoint,
    DefaultSecret,
    Export,
    GenerationKind,
    Job,
    JobPage,
    JobStatus,
    Model,
    ModelList,
    ParamValue,
    RotatedSecret,
    SubmitJob,
    UpdateWebhookEndpoint,
    WebhookDelivery,
    WebhookDeliveryPage,
    WebhookEndpoint,
    WebhookEndpointList,
    WebhookEventType,
)

T = TypeVar("T", bound=BaseModel)
Destination = str | os.PathLike[str] | IO[bytes]
JobProgress = Callable[[Job], object]
ExportProgress = Callable[[Export], object]
DEFAULT_WAIT_SECONDS = 600.0
_CHUNK = 1 << 16


def _parse(model: type[T], data: Any) -> T:
    return model.model_validate(data)


def _job_request(
    *,
    model: str,
    prompt: str,
    kind: GenerationKind,
    negative_prompt: str | None,
    params: Mapping[str, ParamValue] | None,
    reference_upload_ids: Sequence[str] | None,
    workflow_version_id: str | None,
    webhook_url: str | None,
    idempotency_key: str | None,
    cancel_after: float | str | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    body = SubmitJob(
        kind=kind,
        model=model,
        prompt=prompt,
        negative_prompt=negative_prompt,
        params=dict(params or {}),
        reference_upload_ids=list(reference_upload_ids or []),
        workflow_version_id=workflow_version_id,
        webhook_url=webhook_url,
    )
    # Always a key: a retried submission (a lost answer, a 503) then makes one job, never two.
    headers = {"Idempotency-Key": idempotency_key or f"sdk-{uuid.uuid4()}"}
    if cancel_after is not None:
        headers["Cancel-After"] = _duration(cancel_after)
    return body.model_dump(mode="json", exclude_none=True), headers


def _duration(value: float | str) -> str:
    """A ``Cancel-After`` header value: seconds as a number, or the API's own form (``5m``, ``1h30m``)."""
    if isinstance(value, str):
        return value
    return f"{value:g}s"


def _changes(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    return model.model_validate(fields).model_dump(mode="json", exclude_none=True)


def _open(destination: Destination) -> tuple[IO[bytes], bool]:
    if isinstance(destination, (str, os.PathLike)):
        path = Path(destination)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb"), True
    return destination, False


def _link(url: str | None, what: str) -> str:
    if not url:
        raise AtelierError(f"The {what} has no download link (removed, restricted or not ready).", code="no_download")
    return url


# -- synchronous ----------------------------------------------------------------------------------
class Jobs:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def create(
        self,
        *,
        model: str,
        prompt: str,
        kind: GenerationKind = "image",
        negative_prompt: str | None = None,
        params: Mapping[str, ParamValue] | None = None,
        reference_upload_ids: Sequence[str] | None = None,
        workflow_version_id: str | None = None,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
        cancel_after: float | str | None = None,
    ) -> Job:
        """Submits a job (202: queued). The same ``idempotency_key`` answers the same job again; one is
        made up when none is given, so the client's own retries never make a second job."""
        body, headers = _job_request(
            model=model,
            prompt=prompt,
            kind=kind,
            negative_prompt=negative_prompt,
            params=params,
            reference_upload_ids=reference_upload_ids,
            workflow_version_id=workflow_version_id,
            webhook_url=webhook_url,
            idempotency_key=idempotency_key,
            cancel_after=cancel_after,
        )
        return _parse(Job, self._transport.request("POST", "/v1/jobs", json=body, headers=headers).json())

    def get(self, job_id: str) -> Job:
        return _parse(Job, self._transport.request("GET", f"/v1/jobs/{job_id}").json())

    def list(
        self,
        *,
        status: JobStatus | None = None,
        workspace_id: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of jobs, newest first; ``next_cursor`` fetches the next."""
        params = {"status": status, "workspace_id": workspace_id, "limit": limit, "cursor": cursor}
        return _parse(JobPage, self._transport.request("GET", "/v1/jobs", params=params).json())

    def iterate(self, *, status: JobStatus | None = None, workspace_id: str | None = None) -> Iterator[Job]:
        """Every job, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = self.list(status=status, workspace_id=workspace_id, limit=100, cursor=cursor)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def cancel(self, job_id: str) -> Job:
        """Cancels a job that has not finished and releases its credits (409 ``job_finished`` after)."""
        return _parse(Job, self._transport.request("POST", f"/v1/jobs/{job_id}/cancel").json())

    def wait(
        self,
        job_id: str,
        *,
        timeout: float = DEFAULT_WAIT_SECONDS,
        on_progress: JobProgress | None = None,
        interval: float | None = None,
    ) -> Job:
        """Looks at the job until it has finished and answers it (succeeded, failed or canceled: check
        ``status``). ``on_progress`` is called with every look. ``WaitTimeoutError`` after ``timeout``."""
        deadline = time.monotonic() + timeout
        schedule = Schedule(interval)
        while True:
            response = self._transport.request("GET", f"/v1/jobs/{job_id}")
            job = _parse(Job, response.json())
            if on_progress is not None:
                on_progress(job)
            if job.finished:
                return job
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(f"Job {job_id} is still {job.status} after {timeout:g} s.", code="wait_timeout")
            time.sleep(schedule.next_wait(response, left))


class Assets:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def list(
        self,
        *,
        kind: AssetKind | None = None,
        workspace_id: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> AssetPage:
        params = {"kind": kind, "workspace_id": workspace_id, "limit": limit, "cursor": cursor}
        return _parse(AssetPage, self._transport.request("GET", "/v1/assets", params=params).json())

    def iterate(self, *, kind: AssetKind | None = None, workspace_id: str | None = None) -> Iterator[Asset]:
        cursor: str | None = None
        while True:
            page = self.list(kind=kind, workspace_id=workspace_id, limit=100, cursor=cursor)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def get(self, asset_id: str) -> Asset:
        """The asset with a fresh, short-lived ``download_url``."""
        return _parse(Asset, self._transport.request("GET", f"/v1/assets/{asset_id}").json())

    def stream(self, asset: str | Asset) -> Iterator[bytes]:
        """The file's bytes, in chunks (a fresh link is asked for first)."""
        fresh = self.get(asset if isinstance(asset, str) else asset.id)
        with self._transport.download(_link(fresh.download_url, "asset")) as response:
            yield from response.iter_bytes(_CHUNK)

    def download(self, asset: str | Asset, destination: Destination) -> int:
        """Writes the file to a path (directories made) or an open binary file; answers the bytes written."""
        handle, owned = _open(destination)
        written = 0
        try:
            for chunk in self.stream(asset):
                handle.write(chunk)
                written += len(chunk)
        finally:
            if owned:
                handle.close()
        return written


class Exports:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def create(self) -> Export:
        """Asks for an archive of all the account's data (one at a time: 409 ``export_in_progress``)."""
        return _parse(Export, self._transport.request("POST", "/v1/me/exports").json())

    def get(self, export_id: str) -> Export:
        return _parse(Export, self._transport.request("GET", f"/v1/me/exports/{export_id}").json())

    def wait(
        self,
        export_id: str,
        *,
        timeout: float = DEFAULT_WAIT_SECONDS,
        on_progress: ExportProgress | None = None,
        interval: float | None = None,
    ) -> Export:
        """Looks at the export until it is ready, failed or expired, and answers it."""
        deadline = time.monotonic() + timeout
        schedule = Schedule(interval)
        while True:
            response = self._transport.request("GET", f"/v1/me/exports/{export_id}")
            export = _parse(Export, response.json())
            if on_progress is not None:
                on_progress(export)
            if export.finished:
                return export
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(
                    f"Export {export_id} is still {export.status} after {timeout:g} s.", code="wait_timeout"
                )
            time.sleep(schedule.next_wait(response, left))

    def download(self, export: str | Export, destination: Destination) -> int:
        """Writes the zip to a path or an open binary file; answers the bytes written."""
        fresh = self.get(export if isinstance(export, str) else export.id)
        handle, owned = _open(destination)
        written = 0
        try:
            with self._transport.download(_link(fresh.download_url, "export")) as response:
                for chunk in response.iter_bytes(_CHUNK):
                    handle.write(chunk)
                    written += len(chunk)
        finally:
            if owned:
                handle.close()
        return written


class WebhookEndpoints:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def create(
        self,
        *,
        url: str,
        events: Sequence[WebhookEventType],
        description: str = "",
        enabled: bool = True,
        include_prompt: bool = False,
        credits_low_threshold: int = 100,
    ) -> CreatedWebhookEndpoint:
        """Registers an endpoint; its signing ``secret`` is in this answer only."""
        body = _changes(
            CreateWebhookEndpoint,
            url=url,
            events=list(events),
            description=description,
            enabled=enabled,
            include_prompt=include_prompt,
            credits_low_threshold=credits_low_threshold,
        )
        answer = self._transport.request("POST", "/v1/webhook-endpoints", json=body)
        return _parse(CreatedWebhookEndpoint, answer.json())

    def list(self) -> builtins.list[WebhookEndpoint]:
        return _parse(WebhookEndpointList, self._transport.request("GET", "/v1/webhook-endpoints").json()).items

    def get(self, endpoint_id: str) -> WebhookEndpoint:
        return _parse(WebhookEndpoint, self._transport.request("GET", f"/v1/webhook-endpoints/{endpoint_id}").json())

    def update(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[WebhookEventType] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        include_prompt: bool | None = None,
        credits_low_threshold: int | None = None,
    ) -> WebhookEndpoint:
        """Changes what is given; what is left out (None) stays as it is."""
        body = _changes(
            UpdateWebhookEndpoint,
            url=url,
            events=None if events is None else list(events),
            description=description,
            enabled=enabled,
            include_prompt=include_prompt,
            credits_low_threshold=credits_low_threshold,
        )
        answer = self._transport.request("PATCH", f"/v1/webhook-endpoints/{endpoint_id}", json=body)
        return _parse(WebhookEndpoint, answer.json())

    def delete(self, endpoint_id: str) -> None:
        self._transport.request("DELETE", f"/v1/webhook-endpoints/{endpoint_id}")

    def rotate_secret(self, endpoint_id: str) -> RotatedSecret:
        """A new secret; the previous one keeps signing too until ``previous_secret_expires_at``."""
        answer = self._transport.request("POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
        return _parse(RotatedSecret, answer.json())

    def default_secret(self) -> DefaultSecret:
        """The secret that signs deliveries to the ``webhook_url`` a job names."""
        return _parse(DefaultSecret, self._transport.request("GET", "/v1/webhook-endpoints/default/secret").json())

    def deliveries(self, endpoint_id: str, *, limit: int = 20, cursor: str | None = None) -> WebhookDeliveryPage:
        """The endpoint's delivery log (30 days), newest first."""
        answer = self._transport.request(
            "GET", f"/v1/webhook-endpoints/{endpoint_id}/deliveries", params={"limit": limit, "cursor": cursor}
        )
        return _parse(WebhookDeliveryPage, answer.json())

    def redeliver(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Attempts a delivery again, with the same message id and body."""
        answer = self._transport.request(
            "POST", f"/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"
        )
        return _parse(WebhookDelivery, answer.json())

    def test(self, endpoint_id: str) -> WebhookDelivery:
        """Sends a ``webhook.test`` event to the endpoint."""
        return _parse(
            WebhookDelivery, self._transport.request("POST", f"/v1/webhook-endpoints/{endpoint_id}/test").json()
        )


class Models:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def list(self) -> builtins.list[Model]:
        """The models on offer, their prices and parameters (no sign-in needed)."""
        return _parse(ModelList, self._transport.request("GET", "/v1/models").json()).items


# -- asynchronous ---------------------------------------------------------------------------------
class AsyncJobs:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def create(
        self,
        *,
        model: str,
        prompt: str,
        kind: GenerationKind = "image",
        negative_prompt: str | None = None,
        params: Mapping[str, ParamValue] | None = None,
        reference_upload_ids: Sequence[str] | None = None,
        workflow_version_id: str | None = None,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
        cancel_after: float | str | None = None,
    ) -> Job:
        """Submits a job; see ``Jobs.create``."""
        body, headers = _job_request(
            model=model,
            prompt=prompt,
            kind=kind,
            negative_prompt=negative_prompt,
            params=params,
            reference_upload_ids=reference_upload_ids,
            workflow_version_id=workflow_version_id,
            webhook_url=webhook_url,
            idempotency_key=idempotency_key,
            cancel_after=cancel_after,
        )
        return _parse(Job, (await self._transport.request("POST", "/v1/jobs", json=body, headers=headers)).json())

    async def get(self, job_id: str) -> Job:
        return _parse(Job, (await self._transport.request("GET", f"/v1/jobs/{job_id}")).json())

    async def list(
        self,
        *,
        status: JobStatus | None = None,
        workspace_id: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> JobPage:
        params = {"status": status, "workspace_id": workspace_id, "limit": limit, "cursor": cursor}
        return _parse(JobPage, (await self._transport.request("GET", "/v1/jobs", params=params)).json())

    async def iterate(self, *, status: JobStatus | None = None, workspace_id: str | None = None) -> AsyncIterator[Job]:
        cursor: str | None = None
        while True:
            page = await self.list(status=status, workspace_id=workspace_id, limit=100, cursor=cursor)
            for job in page.items:
                yield job
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def cancel(self, job_id: str) -> Job:
        return _parse(Job, (await self._transport.request("POST", f"/v1/jobs/{job_id}/cancel")).json())

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float = DEFAULT_WAIT_SECONDS,
        on_progress: Callable[[Job], object | Awaitable[object]] | None = None,
        interval: float | None = None,
    ) -> Job:
        """See ``Jobs.wait``; ``on_progress`` may be a coroutine function."""
        deadline = time.monotonic() + timeout
        schedule = Schedule(interval)
        while True:
            response = await self._transport.request("GET", f"/v1/jobs/{job_id}")
            job = _parse(Job, response.json())
            if on_progress is not None:
                outcome = on_progress(job)
                if isinstance(outcome, Awaitable):
                    await outcome
            if job.finished:
                return job
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(f"Job {job_id} is still {job.status} after {timeout:g} s.", code="wait_timeout")
            await asyncio.sleep(schedule.next_wait(response, left))


class AsyncAssets:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(
        self,
        *,
        kind: AssetKind | None = None,
        workspace_id: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> AssetPage:
        params = {"kind": kind, "workspace_id": workspace_id, "limit": limit, "cursor": cursor}
        return _parse(AssetPage, (await self._transport.request("GET", "/v1/assets", params=params)).json())

    async def iterate(self, *, kind: AssetKind | None = None, workspace_id: str | None = None) -> AsyncIterator[Asset]:
        cursor: str | None = None
        while True:
            page = await self.list(kind=kind, workspace_id=workspace_id, limit=100, cursor=cursor)
            for asset in page.items:
                yield asset
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def get(self, asset_id: str) -> Asset:
        return _parse(Asset, (await self._transport.request("GET", f"/v1/assets/{asset_id}")).json())

    async def stream(self, asset: str | Asset) -> AsyncIterator[bytes]:
        fresh = await self.get(asset if isinstance(asset, str) else asset.id)
        async with self._transport.download(_link(fresh.download_url, "asset")) as response:
            async for chunk in response.aiter_bytes(_CHUNK):
                yield chunk

    async def download(self, asset: str | Asset, destination: Destination) -> int:
        handle, owned = _open(destination)
        written = 0
        try:
            async for chunk in self.stream(asset):
                handle.write(chunk)
                written += len(chunk)
        finally:
            if owned:
                handle.close()
        return written


class AsyncExports:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def create(self) -> Export:
        return _parse(Export, (await self._transport.request("POST", "/v1/me/exports")).json())

    async def get(self, export_id: str) -> Export:
        return _parse(Export, (await self._transport.request("GET", f"/v1/me/exports/{export_id}")).json())

    async def wait(
        self,
        export_id: str,
        *,
        timeout: float = DEFAULT_WAIT_SECONDS,
        on_progress: ExportProgress | None = None,
        interval: float | None = None,
    ) -> Export:
        deadline = time.monotonic() + timeout
        schedule = Schedule(interval)
        while True:
            response = await self._transport.request("GET", f"/v1/me/exports/{export_id}")
            export = _parse(Export, response.json())
            if on_progress is not None:
                on_progress(export)
            if export.finished:
                return export
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(
                    f"Export {export_id} is still {export.status} after {timeout:g} s.", code="wait_timeout"
                )
            await asyncio.sleep(schedule.next_wait(response, left))

    async def download(self, export: str | Export, destination: Destination) -> int:
        fresh = await self.get(export if isinstance(export, str) else export.id)
        handle, owned = _open(destination)
        written = 0
        try:
            async with self._transport.download(_link(fresh.download_url, "export")) as response:
                async for chunk in response.aiter_bytes(_CHUNK):
                    handle.write(chunk)
                    written += len(chunk)
        finally:
            if owned:
                handle.close()
        return written


class AsyncWebhookEndpoints:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def create(
        self,
        *,
        url: str,
        events: Sequence[WebhookEventType],
        description: str = "",
        enabled: bool = True,
        include_prompt: bool = False,
        credits_low_threshold: int = 100,
    ) -> CreatedWebhookEndpoint:
        body = _changes(
            CreateWebhookEndpoint,
            url=url,
            events=list(events),
            description=description,
            enabled=enabled,
            include_prompt=include_prompt,
            credits_low_threshold=credits_low_threshold,
        )
        answer = await self._transport.request("POST", "/v1/webhook-endpoints", json=body)
        return _parse(CreatedWebhookEndpoint, answer.json())

    async def list(self) -> builtins.list[WebhookEndpoint]:
        answer = await self._transport.request("GET", "/v1/webhook-endpoints")
        return _parse(WebhookEndpointList, answer.json()).items

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        answer = await self._transport.request("GET", f"/v1/webhook-endpoints/{endpoint_id}")
        return _parse(WebhookEndpoint, answer.json())

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | None = None,
        events: Sequence[WebhookEventType] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        include_prompt: bool | None = None,
        credits_low_threshold: int | None = None,
    ) -> WebhookEndpoint:
        body = _changes(
            UpdateWebhookEndpoint,
            url=url,
            events=None if events is None else list(events),
            description=description,
            enabled=enabled,
            include_prompt=include_prompt,
            credits_low_threshold=credits_low_threshold,
        )
        answer = await self._transport.request("PATCH", f"/v1/webhook-endpoints/{endpoint_id}", json=body)
        return _parse(WebhookEndpoint, answer.json())

    async def delete(self, endpoint_id: str) -> None:
        await self._transport.request("DELETE", f"/v1/webhook-endpoints/{endpoint_id}")

    async def rotate_secret(self, endpoint_id: str) -> RotatedSecret:
        answer = await self._transport.request("POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
        return _parse(RotatedSecret, answer.json())

    async def default_secret(self) -> DefaultSecret:
        answer = await self._transport.request("GET", "/v1/webhook-endpoints/default/secret")
        return _parse(DefaultSecret, answer.json())

    async def deliveries(self, endpoint_id: str, *, limit: int = 20, cursor: str | None = None) -> WebhookDeliveryPage:
        answer = await self._transport.request(
            "GET", f"/v1/webhook-endpoints/{endpoint_id}/deliveries", params={"limit": limit, "cursor": cursor}
        )
        return _parse(WebhookDeliveryPage, answer.json())

    async def redeliver(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        answer = await self._transport.request(
            "POST", f"/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver"
        )
        return _parse(WebhookDelivery, answer.json())

    async def test(self, endpoint_id: str) -> WebhookDelivery:
        answer = await self._transport.request("POST", f"/v1/webhook-endpoints/{endpoint_id}/test")
        return _parse(WebhookDelivery, answer.json())


class AsyncModels:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(self) -> builtins.list[Model]:
        return _parse(ModelList, (await self._transport.request("GET", "/v1/models")).json()).items
