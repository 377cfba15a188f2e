"""The template's functions, and the in-process execution environments that run them.

Lambda runs each concurrent invocation of a function in its own execution environment and reuses
idle ones. Powertools resolvers keep per-request state on a module-level ``app``, so two requests
sharing one module would see each other's state. Each environment here is therefore a separately
loaded copy of the handler module; a function's pool grows up to a limit and reuses idle copies.

What the copies do share is everything the handler imports (the domain package, boto3...), which
in Lambda would be per environment too: module-level caches are process-wide here. One piece of that
shared code keeps per-request state: Powertools' resolvers put the event being handled on their
common base class, so every environment of every function would read the latest request's event
(its body, its cookies) instead of its own. That state is made per thread (`isolate_router_state`).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import ACCOUNT_ID, REGION, Template

logger = logging.getLogger(__name__)

DEFAULT_MAX_ENVIRONMENTS = 8
_DEFAULT_TIMEOUT_SECONDS = 3
_DEFAULT_MEMORY_MB = 128
_EMULATED_EVENT_TYPES = ("Api", "SQS", "Schedule", "ScheduleV2")
_environment_ids = itertools.count(1)
_ROUTER_STATE = ("current_event", "lambda_context")
_router_state = threading.local()
_router_patch_lock = threading.Lock()


# ------------------------------------------------------------------------------------------
# What the template declares.
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiEvent:
    function: str
    event: str
    path: str
    method: str
    rest_api_id: str | None


@dataclass(frozen=True)
class SqsEvent:
    function: str
    event: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: float
    report_batch_item_failures: bool
    enabled: bool


@dataclass(frozen=True)
class ScheduleEvent:
    function: str
    event: str
    name: str
    expression: str
    input: str | None
    enabled: bool
    timezone: str | None
    kind: str  # "Schedule" (an EventBridge rule) or "ScheduleV2" (EventBridge Scheduler)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    module_file: Path
    module_name: str
    handler_attribute: str
    environment: dict[str, str]
    timeout_seconds: int
    memory_mb: int
    layer_paths: tuple[Path, ...] = ()
    api_events: tuple[ApiEvent, ...] = ()
    sqs_events: tuple[SqsEvent, ...] = ()
    schedule_events: tuple[ScheduleEvent, ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"


def discover_functions(template: Template, code_root: Path) -> list[FunctionSpec]:
    """Every AWS::Serverless::Function of the template, with its code under ``code_root``."""
    return [
        _function_spec(template, code_root, logical_id)
        for logical_id in template.logical_ids("AWS::Serverless::Function")
    ]


def _function_spec(template: Template, code_root: Path, logical_id: str) -> FunctionSpec:
    resource = template.resource(logical_id)
    properties = resource.properties
    code_uri = properties.get("CodeUri")
    if not isinstance(code_uri, str):
        raise ValueError(f"{logical_id}: only a local CodeUri directory can run locally")
    module_path, _, handler_attribute = str(properties["Handler"]).rpartition(".")
    code_dir = (code_root / code_uri).resolve()
    module_file = code_dir.joinpath(*module_path.split(".")).with_suffix(".py")
    module_name = ".".join(module_file.relative_to(code_root.resolve()).with_suffix("").parts)
    variables = (properties.get("Environment") or {}).get("Variables") or {}
    events = properties.get("Events") or {}
    for name, event in events.items():
        if event.get("Type") not in _EMULATED_EVENT_TYPES:
            logger.warning("%s.%s: %s events are not emulated locally", logical_id, name, event.get("Type"))
    return FunctionSpec(
        logical_id=logical_id,
        name=template.physical_name(logical_id),
        module_file=module_file,
        module_name=module_name,
        handler_attribute=handler_attribute,
        environment={key: _env_value(value) for key, value in variables.items()},
        timeout_seconds=int(properties.get("Timeout", _DEFAULT_TIMEOUT_SECONDS)),
        memory_mb=int(properties.get("MemorySize", _DEFAULT_MEMORY_MB)),
        layer_paths=tuple(_layer_paths(template, code_root, resource.raw_properties.get("Layers") or [])),
        api_events=tuple(
            _api_event(logical_id, name, event["Properties"] or {})
            for name, event in events.items()
            if event.get("Type") == "Api"
        ),
        sqs_events=tuple(
            _sqs_event(logical_id, name, event["Properties"])
            for name, event in events.items()
            if event.get("Type") == "SQS"
        ),
        schedule_events=tuple(
            _schedule_event(logical_id, name, event["Type"], event.get("Properties") or {})
            for name, event in events.items()
            if event.get("Type") in ("Schedule", "ScheduleV2")
        ),
    )


def _api_event(function: str, event: str, properties: dict[str, Any]) -> ApiEvent:
    return ApiEvent(
        function=function,
        event=event,
        path=str(properties["Path"]),
        method=str(properties["Method"]).upper(),
        rest_api_id=properties.get("RestApiId"),
    )


def _sqs_event(function: str, event: str, properties: dict[str, Any]) -> SqsEvent:
    return SqsEvent(
        function=function,
        event=event,
        queue_arn=str(properties["Queue"]),
        batch_size=int(properties.get("BatchSize", 10)),
        batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
        report_batch_item_failures="ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or []),
        enabled=properties.get("Enabled", True) is not False,
    )


def _schedule_event(function: str, event: str, kind: str, properties: dict[str, Any]) -> ScheduleEvent:
    expression = properties.get("Schedule") or properties.get("ScheduleExpression")
    if not expression:
        raise ValueError(f"{function}.{event}: a schedule needs Schedule or ScheduleExpression")
    enabled = properties.get("Enabled", True) is not False and properties.get("State", "ENABLED") != "DISABLED"
    return ScheduleEvent(
        function=function,
        event=event,
        name=str(properties.get("Name") or f"{function}-{event}"),
        expression=str(expression),
        input=properties.get("Input"),
        enabled=enabled,
        timezone=properties.get("ScheduleExpressionTimezone"),
        kind=kind,
    )


def _layer_paths(template: Template, code_root: Path, layers: list[Any]) -> Iterator[Path]:
    """Import paths of the layers built from this repository (a layer ARN from elsewhere has none)."""
    for layer in layers:
        if not (isinstance(layer, dict) and isinstance(layer.get("Ref"), str)):
            continue
        logical_id = layer["Ref"]
        if logical_id not in template.logical_ids("AWS::Serverless::LayerVersion"):
            continue
        content = template.resource(logical_id).properties.get("ContentUri")
        if not isinstance(content, str):
            continue
        directory = (code_root / content).resolve()
        # A layer's code is under python/, unless SAM builds it (BuildMethod), which copies it there.
        yield directory / "python" if (directory / "python").is_dir() else directory


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------------------------------------
# Running them.
# ------------------------------------------------------------------------------------------
@dataclass
class LambdaContext:
    """The context object Lambda passes to a handler, with the attributes handlers read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float = field(repr=False)
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class _PerThread:
    """An attribute whose value belongs to the thread that set it (each invocation has its thread)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        try:
            return getattr(_router_state, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, instance: object, value: Any) -> None:
        setattr(_router_state, self.name, value)


def isolate_router_state() -> None:
    """Gives each thread its own Powertools ``BaseRouter.current_event`` and ``lambda_context``.

    Powertools assigns them on the class (``BaseRouter.current_event = ...``), which is sound in
    Lambda, one invocation per process at a time, and not here, where invocations run side by side:
    a request could be validated against another's body and authenticated with another's cookie.
    Reads and writes through a resolver go through a descriptor on the class; assignments to the
    class itself can only be intercepted by its metaclass, so the class gets a derived metaclass
    holding the same descriptors.
    """
    try:
        from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
    except ImportError:
        return
    with _router_patch_lock:
        metaclass = type(BaseRouter)
        if getattr(metaclass, "_per_thread_router_state", False):
            return
        for name in _ROUTER_STATE:
            setattr(BaseRouter, name, _PerThread(name))
        per_thread = {name: _PerThread(name) for name in _ROUTER_STATE}
        BaseRouter.__class__ = type(  # type: ignore[method-assign]
            f"PerThread{metaclass.__name__}", (metaclass,), {"_per_thread_router_state": True, **per_thread}
        )


# One lock for every change to, and flush of, Powertools' metric set (see `serialise_metrics`).
_metrics_lock = threading.RLock()
_METRIC_SET_METHODS = ("add_metric", "add_dimension", "add_metadata", "clear_metrics", "flush_metrics")


def serialise_metrics() -> None:
    """Makes Powertools' metric set safe for invocations side by side.

    `Metrics` keeps one metric set for the whole process (shared on purpose, across its instances),
    and its flush checks that the set is not empty, then serialises it, then clears it. In Lambda
    one invocation runs at a time; here one invocation's flush could clear the set between another's
    check and serialisation, and that one then raised "Must contain at least one metric" and failed
    its request. Each of these methods now runs whole under one lock; a flush that finds the set
    empty (another invocation printed its metrics with its own) only warns, as in Lambda.
    """
    try:
        from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
    except ImportError:
        return
    with _router_patch_lock:
        if getattr(AmazonCloudWatchEMFProvider, "_serialised_for_local_runtime", False):
            return
        for name in _METRIC_SET_METHODS:
            setattr(AmazonCloudWatchEMFProvider, name, _under_metrics_lock(getattr(AmazonCloudWatchEMFProvider, name)))
        AmazonCloudWatchEMFProvider._serialised_for_local_runtime = True  # type: ignore[attr-defined]


def _under_metrics_lock(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _metrics_lock:
            return method(*args, **kwargs)

    return locked


class ExecutionEnvironment:
    """One loaded copy of a function's handler module."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.id = next(_environment_ids)
        self.module_name = f"{spec.module_name}__env{self.id}"
        self.module = self._load()
        self.handler: Callable[[Any, LambdaContext], Any] = getattr(self.module, spec.handler_attribute)
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"

    def _load(self) -> ModuleType:
        isolate_router_state()
        serialise_metrics()
        module_spec = importlib.util.spec_from_file_location(self.module_name, self.spec.module_file)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {self.spec.module_file}")
        module = importlib.util.module_from_spec(module_spec)
        # Registered before running, as a normal import would, so pydantic and typing can find it.
        sys.modules[self.module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[self.module_name]
            raise
        return module

    def invoke(self, event: Any) -> Any:
        context = LambdaContext(
            function_name=self.spec.name,
            function_version="$LATEST",
            invoked_function_arn=self.spec.arn,
            memory_limit_in_mb=self.spec.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            log_group_name=f"/aws/lambda/{self.spec.name}",
            log_stream_name=self.log_stream_name,
            deadline=time.monotonic() + self.spec.timeout_seconds,
        )
        started = time.monotonic()
        try:
            return self.handler(event, context)
        finally:
            elapsed = time.monotonic() - started
            if elapsed > self.spec.timeout_seconds:
                # A thread cannot be stopped; the deployed function would have been.
                logger.warning(
                    "%s ran %.1f s, over its %d s timeout: deployed, it would have been stopped",
                    self.spec.logical_id,
                    elapsed,
                    self.spec.timeout_seconds,
                )

    def unload(self) -> None:
        sys.modules.pop(self.module_name, None)


class FunctionPool:
    """A function's execution environments: created on demand up to a limit, reused when idle."""

    def __init__(self, spec: FunctionSpec, max_environments: int = DEFAULT_MAX_ENVIRONMENTS) -> None:
        self.spec = spec
        self._max = max_environments
        self._idle: list[ExecutionEnvironment] = []
        self._all: list[ExecutionEnvironment] = []
        self._starting = 0
        self._available = threading.Condition()

    @property
    def size(self) -> int:
        with self._available:
            return len(self._all)

    def invoke(self, event: Any) -> Any:
        with self._environment() as environment:
            return environment.invoke(event)

    def warm(self) -> None:
        """Creates one environment now, so an import error shows at start-up rather than on first use."""
        with self._environment():
            pass

    def close(self) -> None:
        with self._available:
            for environment in self._all:
                environment.unload()
            self._all.clear()
            self._idle.clear()

    @contextmanager
    def _environment(self) -> Iterator[ExecutionEnvironment]:
        environment = self._acquire()
        try:
            yield environment
        finally:
            with self._available:
                self._idle.append(environment)
                self._available.notify()

    def _acquire(self) -> ExecutionEnvironment:
        with self._available:
            while not self._idle and len(self._all) + self._starting >= self._max:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._starting += 1
        # A cold start imports the handler module: done outside the lock so other invocations go on.
        try:
            environment = ExecutionEnvironment(self.spec)
        except BaseException:
            with self._available:
                self._starting -= 1
                self._available.notify()
            raise
        with self._available:
            self._starting -= 1
            self._all.append(environment)
        logger.debug("cold start of %s (environment %d)", self.spec.logical_id, environment.id)
        return environment
