"""SnapStart and the runtime: for each function, side by side in one run,

- the import of its handler in a fresh process on python3.13 (the runtime) vs python3.11 (the one
  it left) vs `import boto3` on python3.13 (median of `--runs`, interleaved);
- the before-snapshot hook's time and the after-restore hooks' time (`atelier.snapstart`);
- the in-process latency of the first request after a simulated restore vs a warm request (median
  of `--warm` requests), and every module the first request imported.

    python -m bench.snapstart [--runs 5] [--warm 15] [--restores 3] [--json out.json]
    python -m bench.snapstart --probe jobs        # one function, in this process: JSON on stdout

A simulated restore runs, in one fresh process against the emulator: import the handler, the
before-snapshot hooks, the after-restore hooks, then the requests. The python3.11 figures use a
virtual environment of the layer's requirements under bench/results/py311, made on first use by
python3.11 from pyenv (or PATH); when it cannot be made, the output says why.

Goals: after-restore hooks <= 50 ms per function; the first request after restore <= 1.5x a warm
one; no import on the request path after restore.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.figures import INFO, MET, MISSED, Figure, silenced_stdout, write

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PY311_VENV = RESULTS / "py311"
AFTER_RESTORE_GOAL_MS = 50.0
FIRST_REQUEST_GOAL = 1.5
_ENVIRONMENT = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}


# -- one request per function, answered without a signed-in account -----------------------------
def _api(method: str, path: str, resource: str | None = None, **parameters: str) -> dict[str, Any]:
    from tests.support.events import api_event

    return api_event(method, path, resource=resource, path_parameters=parameters or None)


def _sqs(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "snapstart-probe",
                "receiptHandle": "probe",
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1",
                    "SenderId": "probe",
                    "ApproximateFirstReceiveTimestamp": "1",
                },
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:probe",
                "awsRegion": "us-east-1",
            }
        ]
    }


def _sns(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:probe:probe",
                "Sns": {"Type": "Notification", "MessageId": "probe", "Message": json.dumps(message)},
            }
        ]
    }


def _schedule(task: str) -> dict[str, Any]:
    stage = os.environ.get("STAGE", "local")
    return {
        "version": "0",
        "id": "snapstart-probe",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-12-06T00:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/atelier-{stage}-{task}"],
        "detail": {},
    }


# What each probe sends: a real route or message of the function, reading DynamoDB where one can
# without a signed-in account; otherwise a signed-in route refused before any AWS call.
REQUESTS: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "meta": ("GET /v1/health", lambda: _api("GET", "/v1/health")),
    "auth": ("POST /v1/auth/logout (no session)", lambda: _api("POST", "/v1/auth/logout")),
    "account": (
        "GET /v1/policies/terms",
        lambda: _api("GET", "/v1/policies/terms", "/v1/policies/{kind}", kind="terms"),
    ),
    "billing": ("GET /v1/billing/catalog", lambda: _api("GET", "/v1/billing/catalog")),
    "webhooks": (
        "GET /v1/billing/return/stripe",
        lambda: _api("GET", "/v1/billing/return/stripe", "/v1/billing/return/{provider}", provider="stripe"),
    ),
    "jobs": ("GET /v1/models", lambda: _api("GET", "/v1/models")),
    "gallery": ("GET /v1/gallery", lambda: _api("GET", "/v1/gallery")),
    "admin": (
        "GET /v1/admin/reports (no session: 404, admin routes stay hidden)",
        lambda: _api("GET", "/v1/admin/reports"),
    ),
    "worker": (
        "generation poll of an unknown job",
        lambda: _sqs({"account_id": "acct_probe", "job_id": "job_probe", "action": "poll"}),
    ),
    "notices": (
        "policy notice page of an unknown version",
        lambda: _sqs({"kind": "terms", "version": "1999-01-01", "shard": "00"}),
    ),
    "scheduled": ("retention sweep", lambda: _schedule("retention-sweep")),
    "developer": (
        "GET /v1/webhook-endpoints (no session: 401)",
        lambda: _api("GET", "/v1/webhook-endpoints"),
    ),
    "deliveries": (
        "webhook delivery of an unknown endpoint",
        lambda: _sqs({"account_id": "acct_probe", "endpoint_id": "whe_probe", "message_id": "msg_probe", "attempt": 1}),
    ),
    "email_events": ("an SES delivery event (nothing to suppress)", lambda: _sns({"eventType": "Delivery"})),
}


def snapstart_functions() -> dict[str, str]:
    """function directory -> logical id, for every function template.yaml runs with SnapStart."""
    from tests.support.template import function_dir, functions, template

    default = (template()["Globals"]["Function"].get("SnapStart") or {}).get("ApplyOn", "None")
    return {
        function_dir(body): name
        for name, body in sorted(functions().items())
        if (body["Properties"].get("SnapStart") or {}).get("ApplyOn", default) == "PublishedVersions"
    }


# -- the probe: one function, in a fresh process --------------------------------------------------
def probe(function: str, warm: int) -> dict[str, Any]:
    from tests.support.events import FakeLambdaContext

    label, make_event = REQUESTS[function]
    started = time.perf_counter()
    module = __import__(f"functions.{function}.handler", fromlist=["lambda_handler"])
    import_ms = (time.perf_counter() - started) * 1000
    from atelier import snapstart

    preparation = snapstart.prepared[function]
    snapstart.local_hooks.run_before_snapshot()
    started = time.perf_counter()
    snapstart.local_hooks.run_after_restore()
    after_restore_ms = (time.perf_counter() - started) * 1000
    before = set(sys.modules)
    started = time.perf_counter()
    first = module.lambda_handler(make_event(), FakeLambdaContext())
    first_ms = (time.perf_counter() - started) * 1000
    imported = sorted(set(sys.modules) - before)
    warm_ms = []
    for _ in range(warm):
        started = time.perf_counter()
        module.lambda_handler(make_event(), FakeLambdaContext())
        warm_ms.append((time.perf_counter() - started) * 1000)
    status = first.get("statusCode") if isinstance(first, dict) else None
    failures = first.get("batchItemFailures") if isinstance(first, dict) else None
    return {
        "function": function,
        "request": label,
        "status": status,
        "batch_failures": len(failures) if failures is not None else None,
        "import_ms": import_ms,
        "before_snapshot_ms": preparation.timings_ms["before_snapshot"],
        "after_restore_ms": after_restore_ms,
        "after_restore_hook_ms": preparation.timings_ms["after_restore"],
        "warmed_clients": preparation.warmed_clients,
        "first_ms": first_ms,
        "warm_ms": statistics.median(warm_ms) if warm_ms else None,
        "imported": imported,
    }


def run_probe(function: str, warm: int = 15) -> dict[str, Any]:
    """`probe` in a fresh interpreter with this process's environment (the emulator's included)."""
    environment = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}"}
    result = subprocess.run(
        [sys.executable, "-m", "bench.snapstart", "--probe", function, "--warm", str(warm)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"probe of {function} failed:\n{result.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


# -- import times on two interpreters --------------------------------------------------------------
def _python311() -> str | None:
    candidates = [shutil.which("python3.11")]
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        candidates += sorted((str(path) for path in Path(root).glob("versions/3.11*/bin/python3.11")), reverse=True)
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def python311_environment() -> tuple[str | None, str]:
    """(interpreter, note): a python3.11 venv with the layer's requirements, made if absent."""
    python = PY311_VENV / "bin" / "python"
    marker = PY311_VENV / ".installed"
    requirements = ROOT / "layers" / "dependencies" / "requirements.txt"
    if marker.exists() and marker.read_text() == requirements.read_text():
        return str(python), "bench/results/py311 (layer requirements)"
    base = _python311()
    if base is None:
        return None, "no python3.11 found (PATH or pyenv): the 3.11 column is not measured"
    shutil.rmtree(PY311_VENV, ignore_errors=True)
    made = subprocess.run([base, "-m", "venv", str(PY311_VENV)], capture_output=True, text=True, check=False)
    if made.returncode == 0:
        made = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(requirements)],
            capture_output=True,
            text=True,
            check=False,
        )
    if made.returncode != 0:
        reason = (made.stderr.strip().splitlines() or ["unknown error"])[-1]
        return None, f"the python3.11 environment could not be made ({reason}): the 3.11 column is not measured"
    marker.write_text(requirements.read_text())
    return str(python), "bench/results/py311 (layer requirements)"


