"""Faults at the platform's external calls, armed per call site.

Every AWS call (DynamoDB through PynamoDB or boto3, S3, SQS, SES) goes through
`botocore.client.BaseClient._make_api_call`, so one hook there covers every client the in-process
handlers make, whenever they make it. The integrations that are not AWS are hooked where their
adapters call out: the inference providers' `submit`, `status`, `cancel` and `fetch_output`, and
the payment providers' single HTTP entry point (`stripe.api`, `paypal.api`, `creem.api`).

    with FaultInjector() as faults:
        faults.arm("dynamodb", "TransactWriteItems", error="ProvisionedThroughputExceededException")
        faults.arm("s3", "PutObject", error="SlowDown", times=2, when=lambda params: params["Bucket"] == bucket)
        faults.arm("inference", "submit", error="timeout")
        ...
        print(faults.report())

A fault fires `times` times (None: until disarmed) on calls matching its site and `when` (given the
call's parameters: the API parameters of an AWS call, the named arguments of an adapter's method).
A fault raised at this level is what the caller sees once the SDK has given up its own retries.
`after=True` lets the call happen first and then loses its answer: the write was applied, the
caller is told it failed (a timeout after the request was sent).

Only calls made by the platform's code fire faults (a frame of the domain package or of a handler
is on the stack): the local runtime's pollers and the tests' own reads of the emulator go through.
Arming and firing are thread-safe; the hooks are removed on exit whatever happened.
"""

from __future__ import annotations

import inspect
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from atelier import errors

Params = Mapping[str, Any]
ErrorSpec = str | BaseException | type[BaseException] | Callable[[], BaseException]

PLATFORM_MODULES = ("atelier", "functions")
# HTTP statuses AWS answers the error codes tests name most.
_AWS_STATUS = {
    "ProvisionedThroughputExceededException": 400,
    "ThrottlingException": 400,
    "RequestLimitExceeded": 400,
    "ConditionalCheckFailedException": 400,
    "TransactionCanceledException": 400,
    "TransactionConflictException": 400,
    "InternalServerError": 500,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "SlowDown": 503,
    "RequestTimeout": 400,
    "TooManyRequestsException": 429,
    "Throttling": 400,
}
# The inference adapters (site "inference.<method>"), and each payment adapter's own way out to its
# provider's API (site "<provider>.api"), as (module, class[, methods]).
_INFERENCE_CLASSES = (
    ("atelier.integrations.inference.local", "LocalProvider"),
    ("atelier.integrations.inference.openai_images", "OpenAIImagesProvider"),
    ("atelier.integrations.inference.modelark", "ModelArkProvider"),
    ("atelier.integrations.inference.runpod", "RunPodProvider"),
    ("atelier.integrations.inference.replicate", "ReplicateProvider"),
)
INFERENCE_OPERATIONS = ("submit", "status", "cancel", "fetch_output")
_PAYMENT_CALLS = (
    ("stripe", "atelier.integrations.payments.stripe", "StripeProvider", ("_call", "_delete")),
    ("paypal", "atelier.integrations.payments.paypal", "PayPalProvider", ("_send",)),
    ("creem", "atelier.integrations.payments.creem", "CreemProvider", ("_post",)),
)

_installed_lock = threading.Lock()
_installed: FaultInjector | None = None


@dataclass
class Fault:
    """One armed fault: where, what, how often, and how often it has fired."""

    service: str
    operation: str
    error: ErrorSpec
    times: int | None = 1
    when: Callable[[Params], bool] | None = None
    after: bool = False
    delay_seconds: float = 0.0
    reason: str = "TransactionConflict"
    fired: int = 0

    @property
    def site(self) -> str:
        return f"{self.service}.{self.operation}"

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    @property
    def kind(self) -> str:
        if isinstance(self.error, str):
            return self.error
        if isinstance(self.error, type):
            return self.error.__name__
        if isinstance(self.error, BaseException):
            return type(self.error).__name__
        return getattr(self.error, "__name__", "error")

    def matches(self, service: str, operation: str, params: Params) -> bool:
        if self.exhausted or service != self.service or self.operation not in ("*", operation):
            return False
        return self.when is None or bool(self.when(params))


