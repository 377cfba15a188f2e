"""AWS API calls per request, for every route of the template and every queue message type, counted
with botocore's event hooks on every client the code makes.

    python -m bench.aws_calls

Runs the real handlers against the embedded emulator (the local runtime's, from template.yaml),
with the queue pollers stopped: each request and each queue message is handed to its function in
this thread, so the counts are that one invocation's (and of the threads it starts), nothing else.
Every route declared in template.yaml gets a row; a route without a scenario here says so. Clients
are warm (each scenario runs after others of its function), as in a warm container.

DynamoDB request units are estimated per call (bench/capacity.py) for the cost model.
"""

from __future__ import annotations

import argparse
import copy
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session

from bench.capacity import request_units
from bench.figures import INFO, MISSED, Figure, verdict, write

# -- counting --------------------------------------------------------------------------------------


class CallCounter(Counter[str]):
    """Calls by `service.Operation`, with the DynamoDB request units and S3 bytes written."""

    read_units: float = 0.0
    write_units: float = 0.0
    s3_bytes_written: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.aws_seconds = 0.0  # inside the calls: the emulator's round trips
        self.journal: list[tuple[str, str, dict[str, Any]]] = []  # (service, operation, parameters)


_lock = threading.Lock()
_installed = False
_measuring_thread: int | None = None
_window: CallCounter | None = None
_PARAMS = "atelier_bench_params"


def _origin() -> int | None:
    """The thread a call is made for: the measuring thread's own calls, and those of threads it
    started while measuring (thread pools, read-ahead), count; pollers and servers do not."""
    thread = threading.current_thread()
    return getattr(thread, "_bench_origin", None) or thread.ident


def _counted() -> CallCounter | None:
    window = _window
    if window is None or _origin() != _measuring_thread:
        return None
    return window


_STARTED = "atelier_bench_started"


def _count(event_name: str, context: dict[str, Any] | None = None, **_: Any) -> None:
    window = _counted()
    if window is None:
        return
    if context is not None:
        context[_STARTED] = time.perf_counter()
    service, operation = event_name.split(".", 2)[1:]
    with _lock:
        window[f"{service}.{operation}"] += 1


