"""The BytePlus ModelArk stand-in: synchronous images (Seedream) and video tasks (Seedance) with
their ``callback_url``."""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
from typing import Any

from local.inference.common import BLOCKED_MARKER, FAIL_MARKER, MODELARK_API_KEY, MODELARK_PREFIX
from local.inference.core import Callback, FakeJob, ProviderStandIn, bearer, json_body, new_request_id
from local.inference.drawing import draw_image, drawn_size, requested_size
from local.standins import LocalRequest, LocalResponse, LocalRoutes


class ModelArkStandIn(ProviderStandIn):
    name = "modelark"
    prefix = MODELARK_PREFIX
    description = "BytePlus ModelArk stand-in (Seedream images, Seedance video tasks)"

    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/api/v3/images/generations")(self._images)
        routes.post("/api/v3/contents/generations/tasks")(self._create_task)
        routes.get("/api/v3/contents/generations/tasks/{task_id}")(self._get_task)
        routes.route("DELETE", "/api/v3/contents/generations/tasks/{task_id}")(self._delete_task)
        return routes

    def authorised(self, request: LocalRequest) -> bool:
        return hmac.compare_digest(bearer(request), MODELARK_API_KEY)

    def error(self, status: int, code: str, message: str) -> LocalResponse:
        codes = {401: "AuthenticationError", 429: "RateLimitExceeded.EndpointRPMExceeded", 500: "InternalServiceError"}
        return LocalResponse.json(
            {"error": {"code": codes.get(status, code), "message": message, "param": "", "type": "BadRequest"}}, status
        )

    def _images(self, request: LocalRequest) -> LocalResponse:
        body = json_body(request)
        if body is None or not body.get("model") or not isinstance(body.get("prompt"), str):
            return self.error(400, "MissingParameter", "The request failed because it is missing `model` or `prompt`.")
        prompt = body["prompt"]
        if BLOCKED_MARKER in prompt:
            return self.error(400, "InputTextSensitiveContentDetected", "The request failed: sensitive content.")
        size = requested_size(body.get("size"), (2048, 2048))
        if FAIL_MARKER in prompt:
            data: list[dict[str, Any]] = [
                {"error": {"code": "OutputImageSensitiveContentDetected", "message": "The output was refused."}}
            ]
        else:
            image = draw_image(prompt, body.get("seed"), size, "jpeg")
            drawn = "{}x{}".format(*drawn_size(size))
            if body.get("response_format") == "b64_json":
                data = [{"b64_json": base64.b64encode(image).decode(), "size": drawn}]
            else:
                data = [{"url": self.file_url(request, self.add_file("image/jpeg", image)), "size": drawn}]
        generated = sum(1 for item in data if "error" not in item)
        answer = {
            "model": body["model"],
            "created": int(self.clock()),
            "data": data,
            "usage": {"generated_images": generated, "output_tokens": generated * 16384, "total_tokens": 0},
        }
        return LocalResponse.json(answer, headers=[("x-request-id", new_request_id())])

    def _create_task(self, request: LocalRequest) -> LocalResponse:
        body = json_body(request)
        content = body.get("content") if body else None
        items = content if isinstance(content, list) else []
        texts = [item.get("text") for item in items if isinstance(item, dict) and item.get("type") == "text"]
        if body is None or not body.get("model") or not texts or not isinstance(texts[0], str):
            return self.error(400, "MissingParameter", "The request failed because it is missing `model` or `content`.")
        if BLOCKED_MARKER in texts[0]:
            return self.error(400, "InputTextSensitiveContentDetected", "The request failed: sensitive content.")
        task_id = f"cgt-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"
        params: dict[str, Any] = {name: body[name] for name in ("duration", "resolution", "ratio") if name in body}
        callback_url = body.get("callback_url")
        if callback_url is not None and not (
            isinstance(callback_url, str) and callback_url.startswith(("http://", "https://"))
        ):
            return self.error(400, "InvalidParameter", "callback_url must be an HTTP(S) URL.")
        job = FakeJob(task_id, "video", str(body["model"]), texts[0], body.get("seed"), params)
        job.webhook = callback_url
        self.remember_origin(job, request)
        self.add_job(job)
        self.call_back_when_done(job)
        return LocalResponse.json({"id": task_id})

    def callback(self, job: FakeJob) -> Callback | None:
        origin = self.origin(job)
        if not job.webhook or origin is None:
            return None
        body = json.dumps(self._task(origin, job)).encode()
        return Callback(job.webhook, {"Content-Type": "application/json"}, body)

    def _find(self, request: LocalRequest) -> FakeJob | None:
        with self.lock:
            return self.jobs.get(request.params["task_id"])

    def _get_task(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "ResourceNotFound", "The specified task is not found.")
        if self.advance(job):
            self.send_callback(job)
        return LocalResponse.json(self._task(request, job))

    def _task(self, request: LocalRequest, job: FakeJob) -> dict[str, Any]:
        status = "cancelled" if job.status == "canceled" else job.status
        task: dict[str, Any] = {
            "id": job.id,
            "model": job.model,
            "status": status,
            "error": None,
            "created_at": int(job.created_at),
            "updated_at": int(job.finished_at or job.started_at or job.created_at),
        }
        if job.status == "succeeded":
            task |= {
                "content": {"video_url": self.file_url(request, job.files[0])},
                "seed": job.seed if job.seed is not None else 42,
                "resolution": job.params.get("resolution", "720p"),
                "ratio": job.params.get("ratio", "16:9"),
                "duration": job.params.get("duration", 5),
                "framespersecond": 24,
                "usage": {"completion_tokens": 108900, "total_tokens": 108900},
            }
        elif job.status == "failed":
            task["error"] = {"code": "OutputVideoSensitiveContentDetected", "message": job.error}
        return task

    def _delete_task(self, request: LocalRequest) -> LocalResponse:
        job = self._find(request)
        if job is None:
            return self.error(404, "ResourceNotFound", "The specified task is not found.")
        with self.lock:
            if job.status == "running":
                return self.error(400, "InvalidParameter", "A running task cannot be cancelled.")
            if job.status == "queued":
                self.cancel_job(job)
            else:  # a finished task: its record is deleted
                self.jobs.pop(job.id, None)
        return LocalResponse.json({})
