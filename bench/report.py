"""Runs every benchmark under bench/ and writes docs/performance.md: one table of figures (each
against its goal and, where there is one, a baseline measured in the same run), the findings
(bench/findings.md) and the cost model (bench/cost.py).

    python -m bench.report            # what `make bench` runs (about ten minutes on two cores)
    python -m bench.report --quick    # smaller sizes, fewer runs: a couple of minutes
    python -m bench.report --only cold_start,aws_calls --output /tmp/perf.md
    python -m bench.report --rewrite  # the document again from the last run's bench/results/

Each benchmark runs in a process of its own (`python -m bench.<name> --json ...`), so one's imports
and emulator never colour another's; its own output is kept in bench/results/<name>.log.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.figures import INFO, MET, MISSED, PENDING, Figure, read

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
OUTPUT = ROOT / "docs" / "performance.md"
FINDINGS = ROOT / "bench" / "findings.md"
BUILD_DIR = ROOT / ".aws-sam" / "build"


@dataclass(frozen=True)
class Benchmark:
    name: str
    arguments: list[str]
    quick_arguments: list[str]
    parse: Callable[[str], list[Figure]] | None = None  # for benchmarks that print only


# -- benchmarks that print rather than hand over rows -------------------------------------------
def _number(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else None


def parse_export(text: str) -> list[Figure]:
    rss = _number(r"peak RSS of the export: ([\d.]+) MB", text)
    ratio = _number(r"time against the plain copy: ([\d.]+)x", text)
    size = re.search(r"Export of (\d+) assets, (\d+) MiB", text)
    what = f"{size.group(1)} assets, {size.group(2)} MiB" if size else "an account"
    rows = []
    how = f"bench/export.py: {what}; the export and a plain S3-to-S3 copy of the same bytes, each in its own process"
    if rss is not None:
        rows.append(
            Figure(
                "privacy",
                "export: peak memory",
                "< 256 MB whatever the size",
                f"**{rss:.0f} MB** peak RSS",
                MET if rss < 256 else MISSED,
                how,
            )
        )
    if ratio is not None:
        copy = re.search(r"plain copy S3 -> S3\s+([\d.]+)\s+([\d.]+)", text)
        export = re.search(r"export \(zip, hashes\)\s+([\d.]+)\s+([\d.]+)", text)
        detail = f" ({export.group(1)} s vs {copy.group(1)} s)" if copy and export else ""
        rows.append(
            Figure(
                "privacy",
                "export: time against a plain copy",
                "<= 1.5x",
                f"**{ratio:.2f}x**{detail}",
                MET if ratio <= 1.5 else MISSED,
                how,
            )
        )
    return rows


def parse_purge(text: str) -> list[Figure]:
    ratio = _number(r"ratio\s+([\d.]+)x", text)
    scans = _number(r"Scans\s+(\d+)", text)
    made = _number(r"DynamoDB calls\s+(\d+)", text)
    ideal = _number(r"ideal\s+(\d+)", text)
    seconds = _number(r"time\s+([\d.]+) s", text)
    size = re.search(r"Purge of an account with (\d+) items", text)
    how = (
        f"bench/purge.py: an account of {size.group(1) if size else '?'} items purged by the scheduled purge; "
        "DynamoDB calls counted with botocore hooks, against one BatchWriteItem per 25 items plus the query pages"
    )
    rows = []
    if ratio is not None:
        detail = f" ({made:.0f} calls vs {ideal:.0f} ideal" + (f", {seconds:.1f} s" if seconds else "") + ")"
        rows.append(
            Figure(
                "privacy",
                "purge: DynamoDB calls against the least possible",
                "<= 1.2x",
                f"**{ratio:.2f}x**{detail}",
                MET if ratio <= 1.2 else MISSED,
                how,
            )
        )
    if scans is not None:
        rows.append(Figure("privacy", "purge: Scans", "0", f"**{scans:.0f}**", MET if scans == 0 else MISSED, how))
    return rows


def parse_gallery(text: str) -> list[Figure]:
    rows = []
    how = "bench/gallery.py: assets of several owners published, one full gallery page through the use case"
    for label, shown, calls in re.findall(r"gallery page \((\w+), (\d+) items\): (\{[^}]*\})", text):
        counted = ast.literal_eval(calls)
        total = sum(counted.values())
        detail = ", ".join(f"{name} x{count}" for name, count in sorted(counted.items()))
        rows.append(
            Figure(
                "AWS calls",
                f"gallery page of {shown} items ({label})",
                "<= 2 (one Query, one BatchGetItem), no Scan",
                f"**{total}** ({detail})",
                MET if total <= 2 and not counted.get("dynamodb.Scan") else MISSED,
                how,
            )
        )
    return rows


def parse_webhooks(text: str) -> list[Figure]:
    rows = []
    latency = re.search(r"delivery latency over (\d+) jobs: p50 (\d+) ms, p95 (\d+) ms, max (\d+) ms", text)
    if latency:
        jobs, p50, p95, longest = (int(value) for value in latency.groups())
        rows.append(
            Figure(
                "developer platform",
                "webhook delivery latency: job finished -> receiver (p50 / p95)",
                "-",
                f"**{p50} ms / {p95} ms** (max {longest} ms)",
                INFO,
                f"bench/webhooks.py: {jobs} image jobs on the local runtime over HTTP, a receiver on 127.0.0.1",
            )
        )
    calls = re.search(r"AWS calls per delivered event: (\d+) to announce \+ (\d+) per attempt", text)
    if calls:
        announce, attempt = int(calls.group(1)), int(calls.group(2))
        detail = ", ".join(re.findall(r"^  ([\w.]+: \d+)$", text, re.MULTILINE))
        rows.append(
            Figure(
                "developer platform",
                "AWS calls per delivered webhook event (announce + one successful attempt)",
                "-",
                f"**{announce + attempt}** ({announce} + {attempt}; {detail})",
                INFO,
                "bench/webhooks.py: botocore calls counted around announcing one finished job and its one attempt",
            )
        )
    return rows


def benchmarks() -> list[Benchmark]:
    return [
        Benchmark("cold_start", ["--runs", "7"], ["--runs", "3"]),
        Benchmark("cold_start_built", ["--runs", "7"], ["--runs", "3"]),
        Benchmark("warm", ["--invocations", "200"], ["--invocations", "60"]),
        Benchmark("aws_calls", [], []),
        Benchmark("gallery", [], [], parse_gallery),
        Benchmark("generation", ["--jobs", "30"], ["--jobs", "10"]),
        Benchmark("promptness", ["--jobs", "20"], ["--jobs", "6"]),
        Benchmark("webhooks", ["--jobs", "20"], ["--jobs", "6"], parse_webhooks),
        Benchmark("load", ["--requests", "2000"], ["--requests", "400"]),
        Benchmark("export", ["--quick"], ["--assets", "50", "--megabytes", "20"], parse_export),
        Benchmark("purge", ["--items", "5000"], ["--items", "500"], parse_purge),
        Benchmark("artifact", [], []),
        Benchmark("media_safety", ["--runs", "7"], ["--runs", "3"]),
        Benchmark("snapstart", ["--runs", "5", "--restores", "3"], ["--runs", "3", "--restores", "1"]),
        Benchmark("web", ["--runs", "3"], ["--runs", "1", "--images", "4"]),
    ]


PENDING_WHEN_ABSENT = {
    "export": [("privacy", "export: peak memory and time against a plain copy", "< 256 MB; <= 1.5x")],
    "purge": [("privacy", "purge: DynamoDB calls against the least possible, and Scans", "<= 1.2x; 0")],
}


def run(benchmark: Benchmark, quick: bool, build_dir: Path, again: bool = True) -> tuple[list[Figure], float]:
    module = "cold_start" if benchmark.name == "cold_start_built" else benchmark.name
    if not (ROOT / "bench" / f"{module}.py").exists():
        rows = [
            Figure(group, figure, goal, f"pending: bench/{module}.py is not written yet", PENDING, "")
            for group, figure, goal in PENDING_WHEN_ABSENT.get(benchmark.name, [])
        ]
        return rows, 0.0
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = RESULTS / f"{benchmark.name}.json"
    log = RESULTS / f"{benchmark.name}.log"
    if again:
        data.unlink(missing_ok=True)
    command = [sys.executable, "-m", f"bench.{module}", *(benchmark.quick_arguments if quick else benchmark.arguments)]
    if benchmark.name == "cold_start_built":
        command += ["--built", "--build-dir", str(build_dir)]
    if benchmark.name == "artifact":
        command += ["--build-dir", str(build_dir)]
    if benchmark.parse is None:
        command += ["--json", str(data)]
    environment = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}"}
    timings = RESULTS / "timings.json"
    recorded = json.loads(timings.read_text()) if timings.exists() else {}
    if again:
        print(f"bench: {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        with open(log, "w") as out:
            subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=environment, check=False)
        seconds = time.perf_counter() - started
        timings.write_text(json.dumps({**recorded, benchmark.name: seconds}))
    elif log.exists():
        seconds = float(recorded.get(benchmark.name, 0.0))
    else:
        return [], 0.0
    text = log.read_text(errors="replace")
    relative = log.relative_to(ROOT)
    if benchmark.parse is not None:
        rows = benchmark.parse(text)
        if not rows:  # its figures are its own verdicts; its exit status may just say a goal was missed
            rows.append(
                Figure(benchmark.name, benchmark.name, "-", f"failed: see {relative}", MISSED, " ".join(command[1:]))
            )
    elif data.exists():
        rows = read(str(data))
    else:
        rows = [Figure(benchmark.name, benchmark.name, "-", f"failed: see {relative}", MISSED, " ".join(command[1:]))]
    if again:
        print(f"bench: {benchmark.name} done in {seconds:.0f} s", flush=True)
    return rows, seconds


# -- the document ----------------------------------------------------------------------------------
_VERDICT = {MET: "met", MISSED: "**missed**", PENDING: "pending", INFO: ""}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(rows: list[Figure]) -> str:
    out = ["| figure | goal | result | how measured |", "|---|---|---|---|"]
    group = None
    previous_how = None
    for row in rows:
        if row.group != group:
            group = row.group
            previous_how = None
            out.append(f"| **{_cell(group)}** | | | |")
        verdict = _VERDICT.get(row.verdict, row.verdict)
        result = f"{row.result} {verdict}".strip() if row.verdict != INFO else row.result
        how = row.how if row.how != previous_how else "as above"
        previous_how = row.how
        out.append(f"| {_cell(row.figure)} | {_cell(row.goal)} | {_cell(result)} | {_cell(how)} |")
    return "\n".join(out)


def _measured_at() -> datetime:
    """When the results were measured: the newest benchmark log."""
    logs = list(RESULTS.glob("*.log"))
    if not logs:
        return datetime.now(UTC)
    return datetime.fromtimestamp(max(log.stat().st_mtime for log in logs), UTC)


def _missed_by_group(rows: list[Figure]) -> str:
    parts = []
    for group in dict.fromkeys(row.group for row in rows):
        judged = [row for row in rows if row.group == group and row.verdict in (MET, MISSED)]
        missed = [row for row in judged if row.verdict == MISSED]
        if not missed:
            continue
        names = "" if len(missed) > 3 else f" ({'; '.join(row.figure for row in missed)})"
        parts.append(f"{group} {len(missed)} of {len(judged)}{names}")
    return ", ".join(parts)


def document(rows: list[Figure], timings: dict[str, float], quick: bool, build_state: str) -> str:
    from bench.cost import markdown as cost_model

    total = sum(timings.values())
    missed = [row for row in rows if row.verdict == MISSED]
    head = [
        "# Performance",
        "",
        f"Written by `make bench` (`python -m bench.report{' --quick' if quick else ''}`) from a run of "
        f"{_measured_at().strftime('%Y-%m-%d %H:%M UTC')}: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}); the benchmarks took {total / 60:.1f} min "
        f"({', '.join(f'{name} {seconds:.0f} s' for name, seconds in timings.items() if seconds)}). "
        "Machines are noisy, so every figure that has a baseline is a ratio against it, measured in the same "
        "run and interleaved with it. Absolute times are this machine's, not Lambda's. "
        f"Built artifact: {build_state}.",
        "",
        f"{len(missed)} of {sum(1 for row in rows if row.verdict in (MET, MISSED))} goals missed"
        + (f": {_missed_by_group(rows)}." if missed else "."),
        "",
        table(rows),
        "",
    ]
    findings = FINDINGS.read_text() if FINDINGS.exists() else ""
    return "\n".join(head) + ("\n" + findings.strip() + "\n\n" if findings else "\n") + cost_model(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs")
    parser.add_argument("--only", help="comma-separated benchmarks to run (the others are left out)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--build-dir", type=Path, default=BUILD_DIR, help="the `make build` output to measure")
    parser.add_argument(
        "--rewrite", action="store_true", help="render the document again from bench/results/ without running anything"
    )
    options = parser.parse_args()
    from bench.artifact import build_state

    wanted = set(options.only.split(",")) if options.only else None
    rows: list[Figure] = []
    timings: dict[str, float] = {}
    for benchmark in benchmarks():
        if wanted is not None and benchmark.name not in wanted:
            continue
        found, seconds = run(benchmark, options.quick, options.build_dir, again=not options.rewrite)
        rows += found
        timings[benchmark.name] = seconds
    _, state = build_state(options.build_dir)
    options.output.write_text(document(rows, timings, options.quick, state))
    print(f"bench: wrote {options.output.relative_to(ROOT) if options.output.is_relative_to(ROOT) else options.output}")
    if any(row.verdict == MISSED for row in rows):
        print(f"bench: goals missed: {_missed_by_group(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