def _remember_params(event_name: str, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    window = _counted()
    if window is None:
        return
    context[_PARAMS] = params
    service, operation = event_name.split(".", 2)[1:]
    with _lock:
        window.journal.append((service, operation, copy.deepcopy(params)))
    if service == "s3" and operation in ("PutObject", "UploadPart"):
        body = params.get("Body")
        if isinstance(body, bytes | bytearray):
            with _lock:
                window.s3_bytes_written += len(body)


def _after_call(event_name: str, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    window = _counted()
    if window is None:
        return
    if _STARTED in context:
        elapsed = time.perf_counter() - context.pop(_STARTED)
        with _lock:
            window.aws_seconds += elapsed
    if not event_name.startswith("after-call.dynamodb."):
        return
    reads, writes = request_units(event_name.rsplit(".", 1)[-1], context.get(_PARAMS) or {}, parsed or {})
    with _lock:
        window.read_units += reads
        window.write_units += writes


def install() -> None:
    """Counts calls of every botocore client created from now on (boto3's and PynamoDB's)."""
    global _installed
    if _installed:
        return
    original = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        client.meta.events.register("before-parameter-build.*.*", _remember_params)
        client.meta.events.register("before-call.*.*", _count)
        client.meta.events.register("after-call.*.*", _after_call)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    original_start = threading.Thread.start

    def start(self: threading.Thread) -> None:
        if _window is not None and _origin() == _measuring_thread:
            self._bench_origin = _measuring_thread  # type: ignore[attr-defined]
        original_start(self)

    threading.Thread.start = start  # type: ignore[method-assign]
    _installed = True


@contextmanager
def counting() -> Iterator[CallCounter]:
    """Counts the calls this thread (and the threads it starts) makes inside the block."""
    global _measuring_thread, _window
    seen = CallCounter()
    with _lock:
        _measuring_thread = threading.get_ident()
        _window = seen
    try:
        yield seen
    finally:
        with _lock:
            _window = None


def measure(name: str, goal: int | None, action: Callable[[], Any]) -> tuple[str, int, int | None, Counter[str]]:
    with counting() as calls:
        action()
    return name, sum(calls.values()), goal, calls


# -- what is measured ------------------------------------------------------------------------------

# Goals, by scenario label.
GOALS = {
    "hold (one job's credits)": 1,
    "POST /v1/jobs: submit an image job": 4,
    "GET /v1/jobs/{job_id}": 2,
    "GET /v1/gallery: first page": 2,
    "POST /v1/webhooks/stripe: checkout.session.completed (credit grant)": 3,
}


@dataclass
class Measurement:
    label: str
    kind: str  # "route", "queue", "schedule", "direct"
    method: str = ""
    resource: str = ""
    function: str = ""
    status: int | None = None
    calls: CallCounter = field(default_factory=CallCounter)
    seconds: float = 0.0
    error: str = ""
    batch: int = 1

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def goal(self) -> int | None:
        return GOALS.get(self.label)

    def detail(self) -> str:
        return ", ".join(f"{operation} x{count}" for operation, count in sorted(self.calls.items())) or "none"


class Recorder:
    def __init__(self, harness: Any) -> None:
        self.harness = harness
        self.rows: list[Measurement] = []

    def route(
        self,
        label: str,
        method: str,
        path: str,
        *,
        expect: int | tuple[int, ...] = (),
        warm: bool | None = None,
        **options: Any,
    ) -> Any:
        """One request, measured; answers the handler's answer. `warm` (by default for GETs) makes
        the same request once before, unmeasured, so that lazily made clients and lazily imported
        libraries are in place, as in a container that has served it before."""
        function, resource, _ = self.harness.event(method, path, **options)
        if warm if warm is not None else method == "GET":
            self.harness.call(method, path, **options)
        row = Measurement(label, "route", method, resource, function)
        with counting() as calls:
            started = time.perf_counter()
            answer = self.harness.call(method, path, **options)
            row.seconds = time.perf_counter() - started
        row.calls, row.status = calls, answer.status
        expected = (expect,) if isinstance(expect, int) else expect
        if (expected and answer.status not in expected) or (not expected and answer.status >= 400):
            row.error = f"answered {answer.status}: {answer.body[:200].decode(errors='replace')}"
        self.rows.append(row)
        return answer

    def queue(self, label: str, function: str) -> int:
        """Every message now on the function's queue, each batch measured as one row."""

        def around(event: dict[str, Any], invoke: Callable[[], Any]) -> Any:
            size = len(event.get("Records") or [])
            named = label if size == 1 else f"{label} (a batch of {size})"
            row = Measurement(named, "queue", function=function, resource=self.harness.source(function).queue_arn)
            row.batch = size
            with counting() as calls:
                started = time.perf_counter()
                try:
                    result = invoke()
                except Exception as exc:
                    row.error = f"{type(exc).__name__}: {exc}"
                    raise
                finally:
                    row.seconds = time.perf_counter() - started
                    row.calls = calls
                    self.rows.append(row)
            failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
            if failures:
                row.error = f"{len(failures)} record(s) failed"
            return result

        return self.harness.deliver(function, around)

    def schedule(self, name: str) -> None:
        scheduler = self.harness.runtime.scheduler
        schedule = next(s for s in scheduler.schedules if s.name == name)
        row = Measurement(f"schedule {name}", "schedule", function=schedule.function)
        with counting() as calls:
            started = time.perf_counter()
            outcome = scheduler.run_now(name)
            row.seconds = time.perf_counter() - started
        row.calls = calls
        if outcome.get("status") != "succeeded":
            row.error = str(outcome.get("error"))
        self.rows.append(row)

    def direct(self, label: str, action: Callable[[], Any]) -> None:
        row = Measurement(label, "direct")
        with counting() as calls:
            started = time.perf_counter()
            action()
            row.seconds = time.perf_counter() - started
        row.calls = calls
        self.rows.append(row)

    def failed(self, section: str, exc: BaseException) -> None:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self.rows.append(Measurement(f"{section}: scenario broke off", "error", error=detail[:300]))


ADMIN = "bench-admin@example.com"


def run_scenarios(harness: Any) -> list[Measurement]:
    recorder = Recorder(harness)
    world: dict[str, Any] = {}
    for section in (
        _meta_and_sign_in,
        _account,
        _billing,
        _generation,
        _gallery,
        _workflows,
        _moderation,
        _privacy,
        _sign_out,
        _schedules,
        _repository,
    ):
        try:
            section(recorder, world)
        except Exception as exc:
            recorder.failed(section.__name__.strip("_").replace("_", " "), exc)
    return recorder.rows


def _sign_in(harness: Any, email: str) -> Any:
    caller = harness.sign_in(email)
    terms = harness.call("GET", "/v1/policies/terms").json()["version"]
    harness.call("POST", "/v1/me/terms", json_body={"version": terms, "age_confirmed": True}, caller=caller)
    return caller


def _meta_and_sign_in(r: Recorder, world: dict[str, Any]) -> None:
    import httpx

    from bench.harness import Caller

    h = r.harness
    r.route("GET /v1/health", "GET", "/v1/health")
    r.route("GET /v1/openapi.json", "GET", "/v1/openapi.json")
    r.route("GET /v1/docs", "GET", "/v1/docs")
    r.route("GET /v1/policies/{kind}", "GET", "/v1/policies/terms")
    world["maker"] = _sign_in(h, "bench-maker@example.com")
    world["other"] = _sign_in(h, "bench-other@example.com")
    world["admin"] = _sign_in(h, ADMIN)
    # A sign-in measured end to end: login, the issuer (not measured), the callback.
    login = r.route(
        "GET /v1/auth/login", "GET", "/v1/auth/login", query={"login_hint": "bench-new@example.com"}, expect=302
    )
    binding = {}
    for header in login.headers.get("set-cookie", []):
        name, _, rest = header.partition("=")
        binding[name] = rest.split(";", 1)[0]
    approved = httpx.get(login.headers["location"][0], follow_redirects=False, timeout=30)
    callback = httpx.URL(approved.headers["location"])
    query = dict(callback.params)
    r.route(
        "GET /v1/auth/callback: a new account",
        "GET",
        "/v1/auth/callback",
        query=query,
        caller=Caller(cookies=binding),
        expect=302,
        warm=False,
    )


def _account(r: Recorder, world: dict[str, Any]) -> None:
    maker = world["maker"]
    r.route("GET /v1/me", "GET", "/v1/me", caller=maker)
    r.route("PATCH /v1/me", "PATCH", "/v1/me", json_body={"name": "Bench Maker"}, caller=maker)
    r.route("PUT /v1/me/consent", "PUT", "/v1/me/consent", json_body={"analytics": True}, caller=maker)
    terms = r.harness.call("GET", "/v1/policies/terms").json()["version"]
    r.route(
        "POST /v1/me/terms",
        "POST",
        "/v1/me/terms",
        json_body={"version": terms, "age_confirmed": True},
        caller=world["other"],
    )
    created = r.route(
        "POST /v1/workspaces", "POST", "/v1/workspaces", json_body={"name": "Bench"}, caller=maker, expect=201
    ).json()
    r.route("GET /v1/workspaces", "GET", "/v1/workspaces", caller=maker)
    r.route("GET /v1/workspaces/{workspace_id}", "GET", f"/v1/workspaces/{created['id']}", caller=maker)
    r.route(
        "PATCH /v1/workspaces/{workspace_id}",
        "PATCH",
        f"/v1/workspaces/{created['id']}",
        json_body={"name": "Bench 2"},
        caller=maker,
    )
    r.route("DELETE /v1/workspaces/{workspace_id}", "DELETE", f"/v1/workspaces/{created['id']}", caller=maker)
    key = r.route(
        "POST /v1/me/api-keys", "POST", "/v1/me/api-keys", json_body={"name": "bench"}, caller=maker, expect=201
    ).json()
    r.route("GET /v1/me/api-keys", "GET", "/v1/me/api-keys", caller=maker)
    from bench.harness import Caller

    r.route("GET /v1/me: with an API key", "GET", "/v1/me", caller=Caller(api_key=key["key"]))
    r.route("DELETE /v1/me/api-keys/{api_key_id}", "DELETE", f"/v1/me/api-keys/{key['id']}", caller=maker)


def _pay(r: Recorder, checkout_url: str) -> dict[str, Any]:
    import httpx

    answer = httpx.post(f"{checkout_url}/pay", params={"deliver": "false"}, timeout=30)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def _replay(r: Recorder, label: str, provider: str, event: dict[str, Any], expect: Any = 200) -> Any:
    headers = {name: value for name, value in event["headers"].items() if name.lower() != "host"}
    return r.route(
        label,
        "POST",
        f"/v1/webhooks/{provider}",
        body=event["body"].encode(),
        headers=headers,
        expect=expect,
    )


def _billing(r: Recorder, world: dict[str, Any]) -> None:
    maker = world["maker"]
    # A forged delivery to each webhook first (refused, not measured): the payment libraries are
    # imported on first use, once per container.
    for provider in ("stripe", "paypal", "creem"):
        r.harness.call("POST", f"/v1/webhooks/{provider}", body=b"{}", headers={"Content-Type": "application/json"})
    for provider in ("stripe", "paypal", "creem"):
        r.harness.call(
            "POST", "/v1/billing/checkout", json_body={"item_id": "pack_starter", "provider": provider}, caller=maker
        )
    r.route("GET /v1/billing/catalog", "GET", "/v1/billing/catalog", caller=maker)
    # A first purchase, not measured: its receipt makes the container's email client.
    first = r.harness.call(
        "POST", "/v1/billing/checkout", json_body={"item_id": "pack_starter", "provider": "stripe"}, caller=maker
    ).json()
    for event in _pay(r, first["url"])["events"]:
        headers = {name: value for name, value in event["headers"].items() if name.lower() != "host"}
        r.harness.call("POST", "/v1/webhooks/stripe", body=event["body"].encode(), headers=headers)
    stripe = r.route(
        "POST /v1/billing/checkout: stripe pack",
        "POST",
        "/v1/billing/checkout",
        json_body={"item_id": "pack_starter", "provider": "stripe"},
        caller=maker,
        expect=201,
    ).json()
    events = _pay(r, stripe["url"])["events"]
    for event in events:
        if event["type"] == "checkout.session.completed":
            label = "POST /v1/webhooks/stripe: checkout.session.completed (credit grant)"
        else:
            label = f"POST /v1/webhooks/stripe: {event['type']}"
        _replay(r, label, "stripe", event)
    _replay(r, "POST /v1/webhooks/stripe: the same event again", "stripe", events[0])
    plan = r.harness.call(
        "POST", "/v1/billing/checkout", json_body={"item_id": "plan_monthly", "provider": "stripe"}, caller=maker
    ).json()
    for event in _pay(r, plan["url"])["events"]:
        _replay(r, f"POST /v1/webhooks/stripe: plan, {event['type']}", "stripe", event)
    r.route("GET /v1/billing/subscription", "GET", "/v1/billing/subscription", caller=maker)

    creem = r.harness.call(
        "POST", "/v1/billing/checkout", json_body={"item_id": "pack_starter", "provider": "creem"}, caller=maker
    ).json()
    for event in _pay(r, creem["url"])["events"]:
        _replay(r, f"POST /v1/webhooks/creem: {event['type']}", "creem", event)

    paypal = r.route(
        "POST /v1/billing/checkout: paypal pack",
        "POST",
        "/v1/billing/checkout",
        json_body={"item_id": "pack_starter", "provider": "paypal"},
        caller=maker,
        expect=201,
    ).json()
    paid = _pay(r, paypal["url"])
    import httpx

    back = httpx.URL(paid["return_url"])
    r.route(
        "GET /v1/billing/return/{provider}: paypal capture and grant",
        "GET",
        back.path,
        query=dict(back.params),
        expect=302,
        warm=False,
    )
    time.sleep(1.0)  # the sandbox sends the capture's webhook in the background
    sent = httpx.get(f"{paypal['url']}/events", timeout=30).json()["events"]
    for event in sent:
        _replay(r, f"POST /v1/webhooks/paypal: {event['type']} (already applied)", "paypal", event)
    r.route("GET /v1/billing/balance", "GET", "/v1/billing/balance", caller=maker)
    r.route(
        "PUT /v1/billing/spend-cap", "PUT", "/v1/billing/spend-cap", json_body={"monthly_credits": 5000}, caller=maker
    )
    r.route("GET /v1/billing/ledger", "GET", "/v1/billing/ledger", caller=maker)


def _finish_jobs(r: Recorder, label: str, world: dict[str, Any], job_ids: list[str]) -> None:
    """Delivers generation messages until the jobs are finished (polls arrive after their delay)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r.queue(label, "WorkerFunction")
        label = "generation message: poll (asynchronous provider)"
        statuses = [
            r.harness.call("GET", f"/v1/jobs/{job_id}", caller=world["maker"]).json()["status"] for job_id in job_ids
        ]
        if all(status in ("succeeded", "failed", "canceled") for status in statuses):
            return
        time.sleep(1.0)
    raise TimeoutError(f"jobs {job_ids} did not finish")


def _generation(r: Recorder, world: dict[str, Any]) -> None:
    maker = world["maker"]
    h = r.harness
    r.route("GET /v1/models", "GET", "/v1/models", caller=maker)
    r.route(
        "POST /v1/uploads",
        "POST",
        "/v1/uploads",
        json_body={"filename": "ref.png", "content_type": "image/png", "size_bytes": 2048},
        caller=maker,
        expect=201,
    )
    image = {
        "kind": "image",
        "model": "local-image",
        "prompt": "a bench at dawn",
        "params": {"width": 512, "height": 512},
    }
    warm = h.call("POST", "/v1/jobs", json_body=image, caller=maker).json()  # warms the terms cache
    h.deliver("WorkerFunction")
    job = r.route(
        "POST /v1/jobs: submit an image job", "POST", "/v1/jobs", json_body=image, caller=maker, expect=202
    ).json()
    r.route("GET /v1/jobs/{job_id}", "GET", f"/v1/jobs/{job['id']}", caller=maker)
    _finish_jobs(r, "generation message: start, image (local provider, synchronous)", world, [job["id"]])
    world["job"] = r.harness.call("GET", f"/v1/jobs/{job['id']}", caller=maker).json()
    world["warm_job"] = warm
    r.route(
        "POST /v1/jobs: with an Idempotency-Key",
        "POST",
        "/v1/jobs",
        json_body=image,
        headers={"Idempotency-Key": "bench-1"},
        caller=maker,
        expect=202,
    )
    r.route(
        "POST /v1/jobs: the same key again (answered from the idempotency record)",
        "POST",
        "/v1/jobs",
        json_body=image,
        headers={"Idempotency-Key": "bench-1"},
        caller=maker,
        expect=(200, 202),
    )
    h.deliver("WorkerFunction")
    doomed = h.call("POST", "/v1/jobs", json_body=image, caller=maker).json()
    r.route("POST /v1/jobs/{job_id}/cancel", "POST", f"/v1/jobs/{doomed['id']}/cancel", caller=maker)
    r.queue("generation message: start, a canceled job", "WorkerFunction")
    r.route("GET /v1/jobs", "GET", "/v1/jobs", caller=maker)

    video = {"kind": "video", "model": "local-video", "prompt": "waves", "params": {"duration_s": 1}}
    clip = r.route(
        "POST /v1/jobs: submit a video job", "POST", "/v1/jobs", json_body=video, caller=maker, expect=202
    ).json()
    _finish_jobs(r, "generation message: start, video (local provider, asynchronous)", world, [clip["id"]])

    asset_id = world["job"]["outputs"][0]
    world["asset_id"] = asset_id
    r.route("GET /v1/assets", "GET", "/v1/assets", caller=maker)
    r.route("GET /v1/assets/{asset_id}", "GET", f"/v1/assets/{asset_id}", caller=maker)
    r.route(
        "PATCH /v1/assets/{asset_id}: labels and rating",
        "PATCH",
        f"/v1/assets/{asset_id}",
        json_body={"labels": ["bench"], "rating": 4},
        caller=maker,
    )
    r.route(
        "PATCH /v1/assets/{asset_id}: publish",
        "PATCH",
        f"/v1/assets/{asset_id}",
        json_body={"visibility": "public"},
        caller=maker,
    )
    spare = world["warm_job"]["id"]
    spare_asset = h.call("GET", f"/v1/jobs/{spare}", caller=maker).json()["outputs"][0]
    r.route("DELETE /v1/assets/{asset_id}", "DELETE", f"/v1/assets/{spare_asset}", caller=maker, expect=204)
    r.route(
        "POST /v1/webhooks/providers/{provider}: the local provider sends none",
        "POST",
        "/v1/webhooks/providers/local",
        json_body={"id": "nothing"},
        expect=(400, 401, 403),
    )


def _gallery(r: Recorder, world: dict[str, Any]) -> None:
    if not _has_route(r, "GET", "/v1/gallery"):
        return
    maker, other = world["maker"], world["other"]
    r.route("GET /v1/gallery: first page", "GET", "/v1/gallery", query={"limit": "20"})
    share = r.route(
        "POST /v1/shares",
        "POST",
        "/v1/shares",
        json_body={"target_type": "asset", "target_id": world["asset_id"]},
        caller=maker,
        expect=201,
    ).json()
    r.route("GET /v1/shares", "GET", "/v1/shares", caller=maker)
    r.route("GET /v1/s/{token}: anonymous", "GET", f"/v1/s/{share['token']}")
    r.route("DELETE /v1/shares/{share_id}", "DELETE", f"/v1/shares/{share['id']}", caller=maker, expect=(200, 204))
    report = r.route(
        "POST /v1/reports",
        "POST",
        "/v1/reports",
        json_body={
            "target_type": "asset",
            "target_id": world["asset_id"],
            "reason": "spam",
        },
        caller=other,
        expect=201,
    ).json()
    world["report_id"] = report["id"]


def _workflows(r: Recorder, world: dict[str, Any]) -> None:
    if not _has_route(r, "POST", "/v1/workflows"):
        return
    maker, other = world["maker"], world["other"]
    definition = {"kind": "image", "model": "local-image", "prompt_template": "a {animal} at dawn", "params": {}}
    flow = r.route(
        "POST /v1/workflows",
        "POST",
        "/v1/workflows",
        json_body={"name": "Bench flow", "definition": definition},
        caller=maker,
        expect=201,
    ).json()
    path = f"/v1/workflows/{flow['id']}"
    r.route("GET /v1/workflows", "GET", "/v1/workflows", caller=maker)
    r.route("GET /v1/workflows/{workflow_id}", "GET", path, caller=maker)
    r.route("PATCH /v1/workflows/{workflow_id}", "PATCH", path, json_body={"name": "Bench flow 2"}, caller=maker)
    r.route(
        "POST /v1/workflows/{workflow_id}/versions",
        "POST",
        f"{path}/versions",
        json_body={"definition": definition, "note": "again"},
        caller=maker,
        expect=201,
    )
    r.route("GET /v1/workflows/{workflow_id}/versions", "GET", f"{path}/versions", caller=maker)
    token = r.harness.call(
        "POST", "/v1/shares", json_body={"target_type": "workflow", "target_id": flow["id"]}, caller=maker
    ).json()["token"]
    r.route(
        "POST /v1/workflows/{workflow_id}/fork",
        "POST",
        f"{path}/fork",
        json_body={"share_token": token},
        caller=other,
        expect=201,
    )
    r.route(
        "POST /v1/workflows/{workflow_id}/versions/{version}/jobs",
        "POST",
        f"{path}/versions/1/jobs",
        json_body={"variables": {"animal": "heron"}},
        caller=maker,
        expect=202,
    )
    r.harness.deliver("WorkerFunction")


def _moderation(r: Recorder, world: dict[str, Any]) -> None:
    if not _has_route(r, "GET", "/v1/admin/reports"):
        return
    admin = world["admin"]
    r.route("GET /v1/admin/reports", "GET", "/v1/admin/reports", caller=admin)
    if "report_id" in world:
        r.route(
            "POST /v1/admin/reports/{report_id}/resolve",
            "POST",
            f"/v1/admin/reports/{world['report_id']}/resolve",
            json_body={"action": "dismiss", "note": "bench"},
            caller=admin,
        )
    if _has_route(r, "POST", "/v1/admin/accounts/{account_id}/lift-suspension"):
        from atelier.services import get_services

        maker = world["maker"]
        get_services().moderation_actions.suspend_account(maker.account_id, datetime.now(UTC))
        r.route(
            "POST /v1/admin/accounts/{account_id}/lift-suspension",
            "POST",
            f"/v1/admin/accounts/{maker.account_id}/lift-suspension",
            json_body={"note": "bench"},
            caller=admin,
        )
    effective = (datetime.now(UTC) + timedelta(days=15)).isoformat(timespec="seconds")
    r.route(
        "POST /v1/admin/policies: a material change",
        "POST",
        "/v1/admin/policies",
        json_body={
            "kind": "privacy",
            "version": f"bench-{int(time.time())}",
            "summary": "A bench change.",
            "material": True,
            "effective_at": effective,
        },
        caller=admin,
        expect=(200, 201, 202),
    )
    r.queue("policy notice message: one page of one account shard", "NoticesFunction")


def _privacy(r: Recorder, world: dict[str, Any]) -> None:
    maker = world["maker"]
    export = r.route("POST /v1/me/exports", "POST", "/v1/me/exports", caller=maker, expect=202).json()
    r.queue("export message: a small account's archive", "ExporterFunction")
    r.route("GET /v1/me/exports/{export_id}", "GET", f"/v1/me/exports/{export['id']}", caller=maker)
    r.route("GET /v1/me/deletion", "GET", "/v1/me/deletion", caller=maker)
    r.route("POST /v1/me/deletion", "POST", "/v1/me/deletion", caller=maker, expect=202)
    r.route("DELETE /v1/me/deletion", "DELETE", "/v1/me/deletion", caller=maker)


def _sign_out(r: Recorder, world: dict[str, Any]) -> None:
    leaving = r.harness.sign_in("bench-leaving@example.com")
    r.route("POST /v1/auth/logout", "POST", "/v1/auth/logout", caller=leaving, expect=204)
    everywhere = r.harness.sign_in("bench-everywhere@example.com")
    r.route("POST /v1/auth/logout-all", "POST", "/v1/auth/logout-all", caller=everywhere, expect=204)


def _schedules(r: Recorder, world: dict[str, Any]) -> None:
    for schedule in r.harness.runtime.scheduler.schedules:
        r.schedule(schedule.name)


def _repository(r: Recorder, world: dict[str, Any]) -> None:
    """The money primitives on their own, as the data-access layer calls them."""
    from atelier.data.wallets import WalletRepository
    from tests.support.money import give_credits, new_account

    wallets = WalletRepository()
    account = new_account()
    give_credits(account, 100)
    wallets.get(account.id)  # warm the client
    now = datetime.now(UTC)
    r.direct(
        "hold (one job's credits)",
        lambda: wallets.hold(account.id, account.ledger_id, "job_bench", 5, now, generation_kind="image"),
    )
    r.direct("settle (one job's credits)", lambda: wallets.settle(account.id, account.ledger_id, "job_bench", 5, now))


def _has_route(r: Recorder, method: str, path: str) -> bool:
    return r.harness.router.match(method, path) is not None


# -- the table -------------------------------------------------------------------------------------
def declared_routes() -> list[tuple[str, str, str]]:
    from tests.support.template import declared_routes as routes

    return sorted((route.method, route.path, route.function_dir) for route in routes())


def figures(rows: list[Measurement]) -> list[Figure]:
    how = "botocore before-call events on every client, one warm invocation in-process against the emulator"
    found: list[Figure] = []
    covered = {(row.method, row.resource) for row in rows if row.kind == "route"}
    for row in rows:
        goal = row.goal
        if row.kind == "error":
            found.append(Figure("AWS calls", row.label, "-", row.error, MISSED, how))
            continue
        result = f"**{row.total}** ({row.detail()})"
        if row.error:
            result += f"; {row.error}"
        state = verdict(row.total, goal) if goal is not None else INFO
        if row.error and row.kind != "route":
            state = MISSED
        units = f"{row.calls.read_units:g} RRU, {row.calls.write_units:g} WRU"
        found.append(
            Figure(
                "AWS calls",
                row.label,
                f"<= {goal}" if goal is not None else "-",
                f"{result}; {units}",
                state,
                how,
                {
                    "calls": dict(row.calls),
                    "total": row.total,
                    "read_units": row.calls.read_units,
                    "write_units": row.calls.write_units,
                    "s3_bytes_written": row.calls.s3_bytes_written,
                    "seconds": row.seconds,
                    "aws_seconds": row.calls.aws_seconds,
                    "kind": row.kind,
                    "function": row.function,
                    "batch": row.batch,
                },
            )
        )
    for method, path, function in declared_routes():
        if (method, path) not in covered:
            found.append(Figure("AWS calls", f"{method} {path}", "-", f"no scenario yet ({function})", "pending", how))
    if not any(row.resource == "/v1/gallery" for row in rows):
        found.append(Figure("AWS calls", "GET /v1/gallery: first page", "<= 2", "not built yet", "pending", how))
    return found


def collect() -> list[Measurement]:
    install()
    from bench.harness import still_stack

    with still_stack(parameters={"AdminEmails": ADMIN}) as harness:
        return run_scenarios(harness)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the figures to this file (for bench/report.py)")
    options = parser.parse_args()
    rows = collect()
    print("AWS calls per request and per queue message (botocore before-call events)")
    print(f"{'what':<78} {'calls':>5} {'goal':>5}  {'':<6} {'RRU':>5} {'WRU':>5}  detail")
    for row in rows:
        goal = row.goal
        state = "" if goal is None else ("met" if row.total <= goal else "MISSED")
        print(
            f"{row.label[:78]:<78} {row.total:>5} {goal if goal is not None else '-':>5}  {state:<6}"
            f" {row.calls.read_units:>5g} {row.calls.write_units:>5g}  {row.detail()}"
            + (f"  [{row.error}]" if row.error else "")
        )
    covered = {(row.method, row.resource) for row in rows}
    missing = [f"{method} {path}" for method, path, _ in declared_routes() if (method, path) not in covered]
    if missing:
        print(f"routes without a scenario: {', '.join(missing)}")
    write(options.json, figures(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
