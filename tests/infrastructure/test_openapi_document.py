"""The committed OpenAPI document is what the route code generates, and it is valid OpenAPI 3."""

import pytest
from openapi_spec_validator import validate

from atelier.api import openapi
from atelier.api.resolver import AtelierResolver, make_resolver
from atelier.models.accounts import Scope
from scripts.openapi import build_document, function_resolvers
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


def test_every_route_declares_who_may_call_it_and_the_document_says_the_same():
    # Given every function's resolver and the committed document
    document = openapi.load_document()
    compared = 0
    for name, app in function_resolvers().items():
        registered = {(route.method, route.path) for route in [*app._static_routes, *app._dynamic_routes]}
        # Then every registered route was declared with its access (the resolver refuses one without)
        assert isinstance(app, AtelierResolver), name
        assert set(app.route_access) == registered, name
        for (method, rule), access in app.route_access.items():
            operation = document["paths"].get(rule.replace("<", "{").replace(">", "}"), {}).get(method.lower())
            if operation is None:
                continue  # served but left out of the document (the document and its viewer)
            # And the document states exactly that access as the operation's security
            assert operation["security"] == access.security(), (method, rule)
            compared += 1
    assert compared == sum(len(operations) for operations in document["paths"].values())


def test_a_route_without_a_declared_access_is_refused_at_registration():
    app = make_resolver()
    with pytest.raises(TypeError, match="declares no access"):
        app.get("/v1/undeclared")


def test_the_document_names_a_cookie_scheme_and_a_bearer_scheme_with_scopes():
    document = openapi.load_document()
    session = document["components"]["securitySchemes"]["session"]
    assert {key: session[key] for key in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "cookie",
        "name": "__Host-session",
    }
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    operations = {(m.upper(), p): o for p, ops in document["paths"].items() for m, o in ops.items()}
    assert operations[("GET", "/v1/health")]["security"] == [{}]
    assert operations[("POST", "/v1/me/api-keys")]["security"] == [{"session": []}]
    assert operations[("POST", "/v1/jobs")]["security"] == [{"session": []}, {"apiKey": ["generate"]}]
    # Webhook endpoints and exports: a session, or a key made with their opt-in scope
    assert operations[("GET", "/v1/webhook-endpoints/default/secret")]["security"] == [
        {"session": []},
        {"apiKey": ["webhooks:read"]},
    ]
    assert operations[("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret")]["security"] == [
        {"session": []},
        {"apiKey": ["webhooks:write"]},
    ]
    assert operations[("POST", "/v1/me/exports")]["security"] == [{"session": []}, {"apiKey": ["account:export"]}]
    # The bearer scheme and the key request name every scope a key may be made with
    scope_words = (
        document["components"]["securitySchemes"]["apiKey"]["description"],
        document["components"]["schemas"]["CreateApiKeyRequest"]["properties"]["scopes"]["description"],
    )
    for scope in Scope:
        assert all(f"`{scope.value}`" in words for words in scope_words), scope
