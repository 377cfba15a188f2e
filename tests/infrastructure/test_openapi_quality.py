"""Every operation of the OpenAPI document carries what a client generator and a reader need: a
readable operationId, its security (with the API-key scope), a description, examples that hold to
their schemas, the error codes it can answer, `Retry-After` and `Idempotency-Key` where they apply;
and the webhooks Atelier sends are documented with their Standard Webhooks headers."""

from __future__ import annotations

import re
import typing
from collections import Counter
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from atelier import errors
from atelier.api import openapi
from atelier.api.access import API_KEY_SCHEME
from atelier.api.errors import error_class_for, status_for_class
from atelier.models.webhooks import WebhookEventType
from scripts.openapi import function_resolvers, openapi_path, route_facts

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")
STANDARD_WEBHOOK_HEADERS = {"webhook-id", "webhook-timestamp", "webhook-signature"}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation
    for event, operations in document.get("webhooks", {}).items():
        for method, operation in operations.items():
            yield f"webhook {event} ({method.upper()})", operation


def _json_media(body: dict[str, Any]) -> dict[str, Any] | None:
    media: dict[str, Any] | None = body.get("content", {}).get("application/json")
    return media


def _lacks(operation: dict[str, Any], schemes: dict[str, Any], operation_ids: Counter[str]) -> list[str]:
    lacks = []
    operation_id = operation.get("operationId", "")
    if not CAMEL_CASE.match(operation_id):
        lacks.append(f"a camelCase operationId (has {operation_id!r})")
    elif operation_ids[operation_id] > 1:
        lacks.append(f"a unique operationId ({operation_id!r} is used {operation_ids[operation_id]} times)")
    security = operation.get("security")
    if not security:
        lacks.append("a security requirement (public operations state the empty requirement {})")
    elif any(scheme not in schemes for requirement in security for scheme in requirement):
        lacks.append("security schemes that exist in components.securitySchemes")
    if not (operation.get("description") or "").strip():
        lacks.append("a description")
    examples = 0
    for parameter in operation.get("parameters", []):
        if "example" not in parameter and "examples" not in parameter:
            lacks.append(f"an example of parameter {parameter['name']}")
        examples += 1
    bodies = [("request body", operation.get("requestBody", {}))]
    bodies += [(f"{status} response", answer) for status, answer in operation.get("responses", {}).items()]
    for name, body in bodies:
        media = _json_media(body)
        if media is None or "schema" not in media:
            continue
        if "example" not in media and "examples" not in media:
            lacks.append(f"an example of its {name}")
        examples += 1
    if not examples:
        lacks.append("an example")
    for status, answer in operation.get("responses", {}).items():
        if str(status)[0] not in "45":
            continue
        schema = (_json_media(answer) or {}).get("schema", {})
        codes = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {}).get("enum")
        if not codes:
            lacks.append(f"the error codes of its {status} response")
        if str(status) in ("429", "503") and "Retry-After" not in answer.get("headers", {}):
            lacks.append(f"a Retry-After header on its {status} response")
    return lacks


def test_every_operation_has_an_id_security_a_description_examples_and_its_error_codes():
    document = openapi.load_document()
    schemes = document["components"]["securitySchemes"]
    operation_ids = Counter(operation.get("operationId", "") for _, operation in _operations(document))
    problems = [
        f"{name} lacks {', '.join(lacks)}"
        for name, operation in _operations(document)
        if (lacks := _lacks(operation, schemes, operation_ids))
    ]
    assert not problems, "\n".join(problems)


def test_an_operation_an_api_key_may_call_names_the_scope_the_key_needs():
    document = openapi.load_document()
    facts = route_facts(function_resolvers())
    missing = []
    for (method, path), route in facts.items():
        operation = document["paths"].get(path, {}).get(method.lower())
        if operation is None or route.access.scope is None:
            continue
        if {API_KEY_SCHEME: [route.access.scope.value]} not in operation["security"]:
            missing.append(f"{method} {path} (needs {route.access.scope.value})")
    assert not missing, missing


def _accepts_idempotency_key(function: Any) -> bool:
    hints = typing.get_type_hints(function, include_extras=True)
    return any(
        str(getattr(metadata, "alias", "")).lower() == "idempotency-key"
        for hint in hints.values()
        for metadata in getattr(hint, "__metadata__", ())
    )


