"""Load on the local runtime: a fixed number of requests of mixed traffic (health, sign-ins,
profiles, job and asset lists, new jobs the local provider completes, the gallery, share links,
API-key calls and deliberately bad requests; tests/support/load.py) sent by a pool of threads to
the whole stack over HTTP on 127.0.0.1. Prints the requests sent, their statuses, the throughput
and the p50 / p95 latency.

    python -m bench.load [--requests 2000] [--workers 8] [--people 12] [--seed 1]

The runtime, its emulator and the clients share one Python process (and so one interpreter lock):
the figures say what the local stack sustains on this machine, not what Lambda would.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bench.figures import INFO, MET, MISSED, Figure, silenced_stdout, write


def run(requests: int, workers: int, people: int, seed: int) -> dict[str, Any]:
    from tests.support.load import Traffic, welcome
    from tests.support.stack import running_stack

    with silenced_stdout(), running_stack(parameters={"LogLevel": "WARNING"}) as stack:
        visitors = welcome(stack.api_url, people)
        traffic = Traffic(stack.api_url, visitors, seed=seed, workers=workers)
        try:
            report = traffic.run(requests)
        finally:
            traffic.close()
    return {
        "requests": report.requests,
        "workers": workers,
        "people": people,
        "seconds": report.seconds,
        "cpu_seconds": report.cpu_seconds,
        "per_second": report.throughput,
        "p50_ms": report.percentile(0.5) * 1000,
        "p95_ms": report.percentile(0.95) * 1000,
        "by_status": dict(sorted(report.by_status().items())),
        "problems": report.problems,
        "lines": report.lines(),
    }


def figures(result: dict[str, Any]) -> list[Figure]:
    how = (
        f"bench/load.py: {result['requests']} requests of mixed traffic by {result['workers']} threads for "
        f"{result['people']} people, over HTTP to the local runtime"
    )
    statuses = ", ".join(f"{status} x{count}" for status, count in result["by_status"].items())
    return [
        Figure(
            "load",
            "local runtime: mixed traffic",
            "-",
            f"**{result['per_second']:.1f} requests/s**, p50 {result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms",
            INFO,
            how,
            result,
        ),
        Figure(
            "load",
            "local runtime: unexpected answers (5xx, transport errors, a 4xx a good request should not get)",
            "0",
            f"**{len(result['problems'])}** ({statuses})",
            MET if not result["problems"] else MISSED,
            how,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--people", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures to this file (for bench/report.py)")
    arguments = parser.parse_args()
    result = run(arguments.requests, arguments.workers, arguments.people, arguments.seed)
    for line in result["lines"]:
        print(line)
    for problem in result["problems"][:20]:
        print(f"problem: {problem}")
    write(arguments.json, figures(result))
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
