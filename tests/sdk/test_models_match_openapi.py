"""The client's models and the OpenAPI document agree: every resource the client covers has the
same fields, the same required ones, and the same types and enumerations as its schema; and every
operation the client calls is in the document. A change to a response or request model of the API
fails here until clients/python/src/atelier/models.py follows it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.sdk import SOURCE, load

sdk = load()
DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "shared/atelier/api/openapi.json").read_text())
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]

# The client's model -> the schema it stands for in the document.
COUNTERPARTS = {
    "Job": "JobResponse",
    "JobError": "JobErrorBody",
    "JobPage": "JobPageResponse",
    "SubmitJob": "SubmitJobRequest",
    "Provenance": "ProvenanceResponse",
    "Asset": "AssetResponse",
    "AssetPage": "AssetPageResponse",
    "Model": "ModelBody",
    "ModelList": "ModelList",
    "Export": "ExportResponse",
    "WebhookEndpoint": "WebhookEndpointResponse",
    "CreatedWebhookEndpoint": "CreatedWebhookEndpointResponse",
    "WebhookEndpointList": "WebhookEndpointList",
    "CreateWebhookEndpoint": "CreateWebhookEndpointRequest",
    "UpdateWebhookEndpoint": "UpdateWebhookEndpointRequest",
    "RotatedSecret": "RotatedSecretResponse",
    "DefaultSecret": "DefaultSecretResponse",
    "WebhookDelivery": "WebhookDeliveryResponse",
    "WebhookDeliveryPage": "WebhookDeliveryPage",
}


def shape(schema: dict[str, Any], rename: dict[str, str]) -> Any:
    """What a JSON schema says about a value's type, without titles, defaults, limits or formats
    (a date-time is a string on the wire, whatever type the client reads it into)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return ("object", rename.get(name, name))
    if "anyOf" in schema:
        options = {shape(option, rename) for option in schema["anyOf"]}
        return options.pop() if len(options) == 1 else ("any of", frozenset(options))
    if "enum" in schema:
        return ("enum", frozenset(schema["enum"]))
    if "const" in schema:
        return ("enum", frozenset([schema["const"]]))
    kind = schema.get("type")
    if kind == "array":
        return ("array", shape(schema.get("items", {}), rename))
    if kind == "object":
        values = schema.get("additionalProperties", True)
        return ("map", "any" if values is True else shape(values, rename))
    if kind is None:
        return "any"
    return kind


def fields(schema: dict[str, Any], rename: dict[str, str]) -> dict[str, tuple[Any, bool]]:
    required = set(schema.get("required", []))
    return {name: (shape(field, rename), name in required) for name, field in schema["properties"].items()}


@pytest.mark.parametrize(("model_name", "schema_name"), sorted(COUNTERPARTS.items()))
def test_the_client_model_has_the_fields_types_and_required_ones_of_its_schema(model_name, schema_name):
    assert schema_name in SCHEMAS, f"{schema_name} is gone from the OpenAPI document"
    model = getattr(sdk.models, model_name)
    mine = model.model_json_schema(ref_template="#/$defs/{model}")

    ours = fields(mine, COUNTERPARTS)
    theirs = fields(SCHEMAS[schema_name], {})

    assert sorted(ours) == sorted(theirs), f"{model_name} and {schema_name} name different fields"
    for name, (their_type, their_required) in theirs.items():
        our_type, our_required = ours[name]
        assert our_type == their_type, f"{model_name}.{name}: {our_type} in the client, {their_type} in the API"
        assert our_required == their_required, f"{model_name}.{name}: required differs"


def test_every_operation_the_client_calls_is_in_the_document():
    source = (SOURCE / "atelier" / "resources.py").read_text()
    called = set(re.findall(r'request\(\s*"(GET|POST|PATCH|PUT|DELETE)",\s*f?"(/v1/[^"]*)"', source))
    assert len(called) >= 19, called  # every operation in resources.py
    documented = {(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item}
    assert called - documented == set()


def test_the_event_types_a_client_may_subscribe_to_are_the_apis():
    subscribable = SCHEMAS["CreateWebhookEndpointRequest"]["properties"]["events"]["items"]["enum"]
    assert set(sdk.models.WebhookEventType.__args__) == set(subscribable)
