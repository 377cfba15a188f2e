"""Cold start: the wall time of importing each function's handler module in a fresh process,
against `import boto3` alone (what every Python Lambda pays anyway), median of 7, side by side.

    python -m bench.cold_start [--runs 7]               # the source tree, as `make dev` runs it
    python -m bench.cold_start --built [--runs 7]       # the built artifact (`make build`)

Goal: each handler at most 1.5x the boto3 baseline. Runs interleave handler and baseline so that
machine noise hits both alike.

The source tree imports `functions.<name>.handler` with the repository and `shared/` on the path,
from this environment's site-packages. The built artifact imports `handler` from
`.aws-sam/build/<Function>` with the built layers' `python/` directories on the path and nothing
else but the standard library (`python -S`), as Lambda lays them out in /var/task and /opt/python;
the baseline imports boto3 from the same layer. See bench/artifact.py for how arm64 layers are
imported on another machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.figures import INFO, Figure, ratio_text, verdict, write

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 1.5

_TIMER = (
    "import time, sys; started = time.perf_counter(); import {module}; "
    "sys.stdout.write(str(time.perf_counter() - started))"
)
_BUILT_TIMER = (
    "import sys; sys.path[:0] = {paths!r}; import time; started = time.perf_counter(); import {module}; "
    "sys.stdout.write(str(time.perf_counter() - started))"
)
_ENVIRONMENT = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"}


def function_modules() -> dict[str, str]:
    return {
        handler.parent.name: f"functions.{handler.parent.name}.handler"
        for handler in sorted((ROOT / "functions").glob("*/handler.py"))
    }


def time_import(module: str) -> float:
    environment = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}", **_ENVIRONMENT}
    environment.pop("PYTHONDONTWRITEBYTECODE")
    result = subprocess.run(
        [sys.executable, "-c", _TIMER.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=environment,
    )
    return float(result.stdout)


def time_built_import(module: str, paths: list[str]) -> float:
    """A fresh interpreter without site-packages (`-S`), the built tree on the path, bytecode read-only."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    result = subprocess.run(
        [sys.executable, "-S", "-c", _BUILT_TIMER.format(paths=paths, module=module)],
        capture_output=True,
        text=True,
        check=False,
        cwd=paths[0],
        env={**environment, **_ENVIRONMENT},
    )
    if result.returncode != 0:
        raise RuntimeError(f"import {module} failed from {paths[0]}:\n{result.stderr[-3000:]}")
    return float(result.stdout)


def _medians(handler: list[float], baseline: list[float]) -> tuple[float, float, float]:
    handler_ms = statistics.median(handler) * 1000
    baseline_ms = statistics.median(baseline) * 1000
    return handler_ms, baseline_ms, handler_ms / baseline_ms


FLOOR = "bench.stack_floor"


def measure(runs: int) -> list[tuple[str, float, float, float, float]]:
    """(function, handler ms, boto3 ms, ratio, stack floor ms) for every function, and the floor itself."""
    rows = []
    floor_ms = 0.0
    for name, module in [("stack floor", FLOOR), *function_modules().items()]:
        time_import(module)  # compiles bytecode, as a deployed artifact ships it
        handler_times, baseline_times = [], []
        for _ in range(runs):
            baseline_times.append(time_import("boto3"))
            handler_times.append(time_import(module))
        medians = _medians(handler_times, baseline_times)
        if module == FLOOR:
            floor_ms = medians[0]
        rows.append((name, *medians, floor_ms))
    return rows


def measure_built(build_dir: Path, runs: int) -> tuple[list[tuple[str, float, float, float]], dict[str, list[str]]]:
    from bench.artifact import built_functions, importable_copy

    with tempfile.TemporaryDirectory(prefix="atelier-built-") as scratch:
        copy = Path(scratch) / "build"
        swaps = importable_copy(build_dir, copy)
        rows = []
        for function in built_functions(copy):
            layers = [str(copy / layer / "python") for layer in function.layers]
            paths = [str(function.directory), *layers]
            boto3_layer = next((path for path in layers if (Path(path) / "boto3").is_dir()), layers[-1])
            time_built_import(function.module, paths)  # fails early, and warms the file cache
            handler_times, baseline_times = [], []
            for _ in range(runs):
                baseline_times.append(time_built_import("boto3", [boto3_layer]))
                handler_times.append(time_built_import(function.module, paths))
            rows.append((function.logical_id, *_medians(handler_times, baseline_times)))
        # The same artifact as `sam build` alone ships it: no .pyc, and a read-only file system where
        # none can be written, so every cold start compiles every module it imports.
        sample = next((f for f in built_functions(copy) if f.logical_id == "JobsFunction"), None)
        if sample is not None:
            for cache in copy.rglob("__pycache__"):
                shutil.rmtree(cache)
            layers = [str(copy / layer / "python") for layer in sample.layers]
            times = [time_built_import(sample.module, [str(sample.directory), *layers]) for _ in range(3)]
            swaps["without_bytecode"] = [sample.logical_id, f"{statistics.median(times) * 1000:.1f}"]
    return rows, swaps


