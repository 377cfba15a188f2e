"""The resolver factory every HTTP function uses, and `serve`, its entry point.

`make_resolver` gives a Powertools REST resolver with validation on (so OpenAPI and validation come
from the same typed route signatures) and every error mapped to the one error shape. `serve` runs a
request through it and adds what every response needs: security headers and one log line.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier import errors
from atelier.api import cors, headers
from atelier.api.errors import error_response, response_for, validation_details
from atelier.api.request_log import log_request
from atelier.observability import logger, metrics
from atelier.settings import get_settings

_JSON_MEDIA_TYPE = "application/json"


class _JsonBodyValidation(OpenAPIRequestValidationMiddleware):
    """Request validation that reads a route's body as JSON only.

    Powertools would also read a form or a multipart body into the route's model, and treats a body
    that names no type as JSON; every body here is JSON, so anything else answers 415 before any
    field is read. Routes without a body model (webhooks read their raw bytes) are not affected.
    """

    def _get_body(self, app: Any) -> dict[str, Any]:
        event = app.current_event
        if event.body:
            # Media types are case-insensitive; Powertools' own check is not.
            media_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
            if media_type != _JSON_MEDIA_TYPE:
                raise errors.UnsupportedMediaTypeError()
        body: dict[str, Any] = self._parse_json_data(app)
        return body


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError as exc:
        # Nesting deep enough to exhaust the parser's stack: malformed, not a server failure.
        raise json.JSONDecodeError("nested too deeply", text, 0) from exc


def _on_validation_error(error: RequestValidationError) -> Response:
    problems = error.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return error_response(400, "malformed_request", "The request body is not valid JSON.")
    return error_response(422, "invalid_field", "A field is missing or invalid.", validation_details(list(problems)))


def _on_domain_error(error: errors.AtelierError) -> Response:
    return response_for(error)


def _on_unexpected_error(error: Exception) -> Response:
    # The traceback is logged; the client gets nothing that could leak internals.
    logger.exception("unhandled error", extra={"error_type": type(error).__name__})
    return error_response(500, "internal_error", "Something went wrong on our side.")


def _on_not_found(_: Exception) -> Response:
    return error_response(404, "not_found", "No such route.")


def make_resolver() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=_load_json)
    app._request_validation_middleware = _JsonBodyValidation()
    app.exception_handler(RequestValidationError)(_on_validation_error)
    app.exception_handler(errors.AtelierError)(_on_domain_error)
    app.exception_handler(Exception)(_on_unexpected_error)
    app.not_found(_on_not_found)
    return app


def _preflight(request_headers: dict[str, str] | None, allowed: frozenset[str]) -> dict[str, Any]:
    answer = cors.preflight_headers(cors.request_origin(request_headers), allowed)
    return {"statusCode": 204, "body": "", "isBase64Encoded": False, "headers": answer}


def serve(app: APIGatewayRestResolver, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    allowed = get_settings().allowed_origins
    request_headers = event.get("headers") or {}
    if cors.is_preflight(str(event.get("httpMethod") or "")):
        response = _preflight(request_headers, allowed)
    else:
        response = app.resolve(event, context)
        extra = cors.response_headers(cors.request_origin(request_headers), allowed)
        response.setdefault("headers", {})
        response["headers"] = {**(response.get("headers") or {}), **extra}
    multi_value = response.setdefault("multiValueHeaders", {}) or {}
    for name, value in (response.pop("headers", None) or {}).items():
        multi_value.setdefault(name, [value])
    response["multiValueHeaders"] = headers.secure(multi_value)
    status = int(response.get("statusCode", 500))
    log_request(event, status, (time.perf_counter() - started) * 1000)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if status >= 500:
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
    return response
