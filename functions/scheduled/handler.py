"""Scheduled: maintenance that runs on EventBridge schedules (the stuck-job sweep, the purge of
accounts whose deletion is due, the retention sweep, the screening of older published media).

Every run is counted as succeeded or failed (metrics with a `Task` dimension, watched by alarms);
a failing task raises, so the invocation fails as well (see docs/decisions.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from atelier import errors
from atelier.observability import logger, metrics, run_scheduled_task, tracer
from atelier.services import get_services
from atelier.snapstart import prepare
from atelier.usecases.manage_jobs import SweepOverdueJobsDeps, sweep_overdue_jobs
from atelier.usecases.purge_account import Purger
from atelier.usecases.screen_backlog import ScreenBacklogDeps, screen_unscreened_media
from atelier.usecases.sweep_retention import SweepRetentionDeps, sweep_retention


def _sweep() -> dict[str, Any]:
    services = get_services()
    return sweep_overdue_jobs(services.dependencies(SweepOverdueJobsDeps))


def _purge() -> dict[str, Any]:
    services = get_services()
    return services.dependencies(Purger).run_due()


def _retention() -> dict[str, Any]:
    services = get_services()
    return sweep_retention(services.dependencies(SweepRetentionDeps))


def _screen_backlog() -> dict[str, Any]:
    services = get_services()
    return screen_unscreened_media(services.dependencies(ScreenBacklogDeps))


# Each schedule's rule is named atelier-<stage>-<task> in template.yaml.
_TASKS: dict[str, Callable[[], dict[str, Any]]] = {
    "sweep-overdue-jobs": _sweep,
    "purge-due-accounts": _purge,
    "retention-sweep": _retention,
    "screen-unscreened-media": _screen_backlog,
}

# The outcome's count of items a run could not do (retried by the next run), where a task has one.
_FAILURES = {"purge-due-accounts": "failed"}


def task_of(event: EventBridgeModel) -> str:
    rule = event.resources[0].rsplit("/", 1)[-1] if event.resources else ""
    prefix = f"atelier-{get_services().settings.platform.stage}-"
    task = rule.removeprefix(prefix)
    if task not in _TASKS:
        raise errors.InvalidFieldError(f"No scheduled task for rule {rule!r}.")
    return task


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_parser(model=EventBridgeModel)
def lambda_handler(event: EventBridgeModel, context: LambdaContext) -> dict[str, Any]:
    task = task_of(event)
    outcome = run_scheduled_task(task, _TASKS[task], failures_key=_FAILURES.get(task))
    logger.info("scheduled task done", extra={"task": task, "outcome": outcome})
    return {"task": task, "outcome": outcome}


prepare("scheduled")
