"""SnapStart: what a function does before Lambda snapshots it, and what it renews after a restore.

Every SnapStart function's handler calls `prepare` once, at import. On Lambda the hooks go to the
runtime's `snapshot_restore_py` module (it exists only there); anywhere else (tests, the local
runtime, the benchmarks) they go to `local_hooks`, a registry with the same API that can run them
in the runtime's order: before-snapshot hooks last-registered first, after-restore hooks in the
order they were registered.

Before the snapshot (`warm`): settings are read, every collaborator `Services` offers is built with
its AWS client (PynamoDB's included), an HTTP function's resolver builds the validation models of
every route and serves one request that touches no AWS service. What is left for the first request
after a restore is the request itself.

After a restore (`renew`), what one snapshot would otherwise hand identically to every environment
restored from it is renewed: the `random` module's state, AWS clients' pooled connections and
credentials, secrets read from SSM, and caches timed on the monotonic clock (see docs/decisions.md,
2026-12-06, for each and why). Ids, tokens and transaction tokens come from `secrets`/`uuid4`
(the kernel's generator, read at every call), so they need nothing.
"""

from __future__ import annotations

import gc
import importlib
import random
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

Hook = Callable[..., object]


class HookRegistry:
    """`snapshot_restore_py`'s API, for where the runtime's module is absent."""

    def __init__(self) -> None:
        self.before_snapshot: list[tuple[Hook, tuple[Any, ...], dict[str, Any]]] = []
        self.after_restore: list[tuple[Hook, tuple[Any, ...], dict[str, Any]]] = []

    def register_before_snapshot(self, func: Hook, *args: Any, **kwargs: Any) -> Hook:
        self.before_snapshot.append((func, args, kwargs))
        return func

    def register_after_restore(self, func: Hook, *args: Any, **kwargs: Any) -> Hook:
        self.after_restore.append((func, args, kwargs))
        return func

    def run_before_snapshot(self) -> None:
        for func, args, kwargs in reversed(self.before_snapshot):
            func(*args, **kwargs)

    def run_after_restore(self) -> None:
        for func, args, kwargs in self.after_restore:
            func(*args, **kwargs)


local_hooks = HookRegistry()


def _registry() -> tuple[Callable[..., Any], Callable[..., Any]]:
    try:
        runtime = importlib.import_module("snapshot_restore_py")  # only on Lambda's managed runtimes
    except ImportError:
        return local_hooks.register_before_snapshot, local_hooks.register_after_restore
    return runtime.register_before_snapshot, runtime.register_after_restore


@dataclass
class Preparation:
    """One function's hooks: what `warm` did last, for tests and the benchmarks."""

    function: str
    resolver: APIGatewayRestResolver | None
    warmed_clients: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)


prepared: dict[str, Preparation] = {}

# AWS clients alive when the snapshot was taken: the ones `renew` gives fresh connections and credentials.
_snapshot_clients: list[weakref.ref[Any]] = []
# The botocore session PynamoDB's connections share; `renew` resolves credentials through it.
_shared_session: list[Any] = []


def prepare(function: str, *, resolver: APIGatewayRestResolver | None = None) -> Preparation:
    """Registers `function`'s hooks: `warm` before the snapshot, `renew` after each restore."""
    preparation = Preparation(function, resolver)
    prepared[function] = preparation
    register_before_snapshot, register_after_restore = _registry()
    register_before_snapshot(warm, preparation)
    register_after_restore(renew, preparation)
    return preparation


# -- before the snapshot -------------------------------------------------------------------------


def warm(preparation: Preparation) -> None:
    started = time.perf_counter()
    from atelier.services import get_services

    services = get_services()  # reads the settings
    _build_services(services)
    if preparation.resolver is not None:
        _warm_resolver(preparation.resolver)
    # The first connection a client opens encodes its host name with the IDNA codec, an import.
    "warm-up.invalid".encode("idna")
    clients = _aws_clients()
    _snapshot_clients[:] = [weakref.ref(client) for client in clients]
    preparation.warmed_clients = len(clients)
    # Everything built so far lives as long as the environment: a full collection now, then those
    # objects are left out of every later one, so no request after a restore pays to scan them.
    gc.collect()
    gc.freeze()
    preparation.timings_ms["before_snapshot"] = (time.perf_counter() - started) * 1000