def figures(runs: int = 7) -> list[Figure]:
    how = (
        f"`import` of the handler module in a fresh process vs `import boto3` (interleaved, median of {runs}), "
        "and vs the stack floor's median (bench/stack_floor.py); source tree, this environment's site-packages"
    )
    rows = []
    for name, handler_ms, baseline_ms, ratio, floor_ms in measure(runs):
        data = {"handler_ms": handler_ms, "baseline_ms": baseline_ms, "ratio": ratio, "floor_ms": floor_ms}
        if name == "stack floor":
            rows.append(
                Figure(
                    "cold start (source)",
                    "stack floor: boto3 + Powertools resolver with validation + pydantic + PynamoDB, one route",
                    "baseline: the least any HTTP handler on this stack pays",
                    ratio_text(ratio, f"{handler_ms:.0f} ms", f"{baseline_ms:.0f} ms")
                    + (f", above the {GOAL_RATIO}x goal by itself" if ratio > GOAL_RATIO else ""),
                    INFO,
                    how,
                    data,
                )
            )
            continue
        result = ratio_text(ratio, f"{handler_ms:.0f} ms", f"{baseline_ms:.0f} ms")
        result += f"; {handler_ms / floor_ms:.2f}x the stack floor ({floor_ms:.0f} ms)"
        data["floor_ratio"] = handler_ms / floor_ms
        rows.append(
            Figure(
                "cold start (source)",
                f"cold start: {name}",
                f"<= {GOAL_RATIO}x `import boto3`",
                result,
                verdict(ratio, GOAL_RATIO),
                how,
                data,
            )
        )
    return rows


def built_figures(build_dir: Path, runs: int = 7) -> list[Figure]:
    from bench.artifact import build_state

    usable, state = build_state(build_dir)
    goal = f"<= {GOAL_RATIO}x `import boto3` (same layer)"
    if not usable:
        return [Figure("cold start (built)", "cold start of the built artifact", goal, state, "pending", "")]
    rows, swaps = measure_built(build_dir, runs)
    without = swaps.pop("without_bytecode", None)
    how = (
        f"`import handler` from `.aws-sam/build/<Function>` with the built layers only (`python -S`), "
        f"unchecked-hash .pyc, vs `import boto3` from the same layer; median of {runs}"
    )
    if swaps["swapped"]:
        how += f"; arm64 extension modules replaced by this machine's ({', '.join(swaps['swapped'])})"
    figures = [
        Figure(
            "cold start (built)",
            f"cold start, built: {name}",
            goal,
            ratio_text(ratio, f"{handler_ms:.0f} ms", f"{baseline_ms:.0f} ms"),
            verdict(ratio, GOAL_RATIO),
            how,
            {"handler_ms": handler_ms, "baseline_ms": baseline_ms, "ratio": ratio},
        )
        for name, handler_ms, baseline_ms, ratio in rows
    ]
    with_bytecode = {name: handler_ms for name, handler_ms, _, _ in rows}
    if without and without[0] in with_bytecode:
        name, stale_ms = without[0], float(without[1])
        figures.append(
            Figure(
                "cold start (built)",
                f"the bytecode step: {name} without it",
                "-",
                f"**{stale_ms / with_bytecode[name]:.1f}x** slower without it ({stale_ms:.0f} ms vs "
                f"{with_bytecode[name]:.0f} ms): what every cold start would pay",
                INFO,
                "the same artifact with every __pycache__ removed and bytecode writing off (Lambda's file system "
                "is read-only, and SAM's 1980 timestamps make timestamp-checked .pyc stale anyway); median of 3",
                {"without_ms": stale_ms, "with_ms": with_bytecode[name]},
            )
        )
    return figures


def _print(title: str, rows: list[Figure]) -> None:
    print(title)
    for row in rows:
        if "handler_ms" not in row.data:
            print(f"  {row.figure}: {row.result} ({row.verdict})")
            continue
        data = row.data
        floor = f"  {data['floor_ratio']:.2f}x the stack floor" if "floor_ratio" in data else ""
        print(
            f"  {row.figure.split(': ', 1)[-1][:22]:<22} {data['handler_ms']:>8.1f} ms {data['baseline_ms']:>8.1f} ms"
            f" {data['ratio']:>6.2f}x  {row.verdict}{floor}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--built", action="store_true", help="measure the built artifact instead of the source tree")
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--json", help="also write the figures to this file (for bench/report.py)")
    arguments = parser.parse_args()
    header = f"handler ms, boto3 ms, ratio (goal <= {GOAL_RATIO}x), median of {arguments.runs} fresh processes"
    if arguments.built:
        rows = built_figures(arguments.build_dir, arguments.runs)
        _print(f"cold start of the built artifact: {header}", rows)
    else:
        rows = figures(arguments.runs)
        _print(f"cold start of the source tree: {header}", rows)
    write(arguments.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