@dataclass
class _Patch:
    owner: type
    attribute: str
    original: Any


@dataclass
class FaultInjector:
    """Arms faults at call sites; a context manager that hooks the calls on entry and unhooks on exit."""

    only_from: tuple[str, ...] | None = PLATFORM_MODULES
    faults: list[Fault] = field(default_factory=list)
    fired: Counter[str] = field(default_factory=Counter)
    fired_by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Every call the platform made at each site while installed, fault or not.
    calls: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._patches: list[_Patch] = []

    # -- arming ----------------------------------------------------------------------------------
    def arm(
        self,
        service: str,
        operation: str,
        *,
        error: ErrorSpec = "unavailable",
        times: int | None = 1,
        when: Callable[[Params], bool] | None = None,
        after: bool = False,
        delay_seconds: float = 0.0,
        reason: str = "TransactionConflict",
    ) -> Fault:
        """Arms a fault at `service.operation` ("*" for every operation of the service).

        `error`: for AWS, an error code ("ProvisionedThroughputExceededException", "SlowDown"...),
        "timeout" (the answer never came) or "connection" (the endpoint could not be reached); for
        the other integrations "unavailable" or "timeout"; or any exception (class, instance or
        factory). `reason` is the cancellation reason of an injected TransactionCanceledException
        (given to the first item of the transaction; the others pass).
        """
        fault = Fault(service, operation, error, times, when, after, delay_seconds, reason)
        with self._lock:
            self.faults.append(fault)
        return fault

    def disarm(self, fault: Fault | None = None) -> None:
        """Disarms one fault, or all of them."""
        with self._lock:
            self.faults = [] if fault is None else [armed for armed in self.faults if armed is not fault]

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.fired.values())

    def report(self) -> str:
        with self._lock:
            lines = [f"faults injected: {sum(self.fired.values())}"]
            lines += [f"  {site}: {count}" for site, count in sorted(self.fired.items())]
        return "\n".join(lines)

    # -- hooking -----------------------------------------------------------------------------------
    def __enter__(self) -> FaultInjector:
        global _installed
        with _installed_lock:
            if _installed is not None:
                raise RuntimeError("another FaultInjector is installed")
            _installed = self
        try:
            self._hook_aws()
            self._hook_adapters()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        global _installed
        self.disarm()
        for patch in reversed(self._patches):
            setattr(patch.owner, patch.attribute, patch.original)
        self._patches = []
        with _installed_lock:
            if _installed is self:
                _installed = None

    def _replace(self, owner: type, attribute: str, replacement: Any) -> None:
        self._patches.append(_Patch(owner, attribute, owner.__dict__[attribute]))
        setattr(owner, attribute, replacement)

    def _hook_aws(self) -> None:
        original = botocore.client.BaseClient.__dict__["_make_api_call"]
        injector = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            service = client.meta.service_model.service_name
            fault = injector._take(service, operation_name, api_params)
            if fault is None:
                return original(client, operation_name, api_params)
            if fault.after:
                original(client, operation_name, api_params)
            raise injector._aws_error(fault, client, operation_name, api_params)

        self._replace(botocore.client.BaseClient, "_make_api_call", _make_api_call)

    def _hook_adapters(self) -> None:
        for module_name, class_name in _INFERENCE_CLASSES:
            owner = _load(module_name, class_name)
            for method in INFERENCE_OPERATIONS:
                if method in owner.__dict__:
                    self._wrap(owner, method, "inference", method, _inference_error)
        for provider, module_name, class_name, methods in _PAYMENT_CALLS:
            owner = _load(module_name, class_name)
            for method in methods:
                self._wrap(owner, method, provider, "api", _payment_error)

    def _wrap(
        self,
        owner: type,
        method: str,
        service: str,
        operation: str,
        default_error: Callable[[str], BaseException],
    ) -> None:
        original = owner.__dict__[method]
        signature = inspect.signature(original)
        injector = self

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind_partial(*args, **kwargs)
            fault = injector._take(service, operation, bound.arguments)
            if fault is None:
                return original(*args, **kwargs)
            if fault.after:
                original(*args, **kwargs)
            raise _exception(fault.error, default_error)

        wrapper.__name__ = method
        wrapper.__qualname__ = f"{owner.__qualname__}.{method}"
        self._replace(owner, method, wrapper)

    # -- firing ------------------------------------------------------------------------------------
    def _take(self, service: str, operation: str, params: Params) -> Fault | None:
        if self.only_from is not None and not _called_from(self.only_from):
            return None
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1
            candidates = [fault for fault in self.faults if not fault.exhausted]
        for fault in [fault for fault in candidates if fault.matches(service, operation, params)]:
            with self._lock:
                if fault.exhausted:
                    continue
                fault.fired += 1
                self.fired[f"{service}.{operation}"] += 1
                self.fired_by_kind[(f"{service}.{operation}", fault.kind)] += 1
            if fault.delay_seconds:
                time.sleep(fault.delay_seconds)
            return fault
        return None

    @staticmethod
    def _aws_error(fault: Fault, client: Any, operation: str, params: Params) -> BaseException:
        spec = fault.error
        if not isinstance(spec, str):
            return _exception(spec, lambda _: RuntimeError("unreachable"))
        endpoint = getattr(client.meta, "endpoint_url", "") or ""
        if spec == "timeout":
            return ReadTimeoutError(endpoint_url=endpoint)
        if spec == "connection":
            return EndpointConnectionError(endpoint_url=endpoint)
        code = {"unavailable": "ServiceUnavailable"}.get(spec, spec)
        response: dict[str, Any] = {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": _AWS_STATUS.get(code, 400), "HTTPHeaders": {}},
        }
        if code == "TransactionCanceledException":
            items = len(params.get("TransactItems") or []) or 1
            response["CancellationReasons"] = [{"Code": fault.reason}] + [{"Code": "None"}] * (items - 1)
            response["Error"]["Message"] = f"Transaction cancelled, please refer cancellation reasons [{fault.reason}]"
        exception_class = client.exceptions.from_code(code)
        error: ClientError = exception_class(response, operation)
        return error


