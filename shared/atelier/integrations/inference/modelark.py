"""BytePlus ModelArk (``Authorization: Bearer <api key>``): Seedream images and Seedance videos.

- Images: ``POST /api/v3/images/generations``, synchronous, OpenAI-shaped. Asked for
  ``response_format: b64_json`` unless the params say ``url``; each ``data[]`` item is an image
  (``b64_json`` or ``url``, JPEG) or, for a picture the model refused, ``{"error": {code, message}}``.
  The provider job id is the ``x-request-id`` answered (there is no task).
- Videos: a content-generation task. ``POST /api/v3/contents/generations/tasks`` with
  ``content: [{"type": "text", ...}, {"type": "image_url", "role": ...}]`` and the params as body
  fields (``duration_s`` sent as ``duration``) answers ``{"id": "cgt-..."}``;
  ``GET .../tasks/{id}`` answers ``status`` (queued, running, succeeded, failed, cancelled),
  ``content.video_url`` (an MP4 kept 24 hours), ``error: {code, message}`` and token ``usage``;
  ``DELETE .../tasks/{id}`` cancels a queued task, but deletes the record of a finished one, so
  ``cancel`` looks first and deletes only a task still queued.

ModelArk bills what it delivers (images generated, video tokens of a succeeded task), so a failed
or cancelled task is not charged. With a ``callback_url``, a video task is created with
``callback_url``: ModelArk POSTs the task there as its status changes. ModelArk does not sign it, so
the URL carries the job and a token keyed with our API key, checked before the hint is taken.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from atelier.integrations.inference.base import (
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
from atelier.integrations.inference.failures import machine_code, malformed, short_text
from atelier.integrations.inference.json_api import DEFAULT_HTTP_TIMEOUT_SECONDS, DEFAULT_SYNC_TIMEOUT_SECONDS, JsonApi
from atelier.integrations.inference.media import OutputFetcher
from atelier.integrations.resilience import Resilient

if TYPE_CHECKING:
    import httpx

DEFAULT_API_BASE = "https://ark.ap-southeast.bytepluses.com/api/v3"
# Generated images and videos are served from BytePlus (and Volcengine) object storage.
DEFAULT_OUTPUT_HOSTS = (".bytepluses.com", ".volces.com")

_STATUSES = {
    "queued": ProviderStatus.QUEUED,
    "running": ProviderStatus.RUNNING,
    "succeeded": ProviderStatus.SUCCEEDED,
    "failed": ProviderStatus.FAILED,
    "cancelled": ProviderStatus.CANCELED,
    "canceled": ProviderStatus.CANCELED,
}
_IMAGE_PARAMS = ("size", "guidance_scale", "watermark", "sequential_image_generation", "optimize_prompt_options")
_VIDEO_PARAMS = (
    "resolution",
    "ratio",
    "duration",
    "frames",
    "framespersecond",
    "camera_fixed",
    "watermark",
    "generate_audio",
    "return_last_frame",
    "service_tier",
)


class ModelArkProvider:
    name = "modelark"

    def __init__(
        self,
        *,
        api_key: Secret,
        api_base: str = DEFAULT_API_BASE,
        http: httpx.Client | None = None,
        timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS,
        sync_timeout_seconds: float = DEFAULT_SYNC_TIMEOUT_SECONDS,
        output_hosts: Iterable[str] | None = None,
        trusted_origin: str | None = None,
        fetcher: OutputFetcher | None = None,
    ) -> None:
        self._api_key = api_key
        self._api = JsonApi(self.name, api_base, self._auth, http, timeout_seconds=timeout_seconds)
        self._sync_timeout_seconds = sync_timeout_seconds
        self._fetcher = fetcher or OutputFetcher(
            lambda: self._api.http,
            hosts=DEFAULT_OUTPUT_HOSTS if output_hosts is None else output_hosts,
            trusted_origin=trusted_origin,
            resilient=Resilient(f"{self.name}-outputs"),
        )

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {reveal(self._api_key, 'modelark api key')}"}

    # -- images ------------------------------------------------------------------------------
    def submit(self, request: GenerationRequest) -> ProviderJob:
        if request.kind == "video":
            return self._submit_video(request)
        body: dict[str, Any] = {
            "model": request.model,
            "prompt": request.prompt,
            "response_format": "url" if request.params.get("response_format") == "url" else "b64_json",
            "watermark": request.watermark,
        }
        if request.params.get("size") is None and request.params.get("width") and request.params.get("height"):
            body["size"] = f"{int(request.params['width'])}x{int(request.params['height'])}"
        body |= {name: request.params[name] for name in _IMAGE_PARAMS if request.params.get(name) is not None}
        if request.seed is not None:
            body["seed"] = request.seed
        if request.reference_image_urls:
            urls = request.reference_image_urls
            body["image"] = urls[0] if len(urls) == 1 else list(urls)
        answer = self._api.call("POST", "/images/generations", body=body, timeout_seconds=self._sync_timeout_seconds)
        document = answer.body
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            raise malformed(self.name)
        job_id = answer.headers.get("x-request-id") or f"ark-{request.job_id}"
        outputs: list[ProviderOutput] = []
        refused: dict[str, Any] = {}
        for item in document["data"]:
            if not isinstance(item, dict):
                raise malformed(self.name)
            if isinstance(item.get("error"), dict):
                refused = item["error"]
                continue
            outputs.append(_image_output(item, self.name))
        if not outputs:
            whole = document.get("error")
            error: dict[str, Any] = refused or (whole if isinstance(whole, dict) else {})
            return ProviderJob(
                provider_job_id=job_id,
                status=ProviderStatus.FAILED,
                error_code=machine_code(error.get("code"), "generation_failed"),
                error_message=short_text(error.get("message")),
                charged=False,
            )
        return ProviderJob(provider_job_id=job_id, status=ProviderStatus.SUCCEEDED, progress=1.0, outputs=outputs)

    # -- videos ------------------------------------------------------------------------------
    def _submit_video(self, request: GenerationRequest) -> ProviderJob:
        content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt}]
        urls = request.reference_image_urls
        roles = ["first_frame"] if len(urls) == 1 else ["first_frame", "last_frame"] if len(urls) == 2 else None
        for index, url in enumerate(urls):
            role = roles[index] if roles else "reference_image"
            content.append({"type": "image_url", "image_url": {"url": url}, "role": role})
        body: dict[str, Any] = {"model": request.model, "content": content, "watermark": request.watermark}
        if request.params.get("duration_s") is not None:  # Atelier's name for Seedance's whole seconds
            body["duration"] = round(float(request.params["duration_s"]))
        body |= {name: request.params[name] for name in _VIDEO_PARAMS if request.params.get(name) is not None}
        if request.seed is not None:
            body["seed"] = request.seed
        if request.callback_url:
            key = reveal(self._api_key, "modelark api key")
            body["callback_url"] = tokened_callback_url(request.callback_url, key, self.name, request.job_id)
        answer = self._api.call("POST", "/contents/generations/tasks", body=body)
        task_id = answer.body.get("id") if isinstance(answer.body, dict) else None
        if not isinstance(task_id, str) or not task_id:
            raise malformed(self.name)
        return ProviderJob(provider_job_id=task_id, status=ProviderStatus.QUEUED)

    def status(self, provider_job_id: str) -> ProviderJob:
        task = self._task(provider_job_id)
        status = _STATUSES.get(str(task.get("status")))
        if status is None:
            raise malformed(self.name)
        task_id = str(task.get("id") or provider_job_id)
        if status is ProviderStatus.SUCCEEDED:
            content = task.get("content")
            video = content.get("video_url") if isinstance(content, dict) else None
            if not isinstance(video, str) or not video:
                raise malformed(self.name)
            return ProviderJob(
                provider_job_id=task_id,
                status=status,
                progress=1.0,
                outputs=[ProviderOutput(url=video, content_type="video/mp4")],
            )
        if status is ProviderStatus.FAILED:
            found = task.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            return ProviderJob(
                provider_job_id=task_id,
                status=status,
                error_code=machine_code(error.get("code"), "generation_failed"),
                error_message=short_text(error.get("message")),
                charged=False,
            )
        if status is ProviderStatus.CANCELED:
            return ProviderJob(provider_job_id=task_id, status=status, error_code="canceled", charged=False)
        return ProviderJob(provider_job_id=task_id, status=status)

    def cancel(self, provider_job_id: str) -> bool:
        # DELETE on a finished task deletes its record (and its output with it): look first.
        if self._task(provider_job_id).get("status") != "queued":
            return False
        try:
            self._api.call("DELETE", f"/contents/generations/tasks/{path_segment(provider_job_id)}", empty_ok=True)
        except ProviderRejectedError:
            return False  # it started in the meantime: only a queued task can be cancelled
        return True

    def _task(self, provider_job_id: str) -> dict[str, Any]:
        answer = self._api.call("GET", f"/contents/generations/tasks/{path_segment(provider_job_id)}")
        if not isinstance(answer.body, dict):
            raise malformed(self.name)
        return answer.body

    def fetch_output(self, output: ProviderOutput, *, max_bytes: int) -> bytes:
        return self._fetcher.fetch(output, max_bytes=max_bytes)

    def verify_callback(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str] | None = None
    ) -> str:
        verify_callback_token(query, lambda: reveal(self._api_key, "modelark api key"), self.name)
        return callback_id(raw_body)


def _image_output(item: Mapping[str, Any], provider: str) -> ProviderOutput:
    if isinstance(item.get("b64_json"), str):
        try:
            return ProviderOutput(content=base64.b64decode(item["b64_json"], validate=True), content_type="image/jpeg")
        except (binascii.Error, ValueError) as exc:
            raise malformed(provider) from exc
    if isinstance(item.get("url"), str):
        return ProviderOutput(url=item["url"], content_type="image/jpeg")
    raise malformed(provider)
