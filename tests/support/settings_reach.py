"""Which settings each function's code can read, found from the source with ``ast`` (no function
module is imported; ``atelier.settings`` is, to list its fields).

A function's code is what its ``handler.py`` reaches. The analysis is conservative: it may say a
function reads a setting it never does (harmless: the template then sets one variable too many),
never the reverse (a function without, say, ``MAIN_TABLE_NAME`` would quietly use the default).

What is reached:

- the handler module whole: its module-level code and every function, class and assignment in it;
- importing a module (at module level or in a reached function) reaches its module-level code, and
  its packages' ``__init__``: what runs on import. Its functions, classes and assignments are reached
  only once reached code names them (``f``, ``module.f``, or a name imported from it);
- module-level code that only *refers* to a function without calling it (``BUILDERS = {"a": _a}``,
  a default argument, an annotation) reaches it only once the name holding it is reached; calls,
  and anything passed to a call, are reached at once;
- a decorated function is reached with its module (a decorator may register it: routes, hooks),
  unless the decorator only wraps (``lru_cache``, ``contextmanager``, ``property``, ...);
- a reached class reaches its whole body: every method (frameworks call them by name);
- except the classes in ``MEMBERS_BY_NAME`` (``Services``) and those of the settings module
  (``Settings`` and its concerns): one of their methods or
  properties is reached only when reached code reads an attribute of that name anywhere
  (``.asset_storage``), or when it is a dunder or registered by a decorator (a validator), so
  that reaching ``Services`` does not reach every collaborator it can build.

What is read: every attribute name (``settings.assets_bucket_name``, ``settings.billing.x``) and
every string constant (``getattr(settings, "openai_api_key")``) in reached code that equals the
name of a setting. Keying on names, not on the path to them, makes the result the same whether
the settings are one model or several nested ones.

Not counted: the settings module's own strings (it names settings to declare and validate them),
code under ``if TYPE_CHECKING:`` (it never runs), and the functions in ``OPAQUE``, each with why
leaving it out loses nothing a request uses.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pydantic import BaseModel

REPOSITORY = Path(__file__).resolve().parents[2]
# (source root, top-level package): the shared code is deployed (as a layer) as ``atelier``.
PACKAGES = ((REPOSITORY / "shared", "atelier"), (REPOSITORY, "functions"))
SETTINGS_MODULE = "atelier.settings"


def _under(module_name: str, package: str) -> bool:
    return module_name == package or module_name.startswith(f"{package}.")


def _declares_settings(module_name: str) -> bool:
    """The settings module, or a module of it should it become a package."""
    return _under(module_name, SETTINGS_MODULE)


# Classes whose methods are reached by name only (module, class); every class of the settings
# module is too (`Settings` and its concerns: their defaults name every concern's class).
MEMBERS_BY_NAME = frozenset({("atelier.services", "Services"), ("atelier.settings", "Settings")})

# Functions whose body is not walked, each with why that loses nothing a request uses.
OPAQUE: dict[tuple[str, str], str] = {
    ("atelier.snapstart", "_build_services"): (
        "before the snapshot it builds every collaborator Services offers (walking the class, not "
        "by name), the mailer and every table model's connection, reading their settings then, and "
        "imports the provider registries without building a provider; what it builds for a "
        "collaborator no request code names is never used, and one that is named is found through "
        "the code that names it"
    ),
}

# Decorators that wrap the function they decorate without handing it to anyone else.
_WRAPPING_DECORATORS = frozenset(
    {"lru_cache", "cache", "cached_property", "property", "staticmethod", "classmethod", "contextmanager", "wraps"}
)


# -- the settings' names ---------------------------------------------------------------------


def leaf_fields(model: type[BaseModel], home: str = SETTINGS_MODULE) -> Iterator[str]:
    """The names of a model's settings: a field holding a model defined in `home` (or a module under
    it) is a group of settings, walked into (a model held in a mapping, an OIDC provider say, is one
    setting's value)."""
    for name, info in model.model_fields.items():
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel) and _under(nested.__module__, home):
            yield from leaf_fields(nested, home)
        else:
            yield name


@cache
def setting_names() -> frozenset[str]:
    """Every setting's name (its environment variable in lower case), groups of settings walked into."""
    from atelier.settings import Settings

    return frozenset(leaf_fields(Settings))


