"""The local runtime: the deployed stack in one process, built from ``template.yaml``.

Start order matters: the emulator first (resources need it), then the gateway's socket (its port is
part of the environment), then the environment, and only then the handler modules, which read
their settings from the environment when first used.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from local.emulator import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, SerialMotoServer
from local.functions import DEFAULT_MAX_ENVIRONMENTS, FunctionPool, FunctionSpec, discover_functions
from local.gateway import Gateway, Router, gateway_response_headers, routes_from_template
from local.media import media_handler
from local.poller import DEFAULT_RETRY_DELAY_SECONDS, SqsPoller
from local.resources import ProvisionedResources, provision
from local.schedules import Scheduler
from local.standins import StandIn, StandInRegistry
from local.template import REGION, Template
from local.web import WebSite

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = PROJECT_ROOT / "template.yaml"
DEFAULT_WEB_ROOT = PROJECT_ROOT / "web" / "dist"  # the built studio (`make dev` builds it)
SCHEDULES_PREFIX = "/_local/schedules"


def default_stand_ins(
    parameters: Mapping[str, str] | None = None, invoke: Callable[[str, dict[str, Any]], Any] | None = None
) -> list[StandIn]:
    """The stand-ins for the outside world that ``python -m local`` mounts (a runtime given none).

    Each is a ``StandIn`` (see local/standins.py); list new ones here. ``parameters`` are the
    template's, as given: providers in ``OidcProviders`` sit beside the local OIDC issuers.
    ``invoke`` runs a function by logical id (the outbox's simulated bounces reach SES's consumer).
    """
    from local.analytics import analytics_stand_in
    from local.oidc import oidc_stand_ins
    from local.outbox import outbox_stand_in
    from local.payments import payments_stand_ins
    from local.provenance import provenance_stand_in
    from local.rekognition import rekognition_stand_in

    return [
        *oidc_stand_ins((parameters or {}).get("OidcProviders")),
        outbox_stand_in(invoke),
        *payments_stand_ins(),
        rekognition_stand_in(),
        provenance_stand_in(),
        analytics_stand_in(),
    ]


class LocalRuntime:
    """Emulator, resources, API gateway, queue pollers, schedules and stand-ins, started together.

    ``code_root`` is where the template's CodeUri and ContentUri paths start (by default, the
    template's directory). Port 0 picks a free port. ``retry_delay_seconds`` is how soon a failed
    SQS record comes back; ``fire_schedules=False`` leaves schedules to on-demand runs. ``web_root``
    is the built web studio served at ``/`` (when built; None serves none).
    """

    def __init__(
        self,
        template_path: str | Path = DEFAULT_TEMPLATE,
        code_root: str | Path | None = None,
        port: int = 3000,
        host: str = "127.0.0.1",
        parameters: Mapping[str, str] | None = None,
        emulator_port: int = 0,
        stand_ins: Iterable[StandIn] | None = None,
        fire_schedules: bool = True,
        retry_delay_seconds: int = DEFAULT_RETRY_DELAY_SECONDS,
        max_environments: int = DEFAULT_MAX_ENVIRONMENTS,
        fresh_layers: bool = True,
        web_root: str | Path | None = DEFAULT_WEB_ROOT,
    ) -> None:
        self.template_path = Path(template_path).resolve()
        self.code_root = Path(code_root).resolve() if code_root else self.template_path.parent
        self._port = port
        self._host = host
        self._parameters = dict(parameters or {})
        self._emulator_port = emulator_port
        self._extra_stand_ins = list(
            default_stand_ins(self._parameters, self.invoke) if stand_ins is None else stand_ins
        )
        self._fire_schedules = fire_schedules
        self._retry_delay = retry_delay_seconds
        self._max_environments = max_environments
        # Tests that also call the domain package directly share its modules with the handlers
        # (and reset its cached clients themselves), so one exception class is one class.
        self._fresh_layers = fresh_layers
        self._web_root = Path(web_root) if web_root is not None else None

        self.stand_ins = StandInRegistry()
        self.emulator: SerialMotoServer | None = None
        self.template: Template | None = None
        self.provisioned = ProvisionedResources()
        self.functions: list[FunctionSpec] = []
        self.load_errors: dict[str, str] = {}
        self.scheduler: Scheduler | None = None
        self.pollers: list[SqsPoller] = []
        self._gateway: Gateway | None = None
        self._pools: dict[str, FunctionPool] = {}
        self._saved_environment: dict[str, str | None] = {}
        self._added_paths: list[str] = []
        self._displaced_modules: dict[str, ModuleType] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalRuntime:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.load_errors = {}
        # The emulator stays on loopback whatever HOST says: only this machine's code talks to it.
        self.emulator = SerialMotoServer("127.0.0.1", self._emulator_port).start()
        # moto's state is process-wide: a runtime starts from an empty account, as a fresh process would.
        self.emulator.reset()
        self.template = Template.load(self.template_path, self._parameters, endpoint_url=self.emulator.endpoint_url)
        self.provisioned = provision(self.template, self.emulator.endpoint_url)
        self.functions = discover_functions(self.template, self.code_root)

        router = Router(routes_from_template(self.template, self.functions))
        self._gateway = Gateway(
            router,
            self.invoke,
            self.stand_ins,
            self._host,
            self._port,
            gateway_responses=gateway_response_headers(self.template),
            # Presigned media links point at the emulator, so the studio's CSP lets it load them.
            web=WebSite(self._web_root, [self.emulator.endpoint_url]) if self._web_root is not None else None,
        )
        self._apply_environment()
        media_bucket = self.environment().get("PUBLIC_MEDIA_BUCKET_NAME")
        if media_bucket:
            self._gateway.media = media_handler(self.emulator.endpoint_url, media_bucket)
        if self._fresh_layers:
            self._import_layers_afresh()
        self._pools = {spec.logical_id: FunctionPool(spec, self._max_environments) for spec in self.functions}
        self._warm_functions()

        self.scheduler = Scheduler(
            [event for spec in self.functions for event in spec.schedule_events],
            self.invoke,
            fire_automatically=self._fire_schedules,
        )
        self.stand_ins.register(SCHEDULES_PREFIX, self.scheduler.stand_in(), "list schedules, run one now")
        for stand_in in self._extra_stand_ins:
            self.stand_ins.mount(stand_in)
        self.pollers = [
            SqsPoller(source, self.invoke, self.emulator.endpoint_url, self._retry_delay)
            for spec in self.functions
            for source in spec.sqs_events
            if source.enabled
        ]

        self._gateway.start()
        for poller in self.pollers:
            poller.start()
        self.scheduler.start()
        logger.info("local runtime ready at %s", self.api_url)

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        for poller in self.pollers:
            poller.request_stop()
        for poller in self.pollers:
            poller.stop()
        self.pollers = []
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        for pool in self._pools.values():
            pool.close()
        self._pools = {}
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        self._restore_environment()
        if self._fresh_layers:
            self._restore_layer_modules()
        for prefix in [stand_in.prefix for stand_in in self.stand_ins]:
            self.stand_ins.unregister(prefix)

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- what it serves ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The API's port as asked for (0 until started means "any free port")."""
        return self._port

    @property
    def parameters(self) -> dict[str, str]:
        """The template parameters given to this runtime (the rest take the template's defaults)."""
        return dict(self._parameters)

    @property
    def api_url(self) -> str:
        if self._gateway is None:
            raise RuntimeError("the runtime is not running")
        return self._gateway.url

    @property
    def web_built(self) -> bool:
        """Whether the studio's built files are there to serve at ``/``."""
        return self._web_root is not None and (self._web_root / "index.html").is_file()

    @property
    def emulator_url(self) -> str:
        if self.emulator is None:
            raise RuntimeError("the runtime is not running")
        return self.emulator.endpoint_url

    @property
    def routes(self) -> list[tuple[str, str, str]]:
        """(method, path, function) of every API route, most specific first."""
        if self._gateway is None:
            return []
        return [(route.method, route.resource, route.function) for route in self._gateway.router.routes]

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invokes a function (by logical id) in one of its execution environments."""
        return self._pools[function].invoke(event)

    def wait_until_queues_settle(self, timeout: float = 30.0, consumers: Iterable[str] | None = None) -> None:
        """Returns once the polled queues (or those the named functions consume) hold no message.

        Work that fans out over a queue (policy notices, exports) is finished only when its queue
        is empty; callers observing the result wait here instead of guessing a sleep.
        """
        wanted = set(consumers) if consumers is not None else None
        pollers = [poller for poller in self.pollers if wanted is None or poller.source.function in wanted]
        deadline = time.monotonic() + timeout
        while True:
            busy = [poller.queue_name for poller in pollers if poller.pending_messages()]
            if not busy:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"queues still busy after {timeout}s: {', '.join(busy)}")
            time.sleep(0.1)

    # -- helpers -----------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """The variables every handler sees: the functions' own, the stand-ins' overrides, the local endpoints."""
        variables: dict[str, str] = {}
        for spec in self.functions:
            for name, value in spec.environment.items():
                # The same names resolve to the same resources in every function; a per-function
                # value (POWERTOOLS_SERVICE_NAME) cannot differ within one process, the first wins.
                variables.setdefault(name, value)
        for stand_in in self._extra_stand_ins:
            if stand_in.environment is not None:
                variables.update(stand_in.environment(self.api_url))
        variables.update(
            AWS_ENDPOINT_URL=self.emulator_url,
            AWS_ACCESS_KEY_ID=EMULATOR_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY=EMULATOR_SECRET_ACCESS_KEY,
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            API_BASE_URL=self.api_url,
            LOCAL_RUNTIME="1",
            # The share page's body: the built studio's index.html, read from the working tree.
            WEB_INDEX_PATH=str(self.code_root / "web" / "dist" / "index.html"),
        )
        return variables

    def _apply_environment(self) -> None:
        # A developer's own AWS profile or session must not leak into calls meant for the emulator.
        changes: dict[str, str | None] = {"AWS_PROFILE": None, "AWS_SESSION_TOKEN": None, **self.environment()}
        for name, value in changes.items():
            self._saved_environment.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for spec in self.functions:
            for path in map(str, spec.layer_paths):
                if path not in sys.path:
                    sys.path.insert(0, path)
                    self._added_paths.append(path)

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}
        for path in self._added_paths:
            if path in sys.path:
                sys.path.remove(path)
        self._added_paths = []

    def _layer_directories(self) -> list[Path]:
        return sorted({path for spec in self.functions for path in spec.layer_paths})

    def _import_layers_afresh(self) -> None:
        """Layer code (the domain package) is imported anew for this runtime, as in a new Lambda environment.

        A copy imported earlier in this process (by tests, or by a runtime that has stopped) may hold
        settings and clients cached for another emulator. It is set aside and restored on stop.
        """
        directories = self._layer_directories()
        self._displaced_modules = _modules_under(directories)
        for name in self._displaced_modules:
            del sys.modules[name]

    def _restore_layer_modules(self) -> None:
        for name in _modules_under(self._layer_directories()):
            del sys.modules[name]
        sys.modules.update(self._displaced_modules)
        self._displaced_modules = {}

    def _warm_functions(self) -> None:
        """Loads one environment per function, so a broken handler shows at start-up."""
        for logical_id, pool in self._pools.items():
            try:
                pool.warm()
            except Exception as exc:
                logger.exception("%s cannot be loaded; its invocations will fail", logical_id)
                self.load_errors[logical_id] = f"{type(exc).__name__}: {exc}"


def _modules_under(directories: list[Path]) -> dict[str, ModuleType]:
    """The imported modules whose source lives in one of the directories."""
    if not directories:
        return {}
    found = {}
    for name, module in list(sys.modules.items()):
        source = getattr(module, "__file__", None)
        if source and any(Path(source).resolve().is_relative_to(directory) for directory in directories):
            found[name] = module
    return found
