"""Each function's environment in the template lists what its code reads, and only that.

What a function reads is found from its source (tests/support/settings_reach.py): every setting
whose name its reachable code uses. A variable the template gives a function must be one of those
settings (or one of the few libraries read themselves, below); and a setting the function reads
must be in its environment whenever the template sets that variable for any function, so moving a
variable away from a function that needs it fails here rather than leaving it on the default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tests.support.settings_reach import (
    Program,
    function_names,
    function_reach,
    leaf_fields,
    module_paths,
    setting_names,
    settings_read,
)
from tests.support.template import ROOT, function_dir, functions, template

# Variables that are not settings of the application's own, each with who reads it.
LIBRARY_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME": "Powertools' logger, tracer and metrics name the service with it",
    "POWERTOOLS_METRICS_NAMESPACE": "Powertools' metrics publish under it",
    "POWERTOOLS_LOG_LEVEL": "Powertools' logger",
    "LOG_LEVEL": "Powertools' logger (its older name for POWERTOOLS_LOG_LEVEL); also the `log_level` setting",
}


def _variables(properties: dict[str, Any]) -> dict[str, Any]:
    return dict((properties.get("Environment") or {}).get("Variables") or {})


def global_variables() -> set[str]:
    return set(_variables(template()["Globals"]["Function"]))


def environments() -> dict[str, set[str]]:
    """Each function (by code directory): the variables it runs with, the Globals' and its own."""
    return {
        function_dir(body): global_variables() | set(_variables(body["Properties"])) for body in functions().values()
    }


def test_every_function_of_the_template_is_analysed():
    assert sorted(environments()) == function_names()


@pytest.mark.parametrize("function", function_names())
def test_a_function_is_given_only_the_settings_it_reads(function):
    # Given what the function's code reads
    read = settings_read(function)
    # When its environment is compared with it
    unread = sorted(
        name
        for name in environments()[function]
        if name not in LIBRARY_VARIABLES and (name.lower() not in setting_names() or name.lower() not in read)
    )
    # Then every variable is a setting it reads, or one a library reads
    assert unread == [], f"{function} is given variables its code never reads: move them to the functions that do"


@pytest.mark.parametrize("function", function_names())
def test_a_function_is_given_every_setting_it_reads_that_the_template_sets(function):
    # Given every variable the template sets for some function
    set_somewhere = set().union(*environments().values())
    # When the settings this function reads are looked up
    missing = sorted(
        name.upper()
        for name in settings_read(function)
        if name.upper() in set_somewhere and name.upper() not in environments()[function]
    )
    # Then each one the template sets anywhere is set for it too
    assert missing == [], f"{function} reads settings the template does not give it (it would use their defaults)"


def test_the_globals_hold_only_what_every_function_reads():
    every = set.intersection(*(set(settings_read(name)) for name in function_names()))
    settings_in_globals = {name for name in global_variables() if name not in LIBRARY_VARIABLES}
    assert {name.lower() for name in settings_in_globals} <= every


@pytest.mark.parametrize(
    ("function", "setting", "reads"),
    [
        ("worker", "generation_queue_url", True),
        ("worker", "models", True),
        ("worker", "openai_api_key_parameter", True),
        ("worker", "c2pa_signing_key_parameter", True),
        ("worker", "stripe_secret_key_parameter", False),
        ("billing", "stripe_webhook_secret_parameter", True),
        ("billing", "catalog", True),
        ("webhooks", "replicate_webhook_secret_parameter", True),
        ("scheduled", "stage", True),
        ("exporter", "exports_bucket_name", True),
        ("meta", "stripe_secret_key_parameter", False),
        ("meta", "openai_api_key_parameter", False),
        ("meta", "main_table_name", True),
        ("email_events", "c2pa_signing_key_parameter", False),
    ],
    ids=lambda value: str(value),
)
def test_the_analysis_finds_what_the_code_plainly_reads(function, setting, reads):
    assert (setting in settings_read(function)) is reads, function_reach(function).path_to(setting)


