"""No DynamoDB Scan on any request or queue path (DESIGN.md, Data: "Queries, never Scans").

Two checks, each against the same allow-list of maintenance code (empty: nothing may Scan):
- the code: no `.scan(` / `.parallel_scan(` call and no "Scan" operation name in shared/ or functions/;
- the running stack: representative traffic (sign-in, API keys, workspaces, a purchase through the
  payments sandbox, an image job through the queue and the worker, the library, the gallery, a share
  link, a report and its resolution, a policy notice fan-out, an export, a deletion countdown and
  every schedule) while a botocore `before-call.dynamodb.Scan` hook on every client records any Scan
  with the Python stack that issued it.
"""

from __future__ import annotations

import ast
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.session
import httpx
import pytest

from tests.support.client import ApiClient, signed_in
from tests.support.stack import running_stack

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("shared", "functions")

# Maintenance code allowed to Scan: (path relative to the repository, function name). Keep it empty;
# an entry needs a decision in docs/decisions.md saying why a Query cannot do.
ALLOWED_SCANNERS: frozenset[tuple[str, str]] = frozenset()

ADMIN = "no-scan-admin@example.com"


# -- the code --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScanSite:
    path: str
    line: int
    function: str
    code: str


def scan_sites(source: str, path: str) -> list[ScanSite]:
    """Every place in the source that asks DynamoDB for a Scan: a `.scan(...)` or `.parallel_scan(...)`
    call (PynamoDB models, boto3 clients and tables) or the operation named as a string ("Scan" to
    `_make_api_call`, "scan" to `get_paginator`). Docstrings and comments do not count."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    sites = []
    lines = source.splitlines()
    for node in ast.walk(tree):
        hit = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("scan", "parallel_scan")
        ) or (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in ("Scan", "scan", "ParallelScan")
            and id(node) not in docstrings
        )
        if hit:
            line = getattr(node, "lineno", 0)
            sites.append(ScanSite(path, line, _innermost(tree, node), lines[line - 1].strip() if line else ""))
    return sites


def _innermost(tree: ast.AST, target: ast.AST) -> str:
    """The name of the innermost function around a node ("<module>" when none)."""
    found = "<module>"

    def visit(node: ast.AST, current: str) -> bool:
        nonlocal found
        if node is target:
            found = current
            return True
        name = node.name if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else current
        return any(visit(child, name) for child in ast.iter_child_nodes(node))

    visit(tree, "<module>")
    return found


def test_the_detector_finds_every_way_of_asking_for_a_scan() -> None:
    # Given code that scans four ways, and code that only mentions scans
    source = '''
"""Never a Scan here."""
def pynamo():
    return list(JobItem.scan(limit=5))
def boto3_client(client):
    client.scan(TableName="t")
    client.get_paginator("scan")
def low_level(client):
    return client._make_api_call("Scan", {})
def fine(model):
    # a Scan would be wrong here
    return model.query("pk", scan_index_forward=False)
'''
    # When the detector reads it
    sites = scan_sites(source, "example.py")
    # Then it names the four scans, in their functions, and nothing else
    assert sorted((site.function, site.line) for site in sites) == [
        ("boto3_client", 6),
        ("boto3_client", 7),
        ("low_level", 9),
        ("pynamo", 4),
    ]


def test_no_code_in_shared_or_functions_asks_for_a_scan() -> None:
    # Given every module of the domain package and the functions
    found = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            found += [
                site
                for site in scan_sites(path.read_text(), relative)
                if (site.path, site.function) not in ALLOWED_SCANNERS
            ]
    # Then none of it scans, outside the allow-list
    assert found == [], "\n".join(f"{site.path}:{site.line} in {site.function}: {site.code}" for site in found)


# -- the running stack -----------------------------------------------------------------------------
@dataclass
class IssuedScan:
    table: str
    stack: list[traceback.FrameSummary]

    def allowed(self) -> bool:
        for frame in self.stack:
            path = Path(frame.filename)
            relative = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
            if (relative, frame.name) in ALLOWED_SCANNERS:
                return True
        return False

    def describe(self) -> str:
        ours = [
            f"  {Path(frame.filename).relative_to(ROOT)}:{frame.lineno} in {frame.name}"
            for frame in self.stack
            if Path(frame.filename).is_relative_to(ROOT) and ".venv" not in frame.filename
        ]
        return f"Scan of {self.table}:\n" + "\n".join(ours)


class ScanRecorder:
    """Adds a `before-call.dynamodb.Scan` hook to every botocore client created while installed
    (boto3's and PynamoDB's), recording each Scan with the stack that issued it, in any thread."""

    def __init__(self) -> None:
        self.scans: list[IssuedScan] = []
        self.recording = False
        self._lock = threading.Lock()

    def _on_scan(self, params: dict[str, Any], **_: Any) -> None:
        if not self.recording:
            return
        issued = IssuedScan(str(params.get("TableName", "?")), traceback.extract_stack()[:-1])
        with self._lock:
            self.scans.append(issued)

    @contextmanager
    def installed(self) -> Iterator[None]:
        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-parameter-build.dynamodb.Scan", recorder._on_scan)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]
        self.recording = True
        try:
            yield
        finally:
            self.recording = False
            botocore.session.Session.create_client = original  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[Any, ScanRecorder]]:
    recorder = ScanRecorder()
    with recorder.installed(), running_stack(parameters={"AdminEmails": ADMIN, "LogLevel": "WARNING"}) as runtime:
        yield runtime, recorder


def person(api_url: str, email: str) -> tuple[ApiClient, str]:
    client = signed_in(api_url, email)
    version = client.get("/v1/policies/terms").json()["version"]
    assert client.post("/v1/me/terms", json={"version": version, "age_confirmed": True}).status_code == 200
    return client, client.get("/v1/me").json()["id"]


def ok(answer: httpx.Response, *statuses: int) -> Any:
    assert answer.status_code in (statuses or (200,)), f"{answer.request.method} {answer.request.url}: {answer.text}"
    return answer.json() if answer.content else None


def finished(client: ApiClient, job_id: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = ok(client.get(f"/v1/jobs/{job_id}"))
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def drive_traffic(runtime: Any) -> None:
    """One pass over the platform's request and queue paths, through the real HTTP API."""
    maker, maker_id = person(runtime.api_url, "no-scan-maker@example.com")
    other, _ = person(runtime.api_url, "no-scan-other@example.com")
    admin, _ = person(runtime.api_url, ADMIN)
    anonymous = ApiClient(runtime.api_url)
    try:
        ok(anonymous.get("/v1/health"))
        ok(maker.request("PATCH", "/v1/me", json={"name": "No Scan"}))
        ok(maker.request("PUT", "/v1/me/consent", json={"analytics": False}))
        key = ok(maker.post("/v1/me/api-keys", json={"name": "scan"}), 201)
        ok(ApiClient(runtime.api_url, api_key=key["key"]).get("/v1/me"))
        ok(maker.get("/v1/me/api-keys"))
        ok(maker.request("DELETE", f"/v1/me/api-keys/{key['id']}"), 204)
        workspace = ok(maker.post("/v1/workspaces", json={"name": "Scans"}), 201)
        ok(maker.get("/v1/workspaces"))
        ok(maker.request("DELETE", f"/v1/workspaces/{workspace['id']}"), 204)

        # A purchase: the sandbox pays and sends its signed webhooks before answering.
        checkout = ok(maker.post("/v1/billing/checkout", json={"item_id": "pack_starter", "provider": "stripe"}), 201)
        assert httpx.post(f"{checkout['url']}/pay", timeout=30).status_code < 400
        assert ok(maker.get("/v1/billing/balance"))["credits"] > 0
        ok(maker.get("/v1/billing/ledger"))
        ok(maker.request("PUT", "/v1/billing/spend-cap", json={"monthly_credits": 1000}))

        # A job through the queue and the worker, and the library it fills.
        job = ok(maker.post("/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": "no scans"}), 202)
        job = finished(maker, job["id"])
        assert job["status"] == "succeeded", job
        doomed = ok(maker.post("/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": "stop"}), 202)
        ok(maker.post(f"/v1/jobs/{doomed['id']}/cancel"), 200, 409)
        ok(maker.get("/v1/jobs"))
        ok(maker.get("/v1/assets"))
        asset_id = job["outputs"][0]
        ok(maker.get(f"/v1/assets/{asset_id}"))
        ok(maker.request("PATCH", f"/v1/assets/{asset_id}", json={"labels": ["scan"], "visibility": "public"}))

        # The gallery, a share link, a report and its resolution.
        ok(anonymous.get("/v1/gallery"))
        share = ok(maker.post("/v1/shares", json={"target_type": "asset", "target_id": asset_id}), 201)
        ok(anonymous.get(f"/v1/s/{share['token']}"))
        ok(maker.get("/v1/shares"))
        report = ok(
            other.post(
                "/v1/reports",
                json={"target_type": "asset", "target_id": asset_id, "owner_id": maker_id, "reason": "spam"},
            ),
            201,
        )
        ok(admin.get("/v1/admin/reports"))
        ok(admin.post(f"/v1/admin/reports/{report['id']}/resolve", json={"action": "dismiss", "note": "fine"}))

        # A material policy change fans out notices through their queue.
        effective = (datetime.now(UTC) + timedelta(days=15)).isoformat(timespec="seconds")
        policy = {
            "kind": "privacy",
            "version": "no-scan-1",
            "summary": "S",
            "material": True,
            "effective_at": effective,
        }
        ok(admin.post("/v1/admin/policies", json=policy), 200, 201, 202)

        # Privacy: an export through its queue, a deletion countdown cancelled.
        export = ok(maker.post("/v1/me/exports"), 202)
        deadline = time.monotonic() + 30
        while ok(maker.get(f"/v1/me/exports/{export['id']}"))["status"] not in ("ready", "failed"):
            assert time.monotonic() < deadline, "the export never finished"
            time.sleep(0.3)
        ok(maker.post("/v1/me/deletion"), 202)
        ok(maker.get("/v1/me/deletion"))
        ok(maker.request("DELETE", "/v1/me/deletion"))

        # Every schedule (the stuck-job sweep, the purge, the retention sweep...).
        for schedule in runtime.scheduler.schedules:
            outcome = runtime.scheduler.run_now(schedule.name)
            assert outcome["status"] == "succeeded", outcome

        ok(maker.post("/v1/auth/logout-all"), 204)
    finally:
        for client in (maker, other, admin, anonymous):
            client.close()
    runtime.wait_until_queues_settle(timeout=60)  # the notice fan-out's last batches scan nothing either


