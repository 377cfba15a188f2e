"""The resolver factory every HTTP function uses, and `serve`, its entry point.

`make_resolver` gives a Powertools REST resolver with validation on (so OpenAPI and validation come
from the same typed route signatures) and every error mapped to the one error shape. Every route is
registered with its `Access` (see `atelier.api.access`): the resolver refuses a route without one,
enforces it before the handler runs, and writes it as the operation's OpenAPI `security`. `serve` runs a
request through it and adds what every response needs: security headers and one log line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier import errors
from atelier.api import cors, headers, requests
from atelier.api.access import Access
from atelier.api.errors import error_response, response_for, validation_details
from atelier.api.request_log import log_request
from atelier.observability import logger, metrics
from atelier.services import get_services
from atelier.settings import get_settings
from atelier.usecases.moderate import require_admin

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


def _guard(access: Access) -> Callable[[APIGatewayRestResolver, NextMiddleware], Response]:
    """The middleware that holds a route to its access: the caller is resolved once, checked, and
    kept for the handler (`atelier.api.requests.principal` answers it without a second look-up)."""

    def guard(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
        if not access.reads_credentials:
            return next_middleware(app)
        services = get_services()
        principal = requests.principal(app.current_event, services)
        access.enforce(
            principal,
            require_admin=lambda account_id: require_admin(
                account_id, accounts=services.accounts, settings=services.settings
            ),
        )
        with requests.resolved(app.current_event, principal):
            return next_middleware(app)

    return guard


def _keywords_only(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    if args:
        raise TypeError("route options are keyword arguments here")
    return kwargs


DomainErrors = Sequence[type[errors.AtelierError]]


class AtelierResolver(APIGatewayRestResolver):
    """A REST resolver whose every route declares who may call it (`access=`) and, for its
    OpenAPI error codes, the domain errors its use case may raise (`errors=`; those the access,
    the request's shape and the resolver itself give are added by `atelier.api.openapi`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.route_access: dict[tuple[str, str], Access] = {}
        self.route_errors: dict[tuple[str, str], tuple[type[errors.AtelierError], ...]] = {}

    def _declared(
        self, rule: str, method: str, access: Access | None, raises: DomainErrors, kwargs: dict[str, Any]
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        if access is None:
            raise TypeError(f"{method} {rule} declares no access: pass access=Access.…")
        self.route_access[(method, rule)] = access
        self.route_errors[(method, rule)] = tuple(raises)
        middlewares = [_guard(access), *(kwargs.pop("middlewares", None) or [])]
        return self.route(rule, method, **kwargs, security=access.security(), middlewares=middlewares)

    def get(self, rule: str, *args: Any, access: Access | None = None, errors: DomainErrors = (), **kwargs: Any) -> Any:
        return self._declared(rule, "GET", access, errors, _keywords_only(args, kwargs))

    def post(
        self, rule: str, *args: Any, access: Access | None = None, errors: DomainErrors = (), **kwargs: Any
    ) -> Any:
        return self._declared(rule, "POST", access, errors, _keywords_only(args, kwargs))

    def put(self, rule: str, *args: Any, access: Access | None = None, errors: DomainErrors = (), **kwargs: Any) -> Any:
        return self._declared(rule, "PUT", access, errors, _keywords_only(args, kwargs))

    def patch(
        self, rule: str, *args: Any, access: Access | None = None, errors: DomainErrors = (), **kwargs: Any
    ) -> Any:
        return self._declared(rule, "PATCH", access, errors, _keywords_only(args, kwargs))

    def delete(
        self, rule: str, *args: Any, access: Access | None = None, errors: DomainErrors = (), **kwargs: Any
    ) -> Any:
        return self._declared(rule, "DELETE", access, errors, _keywords_only(args, kwargs))


def make_resolver() -> AtelierResolver:
    app = AtelierResolver(enable_validation=True, json_body_deserializer=_load_json)
    app._request_validation_middleware = _JsonBodyValidation()
    app.exception_handler(RequestValidationError)(_on_validation_error)
    app.exception_handler(errors.AtelierError)(_on_domain_error)
    app.exception_handler(Exception)(_on_unexpected_error)
    app.not_found(_on_not_found)
    return app


# API Gateway answers 504 after 29 s whatever the function does: provider retries stay inside it.
API_GATEWAY_SECONDS = 29.0


def _preflight(request_headers: dict[str, str] | None, allowed: frozenset[str]) -> dict[str, Any]:
    answer = cors.preflight_headers(cors.request_origin(request_headers), allowed)
    return {"statusCode": 204, "body": "", "isBase64Encoded": False, "headers": answer}


def serve(app: APIGatewayRestResolver, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from atelier.integrations.resilience import time_budget

    started = time.perf_counter()
    allowed = get_settings().platform.allowed_origins
    request_headers = event.get("headers") or {}
    if cors.is_preflight(str(event.get("httpMethod") or "")):
        response = _preflight(request_headers, allowed)
    else:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        budget = min(API_GATEWAY_SECONDS, remaining() / 1000) if callable(remaining) else API_GATEWAY_SECONDS
        with time_budget(budget - 1.0):
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
