"""Builds the merged OpenAPI document from every function's routes.

python -m scripts.openapi          # write shared/atelier/api/openapi.json
python -m scripts.openapi --check  # exit 1 when the file and the route code disagree
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

from atelier import __version__
from atelier.api import openapi
from atelier.api.resolver import AtelierResolver
from scripts.raised_errors import raised_by

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"


def function_resolvers() -> dict[str, APIGatewayRestResolver]:
    """Every function's resolver, by function directory name."""
    resolvers = {}
    for handler in sorted(FUNCTIONS_DIR.glob("*/handler.py")):
        module = importlib.import_module(f"functions.{handler.parent.name}.handler")
        app = getattr(module, "app", None)
        if isinstance(app, APIGatewayRestResolver):
            resolvers[handler.parent.name] = app
    return resolvers


def openapi_path(rule: str) -> str:
    return rule.replace("<", "{").replace(">", "}")


def route_facts(resolvers: dict[str, APIGatewayRestResolver]) -> dict[tuple[str, str], openapi.RouteFacts]:
    """Each route's access and the domain errors it can raise (found in its code, and those it
    declares with `errors=`), by method and OpenAPI path."""
    facts = {}
    for app in resolvers.values():
        if not isinstance(app, AtelierResolver):
            continue
        for route in [*app._static_routes, *app._dynamic_routes]:
            key = (route.method.upper(), route.path)
            if key not in app.route_access:
                continue
            found = raised_by(route.func) | set(app.route_errors.get(key, ()))
            raises = tuple(sorted(found, key=lambda error: (error.code, error.__name__)))
            facts[(key[0], openapi_path(route.path))] = openapi.RouteFacts(access=app.route_access[key], raises=raises)
    return facts


def build_document() -> dict[str, Any]:
    resolvers = function_resolvers()
    documents = [
        app.get_openapi_schema(
            title=openapi.API_TITLE, version=__version__, security_schemes=openapi.SECURITY_SCHEMES
        ).model_dump(mode="json", by_alias=True, exclude_none=True)
        for app in resolvers.values()
    ]
    return openapi.merge_documents(documents, version=__version__, routes=route_facts(resolvers))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the committed document is stale")
    arguments = parser.parse_args()
    rendered = openapi.render(build_document())
    if arguments.check:
        current = openapi.DOCUMENT_PATH.read_text(encoding="utf-8") if openapi.DOCUMENT_PATH.exists() else ""
        if current != rendered:
            print("openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    openapi.DOCUMENT_PATH.write_text(rendered, encoding="utf-8")
    print(f"wrote {openapi.DOCUMENT_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