# -- the modules -----------------------------------------------------------------------------


# A name an import binds -> (module, name in it), or (module, None) when it binds the module itself.
Bindings = dict[str, tuple[str, str | None]]


@dataclass
class Module:
    name: str
    tree: ast.Module
    is_package: bool
    # Top-level functions and classes, and the names module-level assignments bind (with their statement).
    definitions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef] = field(default_factory=dict)
    assignments: dict[str, list[ast.stmt]] = field(default_factory=dict)
    # Every name an import anywhere in the file binds -> (module, name in it or None for the module).
    imports: Bindings = field(default_factory=dict)
    star_imports: list[str] = field(default_factory=list)


def module_paths(packages: Iterable[tuple[Path, str]] = PACKAGES) -> dict[str, Path]:
    """Every module of the packages, by dotted name."""
    found: dict[str, Path] = {}
    for source_root, package in packages:
        for path in sorted((source_root / package).rglob("*.py")):
            parts = list(path.relative_to(source_root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _runtime_walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` without what sits under ``if TYPE_CHECKING:`` (it never runs)."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        if _is_type_checking(current):
            assert isinstance(current, ast.If)
            pending.extend(current.orelse)
            continue
        pending.extend(ast.iter_child_nodes(current))


def _outside_functions(node: ast.AST) -> Iterator[ast.AST]:
    """What `_runtime_walk` yields, without looking into function bodies."""
    pending = list(ast.iter_child_nodes(node))
    while pending:
        current = pending.pop()
        yield current
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if _is_type_checking(current):
            assert isinstance(current, ast.If)
            pending.extend(current.orelse)
            continue
        pending.extend(ast.iter_child_nodes(current))


def _assigned_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _assigned_names(element)
    elif isinstance(target, ast.Starred):
        yield from _assigned_names(target.value)


def _top_level(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Module-level statements, looking into ``if``/``try``/``with`` blocks (not TYPE_CHECKING's)."""
    for statement in statements:
        if _is_type_checking(statement):
            assert isinstance(statement, ast.If)
            yield from _top_level(statement.orelse)
        elif isinstance(statement, ast.If):
            yield from _top_level(statement.body + statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from _top_level(statement.body + statement.orelse + statement.finalbody)
            for handler in statement.handlers:
                yield from _top_level(handler.body)
        elif isinstance(statement, ast.With):
            yield from _top_level(statement.body)
        else:
            yield statement


class Program:
    """The repository's modules, parsed once."""

    def __init__(self, paths: dict[str, Path]) -> None:
        self.paths = paths
        self._modules: dict[str, Module] = {}

    def module(self, name: str) -> Module:
        if name not in self._modules:
            path = self.paths[name]
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            module = Module(name, tree, path.name == "__init__.py")
            for statement in _top_level(tree.body):
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    module.definitions[statement.name] = statement
                elif isinstance(statement, ast.Assign):
                    for target in statement.targets:
                        for bound in _assigned_names(target):
                            module.assignments.setdefault(bound, []).append(statement)
                elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and isinstance(statement.target, ast.Name):
                    module.assignments.setdefault(statement.target.id, []).append(statement)
            # Module-level imports (and class bodies'); a function's own are bound when it is walked.
            module.imports, module.star_imports = self.bindings(module, _outside_functions(tree))
            self._modules[name] = module
        return self._modules[name]

    def bindings(self, module: Module, nodes: Iterable[ast.AST]) -> tuple[Bindings, list[str]]:
        """The names the imports among `nodes` bind, and the modules they import everything from."""
        bound: Bindings = {}
        stars: list[str] = []
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        bound[alias.asname] = (alias.name, None)
                    else:
                        top = alias.name.partition(".")[0]
                        bound[top] = (top, None)
            elif isinstance(node, ast.ImportFrom):
                base = self.absolute(module, node)
                for alias in node.names:
                    if alias.name == "*":
                        stars.append(base)
                    elif f"{base}.{alias.name}" in self.paths:
                        bound[alias.asname or alias.name] = (f"{base}.{alias.name}", None)
                    else:
                        bound[alias.asname or alias.name] = (base, alias.name)
        return bound, stars

    @staticmethod
    def absolute(module: Module, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        return ".".join([*anchor, node.module] if node.module else anchor)


# -- reachability ----------------------------------------------------------------------------

# A unit of code: ("module", m) its import-time code; ("def", m, name) a top-level function, class
# or assigned name; ("member", m, class, name) one method of a class of MEMBERS_BY_NAME.
Unit = tuple[str, ...]


@dataclass
class Reach:
    units: set[Unit] = field(default_factory=set)
    attributes: set[str] = field(default_factory=set)
    settings: set[str] = field(default_factory=set)
    # How each unit was reached (the unit whose code reached it), and where each setting was read.
    reached_from: dict[Unit, Unit | None] = field(default_factory=dict)
    read_in: dict[str, Unit] = field(default_factory=dict)

    def path_to(self, setting: str) -> list[Unit]:
        """The chain of units from the handler to the one that reads `setting` (for explaining a result)."""
        chain: list[Unit] = []
        unit: Unit | None = self.read_in.get(setting)
        while unit is not None and unit not in chain:
            chain.append(unit)
            unit = self.reached_from.get(unit)
        return chain[::-1]


def _dotted_name(expression: ast.expr) -> bool:
    """``a.b.c``: names only, nothing called on the way."""
    while isinstance(expression, ast.Attribute):
        expression = expression.value
    return isinstance(expression, ast.Name)


def _is_dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def _decorator_name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) else ""


def _registers(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    """Whether a decorator may hand the function (or class) to someone who calls it later."""
    return any(_decorator_name(d) not in _WRAPPING_DECORATORS | {"dataclass"} for d in node.decorator_list)


class Analysis:
    def __init__(self, program: Program, fields: frozenset[str]) -> None:
        self.program = program
        self.fields = fields
        self.reach = Reach()
        self._pending: list[Unit] = []
        # Members of MEMBERS_BY_NAME classes already reached, waiting for an attribute of their name.
        self._by_name: dict[str, list[Unit]] = {}
        self._current: Unit | None = None

    # -- entry points ----------------------------------------------------------------------------
    def reach_whole_module(self, name: str) -> None:
        module = self.program.module(name)
        self._reach_module(name)
        for defined in [*module.definitions, *module.assignments]:
            self._add(("def", name, defined))

    def run(self) -> Reach:
        while self._pending:
            unit = self._pending.pop()
            self._current = unit
            self._walk_unit(unit)
        return self.reach

    # -- bookkeeping -----------------------------------------------------------------------------
    def _add(self, unit: Unit) -> None:
        if unit not in self.reach.units:
            self.reach.units.add(unit)
            self.reach.reached_from[unit] = self._current
            self._pending.append(unit)

    def _reach_module(self, name: str) -> None:
        parts = name.split(".")
        for length in range(1, len(parts) + 1):
            prefix = ".".join(parts[:length])
            if prefix in self.program.paths:
                self._add(("module", prefix))

    def _reach_symbol(self, module_name: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()) -> None:
        """`name` as module `module_name` defines, imports (re-exports) or holds as a submodule."""
        if module_name not in self.program.paths or (module_name, name) in seen:
            return
        seen = seen | {(module_name, name)}
        self._reach_module(module_name)
        module = self.program.module(module_name)
        if name in module.definitions or name in module.assignments:
            self._add(("def", module_name, name))
        if name in module.imports:
            target, symbol = module.imports[name]
            if symbol is None:
                self._reach_module(target)
            else:
                self._reach_symbol(target, symbol, seen)
        if f"{module_name}.{name}" in self.program.paths:
            self._reach_module(f"{module_name}.{name}")
        for source in module.star_imports:
            self._reach_symbol(source, name, seen)

    def _note_attribute(self, name: str) -> None:
        if name not in self.reach.attributes:
            self.reach.attributes.add(name)
            for member in self._by_name.pop(name, []):
                self._add(member)

    def _note_text(self, value: str) -> None:
        if value in self.fields:
            self.reach.settings.add(value)
            if self._current is not None:
                self.reach.read_in.setdefault(value, self._current)

    # -- walking ---------------------------------------------------------------------------------
    def _walk_unit(self, unit: Unit) -> None:
        kind, module_name = unit[0], unit[1]
        module = self.program.module(module_name)
        collect = True
        if kind == "module":
            # The settings module's own import-time code declares the settings (and names them in
            # validators' decorators): declaring is not reading.
            collect = not _declares_settings(module_name)
            for statement in module.tree.body:
                self._import_time(module, statement, collect)
        elif kind == "def":
            name = unit[2]
            if (module_name, name) in OPAQUE:
                return
            definition = module.definitions.get(name)
            if isinstance(definition, ast.ClassDef):
                self._walk_class(module, definition)
            elif definition is not None:
                self._walk(module, definition, collect)
            for statement in module.assignments.get(name, []):
                self._walk(module, statement, collect)
        elif kind == "member":
            definition = module.definitions[unit[2]]
            assert isinstance(definition, ast.ClassDef)
            for statement in definition.body:
                if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == unit[3]:
                    self._walk(module, statement, collect)

    def _walk_class(self, module: Module, definition: ast.ClassDef) -> None:
        if (module.name, definition.name) not in MEMBERS_BY_NAME and not _declares_settings(module.name):
            self._walk(module, definition, True)
            return
        for statement in definition.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                member: Unit = ("member", module.name, definition.name, statement.name)
                if _is_dunder(statement.name) or _registers(statement) or statement.name in self.reach.attributes:
                    self._add(member)
                else:
                    self._by_name.setdefault(statement.name, []).append(member)
            else:
                self._walk(module, statement, not _declares_settings(module.name))
        for expression in [*definition.bases, *definition.keywords, *definition.decorator_list]:
            self._walk(module, expression, True)

    def _import_time(self, module: Module, statement: ast.stmt, collect: bool) -> None:
        """What runs when the module (or a class body in it) is executed."""
        if _is_type_checking(statement):
            assert isinstance(statement, ast.If)
            for other in statement.orelse:
                self._import_time(module, other, collect)
        elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self._definition_at_import(module, statement, collect)
        elif isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in statement.targets if isinstance(statement, ast.Assign) else [statement.target]:
                self._walk(module, target, collect)
            if statement.value is not None:
                self._refer(module, statement.value, collect)
        elif isinstance(statement, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for child in ast.iter_child_nodes(statement):
                if isinstance(child, ast.stmt):
                    self._import_time(module, child, collect)
                elif isinstance(child, ast.ExceptHandler):
                    for inner in child.body:
                        self._import_time(module, inner, collect)
                else:
                    self._walk(module, child, collect)
        else:
            self._walk(module, statement, collect)

    def _definition_at_import(
        self, module: Module, statement: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, collect: bool
    ) -> None:
        """A def runs its decorators and evaluates its defaults; a class also runs its body."""
        for decorator in statement.decorator_list:
            self._walk(module, decorator, collect)
        if isinstance(statement, ast.ClassDef):
            for expression in [*statement.bases, *statement.keywords]:
                self._walk(module, expression, collect)
            for inner in statement.body:
                self._import_time(module, inner, collect)
        else:
            for default in [*statement.args.defaults, *statement.args.kw_defaults]:
                if default is not None:
                    self._refer(module, default, collect)
        if statement.name in module.definitions and _registers(statement):
            self._add(("def", module.name, statement.name))

    def _refer(self, module: Module, expression: ast.expr, collect: bool) -> None:
        """An expression evaluated at import whose bare names are stored, not called: a name in a
        literal reaches its function only once the name holding the literal is reached."""
        if isinstance(expression, (ast.Dict, ast.List, ast.Tuple, ast.Set)):
            children = [*expression.keys, *expression.values] if isinstance(expression, ast.Dict) else expression.elts
            for child in children:
                if child is not None:
                    self._refer(module, child, collect)
        elif isinstance(expression, (ast.Name, ast.Lambda, ast.Constant)) or _dotted_name(expression):
            self._walk(module, expression, collect, follow_names=False)
        else:
            self._walk(module, expression, collect)

    def _walk(
        self,
        module: Module,
        root: ast.AST,
        collect: bool,
        *,
        follow_names: bool = True,
        scope: Bindings | None = None,
    ) -> None:
        """Every node under `root`; a function's names resolve through its own imports first."""
        scope = dict(scope or {})
        if isinstance(root, (ast.FunctionDef, ast.AsyncFunctionDef)):
            own, stars = self.program.bindings(module, _outside_functions(root))
            scope.update(own)
            for source in stars:
                for name in self._all_names(source):
                    scope.setdefault(name, (source, name))
        pending: list[ast.AST] = [root]
        while pending:
            node = pending.pop()
            if node is not root and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._walk(module, node, collect, follow_names=follow_names, scope=scope)
                continue
            if _is_type_checking(node):
                assert isinstance(node, ast.If)
                pending.extend(node.orelse)
                continue
            pending.extend(ast.iter_child_nodes(node))
            self._visit(module, node, collect, follow_names, scope)

    def _visit(self, module: Module, node: ast.AST, collect: bool, follow_names: bool, scope: Bindings) -> None:
        if isinstance(node, ast.Attribute):
            self._note_attribute(node.attr)
            if collect:
                self._note_text(node.attr)
            if follow_names:
                self._module_attribute(module, node, scope)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and collect:
            # The settings module names settings in strings to declare, validate and route them.
            if not _declares_settings(module.name):
                self._note_text(node.value)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and follow_names:
            self._name(module, node.id, scope)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            self._import(module, node)

    def _import(self, module: Module, node: ast.Import | ast.ImportFrom) -> None:
        """Importing runs the module's import-time code; `*` takes everything it holds."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                self._reach_module(alias.name)
            return
        base = self.program.absolute(module, node)
        self._reach_module(base)
        for alias in node.names:
            if alias.name == "*":
                for name in self._all_names(base):
                    self._reach_symbol(base, name)
            elif f"{base}.{alias.name}" in self.program.paths:
                self._reach_module(f"{base}.{alias.name}")

    def _all_names(self, module_name: str) -> list[str]:
        if module_name not in self.program.paths:
            return []
        module = self.program.module(module_name)
        return [*module.definitions, *module.assignments, *module.imports]

    def _name(self, module: Module, name: str, scope: Bindings) -> None:
        """A name resolves to what the function's own imports bind, else to the module's definitions,
        else to what the module's imports bind, else to what it imports everything from."""
        bound = scope.get(name)
        if bound is None and (name in module.definitions or name in module.assignments):
            self._add(("def", module.name, name))
            return
        bound = bound or module.imports.get(name)
        if bound is not None:
            target, symbol = bound
            if symbol is None:
                self._reach_module(target)
            else:
                self._reach_symbol(target, symbol)
        else:
            for source in module.star_imports:
                self._reach_symbol(source, name)

    def _module_attribute(self, module: Module, node: ast.Attribute, scope: Bindings) -> None:
        """``module.f`` and ``package.module.f`` where the root name is an imported module."""
        chain: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            chain.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            return
        bound = scope.get(current.id) or module.imports.get(current.id)
        if bound is None:
            return
        target, symbol = bound
        if symbol is not None:
            return
        dotted = target
        for attribute in reversed(chain):
            if f"{dotted}.{attribute}" in self.program.paths:
                dotted = f"{dotted}.{attribute}"
                self._reach_module(dotted)
                continue
            self._reach_symbol(dotted, attribute)
            return


def function_reach(function: str, *, program: Program | None = None, fields: frozenset[str] | None = None) -> Reach:
    """What ``functions/<function>/handler.py`` reaches."""
    program = program or _program()
    analysis = Analysis(program, fields if fields is not None else setting_names())
    analysis.reach_whole_module(f"functions.{function}.handler")
    return analysis.run()


@cache
def _program() -> Program:
    return Program(module_paths())


@cache
def settings_read(function: str) -> frozenset[str]:
    """The names of the settings ``functions/<function>`` reads."""
    return frozenset(function_reach(function).settings)


def function_names() -> list[str]:
    return sorted(path.parent.name for path in (REPOSITORY / "functions").glob("*/handler.py"))


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3:  # python -m tests.support.settings_reach <function> <setting>: why
        for step in function_reach(sys.argv[1]).path_to(sys.argv[2]):
            print(" ".join(step))
    else:
        for name in function_names():
            read = sorted(settings_read(name))
            print(f"{name} ({len(read)}): {' '.join(read)}")