def time_import(python: str, module: str) -> float:
    """Milliseconds to import `module` in a fresh `python` (bytecode written by an earlier run)."""
    environment = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}", **_ENVIRONMENT}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    code = (
        "import time, sys; started = time.perf_counter(); import "
        + module
        + "; sys.stdout.write(str(time.perf_counter() - started))"
    )
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=ROOT, env=environment)
    if result.returncode != 0:
        raise RuntimeError(f"{python}: import {module} failed:\n{result.stderr[-2000:]}")
    return float(result.stdout) * 1000


def import_times(functions: list[str], runs: int) -> tuple[dict[str, dict[str, float | None]], str]:
    python311, note = python311_environment()
    rows: dict[str, dict[str, float | None]] = {}
    for function in functions:
        module = f"functions.{function}.handler"
        pythons = {"py313": sys.executable, "py311": python311}
        for python in filter(None, pythons.values()):
            time_import(python, module)  # writes bytecode, as a deployed artifact ships it
        samples: dict[str, list[float]] = {"py313": [], "py311": [], "boto3": []}
        for _ in range(runs):
            samples["boto3"].append(time_import(sys.executable, "boto3"))
            samples["py313"].append(time_import(sys.executable, module))
            if python311:
                samples["py311"].append(time_import(python311, module))
        rows[function] = {key: statistics.median(values) if values else None for key, values in samples.items()}
    return rows, note


