"""The OpenAI Images stand-in: ``/v1/images/generations``, synchronous."""

from __future__ import annotations

import base64
import hmac
from typing import Any

from local.inference.common import BLOCKED_MARKER, OPENAI_API_KEY, OPENAI_PREFIX
from local.inference.core import ProviderStandIn, bearer, json_body, new_request_id
from local.inference.drawing import draw_image, drawn_size, requested_size
from local.standins import LocalRequest, LocalResponse, LocalRoutes


class OpenAIStandIn(ProviderStandIn):
    name = "openai"
    prefix = OPENAI_PREFIX
    description = "OpenAI Images API stand-in (images/generations)"

    def routes(self) -> LocalRoutes:
        routes = LocalRoutes()
        routes.post("/v1/images/generations")(self._generate)
        return routes

    def authorised(self, request: LocalRequest) -> bool:
        return hmac.compare_digest(bearer(request), OPENAI_API_KEY)

    def error(self, status: int, code: str, message: str) -> LocalResponse:
        kind = {401: "invalid_request_error", 429: "requests", 500: "server_error"}.get(status, "invalid_request_error")
        return LocalResponse.json({"error": {"message": message, "type": kind, "param": None, "code": code}}, status)

    def _generate(self, request: LocalRequest) -> LocalResponse:
        body = json_body(request)
        if body is None or not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
            return self.error(400, "invalid_value", "'prompt' is required.")
        model = str(body.get("model") or "dall-e-2")
        prompt = body["prompt"]
        if BLOCKED_MARKER in prompt:
            return self.error(400, "moderation_blocked", "Your request was rejected by the safety system.")
        output_format = str(body.get("output_format") or "png")
        if output_format not in ("png", "jpeg", "webp"):
            return self.error(400, "invalid_value", "'output_format' must be png, jpeg or webp.")
        size = requested_size(body.get("size"), (1024, 1024))
        count = min(max(int(body.get("n") or 1), 1), 4)
        dall_e = model.startswith("dall-e")
        wants_url = dall_e and body.get("response_format", "url") == "url"
        data = []
        for index in range(count):
            image = draw_image(f"{prompt} #{index}" if index else prompt, 0, size, output_format)
            if wants_url:
                data.append({"url": self.file_url(request, self.add_file(f"image/{output_format}", image))})
            else:
                data.append({"b64_json": base64.b64encode(image).decode()})
        answer: dict[str, Any] = {"created": int(self.clock()), "data": data}
        if not dall_e:
            answer |= {
                "background": body.get("background") or "opaque",
                "output_format": output_format,
                "quality": body.get("quality") or "medium",
                "size": "{}x{}".format(*drawn_size(size)),
                "usage": {"input_tokens": len(prompt.split()), "output_tokens": 1056 * count, "total_tokens": 0},
            }
        return LocalResponse.json(answer, headers=[("x-request-id", new_request_id())])
