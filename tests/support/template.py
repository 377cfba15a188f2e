"""The template, read the way CloudFormation reads it, and the route tables on both sides of it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"


@dataclass(frozen=True, order=True)
class Route:
    method: str
    path: str
    function_dir: str


@lru_cache(maxsize=1)
def template() -> dict[str, Any]:
    decoded, problems = decode(str(TEMPLATE_PATH))
    assert not problems, problems
    return decoded


def resources(resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template()["Resources"].items() if body["Type"] == resource_type}


def functions() -> dict[str, dict[str, Any]]:
    return resources("AWS::Serverless::Function")


def function_dir(function: dict[str, Any]) -> str:
    return Path(function["Properties"]["CodeUri"]).name


def declared_routes() -> set[Route]:
    """Every (method, path) the template's Api events declare, with the function that serves it."""
    routes = set()
    for function in functions().values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                properties = event["Properties"]
                routes.add(Route(properties["Method"].upper(), properties["Path"], function_dir(function)))
    return routes


# Functions only servers call (payment and inference providers' webhooks): no preflight reaches them.
_NO_BROWSER_CALLERS = frozenset({"webhooks"})


def served_routes() -> set[Route]:
    """Every (method, path) a function's resolver serves, whether or not it is in the OpenAPI document."""
    routes = set()
    for handler in sorted((ROOT / "functions").glob("*/handler.py")):
        module = importlib.import_module(f"functions.{handler.parent.name}.handler")
        app = getattr(module, "app", None)
        if app is None:
            continue
        for route in app._static_routes + app._dynamic_routes:
            routes.add(Route(route.method.upper(), route.openapi_path, handler.parent.name))
            if handler.parent.name not in _NO_BROWSER_CALLERS and route.openapi_path.startswith("/v1/"):
                # `serve` answers a CORS preflight on every path of a function a browser may call.
                routes.add(Route("OPTIONS", route.openapi_path, handler.parent.name))
    return routes