def test_settings_are_every_field_groups_of_settings_walked_into():
    class Group(BaseModel):
        secret_key: str = ""

    class Value(BaseModel):
        issuer: str = ""

    class Whole(BaseModel):
        stage: str = "dev"
        billing: Group = Group()
        providers: dict[str, Value] = {}

    assert sorted(leaf_fields(Whole, home=__name__)) == ["providers", "secret_key", "stage"]
    assert {"main_table_name", "stripe_secret_key_parameter", "oidc_providers"} <= setting_names()


_SYNTHETIC = {
    "atelier/__init__.py": "",
    "atelier/settings.py": """
        class Settings:
            @property
            def derived(self):
                return self.from_property

            @field_validator("validated")
            def _check(cls, value):
                return value
        """,
    "atelier/services.py": """
        from functools import cached_property
        from typing import TYPE_CHECKING

        from atelier.settings import Settings

        if TYPE_CHECKING:
            from atelier.typing_only import Anything

        class Services:
            def __init__(self):
                self.settings = Settings()

            @cached_property
            def store(self):
                from atelier.registry import build

                return build(self.settings, self.settings.bucket)

            @cached_property
            def queue(self):
                return self.settings.queue_url

            def provider(self, name):
                from atelier import registry

                return registry.BUILDERS[name](self.settings)
        """,
    "atelier/typing_only.py": "ANYTHING = 'typing_only'",
    "atelier/registry.py": """
        def build(settings, bucket):
            return getattr(settings, "by_string")

        def _first(settings):
            return settings.first_key

        def _second(settings):
            return settings.second_key

        BUILDERS = {"first": _first, "second": _second}
        """,
    "atelier/hooks.py": """
        from atelier.helpers import *

        def prepare():
            return helper()
        """,
    "atelier/helpers.py": """
        def helper():
            return "from_star"

        def unused():
            return "never"
        """,
    "functions/__init__.py": "",
    "functions/demo/__init__.py": "",
    "functions/demo/handler.py": """
        from atelier.hooks import prepare
        from atelier.services import Services

        app = object()

        @app.route("/x")
        def route(services: Services):
            return services.store, services.derived

        prepare()
        """,
}


def test_the_analysis_of_a_small_package(tmp_path: Path):
    # Given a package with collaborators reached by name, a builder table, a star import and a
    # TYPE_CHECKING import
    for relative, source in _SYNTHETIC.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    fields = frozenset(
        {"bucket", "by_string", "from_property", "validated", "queue_url", "first_key", "second_key"}
        | {"from_star", "never", "typing_only"}
    )
    program = Program(module_paths(((tmp_path, "atelier"), (tmp_path, "functions"))))
    # When the handler's reach is computed
    read = function_reach("demo", program=program, fields=fields).settings
    # Then it holds what the named collaborator and the named property read, and all a module
    # imported with * holds; nothing from a collaborator never named, a builder table never used,
    # a validator's declaration or an import only type checkers see
    assert read == {"bucket", "by_string", "from_property", "from_star", "never"}


def test_collaborators_build_before_the_snapshot_without_any_setting():
    """The warm-up builds every collaborator `Services` offers, also those whose variables a function
    is no longer given: each must build from the settings' defaults (nothing is sent anywhere)."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name.lower() not in setting_names() and not name.startswith("POWERTOOLS_")
    }
    environment.update(PYTHONPATH=f"{ROOT}{os.pathsep}{ROOT / 'shared'}", AWS_DEFAULT_REGION="us-east-1")
    environment.update(AWS_ACCESS_KEY_ID="warm-up", AWS_SECRET_ACCESS_KEY="warm-up")
    code = """
        import json
        from atelier import snapstart
        from atelier.services import get_services

        snapstart._build_services(get_services())
        print(json.dumps({"built": True}))
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"built": True}