def _load(module_name: str, class_name: str) -> type:
    __import__(module_name)
    owner: type = getattr(sys.modules[module_name], class_name)
    return owner


def _called_from(prefixes: tuple[str, ...]) -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if any(name == prefix or name.startswith(f"{prefix}.") for prefix in prefixes):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _exception(spec: ErrorSpec, default: Callable[[str], BaseException]) -> BaseException:
    if isinstance(spec, str):
        return default(spec)
    if isinstance(spec, BaseException):
        return spec
    return spec()


def _inference_error(kind: str) -> BaseException:
    from atelier.integrations.inference.base import ProviderError

    # What the adapters raise for a 5xx, a 429 or a request that timed out.
    return ProviderError(details={"reason": "timeout" if kind == "timeout" else "injected"})


def _payment_error(kind: str) -> BaseException:
    # What the payment adapters raise for a 5xx, a 429, a timeout or a network error.
    return errors.DependencyUnavailableError("The payment provider is unavailable.")


@dataclass
class FaultTally:
    """Faults fired across many injectors (one per test), for the figure a suite prints."""

    by_site: Counter[str] = field(default_factory=Counter)
    by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, injector: FaultInjector) -> None:
        self.by_site.update(injector.fired)
        self.by_kind.update(injector.fired_by_kind)

    @property
    def total(self) -> int:
        return sum(self.by_site.values())

    def lines(self) -> Iterator[str]:
        yield f"faults injected: {self.total} at {len(self.by_site)} call sites"
        for site, count in sorted(self.by_site.items()):
            kinds = ", ".join(f"{kind} {n}" for (where, kind), n in sorted(self.by_kind.items()) if where == site)
            yield f"  {site}: {count} ({kinds})"