def test_the_hook_sees_scans_from_pynamodb_and_boto3(recorded: tuple[Any, ScanRecorder]) -> None:
    # Given the recorder on every client made since the stack started
    _, recorder = recorded
    import boto3

    from atelier.data.base import MainTableModel
    from atelier.data.items import AccountItem

    before = len(recorder.scans)
    # When a Scan is issued through PynamoDB and through boto3 (by this test, not the platform)
    list(AccountItem.scan(limit=1))
    boto3.client("dynamodb").scan(TableName=MainTableModel.Meta.table_name, Limit=1)
    # Then both are recorded, with the stack that issued them
    canaries = recorder.scans[before:]
    assert len(canaries) == 2
    assert all(
        any(frame.name == "test_the_hook_sees_scans_from_pynamodb_and_boto3" for frame in c.stack) for c in canaries
    )
    del recorder.scans[before:]


def test_no_request_or_queue_message_scans(recorded: tuple[Any, ScanRecorder]) -> None:
    # Given the whole stack with the recorder on every client
    runtime, recorder = recorded
    before = len(recorder.scans)
    # When representative traffic runs through the API, the queues and the schedules
    drive_traffic(runtime)
    # Then no Scan was issued, outside the allow-list
    scans = [scan for scan in recorder.scans[before:] if not scan.allowed()]
    assert scans == [], "\n\n".join(scan.describe() for scan in scans)
