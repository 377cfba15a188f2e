"""The OpenAPI document: merged from every function's resolver at build time, served as a file.

Each function is its own Lambda with its own resolver, so no single process holds every route at run
time. `scripts/openapi.py` imports every handler, merges their generated schemas with
`merge_documents` and writes `openapi.json` beside this module; a test fails when that file and the
route code disagree.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")

API_TITLE = "Atelier API"
API_DESCRIPTION = (
    "The HTTP API of Atelier, an AI image and video generation platform. Every error answers "
    '`{"error": {"code", "message", "details"}}`. Sign in with the `__Host-session` cookie (browsers) '
    "or `Authorization: Bearer <api key>` (scripts)."
)

SECURITY_SCHEMES: dict[str, Any] = {
    "session": {"type": "apiKey", "in": "cookie", "name": "__Host-session"},
    "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key created at POST /v1/me/api-keys."},
}


_FRAMEWORK_SCHEMAS = {"HTTPValidationError", "ValidationError", "ResponseValidationError"}
_ERROR_REF = "#/components/schemas/ErrorResponse"


def _error_schemas() -> dict[str, Any]:
    from atelier.api.errors import ErrorResponse

    schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {"ErrorResponse": schema, **definitions}


def _error_answer(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _ERROR_REF}}}}


def _normalise_errors(path: str, operation: dict[str, Any]) -> dict[str, Any]:
    """Every error answers in the one error shape: the framework's own 422 schema is replaced, and
    a `default` answer documents the shape for any other error status. A 204 or a redirect has no
    body, so the empty JSON content the framework gives it is dropped.

    Two answers every route of a kind can give are listed on each: 400 for a body that is not JSON,
    and 404 for a path parameter that names nothing (an empty one leaves no route to match)."""
    responses = operation.setdefault("responses", {})
    for status, answer in responses.items():
        if str(status) == "204" or str(status).startswith("3"):
            answer.pop("content", None)
    if "requestBody" in operation:
        responses.setdefault("400", _error_answer("Malformed request"))
    if "{" in path:
        responses.setdefault("404", _error_answer("Not found"))
    responses["422"] = _error_answer("Invalid field")
    responses.setdefault("default", _error_answer("Error"))
    # Every route declares its access (atelier.api.access); the generator leaves out an empty
    # requirement list, which is what a public operation declares.
    security = operation.setdefault("security", [])
    if any(requirement for requirement in security):
        responses.setdefault("403", _error_answer("Not allowed: a session is required, or the API key lacks the scope"))
    return operation


def merge_documents(documents: list[dict[str, Any]], *, version: str) -> dict[str, Any]:
    """One document with every path and component schema; a path served twice is a wiring error."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = _error_schemas()
    # The error shape's schemas are taken from the model once, whatever each function generated.
    owned = set(schemas) | _FRAMEWORK_SCHEMAS
    openapi_version = "3.1.0"
    for document in documents:
        openapi_version = document.get("openapi", openapi_version)
        for path, operations in document.get("paths", {}).items():
            merged = paths.setdefault(path, {})
            for method, operation in operations.items():
                if method in merged:
                    raise ValueError(f"{method.upper()} {path} is served by two functions")
                merged[method] = _normalise_errors(path, operation)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in owned:
                continue
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"two different schemas are named {name}")
            schemas[name] = schema
    return {
        "openapi": openapi_version,
        "info": {"title": API_TITLE, "version": version, "description": API_DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": SECURITY_SCHEMES},
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
