"""Schema-driven fuzzing of the running API: every operation of the OpenAPI document the API serves,
as each kind of caller, with what every answer must satisfy checked case by case.

Each case is sent, the queues the stack polls are left to drain, and the stored state (every
table, every bucket, the emails sent) is read again. A case the API refused (4xx) must leave that
state exactly as the previous case left it: a refusal that writes is a defect even when its answer
looks right.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends
from moto.ses.models import ses_backends
from moto.sqs.models import sqs_backends
from schemathesis import APIOperation, Case, GenerationMode, Response
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import RejectedPositiveData

from local.outbox import EMULATED_ACCOUNT
from local.runtime import LocalRuntime
from local.template import REGION

ERROR_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
TABLE_VARIABLES = ("MAIN_TABLE_NAME", "LEDGER_TABLE_NAME")
BUCKET_VARIABLES = ("ASSETS_BUCKET_NAME", "EXPORTS_BUCKET_NAME")
QUEUE_SETTLE_SECONDS = 120.0


@dataclass(frozen=True)
class Caller:
    """Who sends the fuzzed requests: a name for the report and the headers that make them so."""

    name: str
    headers: Mapping[str, str]


# -- stored state -------------------------------------------------------------------------------------


StoredKey = tuple[str, ...]


@dataclass(frozen=True)
class StoredRecord:
    """One table item or stored object: its entity type (items name theirs) and its fields."""

    entity: str | None
    fields: Mapping[str, str]


@dataclass(frozen=True)
class Snapshot:
    """Everything the stack has stored: table items by key, objects by bucket and key, emails sent."""

    records: Mapping[StoredKey, StoredRecord]
    emails_sent: int


class StoreReader:
    """Reads the whole stored state of a running stack straight from the emulator's backends.

    The emulator runs in this process; reading its backends costs microseconds where a scan over
    HTTP costs tens of milliseconds, and a snapshot is taken after every case. Reads happen only
    once the case's answer has come back and the polled queues are empty, so no write is under way.
    """

    def __init__(self, stack: LocalRuntime) -> None:
        environment = stack.environment()
        self._tables = [environment[name] for name in TABLE_VARIABLES]
        self._buckets = [environment[name] for name in BUCKET_VARIABLES]
        self._queues = [poller.queue_name for poller in stack.pollers]

    def snapshot(self) -> Snapshot:
        records: dict[StoredKey, Any] = {}
        tables = dynamodb_backends[EMULATED_ACCOUNT][REGION].tables
        for name in self._tables:
            for item in _items_of(tables[name]):
                key = (item.hash_key.value, item.range_key.value if item.range_key is not None else "")
                entity = item.attrs.get("entity")
                records[("table", name, *key)] = StoredRecord(
                    entity=str(entity.value) if entity is not None else None,
                    fields={field: repr(value) for field, value in item.attrs.items()},
                )
        buckets = s3_backends[EMULATED_ACCOUNT]["aws"].buckets
        for name in self._buckets:
            for object_key, stored in buckets[name].keys.items():
                records[("bucket", name, object_key)] = StoredRecord(
                    entity=None, fields={"version": stored.version_id, "size": str(stored.size)}
                )
        return Snapshot(records=records, emails_sent=len(ses_backends[EMULATED_ACCOUNT][REGION].sent_messages))

    def queues_settled(self) -> bool:
        """No message waiting, delayed, or received and still being processed, on any polled queue."""
        queues = sqs_backends[EMULATED_ACCOUNT][REGION].queues
        return not any(
            queue.approximate_number_of_messages
            or queue.approximate_number_of_messages_not_visible
            or queue.approximate_number_of_messages_delayed
            for queue in (queues[name] for name in self._queues)
        )


def _items_of(table: Any) -> Iterator[Any]:
    for by_range in list(table.items.values()):
        if table.range_key_attr:
            yield from list(by_range.values())
        else:
            yield by_range


@dataclass(frozen=True)
class Ignored:
    """Stored records a refused request may write by design, with the reason."""

    matches: Callable[[StoredKey, StoredRecord], bool]
    reason: str


def changes_between(before: Snapshot, after: Snapshot, ignored: Iterable[Ignored] = ()) -> list[str]:
    """What changed, one line per record (its key and entity type, never its content)."""
    rules = list(ignored)

    def kept(key: StoredKey, record: StoredRecord) -> bool:
        return not any(rule.matches(key, record) for rule in rules)

    lines = []
    for key in sorted(after.records.keys() - before.records.keys()):
        if kept(key, after.records[key]):
            lines.append(f"added {_describe(key, after.records[key])}")
    for key in sorted(before.records.keys() - after.records.keys()):
        if kept(key, before.records[key]):
            lines.append(f"removed {_describe(key, before.records[key])}")
    for key in sorted(before.records.keys() & after.records.keys()):
        old, new = before.records[key], after.records[key]
        if old != new and kept(key, new):
            fields = sorted(
                name for name in old.fields.keys() | new.fields.keys() if old.fields.get(name) != new.fields.get(name)
            )
            lines.append(f"changed {_describe(key, new)}: {', '.join(fields)}")
    if after.emails_sent != before.emails_sent:
        lines.append(f"sent {after.emails_sent - before.emails_sent} email(s)")
    return lines


def _describe(key: StoredKey, record: StoredRecord) -> str:
    return "/".join(str(part) for part in key[1:]) + (f" ({record.entity})" if record.entity else "")


# -- the answers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RightfulRefusal:
    """A schema-valid request the API rightly refuses, because what would make it acceptable is not
    (and cannot be) in the document: a signature, a server-issued secret, configuration, the clock.

    It covers an answer with this status whose error code is one of `codes`, or whose every blamed
    field is one of `fields` (or inside one); nothing else that operation answers.
    """

    status: int
    reason: str
    codes: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()

    def covers(self, response: Response) -> bool:
        if response.status_code != self.status:
            return False
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            return False
        if error.get("code") in self.codes:
            return True
        details = error.get("details")
        blamed = (
            [item.get("field", "") for item in details if isinstance(item, dict)] if isinstance(details, list) else []
        )
        return bool(self.fields) and bool(blamed) and all(self._is_ours(field) for field in blamed)

    def _is_ours(self, blamed: str) -> bool:
        return any(blamed == name or blamed.startswith(f"{name}.") for name in self.fields)


def error_shape_problem(response: Response) -> str | None:
    """Why a 4xx answer is not in the API's one error shape, or None when it is."""
    content_type = ", ".join(response.headers.get("content-type", []))
    if not content_type.startswith("application/json"):
        return f"a {response.status_code} answered {content_type or 'no content type'}, not JSON"
    try:
        body = response.json()
    except ValueError:
        return f"a {response.status_code} answered a body that is not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return f'a {response.status_code} answered without the "error" object'
    code, message = error.get("code"), error.get("message")
    if not isinstance(code, str) or not ERROR_CODE.match(code):
        return f"a {response.status_code} answered an error code that is not snake_case: {code!r}"
    if not isinstance(message, str) or not message.strip():
        return f"a {response.status_code} answered an empty error message"
    return None