def _build_services(services: Any) -> None:
    """Every collaborator and its AWS client. Nothing here sends a request: clients connect on first use.
    Providers that need a secret (inference, payment, sign-in) are left to the first request that
    needs them, so no secret is kept in the snapshot; their modules are imported here."""
    import botocore.session
    from aws_lambda_powertools.utilities import parameters as _parameters  # noqa: F401 - SSM, read on demand

    from atelier.data import base
    from atelier.integrations.inference import registry as _inference  # noqa: F401
    from atelier.integrations.payments import registry as _payments  # noqa: F401
    from atelier.usecases import read_policy as _read_policy  # noqa: F401 - `renew` empties its cache

    for name, attribute in vars(type(services)).items():
        if isinstance(attribute, cached_property):
            built = getattr(services, name)
            if hasattr(type(built), "client"):
                _ = built.client
    _ = services.mailer.client if hasattr(type(services.mailer), "client") else None
    # PynamoDB gives each model class its own connection and botocore session; one shared session
    # loads DynamoDB's service model once instead of once per model class.
    shared = _shared_session[0] if _shared_session else botocore.session.get_session()
    _shared_session[:] = [shared]
    connections = [model._get_connection().connection for model in _models(base.MainTableModel, base.LedgerTableModel)]
    connections.append(base._connection())
    for connection in connections:
        if getattr(connection._local, "session", None) is None:
            connection._local.session = shared
        _ = connection.client


def _models(*roots: type[Any]) -> list[type[Any]]:
    found: list[type[Any]] = []
    pending: list[type[Any]] = list(roots)
    while pending:
        subclass: type[Any]
        for subclass in pending.pop().__subclasses__():
            found.append(subclass)
            pending.append(subclass)
    return found


def _warm_resolver(resolver: APIGatewayRestResolver) -> None:
    import jmespath
    from aws_lambda_powertools.logging import correlation_paths

    from atelier.api.openapi import SECURITY_SCHEMES
    from atelier.api.resolver import serve
    from atelier.observability import metrics

    resolver.get_openapi_schema(security_schemes=SECURITY_SCHEMES)  # every route's dependant and validation models
    serve(resolver, warm_up_event(), None)  # type: ignore[arg-type]
    _warm_routes(resolver)
    # The request log's correlation id is a JMESPath expression, parsed (and cached) on first use.
    jmespath.compile(correlation_paths.API_GATEWAY_REST)
    # The warm-up request is not traffic: its metrics are dropped before any are flushed.
    metrics.clear_metrics()


def _warm_routes(resolver: APIGatewayRestResolver) -> None:
    """What Powertools builds for a route on its first request: the middleware stack (validation
    included) and the handler's signature inspection."""
    from aws_lambda_powertools.event_handler.api_gateway import _find_request_param_name

    for route in resolver._static_routes + resolver._dynamic_routes:
        if not route._middleware_stack_built:
            route._build_middleware_stack(router_middlewares=resolver._router_middlewares, app=resolver)
        _ = route.has_dependencies
        if not route.request_param_name_checked:
            route.request_param_name = _find_request_param_name(route.func)
            route.request_param_name_checked = True


def warm_up_event() -> dict[str, Any]:
    """A request no route serves, answered without any AWS call (a 404 in the error shape)."""
    return {
        "resource": "/{proxy+}",
        "path": "/_snapstart/warm-up",
        "httpMethod": "GET",
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"requestId": "snapstart-warm-up", "path": "/_snapstart/warm-up", "identity": {}},
        "body": None,
        "isBase64Encoded": False,
    }


def _aws_clients() -> list[Any]:
    from botocore.client import BaseClient

    return [
        candidate
        for candidate in gc.get_objects()
        if isinstance(candidate, BaseClient) and not isinstance(candidate, weakref.ProxyTypes)
    ]


# -- after a restore -----------------------------------------------------------------------------


def renew(preparation: Preparation) -> None:
    started = time.perf_counter()
    # Every environment restored from one snapshot starts with the same `random` state: botocore's
    # retry jitter (and anything else drawing from `random`) would move in step across them.
    random.seed()
    _renew_aws_clients()
    _forget_secrets_and_timed_caches()
    preparation.timings_ms["after_restore"] = (time.perf_counter() - started) * 1000


def _renew_aws_clients() -> None:
    """Sockets pooled before the snapshot are dead after it, and the credentials resolved then are
    shared by every restored copy and may be near their expiry: each client drops its pool and gets
    credentials resolved now (on Lambda, from the SnapStart container credentials endpoint)."""
    clients = [client for ref in _snapshot_clients if (client := ref()) is not None]
    if not clients:
        return
    from botocore.credentials import create_credential_resolver

    # A resolver on the session built before the snapshot (a new session costs tens of milliseconds);
    # it reads the environment now: on Lambda, the SnapStart container credentials endpoint.
    credentials = create_credential_resolver(_shared_session[0]).load_credentials() if _shared_session else None
    for client in clients:
        client._endpoint.http_session.close()
        if credentials is not None:
            client._request_signer._credentials = credentials


def _forget_secrets_and_timed_caches() -> None:
    from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS

    from atelier.services import get_services
    from atelier.usecases import read_policy

    # SSM values (client secrets, API keys) may have rotated while the snapshot waited.
    for provider in DEFAULT_PROVIDERS.values():
        provider.clear_cache()
    # Providers hold a secret, an HTTP pool and tokens or metadata timed on the monotonic clock,
    # which does not count the time a snapshot waits: all rebuilt on first use.
    get_services().forget_providers()
    read_policy.forget_cached()
