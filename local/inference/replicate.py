"""The Replicate stand-in: predictions (versioned and official models), cancel, the webhook
signing secret, and webhooks signed as Replicate signs them (Standard Webhooks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import time
from collections.abc import Mapping
from typing import Any

from local.inference.common import REPLICATE_API_TOKEN, REPLICATE_PREFIX, REPLICATE_WEBHOOK_SECRET, VIDEO_MODEL_WORDS
from local.inference.core import Callback, FakeJob, ProviderStandIn, bearer, json_body
from local.standins import LocalRequest, LocalResponse, LocalRoutes


def _iso(moment: float | None) -> str | None:
    if moment is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment)) + f".{int(moment % 1 * 1e6):06d}Z"


def sign_webhook(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class ReplicateStandIn(ProviderStandIn):
    name = "replicate"
    prefix = REPLICATE_PREFIX
    description = "Replicate stand-in (predictions, signed webhooks)"

    def __init__(self, *, webhook_secret: str = REPLICATE_WEBHOOK_SECRET, **options: Any) -> None:
        self.webhook_secret = webhook_secret
        self.base_urls: dict[str, str] = {}
        super().__init__(**options)

    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/predictions")(self._create_versioned)
        routes.post("/v1/models/{owner}/{name}/predictions")(self._create_official)
        routes.get("/v1/predictions/{prediction_id}")(self._get)
        routes.post("/v1/predictions/{prediction_id}/cancel")(self._cancel)
        routes.get("/v1/webhooks/default/secret")(self._secret)
        return routes

    def control_routes(self) -> LocalRoutes:
        routes = super().control_routes()
        routes.post("/_control/predictions/{prediction_id}/complete")(self._complete)
        return routes

    def authorised(self, request: LocalRequest) -> bool:
        return hmac.compare_digest(bearer(request), REPLICATE_API_TOKEN)

    def error(self, status: int, code: str, message: str) -> LocalResponse:
        titles = {401: "Unauthenticated", 404: "Not found", 422: "Input validation failed", 429: "Too many requests"}
        title = titles.get(status, "Internal server error" if status >= 500 else "Bad request")
        answer = LocalResponse.json({"title": title, "detail": message, "status": status}, status)
        answer.headers[0] = ("Content-Type", "application/problem+json")
        return answer

    def _create_versioned(self, request: LocalRequest) -> LocalResponse:
        body = json_body(request)
        version = body.get("version") if body else None
        if not isinstance(version, str) or not version:
            return self.error(422, "invalid", "version is required")
        return self._create(request, body or {}, model=f"local/{version[:12]}", version=version)

    def _create_official(self, request: LocalRequest) -> LocalResponse:
        model = f"{request.params['owner']}/{request.params['name']}"
        return self._create(request, json_body(request) or {}, model=model, version="hidden")

    def _create(self, request: LocalRequest, body: Mapping[str, Any], *, model: str, version: str) -> LocalResponse:
        model_input = body.get("input")
        if not isinstance(model_input, dict) or not isinstance(model_input.get("prompt"), str):
            return self.error(422, "invalid", "input: prompt is required")
        webhook = body.get("webhook")
        events = body.get("webhook_events_filter")
        if webhook is not None and (not isinstance(webhook, str) or not webhook.startswith(("http://", "https://"))):
            return self.error(422, "invalid", "webhook must be an HTTP(S) URL")
        prediction_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(26))
        kind = "video" if any(word in model.lower() for word in VIDEO_MODEL_WORDS) else "image"
        job = FakeJob(prediction_id, kind, model, model_input["prompt"], model_input.get("seed"), dict(model_input))
        job.webhook, job.webhook_events = webhook, events if isinstance(events, list) else None
        job.endpoint = version
        with self.lock:
            self.base_urls[prediction_id] = request.base_url
        self.add_job(job)
        self.call_back_when_done(job)
        return LocalResponse.json(self.prediction(job), status=201)

    def _find(self, request: LocalRequest) -> FakeJob | None:
        with self.lock:
            return self.jobs.get(request.params["prediction_id"])

    def _get(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "not_found", "The requested resource could not be found.")
        if self.advance(job):
            self.send_callback(job)
        return LocalResponse.json(self.prediction(job))

    def _cancel(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "not_found", "The requested resource could not be found.")
        if self.cancel_job(job):
            self.send_callback(job)
        return LocalResponse.json(self.prediction(job))

    def _secret(self, _: LocalRequest) -> LocalResponse:
        return LocalResponse.json({"key": self.webhook_secret})

    def _complete(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return LocalResponse.error(404, "not_found", "No such prediction.")
        self.finish(job)
        callback = self.signed_callback(job)
        if request.query_value("deliver", "true") != "false" and callback is not None:
            self._deliver(callback.url, callback.headers, callback.body)
        return LocalResponse.json({"prediction": self.prediction(job), "callback": callback and callback.as_json()})

    def prediction(self, job: FakeJob) -> dict[str, Any]:
        with self.lock:
            base = f"{self.base_urls.get(job.id, '')}{self.prefix}"
        status = {"queued": "starting", "running": "processing"}.get(job.status, job.status)
        answer: dict[str, Any] = {
            "id": job.id,
            "model": job.model,
            "version": job.endpoint,
            "input": job.params,
            "logs": "",
            "output": None,
            "data_removed": False,
            "error": None,
            "status": status,
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "completed_at": _iso(job.finished_at),
            "urls": {
                "get": f"{base}/v1/predictions/{job.id}",
                "cancel": f"{base}/v1/predictions/{job.id}/cancel",
                "web": f"https://replicate.com/p/{job.id}",
            },
            "metrics": {},
        }
        if job.status == "running":
            answer["logs"] = "Using seed: 42\n 50%|#####     | 14/28 [00:01<00:01]"
        if job.started_at is not None and job.final:
            answer["metrics"] = {"predict_time": round((job.finished_at or job.started_at) - job.started_at, 3)}
        if job.status == "succeeded":
            urls = [f"{base}/files/{file_id}" for file_id in job.files]
            answer["output"] = urls[0] if job.kind == "video" else urls
            answer["logs"] = "Using seed: 42\n100%|##########| 28/28 [00:02<00:00]"
        elif job.status == "failed":
            answer["error"] = job.error
        return answer

    def signed_callback(self, job: FakeJob, *, at: float | None = None) -> Callback | None:
        """The webhook Replicate sends for a finished prediction (None when none was asked for)."""
        if not job.webhook or (job.webhook_events is not None and "completed" not in job.webhook_events):
            return None
        body = json.dumps(self.prediction(job)).encode()
        webhook_id = f"msg_{secrets.token_urlsafe(18)}"
        timestamp = str(int(at if at is not None else self.clock()))
        signature = sign_webhook(self.webhook_secret, webhook_id, timestamp, body)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": signature,
        }
        return Callback(job.webhook, headers, body)

    def callback(self, job: FakeJob) -> Callback | None:
        return self.signed_callback(job)