# -- the run --------------------------------------------------------------------------------------------


@dataclass
class Finding:
    operation: str
    caller: str
    mode: str
    kind: str
    status: int
    detail: str
    reproduce: str
    occurrences: int = 1


@dataclass
class FuzzReport:
    cases: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    rightly_refused: Counter[str] = field(default_factory=Counter)
    findings: dict[tuple[str, str, str, int], Finding] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def record(self, finding: Finding) -> None:
        key = (finding.operation, finding.caller, finding.kind, finding.status)
        if key in self.findings:
            self.findings[key].occurrences += 1
        else:
            self.findings[key] = finding

    def total(self, caller: str | None = None) -> int:
        return sum(count for (_, who, _), count in self.cases.items() if caller in (None, who))

    def summary(self) -> str:
        callers = sorted({who for _, who, _ in self.cases})
        operations = sorted({operation for operation, _, _ in self.cases}, key=_route_order)
        width = max((len(operation) for operation in operations), default=10)
        lines = ["cases fuzzed per operation (positive + negative):"]
        lines.append(f"  {'operation':<{width}}  " + "  ".join(f"{who:>10}" for who in callers))
        for operation in operations:
            counts = [sum(self.cases[(operation, who, mode)] for mode in ("positive", "negative")) for who in callers]
            lines.append(f"  {operation:<{width}}  " + "  ".join(f"{count:>10}" for count in counts))
        for who in callers:
            by_class: Counter[str] = Counter()
            for (caller, status), count in self.statuses.items():
                if caller == who:
                    by_class[f"{status // 100}xx"] += count
            classes = ", ".join(f"{name}: {count}" for name, count in sorted(by_class.items()))
            lines.append(
                f"  {who}: {self.total(who)} cases ({classes}); {self.refused[who]} refused and checked for writes"
            )
        lines.append(f"  total: {self.total()} cases over {len(operations)} operations")
        for operation, count in sorted(self.rightly_refused.items(), key=lambda item: _route_order(item[0])):
            lines.append(f"  schema-valid but rightly refused (see RIGHTFUL_REFUSALS): {operation}: {count}")
        lines.extend(f"  skipped: {reason}" for reason in self.skipped)
        return "\n".join(lines)

    def failures(self) -> str:
        blocks = []
        for finding in self.findings.values():
            blocks.append(
                f"{finding.operation} as {finding.caller} ({finding.mode}, {finding.occurrences}x): "
                f"{finding.kind} [{finding.status}]\n{_indent(finding.detail)}\n  reproduce: {finding.reproduce}"
            )
        return "\n\n".join(blocks)


def _route_order(label: str) -> tuple[str, str]:
    method, _, path = label.partition(" ")
    return path, method