def test_every_operation_that_accepts_an_idempotency_key_documents_the_header():
    document = openapi.load_document()
    accepting = []
    for app in function_resolvers().values():
        for route in [*app._static_routes, *app._dynamic_routes]:
            if not _accepts_idempotency_key(route.func):
                continue
            accepting.append(f"{route.method} {route.path}")
            operation = document["paths"][openapi_path(route.path)][route.method.lower()]
            header = next(p for p in operation["parameters"] if p["name"].lower() == "idempotency-key")
            assert header["in"] == "header"
            assert "idempotency_key_reused" in header["description"], route.path
            assert "idempotency_key_reused" in str(operation["responses"]["409"]), route.path
    # API.md names POST /v1/jobs; running a workflow version submits a job the same way.
    assert "POST /v1/jobs" in accepting
    assert "POST /v1/workflows/<workflow_id>/versions/<version>/jobs" in accepting


def test_every_error_code_in_the_document_is_one_the_code_answers_with_its_status():
    codes_seen = 0
    for name, operation in _operations(openapi.load_document()):
        for status, answer in operation["responses"].items():
            schema = (_json_media(answer) or {}).get("schema", {})
            for code in (
                schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {}).get("enum", [])
            ):
                error = error_class_for(code)
                assert error is not None, f"{name}: no error answers {code}"
                assert status_for_class(error) == int(status), f"{name}: {code} is not answered with {status}"
                codes_seen += 1
    assert codes_seen > 100


def test_the_error_codes_are_found_in_the_route_code():
    # The codes are derived from what each handler's code raises, so known ones must be there.
    document = openapi.load_document()

    def codes(method: str, path: str, status: str) -> set[str]:
        schema = document["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        return set(schema["properties"]["error"]["properties"]["code"]["enum"])

    assert {"idempotency_key_reused"} <= codes("post", "/v1/jobs", "409")
    assert {"insufficient_credits"} == codes("post", "/v1/jobs", "402")
    assert {"rate_limited", "spend_cap_exceeded"} <= codes("post", "/v1/jobs", "429")
    assert {"consent_required", "insufficient_scope", "forbidden_origin"} <= codes("post", "/v1/jobs", "403")
    assert "job_finished" in codes("post", "/v1/jobs/{job_id}/cancel", "409")
    assert {"workspace_not_empty", "default_workspace"} <= codes("delete", "/v1/workspaces/{workspace_id}", "409")
    assert "session_required" in codes("post", "/v1/me/api-keys", "403")
    assert codes("get", "/v1/webhook-endpoints/default/secret", "403") == {"insufficient_scope"}
    assert codes("get", "/v1/me/exports/{export_id}", "403") == {"insufficient_scope"}
    assert "invalid_signature" in codes("post", "/v1/webhooks/stripe", "400")
    # An admin's route answers a stranger 404, never 401.
    assert "401" not in document["paths"]["/v1/admin/reports"]["get"]["responses"]


def test_every_route_declared_error_is_documented():
    document = openapi.load_document()
    for app in function_resolvers().values():
        for (method, rule), declared in getattr(app, "route_errors", {}).items():
            operation = document["paths"].get(openapi_path(rule), {}).get(method.lower())
            for error in declared if operation else ():
                assert issubclass(error, errors.AtelierError)
                assert error.code in str(operation["responses"][str(status_for_class(error))]), (method, rule, error)


def _examples(node: Any, where: str) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (place, schema, example) pair: media types, parameters and headers with an example,
    and schemas carrying `examples`."""
    if isinstance(node, dict):
        if "schema" in node and "example" in node:
            yield where, node["schema"], node["example"]
        if "examples" in node and isinstance(node["examples"], list) and ("type" in node or "properties" in node):
            for example in node["examples"]:
                yield f"{where} (schema examples)", node, example
        for key, value in node.items():
            yield from _examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _examples(value, f"{where}/{index}")


def test_every_example_validates_against_its_schema():
    document = openapi.load_document()
    checked, invalid = 0, []
    for where, schema, example in _examples(document, "#"):
        # The document's components travel with each schema, so its `#/components/...` refs resolve.
        validator = Draft202012Validator(
            {**schema, "components": document["components"]}, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        problems = [error.message for error in validator.iter_errors(example)]
        if problems:
            invalid.append(f"{where}: {problems[0]}")
        checked += 1
    assert not invalid, "\n".join(invalid)
    assert checked > 150


def test_the_webhooks_atelier_sends_are_documented_with_the_standard_webhooks_headers():
    document = openapi.load_document()
    assert set(document["webhooks"]) == {event.value for event in WebhookEventType}
    for event, operations in document["webhooks"].items():
        operation = operations["post"]
        headers = {parameter["name"] for parameter in operation["parameters"] if parameter["in"] == "header"}
        assert headers >= STANDARD_WEBHOOK_HEADERS, event
        assert operation["requestBody"]["content"]["application/json"]["example"]["type"] == event
        assert operation["security"] == [{"webhookSignature": []}]
