"""The real stack, started from template.yaml by the local runtime, for tests that need AWS.

Tests call the domain package directly as well as over HTTP. Both talk to the same emulator; the
test process's own cached settings and clients are reset at every start, because an earlier stack
in the same worker may have left them pointing at an emulator that has since stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pynamodb.models import Model

from atelier.data import base
from atelier.services import get_services
from atelier.settings import get_settings
from local.runtime import LocalRuntime


def _all_models(klass: type[Model]) -> Iterator[type[Model]]:
    for subclass in klass.__subclasses__():
        yield subclass
        yield from _all_models(subclass)


def forget_model_connections() -> None:
    """Every item class forgets the connection it opened, as in a new Lambda environment.

    Assigning None on every class instead would hide a class that inherits its base's connection,
    which production code would see."""
    for model in _all_models(Model):
        if "_connection" in vars(model):
            delattr(model, "_connection")


def reset_cached_clients() -> None:
    get_settings.cache_clear()
    get_services.cache_clear()
    base._connection.cache_clear()
    forget_model_connections()


@contextmanager
def running_stack(**overrides: object) -> Iterator[LocalRuntime]:
    runtime = LocalRuntime(port=0, fire_schedules=False, fresh_layers=False, **overrides)  # type: ignore[arg-type]
    with runtime:
        reset_cached_clients()
        try:
            yield runtime
        finally:
            reset_cached_clients()