def _indent(text: str, limit: int = 40) -> str:
    lines = text.strip().splitlines()
    shown = lines[:limit] + (["..."] if len(lines) > limit else [])
    return "\n".join(f"    {line}" for line in shown)


@dataclass
class Fuzzer:
    """Sends every generated case, checks its answer, and checks refused ones wrote nothing."""

    stack: LocalRuntime
    report: FuzzReport
    max_examples: int
    ignored_writes: list[Ignored] = field(default_factory=list)
    rightful_refusals: Mapping[str, list[RightfulRefusal]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._store = StoreReader(self.stack)
        self._session = requests.Session()
        self._baseline: Snapshot | None = None

    def close(self) -> None:
        self._session.close()

    def fuzz(self, operation: APIOperation, callers: list[Caller], known: Mapping[str, str]) -> None:
        """Generates cases for one operation and sends each as every caller.

        `known` maps path parameter names to ids of things that exist: schema-valid cases go to them
        as well as to generated ids, so updates and reads reach real records and their answers.
        """
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
                self.report.skipped.append(f"{operation.label}: negative cases (it takes no input to get wrong)")
                continue
            self._baseline = self._settled_snapshot()
            try:
                self._run(operation, callers, mode, _strategy(operation, mode, known))
            except Unsatisfiable:
                self.report.skipped.append(f"{operation.label}: no {mode.value} case could be made")

    def _run(
        self, operation: APIOperation, callers: list[Caller], mode: GenerationMode, cases: SearchStrategy[Case]
    ) -> None:
        @settings(
            max_examples=self.max_examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            # Generation from a schema is slow and filters negative data heavily; neither is a defect.
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        )
        @given(case=cases)
        def exercise(case: Case) -> None:
            for caller in callers:
                self._send(case, caller, mode)

        exercise()

    def _send(self, case: Case, caller: Caller, mode: GenerationMode) -> None:
        label = case.operation.label
        self.report.cases[(label, caller.name, mode.value)] += 1
        response = case.call(base_url=self.stack.api_url, session=self._session, headers=dict(caller.headers))
        status = response.status_code
        self.report.statuses[(caller.name, status)] += 1

        def found(kind: str, detail: str) -> None:
            reproduce = case.as_curl_command(headers=dict(caller.headers), base_url=self.stack.api_url)
            self.report.record(Finding(label, caller.name, mode.value, kind, status, detail, reproduce))

        # Every operation documents a `default` error answer, which makes any status conform; the
        # statuses a route really answers must each be listed.
        if str(status) not in case.operation.responses.status_codes:
            found("status documented only by the default answer", f"{status} is not among the documented statuses")

        try:
            case.validate_response(
                response,
                headers=dict(caller.headers),
                transport_kwargs={"base_url": self.stack.api_url, "session": self._session},
            )
        except FailureGroup as failures:
            for failure in failures.exceptions:
                if isinstance(failure, RejectedPositiveData) and self._rightly_refused(label, response):
                    self.report.rightly_refused[label] += 1
                    continue
                found(failure.title, failure.message)
        if 400 <= status < 500 and (problem := error_shape_problem(response)):
            found("error answer not in the error shape", f"{problem}\n{response.text[:500]}")

        after = self._settled_snapshot()
        if 400 <= status < 500:
            self.report.refused[caller.name] += 1
            assert self._baseline is not None
            if changes := changes_between(self._baseline, after, self.ignored_writes):
                found("a refused request wrote", "\n".join(changes))
        self._baseline = after

    def _rightly_refused(self, label: str, response: Response) -> bool:
        return any(refusal.covers(response) for refusal in self.rightful_refusals.get(label, []))

    def _settled_snapshot(self) -> Snapshot:
        deadline = time.monotonic() + QUEUE_SETTLE_SECONDS
        while not self._store.queues_settled():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the polled queues were still busy after {QUEUE_SETTLE_SECONDS} s")
            time.sleep(0.02)
        return self._store.snapshot()


def _strategy(operation: APIOperation, mode: GenerationMode, known: Mapping[str, str]) -> SearchStrategy[Case]:
    generated = operation.as_strategy(generation_mode=mode)
    names = [parameter.name for parameter in operation.path_parameters]
    if mode is not GenerationMode.POSITIVE or not names or not all(name in known for name in names):
        return generated
    existing = operation.as_strategy(generation_mode=mode, path_parameters={name: known[name] for name in names})
    # The existing records first: Hypothesis starts with the first branch, so even a few cases reach one.
    return st.one_of(existing, generated)


def _has_inputs(operation: APIOperation) -> bool:
    return bool(list(operation.iter_parameters())) or bool(operation.body)


def operations_of(schema: Any) -> list[APIOperation]:
    """Every operation, deletions last: a deletion fuzzed early would take away the records that
    the other operations' cases are sent to."""
    operations = [result.ok() for result in schema.get_all_operations()]
    return sorted(operations, key=lambda operation: operation.method.upper() == "DELETE")
