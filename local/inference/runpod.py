"""The RunPod serverless stand-in: ``/v2/{endpoint}/run``, ``/status/{id}``, ``/cancel/{id}``, and
the ``webhook`` it calls when a job is done."""

from __future__ import annotations

import base64
import hmac
import json
import uuid
from typing import Any

from local.inference.common import RUNPOD_API_KEY, RUNPOD_PREFIX
from local.inference.core import Callback, FakeJob, ProviderStandIn, bearer, json_body
from local.standins import LocalRequest, LocalResponse, LocalRoutes

_RUNPOD_STATUS = {
    "queued": "IN_QUEUE",
    "running": "IN_PROGRESS",
    "succeeded": "COMPLETED",
    "failed": "FAILED",
    "canceled": "CANCELLED",
}


class RunPodStandIn(ProviderStandIn):
    name = "runpod"
    prefix = RUNPOD_PREFIX
    description = "RunPod serverless stand-in (run, status, cancel); outputs {images: [base64]} or {video: url}"

    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v2/{endpoint}/run")(self._run)
        routes.get("/v2/{endpoint}/status/{job_id}")(self._status)
        routes.post("/v2/{endpoint}/status/{job_id}")(self._status)
        routes.post("/v2/{endpoint}/cancel/{job_id}")(self._cancel)
        return routes

    def authorised(self, request: LocalRequest) -> bool:
        return hmac.compare_digest(bearer(request), RUNPOD_API_KEY)

    def error(self, status: int, code: str, message: str) -> LocalResponse:
        return LocalResponse.json({"error": message}, status)

    def _run(self, request: LocalRequest) -> LocalResponse:
        body = json_body(request)
        job_input = body.get("input") if body else None
        if not isinstance(job_input, dict):
            return self.error(400, "invalid_input", "The request body must have an 'input' object.")
        prompt = str(job_input.get("prompt") or "")
        job_id = f"{uuid.uuid4()}-u1"
        kind = "video" if job_input.get("kind") == "video" else "image"
        webhook = body.get("webhook") if body else None
        if webhook is not None and not (isinstance(webhook, str) and webhook.startswith(("http://", "https://"))):
            return self.error(400, "invalid_input", "webhook must be an HTTP(S) URL.")
        job = FakeJob(job_id, kind, request.params["endpoint"], prompt, job_input.get("seed"), dict(job_input))
        job.endpoint = request.params["endpoint"]
        job.webhook = webhook
        self.remember_origin(job, request)
        self.add_job(job)
        self.call_back_when_done(job)
        return LocalResponse.json({"id": job_id, "status": "IN_QUEUE"})

    def callback(self, job: FakeJob) -> Callback | None:
        origin = self.origin(job)
        if not job.webhook or origin is None:
            return None
        body = json.dumps(self._answer(origin, job)).encode()
        return Callback(job.webhook, {"Content-Type": "application/json"}, body)

    def _find(self, request: LocalRequest) -> FakeJob | None:
        with self.lock:
            job = self.jobs.get(request.params["job_id"])
        return job if job is not None and job.endpoint == request.params["endpoint"] else None

    def _status(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "not_found", "request does not exist")
        if self.advance(job):
            self.send_callback(job)
        return LocalResponse.json(self._answer(request, job))

    def _cancel(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "not_found", "request does not exist")
        self.cancel_job(job)
        return LocalResponse.json({"id": job.id, "status": _RUNPOD_STATUS[job.status]})

    def _answer(self, request: LocalRequest, job: FakeJob) -> dict[str, Any]:
        answer: dict[str, Any] = {"id": job.id, "status": _RUNPOD_STATUS[job.status]}
        if job.started_at is not None:
            answer |= {"delayTime": round((job.started_at - job.created_at) * 1000), "workerId": "local-worker"}
        if job.final and job.started_at is not None and job.finished_at is not None:
            answer["executionTime"] = round((job.finished_at - job.started_at) * 1000)
        if job.status == "succeeded":
            if job.kind == "video":
                answer["output"] = {"video": self.file_url(request, job.files[0])}
            else:
                images = [base64.b64encode(self._content(file_id)).decode() for file_id in job.files]
                answer["output"] = {"images": images}
        elif job.status == "failed":
            answer["error"] = json.dumps(
                {"error_type": "RuntimeError", "error_message": job.error, "error_traceback": "Traceback (...)"}
            )
        return answer

    def _content(self, file_id: str) -> bytes:
        with self.lock:
            return self._files[file_id][1]
