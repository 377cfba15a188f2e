"""The one place that maps domain errors to HTTP, in the API's single error shape.

Every error, including validation failures and unknown routes, answers
``{"error": {"code": "snake_case", "message": "human sentence", "details": ...}}``.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from atelier import errors

_STATUS_BY_ERROR: dict[type[errors.AtelierError], int] = {
    errors.MalformedRequestError: 400,
    errors.NotSignedInError: 401,
    errors.InsufficientCreditsError: 402,
    errors.ForbiddenError: 403,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.PayloadTooLargeError: 413,
    errors.UnsupportedMediaTypeError: 415,
    errors.InvalidFieldError: 422,
    errors.RateLimitedError: 429,
    errors.SpendCapExceededError: 429,
    errors.DependencyUnavailableError: 503,
}


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    """The shape of every error answer."""

    error: ErrorBody


def status_for(error: errors.AtelierError) -> int:
    return status_for_class(type(error))


def status_for_class(error: type[errors.AtelierError]) -> int:
    for klass in error.__mro__:
        if klass in _STATUS_BY_ERROR:
            return _STATUS_BY_ERROR[klass]
    return 500


def base_error_for(status: int) -> type[errors.AtelierError]:
    """The most general error answered with `status`."""
    return next(error for error, mapped in _STATUS_BY_ERROR.items() if mapped == status)


def _every_error_class(root: type[errors.AtelierError] = errors.AtelierError) -> list[type[errors.AtelierError]]:
    found = [root]
    for subclass in root.__subclasses__():
        found.extend(_every_error_class(subclass))
    return found


def error_class_for(code: str) -> type[errors.AtelierError] | None:
    """The error class that answers `code` (of those imported), the most general first."""
    return next((error for error in _every_error_class() if error.code == code), None)


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body.model_dump(mode="json")),
        headers=headers,
    )


def response_for(error: errors.AtelierError) -> Response:
    headers = {"Retry-After": str(error.retry_after_seconds)} if error.retry_after_seconds is not None else None
    return error_response(status_for(error), error.code, error.message, error.details, headers)


def validation_details(validation_errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's error list, reduced to what a client can act on (never the rejected input)."""
    details = []
    for item in validation_errors:
        location = [str(part) for part in item.get("loc", ())]
        details.append(
            {
                "location": location[0] if location else "body",
                "field": ".".join(location[1:]),
                "message": item.get("msg", "invalid"),
                "type": item.get("type", "invalid"),
            }
        )
    return details


ERROR_STATUSES_DOCUMENTED = (400, 401, 402, 403, 404, 409, 413, 422, 429, 503)

STATUS_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Not signed in",
    402: "Not enough credits",
    403: "Forbidden, consent required or account restricted",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    415: "The body is not JSON",
    422: "Invalid field",
    429: "Rate limit or spend cap",
    503: "A dependency is unavailable",
}


def error_responses(*statuses: int, success: dict[int, str] | None = None) -> dict[int, OpenAPIResponse]:
    """OpenAPI `responses` entries: the error statuses a route can answer, in the error shape, and
    its success status (200 unless `success` names another: a 201, a 204, a 302) with its
    description. Given `responses`, Powertools documents no success answer of its own, so the
    success status is always listed here; its body schema comes from the route's return type."""
    documented: dict[int, OpenAPIResponse] = {
        status: {"description": description}
        for status, description in (success or {200: "Successful Response"}).items()
    }
    for status in statuses:
        documented[status] = {
            "description": STATUS_DESCRIPTIONS.get(status, "Error"),
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return documented
