"""RunPod serverless endpoints (``Authorization: Bearer <api key>``), one endpoint per model: the
request's ``model`` is the endpoint id.

- ``POST /v2/{endpoint}/run`` with ``{"input": {...}}`` answers ``{"id", "status": "IN_QUEUE"}``;
- ``GET /v2/{endpoint}/status/{id}`` answers ``status`` (IN_QUEUE, IN_PROGRESS, COMPLETED, FAILED,
  CANCELLED, TIMED_OUT), ``delayTime`` and ``executionTime`` (ms), ``output`` or ``error``; results
  are kept 30 minutes after completion;
- ``POST /v2/{endpoint}/cancel/{id}`` answers the job's status.

Because status and cancel need the endpoint as well as the job, the provider job id is
``<endpoint id>:<RunPod job id>``.

The input sent is ``{"prompt", "negative_prompt", "seed", "kind", "reference_image_urls", **params}``
(``None`` values left out). The output is whatever the endpoint's handler returns; Atelier accepts:

- ``{"images": [item, ...]}``, ``{"image": item}``, ``{"video": item}``, ``{"videos": [item, ...]}``,
  or a list of such objects;
- where an item is an ``https://`` URL, a ``data:<type>;base64,`` URI, bare base64, or an object
  ``{"url": ...}`` / ``{"data": <base64>}`` / ``{"type": "base64", "data": ...}``.

URL outputs are fetched only from the hosts configured for the endpoint's storage
(``runpod_output_hosts``). RunPod bills worker time: a job that never ran (``executionTime`` 0 or
absent) is not charged. With a ``callback_url``, ``webhook`` is sent: RunPod POSTs the status
answer there when the job ends. RunPod does not sign it, so the URL carries the job, the endpoint
(the body does not name it) and a token keyed with our API key, checked before the hint is taken.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from atelier.integrations.inference.base import (
    CallbackSignatureError,
    GenerationRequest,
    ProviderJob,
    ProviderOutput,
    ProviderRejectedError,
    ProviderStatus,
)
from atelier.integrations.inference.callbacks import (
    callback_id,
    path_segment,
    tokened_callback_url,
    verify_callback_token,
)
from atelier.integrations.inference.credentials import Secret, reveal
from atelier.integrations.inference.failures import malformed, short_text
from atelier.integrations.inference.json_api import DEFAULT_HTTP_TIMEOUT_SECONDS, JsonApi
from atelier.integrations.inference.media import OutputFetcher, sniff
from atelier.integrations.resilience import Resilient

if TYPE_CHECKING:
    import httpx

DEFAULT_API_BASE = "https://api.runpod.ai/v2"
_ENDPOINT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DATA_URI = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(;[^,]*)?;base64,(?P<data>.*)$", re.DOTALL)
_STATUSES = {
    "IN_QUEUE": ProviderStatus.QUEUED,
    "IN_PROGRESS": ProviderStatus.RUNNING,
    "COMPLETED": ProviderStatus.SUCCEEDED,
    "FAILED": ProviderStatus.FAILED,
    "CANCELLED": ProviderStatus.CANCELED,
    "TIMED_OUT": ProviderStatus.FAILED,
}
_MEDIA_KEYS = ("images", "image", "videos", "video")


class RunPodProvider:
    name = "runpod"

    def __init__(
        self,
        *,
        api_key: Secret,
        api_base: str = DEFAULT_API_BASE,
        http: httpx.Client | None = None,
        timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS,
        output_hosts: Iterable[str] = (),
        trusted_origin: str | None = None,
        fetcher: OutputFetcher | None = None,
    ) -> None:
        self._api_key = api_key
        self._api = JsonApi(self.name, api_base, self._auth, http, timeout_seconds=timeout_seconds)
        self._fetcher = fetcher or OutputFetcher(
            lambda: self._api.http,
            hosts=output_hosts,
            trusted_origin=trusted_origin,
            resilient=Resilient(f"{self.name}-outputs"),
        )

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {reveal(self._api_key, 'runpod api key')}"}

    def submit(self, request: GenerationRequest) -> ProviderJob:
        endpoint = request.model
        if not _ENDPOINT_ID.match(endpoint):
            raise ProviderRejectedError("The RunPod endpoint id is not valid.", details={"provider": self.name})
        job_input: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "seed": request.seed,
            "kind": request.kind,
            "reference_image_urls": list(request.reference_image_urls) or None,
        }
        job_input = {name: value for name, value in job_input.items() if value is not None}
        body: dict[str, Any] = {"input": {**request.params, **job_input}}
        if request.callback_url:
            key = reveal(self._api_key, "runpod api key")
            body["webhook"] = tokened_callback_url(
                request.callback_url, key, self.name, request.job_id, endpoint=endpoint
            )
        answer = self._api.call("POST", f"/{endpoint}/run", body=body)
        return self._job(endpoint, answer.body)

    def status(self, provider_job_id: str) -> ProviderJob:
        endpoint, job_id = _split(provider_job_id)
        answer = self._api.call("GET", f"/{endpoint}/status/{path_segment(job_id)}")
        return self._job(endpoint, answer.body)

    def cancel(self, provider_job_id: str) -> bool:
        endpoint, job_id = _split(provider_job_id)
        try:
            answer = self._api.call("POST", f"/{endpoint}/cancel/{path_segment(job_id)}")
        except ProviderRejectedError:
            return False
        return isinstance(answer.body, dict) and answer.body.get("status") == "CANCELLED"

    def fetch_output(self, output: ProviderOutput, *, max_bytes: int) -> bytes:
        return self._fetcher.fetch(output, max_bytes=max_bytes)

    def verify_callback(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str] | None = None
    ) -> str:
        verify_callback_token(query, lambda: reveal(self._api_key, "runpod api key"), self.name)
        endpoint = (query or {}).get("endpoint", "")
        if not _ENDPOINT_ID.match(endpoint):
            raise CallbackSignatureError("The callback names no endpoint.")
        return f"{endpoint}:{callback_id(raw_body)}"

    def _job(self, endpoint: str, body: Any) -> ProviderJob:
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise malformed(self.name)
        status = _STATUSES.get(str(body.get("status")))
        if status is None:
            raise malformed(self.name)
        provider_job_id = f"{endpoint}:{body['id']}"
        execution_ms = body.get("executionTime")
        compute = execution_ms / 1000 if isinstance(execution_ms, int | float) and execution_ms > 0 else None
        charged = compute is not None
        if status is ProviderStatus.SUCCEEDED:
            outputs = _outputs(body.get("output"))
            if not outputs:
                return ProviderJob(
                    provider_job_id=provider_job_id,
                    status=ProviderStatus.FAILED,
                    error_code="no_output",
                    error_message="The endpoint completed without an image or a video.",
                    charged=charged,
                    compute_seconds=compute,
                )
            return ProviderJob(
                provider_job_id=provider_job_id,
                status=status,
                progress=1.0,
                outputs=outputs,
                charged=True,
                compute_seconds=compute,
            )
        if status is ProviderStatus.FAILED:
            timed_out = body.get("status") == "TIMED_OUT"
            return ProviderJob(
                provider_job_id=provider_job_id,
                status=status,
                error_code="timed_out" if timed_out else "generation_failed",
                error_message=_error_message(body.get("error")),
                charged=charged,
                compute_seconds=compute,
            )
        if status is ProviderStatus.CANCELED:
            return ProviderJob(
                provider_job_id=provider_job_id,
                status=status,
                error_code="canceled",
                charged=charged,
                compute_seconds=compute,
            )
        return ProviderJob(provider_job_id=provider_job_id, status=status)


def _split(provider_job_id: str) -> tuple[str, str]:
    endpoint, separator, job_id = provider_job_id.partition(":")
    if not separator or not job_id or not _ENDPOINT_ID.match(endpoint):
        raise ProviderRejectedError("Not a RunPod job id.", details={"provider": "runpod"})
    return endpoint, job_id


def _error_message(error: Any) -> str | None:
    """RunPod's ``error`` is a string, sometimes a JSON object with ``error_message`` and a traceback."""
    if isinstance(error, str):
        try:
            parsed = json.loads(error)
        except ValueError:
            return short_text(error)
        error = parsed
    if isinstance(error, dict):
        return short_text(error.get("error_message") or error.get("message") or error.get("error_type"))
    return short_text(error)


def _outputs(output: Any) -> list[ProviderOutput]:
    found: list[ProviderOutput] = []
    documents = output if isinstance(output, list) else [output]
    for document in documents:
        if not isinstance(document, dict):
            continue
        for key in _MEDIA_KEYS:
            value = document.get(key)
            items = value if isinstance(value, list) else [value] if value is not None else []
            default_type = "video/mp4" if key.startswith("video") else None
            found += [media for item in items if (media := _media(item, default_type)) is not None]
    return found


def _media(item: Any, default_type: str | None) -> ProviderOutput | None:
    if isinstance(item, dict):
        content_type = item.get("content_type") or item.get("mime_type")
        if isinstance(item.get("url"), str):
            return ProviderOutput(url=item["url"], content_type=content_type or default_type)
        value = item.get("data")
        if not isinstance(value, str):
            return None
        item, default_type = value, content_type or default_type
    if not isinstance(item, str) or not item:
        return None
    if item.startswith(("https://", "http://")):
        return ProviderOutput(url=item, content_type=default_type)
    match = _DATA_URI.match(item)
    data = match.group("data") if match else item
    try:
        content = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return ProviderOutput(
        content=content, content_type=sniff(content) or (match and match.group("type")) or default_type
    )
