"""A scheduled task's failure is visible: counted as a metric by task, logged, and raised so that the
invocation fails too; a success is counted, so an alarm also sees a task that stopped running."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from functions.scheduled import handler
from local.functions import LambdaContext

TASK = "retention-sweep"


def _event(task: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-06T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/atelier-dev-{task}"],
        "detail": {},
    }


def _context() -> LambdaContext:
    return LambdaContext(
        function_name="atelier-dev-scheduled",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:atelier-dev-scheduled",
        memory_limit_in_mb=512,
        aws_request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        log_group_name="/aws/lambda/atelier-dev-scheduled",
        log_stream_name="stream",
        deadline=time.monotonic() + 300,
    )


def _task_metrics(output: str) -> list[tuple[str, dict[str, str]]]:
    """(metric name, dimensions) of every EMF document written."""
    found = []
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            dimensions = {name: document[name] for names in directive["Dimensions"] for name in names}
            found.extend((metric["Name"], dimensions) for metric in directive["Metrics"])
    return found


class TaskBroke(RuntimeError):
    pass


def _broken_task() -> dict[str, Any]:
    raise TaskBroke("the table answered nonsense")


def test_a_failing_task_is_counted_by_task_and_fails_the_invocation(monkeypatch, capsys):
    # Given a scheduled task that fails
    monkeypatch.setitem(handler._TASKS, TASK, _broken_task)
    # When its schedule fires / Then the invocation fails with the task's error (Lambda counts an error)
    with pytest.raises(TaskBroke):
        handler.lambda_handler(_event(TASK), _context())
    # And a ScheduledTaskFailed metric names the task, and nothing says it succeeded
    metrics = _task_metrics(capsys.readouterr().out)
    assert ("ScheduledTaskFailed", {"service": "atelier", "Task": TASK}) in metrics
    assert not [name for name, _ in metrics if name == "ScheduledTaskSucceeded"]


def test_a_task_that_succeeds_is_counted_by_task(monkeypatch, capsys):
    # Given a scheduled task that does its work
    monkeypatch.setitem(handler._TASKS, TASK, lambda: {"deleted": 3})
    # When its schedule fires
    answer = handler.lambda_handler(_event(TASK), _context())
    # Then it answers its outcome, and a ScheduledTaskSucceeded metric names the task
    assert answer == {"task": TASK, "outcome": {"deleted": 3}}
    metrics = _task_metrics(capsys.readouterr().out)
    assert ("ScheduledTaskSucceeded", {"service": "atelier", "Task": TASK}) in metrics
    assert not [name for name, _ in metrics if name == "ScheduledTaskFailed"]


def test_a_purge_that_left_accounts_unpurged_is_counted_as_failed_without_failing_the_run(monkeypatch, capsys):
    # Given a purge run that purged one account and could not purge another (retried next run)
    monkeypatch.setitem(handler._TASKS, "purge-due-accounts", lambda: {"purged": 1, "failed": 1})
    # When its schedule fires
    answer = handler.lambda_handler(_event("purge-due-accounts"), _context())
    # Then the run answers what it did, and is counted as failed, not as succeeded
    assert answer["outcome"] == {"purged": 1, "failed": 1}
    metrics = _task_metrics(capsys.readouterr().out)
    assert ("ScheduledTaskFailed", {"service": "atelier", "Task": "purge-due-accounts"}) in metrics
    assert not [name for name, _ in metrics if name == "ScheduledTaskSucceeded"]


def test_jobs_the_sweep_failed_are_its_work_not_its_failure(monkeypatch, capsys):
    # Given an overdue-jobs sweep that failed two stuck jobs (what it is for)
    monkeypatch.setitem(handler._TASKS, "sweep-overdue-jobs", lambda: {"failed": 2})
    # When its schedule fires / Then the run is counted as succeeded
    handler.lambda_handler(_event("sweep-overdue-jobs"), _context())
    metrics = _task_metrics(capsys.readouterr().out)
    assert ("ScheduledTaskSucceeded", {"service": "atelier", "Task": "sweep-overdue-jobs"}) in metrics
