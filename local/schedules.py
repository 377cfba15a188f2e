"""The template's Schedule / ScheduleV2 events: fired at their rate, or on demand.

``rate(...)`` schedules fire one period after the runtime starts, then every period. ``cron(...)``
schedules fire at each minute their fields match (EventBridge's six fields, UTC unless a ScheduleV2
names a timezone); the ``L``, ``W`` and ``#`` forms are not understood, and a schedule using them is
only run on demand. ``at(...)`` (one-time ScheduleV2) fires once.

On demand, under ``/_local/schedules``:
    GET  /_local/schedules             -> {"items": [{"name", "expression", "function", ...}]}
    POST /_local/schedules/{name}/run  -> runs it now and answers with the outcome
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from local.functions import ScheduleEvent
from local.standins import LocalRequest, LocalResponse, LocalRoutes
from local.template import ACCOUNT_ID, REGION

logger = logging.getLogger(__name__)

Invoker = Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> result

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_WEEKDAYS = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_MAX_WORKERS = 4


class UnsupportedExpressionError(ValueError):
    """A schedule expression the local runtime cannot fire by itself."""


# ------------------------------------------------------------------------------------------
# Expressions.
# ------------------------------------------------------------------------------------------
class Rate:
    def __init__(self, period: timedelta, started: datetime) -> None:
        self.period = period
        self._started = started

    def next_after(self, moment: datetime) -> datetime | None:
        elapsed = (moment - self._started) // self.period
        return self._started + (elapsed + 1) * self.period


class OneTime:
    def __init__(self, when: datetime) -> None:
        self._when = when

    def next_after(self, moment: datetime) -> datetime | None:
        return self._when if self._when > moment else None


class Cron:
    """EventBridge's cron: minutes hours day-of-month month day-of-week year."""

    def __init__(self, fields: str, timezone: ZoneInfo) -> None:
        parts = fields.split()
        if len(parts) != 6:
            raise UnsupportedExpressionError(f"cron needs six fields, got {fields!r}")
        minutes, hours, days, months, weekdays, years = parts
        self._minutes = _field(minutes, 0, 59)
        self._hours = _field(hours, 0, 23)
        self._days = _field(days, 1, 31)
        self._months = _field(months, 1, 12, _MONTHS)
        self._weekdays = _field(weekdays, 1, 7, _WEEKDAYS)
        self._years = _field(years, 1970, 2199)
        self._timezone = timezone

    def next_after(self, moment: datetime) -> datetime | None:
        local = moment.astimezone(self._timezone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = local + timedelta(days=366 * 5)
        while local < limit:
            if not self._matches_day(local):
                local = (local + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if local.hour in self._hours and local.minute in self._minutes:
                return local.astimezone(UTC)
            local += timedelta(minutes=1)
        return None

    def _matches_day(self, moment: datetime) -> bool:
        weekday = moment.isoweekday() % 7 + 1  # EventBridge: 1 is Sunday
        return (
            moment.year in self._years
            and moment.month in self._months
            and moment.day in self._days
            and weekday in self._weekdays
        )


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    if text in ("*", "?"):
        return set(range(low, high + 1))
    values: set[int] = set()
    for part in text.split(","):
        for piece in re.split(r"[-/]", part):
            if piece != "*" and not piece.isdigit() and not (names and piece.upper() in names):
                raise UnsupportedExpressionError(f"cron field {text!r} is not supported locally (L, W and # are not)")
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _value(first, names), _value(last, names)
        else:
            start = _value(base, names)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    return int(text)


def parse_expression(expression: str, started: datetime, timezone: str | None = None) -> Rate | Cron | OneTime:
    zone = ZoneInfo(timezone or "UTC")
    text = expression.strip()
    if rate := _RATE.match(text):
        amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        return Rate(timedelta(**{f"{unit}s": amount}), started)
    if cron := _CRON.match(text):
        return Cron(cron.group(1), zone)
    if at := _AT.match(text):
        return OneTime(datetime.fromisoformat(at.group(1)).replace(tzinfo=zone))
    raise UnsupportedExpressionError(f"unknown schedule expression {expression!r}")


# ------------------------------------------------------------------------------------------
# The scheduler.
# ------------------------------------------------------------------------------------------
@dataclass
class _Entry:
    schedule: ScheduleEvent
    expression: Rate | Cron | OneTime | None
    next_run: datetime | None


def scheduled_event(schedule: ScheduleEvent, now: datetime) -> Any:
    """What EventBridge sends the target: the schedule's Input, or a "Scheduled Event"."""
    if schedule.input is not None:
        try:
            return json.loads(schedule.input)
        except ValueError:
            return schedule.input
    if schedule.kind == "ScheduleV2":
        source, resource = "aws.scheduler", f"arn:aws:scheduler:{REGION}:{ACCOUNT_ID}:schedule/default/{schedule.name}"
    else:
        source, resource = "aws.events", f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{schedule.name}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": source,
        "account": ACCOUNT_ID,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [resource],
        "detail": {},
    }


class Scheduler:
    """Fires schedules in a background thread; ``fire_automatically=False`` leaves them to on-demand runs."""

    def __init__(self, schedules: Iterable[ScheduleEvent], invoke: Invoker, fire_automatically: bool = True) -> None:
        self._invoke = invoke
        self._fire_automatically = fire_automatically
        started = datetime.now(UTC)
        self._entries: dict[str, _Entry] = {}
        for schedule in schedules:
            if schedule.name in self._entries:
                logger.warning("two schedules are named %s; only the first is kept", schedule.name)
                continue
            self._entries[schedule.name] = self._entry(schedule, started)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers = ThreadPoolExecutor(max_workers=_MAX_WORKERS, thread_name_prefix="schedule")

    @staticmethod
    def _entry(schedule: ScheduleEvent, started: datetime) -> _Entry:
        try:
            expression = parse_expression(schedule.expression, started, schedule.timezone)
        except (UnsupportedExpressionError, ValueError) as exc:
            logger.warning("schedule %s runs on demand only: %s", schedule.name, exc)
            return _Entry(schedule, None, None)
        next_run = expression.next_after(started) if schedule.enabled else None
        return _Entry(schedule, expression, next_run)

    @property
    def schedules(self) -> list[ScheduleEvent]:
        return [entry.schedule for entry in self._entries.values()]

    def start(self) -> None:
        if self._fire_automatically and self._entries:
            self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._workers.shutdown(wait=True, cancel_futures=True)

    def run_now(self, name: str) -> dict[str, Any]:
        """Runs a schedule's function at once; KeyError for an unknown name."""
        schedule = self._entries[name].schedule
        return self._fire(schedule)

    def _run(self) -> None:
        while not self._stopping.is_set():
            now = datetime.now(UTC)
            for entry in self._entries.values():
                if entry.next_run is not None and entry.next_run <= now and entry.expression is not None:
                    self._workers.submit(self._fire, entry.schedule)
                    entry.next_run = entry.expression.next_after(now)
            upcoming = [entry.next_run for entry in self._entries.values() if entry.next_run is not None]
            wait = (min(upcoming) - now).total_seconds() if upcoming else 60.0
            self._stopping.wait(min(max(wait, 0.05), 60.0))

    def _fire(self, schedule: ScheduleEvent) -> dict[str, Any]:
        outcome: dict[str, Any] = {"name": schedule.name, "function": schedule.function}
        try:
            result = self._invoke(schedule.function, scheduled_event(schedule, datetime.now(UTC)))
        except Exception as exc:
            logger.exception("schedule %s: %s failed", schedule.name, schedule.function)
            return {**outcome, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
        logger.info("schedule %s ran %s", schedule.name, schedule.function)
        return {**outcome, "status": "succeeded", "result": _json_safe(result)}

    def describe(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "expression": entry.schedule.expression,
                "function": entry.schedule.function,
                "enabled": entry.schedule.enabled,
                "next_run": entry.next_run.isoformat() if entry.next_run and self._fire_automatically else None,
            }
            for name, entry in self._entries.items()
        ]

    def stand_in(self) -> LocalRoutes:
        """The ``/_local/schedules`` endpoints."""
        routes = LocalRoutes()

        @routes.get("/")
        def list_schedules(_request: LocalRequest) -> LocalResponse:
            return LocalResponse.json({"items": self.describe()})

        @routes.post("/{name}/run")
        def run_schedule(request: LocalRequest) -> LocalResponse:
            name = request.params["name"]
            if name not in self._entries:
                return LocalResponse.error(404, "not_found", f"No schedule named {name}.")
            return LocalResponse.json(self.run_now(name))

        return routes


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value
