"""Replicate predictions (``Authorization: Bearer <api token>``).

- ``model`` ``"owner/name"`` runs the model's latest version (``POST /v1/models/{owner}/{name}/predictions``);
  ``"owner/name:<version>"`` or a bare version id runs that version (``POST /v1/predictions`` with
  ``version``). The input is ``{"prompt", "negative_prompt", "seed", **params}`` (``None`` left out);
  reference images go in the input field the params name as ``reference_image_input`` (``"image"``
  by default): one URL as a string, several as a list. ``Prefer: wait`` is not sent: the answer is
  the prediction as it starts.
- With a ``callback_url``, ``webhook`` and ``webhook_events_filter: ["completed"]`` are sent, so
  Replicate calls back once, when the prediction ends.
- ``GET /v1/predictions/{id}``: ``status`` (starting, processing, succeeded, failed, canceled;
  aborted for one stopped before it ran), ``output`` (a URL, a list of URLs, or an object of them;
  files are served from ``replicate.delivery`` for an hour), ``error``, ``logs``, ``metrics.predict_time``.
- ``POST /v1/predictions/{id}/cancel`` answers the prediction.

Replicate bills the time a prediction ran: one that never ran (no ``predict_time``) is not charged.

Callbacks are signed in the Standard Webhooks scheme: ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` (space-separated ``v1,<base64>`` entries), each an HMAC-SHA256 of
``"{id}.{timestamp}.{raw body}"`` keyed with the base64 bytes after ``whsec_`` of the account's
webhook secret (configured, or read once from ``GET /v1/webhooks/default/secret``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from atelier.integrations.inference.base import (
    CallbackSignatureError,
    GenerationRequest,
    ProviderError,
    ProviderJob,
    ProviderOutput,
    ProviderRejectedError,
    ProviderStatus,
)
from atelier.integrations.inference.callbacks import path_segment
from atelier.integrations.inference.credentials import Secret, reveal
from atelier.integrations.inference.failures import malformed, short_text
from atelier.integrations.inference.json_api import DEFAULT_HTTP_TIMEOUT_SECONDS, JsonApi
from atelier.integrations.inference.media import OutputFetcher
from atelier.integrations.resilience import Resilient

if TYPE_CHECKING:
    import httpx

DEFAULT_API_BASE = "https://api.replicate.com/v1"
DEFAULT_OUTPUT_HOSTS = ("replicate.delivery", ".replicate.delivery")
TOLERANCE_SECONDS = 300
_MODEL = re.compile(r"^(?P<owner>[\w.-]+)/(?P<name>[\w.-]+)(:(?P<version>[0-9a-f]{16,128}))?$")
_VERSION = re.compile(r"^[0-9a-f]{64}$")
_PROGRESS = re.compile(r"(\d{1,3})%\|")
_DATA_URI = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(;[^,]*)?;base64,(?P<data>.*)$", re.DOTALL)
_STATUSES = {
    "starting": ProviderStatus.QUEUED,
    "processing": ProviderStatus.RUNNING,
    "succeeded": ProviderStatus.SUCCEEDED,
    "failed": ProviderStatus.FAILED,
    "canceled": ProviderStatus.CANCELED,
    "aborted": ProviderStatus.FAILED,
}


def sign(secret: str, webhook_id: str, timestamp: str, raw_body: bytes) -> str:
    """The ``v1,<base64>`` signature Replicate sends for this delivery."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + raw_body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class ReplicateProvider:
    name = "replicate"

    def __init__(
        self,
        *,
        api_token: Secret,
        webhook_secret: Secret = "",
        api_base: str = DEFAULT_API_BASE,
        http: httpx.Client | None = None,
        timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS,
        output_hosts: Iterable[str] | None = None,
        trusted_origin: str | None = None,
        fetcher: OutputFetcher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._api_token = api_token
        self._webhook_secret = webhook_secret
        self._fetched_secret: str | None = None
        self._secret_lock = threading.Lock()
        self._api = JsonApi(self.name, api_base, self._auth, http, timeout_seconds=timeout_seconds)
        self._clock = clock
        self._fetcher = fetcher or OutputFetcher(
            lambda: self._api.http,
            hosts=DEFAULT_OUTPUT_HOSTS if output_hosts is None else output_hosts,
            trusted_origin=trusted_origin,
            resilient=Resilient(f"{self.name}-outputs"),
        )

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {reveal(self._api_token, 'replicate api token')}"}

    def submit(self, request: GenerationRequest) -> ProviderJob:
        path, body = _prediction_request(request)
        answer = self._api.call("POST", path, body=body)
        return self._job(answer.body)

    def status(self, provider_job_id: str) -> ProviderJob:
        return self._job(self._api.call("GET", f"/predictions/{path_segment(provider_job_id)}").body)

    def cancel(self, provider_job_id: str) -> bool:
        try:
            answer = self._api.call("POST", f"/predictions/{path_segment(provider_job_id)}/cancel")
        except ProviderRejectedError:
            return False
        # Cancelling is accepted while the prediction has not ended; it may still say "processing".
        return isinstance(answer.body, dict) and answer.body.get("status") in ("canceled", "starting", "processing")

    def fetch_output(self, output: ProviderOutput, *, max_bytes: int) -> bytes:
        return self._fetcher.fetch(output, max_bytes=max_bytes)

    # -- callbacks ---------------------------------------------------------------------------
    def verify_callback(
        self, headers: Mapping[str, str], raw_body: bytes, query: Mapping[str, str] | None = None
    ) -> str:
        lowered = {name.lower(): value for name, value in headers.items()}
        webhook_id = lowered.get("webhook-id", "")
        timestamp = lowered.get("webhook-timestamp", "")
        signatures = lowered.get("webhook-signature", "")
        if not webhook_id or not timestamp.isdigit() or not signatures:
            raise CallbackSignatureError()
        if abs(self._clock() - int(timestamp)) > TOLERANCE_SECONDS:
            raise CallbackSignatureError("The callback is too old or from the future.")
        try:
            expected = sign(self._secret(), webhook_id, timestamp, raw_body)
        except (binascii.Error, ValueError) as exc:
            raise ProviderError("The Replicate webhook secret is not valid.") from exc
        offered = [entry for entry in signatures.split(" ") if entry.startswith("v1,")]
        if not any(hmac.compare_digest(expected.encode(), entry.encode()) for entry in offered):
            raise CallbackSignatureError()
        try:
            prediction_id = json.loads(raw_body).get("id")
        except (ValueError, AttributeError) as exc:
            raise CallbackSignatureError("The callback names no prediction.") from exc
        if not isinstance(prediction_id, str) or not prediction_id:
            raise CallbackSignatureError("The callback names no prediction.")
        return prediction_id

    def _secret(self) -> str:
        configured = self._webhook_secret() if callable(self._webhook_secret) else self._webhook_secret
        if configured:
            return configured
        with self._secret_lock:
            if self._fetched_secret is None:
                answer = self._api.call("GET", "/webhooks/default/secret")
                key = answer.body.get("key") if isinstance(answer.body, dict) else None
                if not isinstance(key, str) or not key.startswith("whsec_"):
                    raise malformed(self.name)
                self._fetched_secret = key
            return reveal(self._fetched_secret, "replicate webhook secret")

    # -- normalising -------------------------------------------------------------------------
    def _job(self, prediction: Any) -> ProviderJob:
        if not isinstance(prediction, dict) or not isinstance(prediction.get("id"), str):
            raise malformed(self.name)
        raw_status = str(prediction.get("status"))
        status = _STATUSES.get(raw_status)
        if status is None:
            raise malformed(self.name)
        metrics = prediction.get("metrics")
        predict_time = metrics.get("predict_time") if isinstance(metrics, dict) else None
        compute = float(predict_time) if isinstance(predict_time, int | float) and predict_time > 0 else None
        job_id = prediction["id"]
        if status is ProviderStatus.SUCCEEDED:
            outputs = _outputs(prediction.get("output"))
            if not outputs:
                return ProviderJob(
                    provider_job_id=job_id,
                    status=ProviderStatus.FAILED,
                    error_code="no_output",
                    error_message="The prediction succeeded without a file.",
                    compute_seconds=compute,
                )
            return ProviderJob(
                provider_job_id=job_id, status=status, progress=1.0, outputs=outputs, compute_seconds=compute
            )
        if status is ProviderStatus.FAILED:
            return ProviderJob(
                provider_job_id=job_id,
                status=status,
                error_code="aborted" if raw_status == "aborted" else "generation_failed",
                error_message=short_text(prediction.get("error")),
                charged=compute is not None,
                compute_seconds=compute,
            )
        if status is ProviderStatus.CANCELED:
            return ProviderJob(
                provider_job_id=job_id,
                status=status,
                error_code="canceled",
                charged=compute is not None,
                compute_seconds=compute,
            )
        return ProviderJob(provider_job_id=job_id, status=status, progress=_progress(prediction.get("logs")))


def _prediction_request(request: GenerationRequest) -> tuple[str, dict[str, Any]]:
    params = dict(request.params)
    reference_field = str(params.pop("reference_image_input", "image"))
    model_input: dict[str, Any] = {
        **params,
        "prompt": request.prompt,
        **({"negative_prompt": request.negative_prompt} if request.negative_prompt else {}),
        **({"seed": request.seed} if request.seed is not None else {}),
    }
    urls = request.reference_image_urls
    if urls:
        model_input[reference_field] = urls[0] if len(urls) == 1 else list(urls)
    body: dict[str, Any] = {"input": model_input}
    if request.callback_url:
        body |= {"webhook": request.callback_url, "webhook_events_filter": ["completed"]}
    if _VERSION.match(request.model):
        return "/predictions", {"version": request.model, **body}
    match = _MODEL.match(request.model)
    if match is None:
        raise ProviderRejectedError("The Replicate model name is not valid.", details={"provider": "replicate"})
    if match.group("version"):
        return "/predictions", {"version": match.group("version"), **body}
    owner, name = path_segment(match.group("owner")), path_segment(match.group("name"))
    return f"/models/{owner}/{name}/predictions", body


def _outputs(output: Any) -> list[ProviderOutput]:
    """A URL, a list of URLs, or an object of them (some models name their files)."""
    if isinstance(output, dict):
        output = [item for value in output.values() for item in (value if isinstance(value, list) else [value])]
    items = output if isinstance(output, list) else [output]
    found: list[ProviderOutput] = []
    for item in items:
        if not isinstance(item, str):
            continue
        if item.startswith(("https://", "http://")):
            found.append(ProviderOutput(url=item))
            continue
        match = _DATA_URI.match(item)
        if match:
            try:
                content = base64.b64decode(match.group("data"), validate=True)
            except (binascii.Error, ValueError):
                continue
            found.append(ProviderOutput(content=content, content_type=match.group("type")))
    return found


def _progress(logs: Any) -> float | None:
    """The last percentage of a progress bar in the logs, as models print them."""
    if not isinstance(logs, str):
        return None
    found = _PROGRESS.findall(logs[-2000:])
    return min(int(found[-1]), 100) / 100 if found else None
