"""The Python client (clients/python) for tests, in this process, beside the domain package.

The client's import name is `atelier`, which in this repository is also the domain package on
`shared/`; both are needed at once (the local runtime runs in the test process), so the client is
loaded from its sources under another name, `atelier_sdk`. Its modules import each other relatively,
so nothing in it depends on the name it is loaded under. Subprocesses (the `atelier` command, the
example script) see it as `atelier`, as users do. (No tests here.)"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "python"
SOURCE = CLIENT / "src"
ALIAS = "atelier_sdk"


def load() -> ModuleType:
    if ALIAS in sys.modules:
        return sys.modules[ALIAS]
    package = SOURCE / "atelier"
    spec = importlib.util.spec_from_file_location(
        ALIAS, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[ALIAS] = module
    spec.loader.exec_module(module)
    return module


def client_environment(**variables: str) -> dict[str, str]:
    """The environment of a process that uses the client as `atelier`: without the repository's own
    `shared/` on the path, where `atelier` is the domain package."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith("ATELIER_")}
    environment["PYTHONPATH"] = str(SOURCE)
    environment["PYTHONUNBUFFERED"] = "1"
    return environment | variables
