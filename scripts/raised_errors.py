"""Which domain errors a route's handler can raise, read from the code (for the error codes of
the OpenAPI document: `python -m scripts.openapi`).

Follows the handler's calls through the functions of the project (resolved in each function's own
module namespace) and through calls on a repository or integration held in a name that matches a
module of `atelier.data` or `atelier.integrations` (`exports.start(...)` -> `atelier.data.exports`),
collecting every `raise SomeError(...)` met on the way, less those a surrounding `try` catches.
An approximation from below: a call it cannot resolve (a provider chosen at run time, say) is not
followed, so a route declares what it raises there itself (`errors=` on its decorator).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

from atelier import errors

_PACKAGES = ("atelier.", "functions.")
# Calls into these never raise a domain error a client sees (logging, metrics, the clock).
_SKIPPED_MODULES = ("atelier.observability",)


def _is_project(obj: Any) -> bool:
    module = getattr(obj, "__module__", "") or ""
    return module.startswith(_PACKAGES) and not module.startswith(_SKIPPED_MODULES)


@cache
def _collaborator_modules() -> dict[str, ModuleType]:
    """Modules of repositories and integrations, by the name a use case gives their instance."""
    found: dict[str, ModuleType] = {}
    for package_name in ("atelier.data", "atelier.integrations"):
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__):
            found.setdefault(info.name, importlib.import_module(f"{package_name}.{info.name}"))
    return found


def _methods_named(module: ModuleType, name: str) -> list[Callable[..., Any]]:
    methods: list[Callable[..., Any]] = []
    for value in vars(module).values():
        if inspect.isclass(value) and value.__module__ == module.__name__:
            method = vars(value).get(name)
            if inspect.isfunction(method):
                methods.append(method)
    return methods


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """The object a dotted name (`errors.NotFoundError`, `submit_job`) names in `namespace`."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    value = namespace.get(node.id, getattr(__builtins__, node.id, None) if not isinstance(__builtins__, dict) else None)
    for part in reversed(parts):
        value = getattr(value, part, None)
    return value


def _receiver_name(node: ast.expr) -> str | None:
    """`services.exports` -> exports; `self.webhooks` -> webhooks; `exports` -> exports."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return _receiver_name(node.func)
    return None


def raised_by(function: Callable[..., Any], _seen: set[Any] | None = None) -> set[type[errors.AtelierError]]:
    seen = _seen if _seen is not None else set()
    function = inspect.unwrap(function)
    if function in seen or not _is_project(function):
        return set()
    seen.add(function)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return set()
    return _Walk(getattr(function, "__globals__", {}), seen).statements(tree.body, ())


class _Walk:
    def __init__(self, namespace: dict[str, Any], seen: set[Any]) -> None:
        self.namespace = namespace
        self.seen = seen

    def statements(self, body: list[ast.stmt], caught: tuple[type, ...]) -> set[type[errors.AtelierError]]:
        found: set[type[errors.AtelierError]] = set()
        for statement in body:
            found |= self.node(statement, caught)
        return found

    def node(self, node: ast.AST, caught: tuple[type, ...]) -> set[type[errors.AtelierError]]:
        if isinstance(node, ast.Try | ast.TryStar):
            handled = tuple(kind for handler in node.handlers for kind in self._caught_by(handler))
            found = self.statements(node.body, caught + handled)
            for part in (*node.handlers, *node.orelse, *node.finalbody):
                found |= self.node(part, caught)
            return found
        found = set()
        # An error built and returned is one the caller raises (a domain rule naming the refusal).
        error = node.exc if isinstance(node, ast.Raise) else node.value if isinstance(node, ast.Return) else None
        if error is not None:
            target = error.func if isinstance(error, ast.Call) else error
            raised = _resolve(target, self.namespace)
            if inspect.isclass(raised) and issubclass(raised, errors.AtelierError):
                found.add(raised)
        elif isinstance(node, ast.Call):
            found |= self._called(node)
        for child in ast.iter_child_nodes(node):
            found |= self.node(child, caught)
        return {error for error in found if not issubclass(error, caught)} if caught else found

    def _caught_by(self, handler: ast.ExceptHandler) -> list[type]:
        if handler.type is None:
            return [BaseException]
        names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        kinds = [_resolve(name, self.namespace) for name in names]
        return [kind for kind in kinds if inspect.isclass(kind)]

    def _called(self, node: ast.Call) -> set[type[errors.AtelierError]]:
        callee = _resolve(node.func, self.namespace)
        if inspect.isfunction(callee):
            return raised_by(callee, self.seen)
        if inspect.isclass(callee) and _is_project(callee) and not issubclass(callee, BaseException):
            init = vars(callee).get("__init__")
            return raised_by(init, self.seen) if inspect.isfunction(init) else set()
        if callee is None and isinstance(node.func, ast.Attribute):
            module = _collaborator_modules().get(_receiver_name(node.func.value) or "")
            found: set[type[errors.AtelierError]] = set()
            for method in _methods_named(module, node.func.attr) if module else []:
                found |= raised_by(method, self.seen)
            return found
        return set()
