"""The committed OpenAPI document is what the route code generates, and it is valid OpenAPI 3."""

from openapi_spec_validator import validate

from atelier.api import openapi
from scripts.openapi import build_document
from tests.support.template import declared_routes


def test_the_committed_document_matches_the_route_code():
    assert openapi.DOCUMENT_PATH.read_text(encoding="utf-8") == openapi.render(build_document()), (
        "shared/atelier/api/openapi.json is stale: run `make openapi`"
    )


def test_the_document_is_valid_openapi_3():
    validate(openapi.load_document())


def test_every_documented_operation_is_a_declared_route():
    document = openapi.load_document()
    documented = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    declared = {(route.method, route.path) for route in declared_routes()}
    assert documented <= declared


def test_every_operation_documents_the_error_shape():
    for path, operations in openapi.load_document()["paths"].items():
        for method, operation in operations.items():
            default = operation["responses"]["default"]["content"]["application/json"]["schema"]
            assert default == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)
