"""Cold start: the wall time of importing each function's handler module in a fresh process,
against `import boto3` alone (what every Python Lambda pays anyway), median of 7, side by side.

    python -m bench.cold_start [--runs 7]

Goal: each handler at most 1.5x the boto3 baseline. Runs interleave handler and baseline so that
machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 1.5

_TIMER = (
    "import time, sys; started = time.perf_counter(); import {module}; "
    "sys.stdout.write(str(time.perf_counter() - started))"
)


def function_modules() -> dict[str, str]:
    return {
        handler.parent.name: f"functions.{handler.parent.name}.handler"
        for handler in sorted((ROOT / "functions").glob("*/handler.py"))
    }


def time_import(module: str) -> float:
    environment = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'shared'}",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = subprocess.run(
        [sys.executable, "-c", _TIMER.format(module=module)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=environment,
    )
    return float(result.stdout)


def measure(runs: int) -> list[tuple[str, float, float, float]]:
    rows = []
    for name, module in function_modules().items():
        time_import(module)  # compiles bytecode, as a deployed artifact ships it
        handler_times, baseline_times = [], []
        for _ in range(runs):
            baseline_times.append(time_import("boto3"))
            handler_times.append(time_import(module))
        handler_ms = statistics.median(handler_times) * 1000
        baseline_ms = statistics.median(baseline_times) * 1000
        rows.append((name, handler_ms, baseline_ms, handler_ms / baseline_ms))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    rows = measure(arguments.runs)
    print(f"cold start: handler import vs `import boto3`, median of {arguments.runs} fresh processes")
    print(f"{'function':<12} {'handler ms':>11} {'boto3 ms':>9} {'ratio':>6}  goal <= {GOAL_RATIO}x")
    for name, handler_ms, baseline_ms, ratio in rows:
        verdict = "met" if ratio <= GOAL_RATIO else "MISSED"
        print(f"{name:<12} {handler_ms:>11.1f} {baseline_ms:>9.1f} {ratio:>6.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
