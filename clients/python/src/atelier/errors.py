"""The errors the client raises.

Every error the API answers has the shape ``{"error": {"code", "message", "details"}}``; it becomes an
``AtelierError`` of the family its HTTP status names, carrying the API's ``code`` (``insufficient_credits``,
``session_required``...) so a caller can branch on the exact reason without parsing messages.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class AtelierError(Exception):
    """Base of every error this package raises about a request to the API."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        status: int | None = None,
        request_id: str | None = None,
        details: Any = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.details = details
        self.response = response

    def __str__(self) -> str:
        where = f"{self.status} " if self.status is not None else ""
        return f"{self.message} ({where}{self.code})"


class ConfigurationError(AtelierError):
    """The client cannot be built: no API key, or a base URL that is not http(s)."""


class APIConnectionError(AtelierError):
    """The API could not be reached (connection refused, DNS, TLS, timeout)."""


class APIStatusError(AtelierError):
    """The API answered with an error status; subclasses name the family."""


class BadRequestError(APIStatusError):
    """400: the request could not be read."""


class AuthenticationError(APIStatusError):
    """401: no API key, or one that is unknown or revoked."""


class InsufficientCreditsError(APIStatusError):
    """402: the account's balance does not cover the job."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks the scope (``insufficient_scope``), the route needs a signed-in session
    (``session_required``), the terms are not accepted (``consent_required``)..."""


class InsufficientScopeError(PermissionDeniedError):
    """403 ``insufficient_scope``: the key was not made with the scope this needs; ``required_scope``
    names it (webhook endpoints need ``webhooks:read`` or ``webhooks:write``, exports ``account:export``)."""

    @property
    def required_scope(self) -> str | None:
        scope = self.details.get("required_scope") if isinstance(self.details, dict) else None
        return str(scope) if scope else None


class NotFoundError(APIStatusError):
    """404: no such thing, or not yours."""


class ConflictError(APIStatusError):
    """409: the thing is not in a state that allows it (a finished job, an export in progress...)."""


class PayloadTooLargeError(APIStatusError):
    """413: the body is over the limit."""


class ValidationError(APIStatusError):
    """422: a field is invalid; ``details`` lists which."""


class RateLimitError(APIStatusError):
    """429: a rate limit or the spend cap; ``retry_after`` is the wait the API asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the API or one of its dependencies failed; ``retry_after`` when it said how long to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServiceUnavailableError(InternalServerError):
    """503: a dependency is down for now."""


class WaitTimeoutError(AtelierError):
    """A job or an export did not finish within the time given to ``wait``."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}

# Refusals whose code has a class of its own, narrower than their status's.
_BY_CODE: dict[str, type[APIStatusError]] = {"insufficient_scope": InsufficientScopeError}

_REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "apigw-requestid")


def request_id_of(response: httpx.Response) -> str | None:
    return next((response.headers[name] for name in _REQUEST_ID_HEADERS if name in response.headers), None)


def retry_after_of(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (a number of seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def error_from_response(response: httpx.Response) -> APIStatusError:
    """The error an error answer stands for, its code and message read from the API's error body."""
    code, message, details = "error", f"The API answered {response.status_code}.", None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        details = error.get("details")
    status = response.status_code
    family = _BY_CODE.get(code) or _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    common: dict[str, Any] = {
        "code": code,
        "status": status,
        "request_id": request_id_of(response),
        "details": details,
        "response": response,
    }
    if issubclass(family, (RateLimitError, InternalServerError)):
        return family(message, retry_after=retry_after_of(response), **common)
    return family(message, **common)