# -- figures --------------------------------------------------------------------------------------
def restored(function: str, restores: int, warm: int) -> dict[str, Any]:
    """`restores` probes of one function (fresh processes), medians of each figure."""
    runs = [run_probe(function, warm) for _ in range(restores)]
    merged = dict(runs[0])
    for key in ("import_ms", "before_snapshot_ms", "after_restore_ms", "first_ms", "warm_ms"):
        merged[key] = statistics.median(run[key] for run in runs)
    merged["after_restore_max_ms"] = max(run["after_restore_ms"] for run in runs)
    merged["imported"] = sorted({module for run in runs for module in run["imported"]})
    merged["restores"] = restores
    return merged


def figures(runs: int, warm: int, restores: int) -> list[Figure]:
    from bench.harness import still_stack

    functions = list(snapstart_functions())
    imports, note = import_times(functions, runs)
    with still_stack():
        probes = {function: restored(function, restores, warm) for function in functions}
    how_import = (
        f"`import functions.<name>.handler` in a fresh process, median of {runs}, interleaved with "
        f"`import boto3` on 3.13; python3.11 from {note}"
    )
    how_probe = (
        f"{restores} fresh processes per function against the emulator, each: import, before-snapshot hooks, "
        f"after-restore hooks, the first request, then {warm} warm requests; medians over the processes. "
        "In-process: the first request's extra time includes opening a connection to the emulator"
    )
    rows = []
    for function in functions:
        rows += rows_for(function, imports[function], probes[function], how_import, how_probe)
    return rows


GROUP = "SnapStart and python3.13"


def rows_for(
    function: str, times: dict[str, Any], result: dict[str, Any], how_import: str, how_probe: str
) -> list[Figure]:
    """The figures of one function: its imports, its snapshot and restore, its first request."""
    py311 = times["py311"]
    py311_text = f"{py311:.0f} ms" if py311 is not None else "not measured"
    boto3_ms = float(times["boto3"] or 0.0)
    py313 = float(times["py313"] or 0.0)
    after = result["after_restore_ms"]
    ratio = result["first_ms"] / result["warm_ms"] if result["warm_ms"] else float("inf")
    imported = result["imported"]
    return [
        Figure(
            GROUP,
            f"import: {function}",
            "-",
            f"3.13 **{py313:.0f} ms** vs 3.11 {py311_text} vs `import boto3` {boto3_ms:.0f} ms "
            f"({py313 / boto3_ms:.2f}x boto3)",
            INFO,
            how_import,
            {"function": function, **times},
        ),
        Figure(
            GROUP,
            f"snapshot and restore: {function}",
            f"after-restore hooks <= {AFTER_RESTORE_GOAL_MS:g} ms; no import on the first request",
            f"before-snapshot {result['before_snapshot_ms']:.0f} ms ({result['warmed_clients']} AWS clients); "
            f"after-restore **{after:.2f} ms** (max {result['after_restore_max_ms']:.1f}); imports on the first "
            f"request: **{len(imported)}**{' (' + ', '.join(imported[:5]) + ')' if imported else ''}",
            MET if after <= AFTER_RESTORE_GOAL_MS and not imported else MISSED,
            how_probe,
            {**result, "ratio": ratio},
        ),
        Figure(
            GROUP,
            f"first request after restore: {function} ({result['request']})",
            f"<= {FIRST_REQUEST_GOAL}x a warm request",
            f"**{ratio:.2f}x** ({result['first_ms']:.1f} ms vs {result['warm_ms']:.1f} ms)",
            MET if ratio <= FIRST_REQUEST_GOAL else MISSED,
            "as above",
            {"function": function, "ratio": ratio},
        ),
    ]


def regrouped(path: str) -> list[Figure]:
    """The figures of an earlier run (its --json file) rendered again, from their data."""
    from bench.figures import read

    earlier = read(path)
    imports = {row.data["function"]: row for row in earlier if "py313" in row.data}
    probes = {row.data["function"]: row for row in earlier if "before_snapshot_ms" in row.data}
    rows = []
    for function, probe_row in probes.items():
        times = {key: imports[function].data.get(key) for key in ("py313", "py311", "boto3")}
        rows += rows_for(function, times, probe_row.data, imports[function].how, probe_row.how)
    return rows


def _print(rows: list[Figure]) -> None:
    print("SnapStart and python3.13, per function")
    for row in rows:
        print(f"  {row.figure}: {row.result} {row.verdict if row.verdict != INFO else ''}".rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", type=int, default=15)
    parser.add_argument("--restores", type=int, default=3, help="fresh processes per function")
    parser.add_argument("--probe", help="measure one function in this process and print JSON")
    parser.add_argument("--json", help="also write the figures to this file (for bench/report.py)")
    parser.add_argument("--from-json", help="render the figures of an earlier run's --json file again")
    options = parser.parse_args()
    if options.probe:
        with silenced_stdout():
            result = probe(options.probe, options.warm)
        print(json.dumps(result))
        return 0
    rows = regrouped(options.from_json) if options.from_json else figures(options.runs, options.warm, options.restores)
    _print(rows)
    write(options.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
