"""OpenAI Images: ``POST /v1/images/generations``, synchronous.

The GPT image models (``gpt-image-1`` and later) always answer base64 (``data[].b64_json``); the
DALL-E models are asked for ``response_format: b64_json`` so that no output URL has to be fetched.
``submit`` therefore answers the final state with the images inline. Params passed on, when given:
``size`` (``"1024x1024"``, ``"1536x1024"``, ``"auto"``... or ``width``/``height``), ``quality``,
``output_format`` (``png``, ``jpeg``, ``webp``), ``output_compression``, ``background``,
``moderation``, ``style`` and ``n``. OpenAI takes no seed and no negative prompt; they are ignored.

OpenAI has no job id for an image: the provider job id is the ``x-request-id`` it answers, the
reference its support asks for. A refusal by its safety system is a 400 (``moderation_blocked``),
hence ``ProviderRejectedError``. Nothing can be cancelled and nothing calls back.
"""

from __future__ import annotations

import base64
import binascii
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
from atelier.integrations.inference.credentials import Secret, reveal
from atelier.integrations.inference.failures import malformed
from atelier.integrations.inference.json_api import DEFAULT_SYNC_TIMEOUT_SECONDS, JsonApi
from atelier.integrations.inference.media import OutputFetcher
from atelier.integrations.resilience import Resilient

if TYPE_CHECKING:
    import httpx

DEFAULT_API_BASE = "https://api.openai.com/v1"
# Where the DALL-E models put URL outputs, should one ever be answered instead of base64.
DEFAULT_OUTPUT_HOSTS = (".blob.core.windows.net",)
_PASSED_PARAMS = ("quality", "output_format", "output_compression", "background", "moderation", "style")
_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "webp": "image/webp"}


class OpenAIImagesProvider:
    name = "openai"

    def __init__(
        self,
        *,
        api_key: Secret,
        api_base: str = DEFAULT_API_BASE,
        http: httpx.Client | None = None,
        timeout_seconds: float = DEFAULT_SYNC_TIMEOUT_SECONDS,
        output_hosts: Iterable[str] | None = None,
        trusted_origin: str | None = None,
        fetcher: OutputFetcher | None = None,
    ) -> None:
        self._api_key = api_key
        self._api = JsonApi(self.name, api_base, self._auth, http, timeout_seconds=timeout_seconds)
        self._fetcher = fetcher or OutputFetcher(
            lambda: self._api.http,
            hosts=DEFAULT_OUTPUT_HOSTS if output_hosts is None else output_hosts,
            trusted_origin=trusted_origin,
            resilient=Resilient(f"{self.name}-outputs"),
        )

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {reveal(self._api_key, 'openai api key')}"}

    def submit(self, request: GenerationRequest) -> ProviderJob:
        if request.kind != "image":
            raise ProviderRejectedError("OpenAI Images makes images only.", details={"provider": self.name})
        answer = self._api.call("POST", "/images/generations", body=_request_body(request))
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("data"), list) or not body["data"]:
            raise malformed(self.name)
        content_type = _FORMATS.get(str(body.get("output_format") or request.params.get("output_format") or "png"))
        outputs = [_output(item, content_type, self.name) for item in body["data"]]
        request_id = answer.headers.get("x-request-id") or f"openai-{request.job_id}"
        return ProviderJob(provider_job_id=request_id, status=ProviderStatus.SUCCEEDED, progress=1.0, outputs=outputs)

    def status(self, provider_job_id: str) -> ProviderJob:
        raise ProviderRejectedError(
            "OpenAI Images answers at once; there is no job to look up.", details={"provider": self.name}
        )

    def cancel(self, provider_job_id: str) -> bool:
        return False

    def fetch_output(self, output: ProviderOutput, *, max_bytes: int) -> bytes:
        return self._fetcher.fetch(output, max_bytes=max_bytes)

    def verify_callback(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str] | None = None
    ) -> str:
        raise CallbackSignatureError("OpenAI Images sends no callbacks.")


def _request_body(request: GenerationRequest) -> dict[str, Any]:
    params = request.params
    body: dict[str, Any] = {"model": request.model, "prompt": request.prompt}
    size = params.get("size")
    if size is None and params.get("width") and params.get("height"):
        size = f"{int(params['width'])}x{int(params['height'])}"
    if size is not None:
        body["size"] = str(size)
    for name in _PASSED_PARAMS:
        if params.get(name) is not None:
            body[name] = params[name]
    if params.get("n") is not None:
        body["n"] = int(params["n"])
    if request.model.startswith("dall-e"):
        body["response_format"] = "b64_json"
    return body


def _output(item: Any, content_type: str | None, provider: str) -> ProviderOutput:
    if not isinstance(item, dict):
        raise malformed(provider)
    if isinstance(item.get("b64_json"), str):
        try:
            content = base64.b64decode(item["b64_json"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise malformed(provider) from exc
        return ProviderOutput(content=content, content_type=content_type)
    if isinstance(item.get("url"), str):
        return ProviderOutput(url=item["url"], content_type=content_type)
    raise malformed(provider)
