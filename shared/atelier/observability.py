"""The one place that creates the logger, tracer and metrics every function uses.

X-Ray: every function runs with `Tracing: Active`, so Lambda records each invocation's segment
(initialisation, invocation, overhead) without any SDK. Subsegments for each AWS call need the
X-Ray SDK, whose recorder builds a botocore client when imported: about 0.4 s of cold start on
every function (see docs/decisions.md). The SDK is therefore loaded only when the
`XRAY_SDK_TRACING` setting is on; otherwise the tracer decorators run against a no-op provider.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from atelier.settings import sdk_tracing_enabled


class _NoopSegment(BaseSegment):
    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(self, exception: BaseException, stack: list[Any], remote: bool = False) -> None:
        return None


class _NoopProvider(BaseProvider):
    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment]:
        yield _NoopSegment()

    @contextmanager
    def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment]:  # type: ignore[override]
        yield _NoopSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def patch(self, modules: Sequence[str]) -> None:
        return None

    def patch_all(self) -> None:
        return None


METRICS_NAMESPACE = "Atelier"
SERVICE_NAME = "atelier"  # also every metric's `service` dimension, which alarms name
# One of each per run of a scheduled task, with the task's name as the `Task` dimension; the
# template's alarms watch them (a failure, and a period without any success).
SCHEDULED_TASK_SUCCEEDED = "ScheduledTaskSucceeded"
SCHEDULED_TASK_FAILED = "ScheduledTaskFailed"

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
tracer = (
    Tracer(service="atelier")
    if sdk_tracing_enabled()
    else Tracer(service="atelier", disabled=True, auto_patch=False, provider=_NoopProvider())
)


def _count_task_run(metric: str, task: str) -> None:
    # A metric of its own, written at once: the invocation's shared metric set keeps no Task
    # dimension, and the count is out even if the invocation is then cut short.
    with single_metric(
        name=metric,
        unit=MetricUnit.Count,
        value=1,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE_NAME},
    ) as metric_set:
        metric_set.add_dimension(name="Task", value=task)


def run_scheduled_task(
    task: str, work: Callable[[], dict[str, Any]], *, failures_key: str | None = None
) -> dict[str, Any]:
    """Runs a scheduled task and counts the run as succeeded or failed (`task` is one of a few
    fixed names). A task that raises is counted, logged, and its error propagates, so Lambda counts
    an error as well. A task that finished but reports items it could not do (its outcome's
    `failures_key`, e.g. accounts whose purge failed and is retried next run) is counted as failed
    too, without failing the invocation: the rest of its work is done."""
    try:
        outcome = work()
    except Exception:
        _count_task_run(SCHEDULED_TASK_FAILED, task)
        logger.exception("scheduled task failed", extra={"task": task})
        raise
    failures = int(outcome.get(failures_key, 0)) if failures_key else 0
    if failures:
        _count_task_run(SCHEDULED_TASK_FAILED, task)
        logger.error("scheduled task left work undone", extra={"task": task, "failures": failures})
    else:
        _count_task_run(SCHEDULED_TASK_SUCCEEDED, task)
    return outcome


# -- business metrics ---------------------------------------------------------------------------
# Every business metric the use cases write, by name. Each is written at once as its own EMF
# record with the `service` dimension and at most the few low-cardinality dimensions its call
# names (provider, model, reason, outcome...): never an id, an address or free text. The
# template's alarms and dashboard name these (tests/infrastructure/test_operations_template.py).
BUSINESS_METRICS = frozenset(
    {
        # generation
        "JobsSubmitted",
        "JobsSucceeded",
        "JobsFailed",  # reason
        "JobsCanceled",
        "GenerationLatency",  # provider, model; milliseconds from submission to the result
        "ProviderCalls",  # provider; one per job a provider finished (either way)
        "ProviderErrors",  # provider; one per job the provider failed
        "ProviderCircuitOpened",  # provider; each time its circuit breaker opens (or opens again)
        # money
        "CreditsGranted",
        "CreditsRefunded",
        "CreditsClawedBack",
        "CreditsHeld",
        "Payments",  # provider, outcome
        "WebhookSignatureFailures",  # provider
        # privacy
        "ExportsRequested",
        "ExportsReady",
        "ExportsFailed",
        "ExportDuration",  # seconds
        "AccountsPurged",
        "PurgesUnfinished",
        "PurgesFailed",
        "AccountsPastPurgeTime",  # a gauge written by every purge run
        "RetentionItemsDeleted",
        # trust and safety
        "ReportsOpened",
        "ReportsResolved",
        # email
        "EmailsSent",
        "EmailsNotSent",  # an email the mailer could not hand to SES
        "EmailsBounced",
        "EmailsComplained",
        "EmailsSuppressed",
    }
)


@contextmanager
def counting_signature_failures(provider: str, *signature_errors: type[Exception]) -> Generator[None]:
    """Counts a webhook or callback whose signature did not verify (WebhookSignatureFailures, by
    provider) and lets the error go on to be answered as usual."""
    try:
        yield
    except signature_errors:
        record_metric("WebhookSignatureFailures", provider=provider)
        raise


def record_metric(
    name: str,
    value: float = 1,
    *,
    unit: MetricUnit = MetricUnit.Count,
    **dimensions: str,
) -> None:
    """Writes one business metric now (see BUSINESS_METRICS), with its own dimensions."""
    if name not in BUSINESS_METRICS:
        raise ValueError(f"{name} is not a business metric")
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": SERVICE_NAME},
    ) as metric_set:
        for key, dimension in dimensions.items():
            metric_set.add_dimension(name=key, value=dimension)
