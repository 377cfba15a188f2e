"""The OpenAPI document: merged from every function's resolver at build time, served as a file.

Each function is its own Lambda with its own resolver, so no single process holds every route at run
time. `scripts/openapi.py` imports every handler, merges their generated schemas with
`merge_documents` and writes `openapi.json` beside this module; a test fails when that file and the
route code disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from atelier import errors
from atelier.api.access import Access, AccessKind, InsufficientScopeError, SessionRequiredError
from atelier.api.errors import STATUS_DESCRIPTIONS, base_error_for, status_for_class
from atelier.api.examples import ExampleMaker
from atelier.api.webhook_docs import webhook_operations

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")

API_TITLE = "Atelier API"
API_DESCRIPTION = (
    "The HTTP API of Atelier, an AI image and video generation platform. Every error answers "
    '`{"error": {"code", "message", "details"}}`. Sign in with the `__Host-session` cookie (browsers) '
    "or `Authorization: Bearer <api key>` (scripts)."
)

SECURITY_SCHEMES: dict[str, Any] = {
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "__Host-session",
        "description": "The session cookie set at sign-in (GET /v1/auth/login). The `admin` role marks the "
        "moderators' routes: anyone else is answered 404.",
    },
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key created at POST /v1/me/api-keys, as `Authorization: Bearer <key>`. The "
        "requirement lists the scope the key needs: `generate`, `library:read`, `library:write`, "
        "`billing:read`, `webhooks:read`, `webhooks:write` or `account:export` (403 `insufficient_scope` "
        "otherwise).",
    },
    "stripeSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "Stripe-Signature",
        "description": "Stripe's signature of the raw body, checked before anything is read.",
    },
    "paypalSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "PayPal-Transmission-Sig",
        "description": "PayPal's transmission signature (with its PayPal-Transmission-* headers), verified "
        "with PayPal before the body is read.",
    },
    "creemSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "creem-signature",
        "description": "Creem's HMAC signature of the raw body.",
    },
    "providerSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "webhook-signature",
        "description": "Providers that sign their callbacks (Replicate: the Standard Webhooks headers).",
    },
    "providerToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "Providers that cannot sign: the token of the job in the callback URL Atelier gave them.",
    },
    "webhookSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "webhook-signature",
        "description": "Atelier's own webhooks, signed with the Standard Webhooks scheme: `v1,` and the base64 "
        "HMAC-SHA256, keyed by the endpoint's `whsec_` secret, of `{webhook-id}.{webhook-timestamp}.{body}`.",
    },
}

RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "Seconds to wait before trying again (sent where a wait helps).",
    "schema": {"type": "integer", "minimum": 0},
    "example": 5,
}
_LOCATION_HEADER: dict[str, Any] = {
    "description": "Where the browser goes next.",
    "schema": {"type": "string"},
    "example": "/library",
}
_RETRY_AFTER_REF = {"$ref": "#/components/headers/Retry-After"}
_RETRY_STATUSES = ("429", "503")
_UNSAFE_METHODS = {"post", "put", "patch", "delete"}

_FRAMEWORK_SCHEMAS = {"HTTPValidationError", "ValidationError", "ResponseValidationError"}
_ERROR_REF = "#/components/schemas/ErrorResponse"


@dataclass(frozen=True)
class RouteFacts:
    """What the route code says of an operation beyond its generated schema."""

    access: Access
    raises: tuple[type[errors.AtelierError], ...] = ()


def _error_schemas() -> dict[str, Any]:
    from atelier.api.errors import ErrorResponse

    schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {"ErrorResponse": schema, **definitions}


def _error_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}}}


ErrorClass = type[errors.AtelierError]


def implied_errors(method: str, path: str, operation: dict[str, Any], access: Access) -> set[ErrorClass]:
    """The errors an operation can answer whatever its use case does: from its access (the
    guard), its request's shape (the resolver's validation) and its path parameters."""
    implied: set[ErrorClass] = {errors.InvalidFieldError}
    if "requestBody" in operation:
        implied |= {errors.MalformedRequestError, errors.UnsupportedMediaTypeError}
    if "{" in path or access.kind is AccessKind.ADMIN:
        implied.add(errors.NotFoundError)
    if access.kind in (AccessKind.SIGNED_IN, AccessKind.SCOPED, AccessKind.SESSION):
        implied.add(errors.NotSignedInError)
    if access.kind in (AccessKind.SESSION, AccessKind.ADMIN):
        implied.add(SessionRequiredError)
    if access.scope is not None:
        implied.add(InsufficientScopeError)
    if access.reads_credentials and method in _UNSAFE_METHODS:
        implied.add(errors.ForbiddenOriginError)
    return implied


def _ruled_out(error: ErrorClass, method: str, access: Access) -> bool:
    """An error the code can raise that the route's access or method keeps from happening: an
    admin's route has a signed-in caller once its guard passed; only unsafe methods check the
    origin."""
    if error is errors.NotSignedInError and access.kind is AccessKind.ADMIN:
        return True
    return error is errors.ForbiddenOriginError and method not in _UNSAFE_METHODS


def error_classes(
    method: str, path: str, operation: dict[str, Any], facts: RouteFacts | None
) -> dict[int, list[ErrorClass]]:
    """Every error status the operation documents, with the errors it can answer there: implied by
    the route's shape, raised by its code or declared by the route (`errors=`), or, for a status
    the route lists without any of those, the most general error of that status."""
    found: set[ErrorClass] = {errors.InvalidFieldError}
    if facts is not None:
        found = implied_errors(method, path, operation, facts.access)
        found |= {error for error in facts.raises if not _ruled_out(error, method, facts.access)}
    by_status: dict[int, list[ErrorClass]] = {}
    for error in sorted(found, key=lambda error: (error.code, error.__module__, error.__qualname__)):
        by_status.setdefault(status_for_class(error), []).append(error)
    for status in operation.get("responses", {}):
        if str(status).isdigit() and int(status) >= 400 and int(status) not in by_status:
            by_status[int(status)] = [base_error_for(int(status))]
    return dict(sorted(by_status.items()))


def _coded_error_answer(status: int, raised: list[ErrorClass], description: str | None) -> dict[str, Any]:
    codes = sorted({error.code for error in raised})
    schema = {
        "allOf": [{"$ref": _ERROR_REF}],
        "properties": {
            "error": {"type": "object", "required": ["code"], "properties": {"code": {"type": "string", "enum": codes}}}
        },
    }
    example = {"error": {"code": raised[0].code, "message": raised[0].default_message, "details": None}}
    answer: dict[str, Any] = {
        "description": description or STATUS_DESCRIPTIONS.get(status, "Error"),
        "content": {"application/json": {"schema": schema, "example": example}},
    }
    if str(status) in _RETRY_STATUSES:
        answer["headers"] = {"Retry-After": _RETRY_AFTER_REF}
    return answer


def _normalise(
    path: str, method: str, operation: dict[str, Any], facts: RouteFacts | None, examples: ExampleMaker
) -> dict[str, Any]:
    """Every error answers in the one error shape, each documented status with the codes it can
    carry (the framework's own 422 schema is replaced), and a `default` answer documents the shape
    for any other error status. A 204 or a redirect has no body, so the empty JSON content the
    framework gives it is dropped. Request and success bodies get an example from their schema."""
    responses = operation.setdefault("responses", {})
    for status, answer in responses.items():
        if str(status) == "204" or str(status).startswith("3"):
            answer.pop("content", None)
        if str(status).startswith("3"):
            answer.setdefault("headers", {"Location": _LOCATION_HEADER})
    for status, raised in error_classes(method, path, operation, facts).items():
        existing = responses.get(str(status)) or responses.get(status) or {}
        responses.pop(status, None)
        responses[str(status)] = _coded_error_answer(status, raised, existing.get("description"))
    responses["default"] = _error_answer("Any other error, such as 500 `internal_error`")
    responses["default"]["content"]["application/json"]["example"] = {
        "error": {"code": "internal_error", "message": "Something went wrong on our side.", "details": None}
    }
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: (item[0] == "default", item[0])))
    operation.setdefault("security", [])
    _add_examples(operation, examples)
    return operation


def _without_null(parameter: dict[str, Any]) -> None:
    """An optional parameter is one that may be left out (`required: false`); a header or query
    string cannot carry JSON's null, so the null branch of an optional one's schema goes."""
    schema = parameter.get("schema", {})
    branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
    if "anyOf" in schema and len(branches) == 1:
        parameter["schema"] = {**{k: v for k, v in schema.items() if k != "anyOf"}, **branches[0]}


def _add_examples(operation: dict[str, Any], examples: ExampleMaker) -> None:
    for parameter in operation.get("parameters", []):
        _without_null(parameter)
        if "schema" in parameter and "example" not in parameter:
            parameter["example"] = examples.example(parameter["schema"], parameter["name"].replace("-", "_"))
    bodies = [operation.get("requestBody", {})]
    bodies += [answer for status, answer in operation["responses"].items() if str(status).startswith("2")]
    for body in bodies:
        media = body.get("content", {}).get("application/json")
        if media and "schema" in media and "example" not in media:
            media["example"] = examples.example(media["schema"])


def merge_documents(
    documents: list[dict[str, Any]],
    *,
    version: str,
    routes: dict[tuple[str, str], RouteFacts] | None = None,
) -> dict[str, Any]:
    """One document with every path and component schema; a path served twice is a wiring error.
    `routes` (by method and OpenAPI path) holds what the route code declares beyond the schema."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = _error_schemas()
    # The error shape's schemas are taken from the model once, whatever each function generated.
    owned = set(schemas) | _FRAMEWORK_SCHEMAS
    openapi_version = "3.1.0"
    for document in documents:
        openapi_version = document.get("openapi", openapi_version)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in owned:
                continue
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"two different schemas are named {name}")
            schemas[name] = schema
    webhooks, webhook_schemas = webhook_operations()
    schemas.update(webhook_schemas)
    examples = ExampleMaker(schemas)
    for document in documents:
        for path, operations in document.get("paths", {}).items():
            merged = paths.setdefault(path, {})
            for method, operation in operations.items():
                if method in merged:
                    raise ValueError(f"{method.upper()} {path} is served by two functions")
                facts = (routes or {}).get((method.upper(), path))
                merged[method] = _normalise(path, method, operation, facts, examples)
    for operation in webhooks.values():
        _add_examples(operation["post"], examples)
    return {
        "openapi": openapi_version,
        "info": {"title": API_TITLE, "version": version, "description": API_DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "webhooks": webhooks,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "headers": {"Retry-After": RETRY_AFTER_HEADER},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


@lru_cache(maxsize=1)
def load_document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


def document_for(server_url: str) -> dict[str, Any]:
    """The document with its server set to where this request reached the API."""
    return {**load_document(), "servers": [{"url": server_url or "/"}]}


def server_url(request_path: str | None, route_path: str) -> str:
    """The base URL clients use: the part of the public request path before the route (a stage name
    on a default execute-api host, nothing behind a custom domain)."""
    if request_path and request_path.endswith(route_path):
        return request_path[: -len(route_path)] or "/"
    return "/"
