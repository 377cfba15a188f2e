"""Warm overhead: a route through the real handler (decorators, resolver with validation,
authentication, use case, data-access layer, response model, request log, metrics) against a bare
Powertools `APIGatewayRestResolver` route that makes the very same AWS calls with plain boto3.

    python -m bench.warm [--invocations 300]

Both run in this process against the emulator, on warm containers, alternating invocation by
invocation so that machine noise hits both alike; the figure is the ratio of the medians. The bare
route replays the calls the real one made (recorded with botocore's event hooks), so the AWS work
is identical and the difference is the code around it. Goal: at most 2x. Handlers log at INFO as
deployed; what they print goes to /dev/null.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench.figures import Figure, ratio_text, silenced_stdout, verdict, write

GOAL_RATIO = 2.0


IN_REGION_CALL_MS = 5.0  # a DynamoDB GetItem from Lambda in the same region, typically 3-6 ms


class _AwsClock:
    """Time spent inside botocore calls (emulator round trips included), summed."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def installed(self) -> Iterator[None]:
        from botocore.client import BaseClient

        original: Any = getattr(BaseClient, "_make_api_call")  # noqa: B009
        clock = self

        def timed(client: Any, operation: str, params: dict[str, Any]) -> Any:
            started = time.perf_counter()
            try:
                return original(client, operation, params)
            finally:
                clock.seconds += time.perf_counter() - started

        setattr(BaseClient, "_make_api_call", timed)  # noqa: B010
        try:
            yield
        finally:
            setattr(BaseClient, "_make_api_call", original)  # noqa: B010


def bare_route(resource: str, journal: list[tuple[str, str, dict[str, Any]]]) -> Callable[[dict[str, Any]], Any]:
    """A bare resolver serving `resource` by replaying the recorded calls with boto3 clients."""
    import boto3
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from botocore import xform_name

    from local.functions import LambdaContext

    clients: dict[str, Any] = {service: boto3.client(service) for service, _, _ in journal}  # type: ignore[call-overload]
    calls = [(getattr(clients[service], xform_name(operation)), params) for service, operation, params in journal]
    app = APIGatewayRestResolver()

    @app.get(resource.replace("{", "<").replace("}", ">"))
    def route(**_: str) -> dict[str, Any]:
        answers = [call(**params) for call, params in calls]
        return {"answers": len(answers)}

    def invoke(event: dict[str, Any]) -> Any:
        context = LambdaContext("bare", "$LATEST", "arn:bare", 512, "id", "group", "stream", time.monotonic() + 10)
        return app.resolve(event, context)  # type: ignore[arg-type]

    return invoke


def compare(harness: Any, caller: Any, path: str, invocations: int) -> dict[str, Any]:
    from bench.aws_calls import counting

    function, resource, event = harness.event("GET", path, caller=caller)
    with counting() as calls:
        answer = harness.runtime.invoke(function, event)
    assert answer["statusCode"] == 200, answer
    bare = bare_route(resource, calls.journal)
    assert bare(event)["statusCode"] == 200

    def real() -> Any:
        return harness.runtime.invoke(function, event)

    timings: dict[str, list[float]] = {"real": [], "bare": []}
    own: dict[str, list[float]] = {"real": [], "bare": []}  # less the time inside AWS calls
    aws = _AwsClock()
    with silenced_stdout(), aws.installed():
        for index in range(invocations + 20):
            order: list[tuple[str, Callable[[], Any]]] = [("real", real), ("bare", lambda: bare(event))]
            for name, run in order if index % 2 else reversed(order):
                aws.seconds = 0.0
                started = time.perf_counter()
                run()
                elapsed = time.perf_counter() - started
                if index >= 20:  # the first rounds warm both up
                    timings[name].append(elapsed)
                    own[name].append(elapsed - aws.seconds)
    real_ms = statistics.median(timings["real"]) * 1000
    bare_ms = statistics.median(timings["bare"]) * 1000
    real_own_ms = statistics.median(own["real"]) * 1000
    bare_own_ms = statistics.median(own["bare"]) * 1000
    in_region = len(calls.journal) * IN_REGION_CALL_MS
    return {
        "real_own_ms": real_own_ms,
        "bare_own_ms": bare_own_ms,
        "projected_ratio": (real_own_ms + in_region) / (bare_own_ms + in_region),
        "route": f"GET {resource}",
        "function": function,
        "calls": [f"{service}.{operation}" for service, operation, _ in calls.journal],
        "real_ms": real_ms,
        "bare_ms": bare_ms,
        "ratio": real_ms / bare_ms,
        "invocations": invocations,
    }


def measure(invocations: int) -> list[dict[str, Any]]:
    from bench.aws_calls import install
    from bench.harness import still_stack

    install()
    with still_stack(parameters={"LogLevel": "INFO"}) as harness:
        caller = harness.sign_in("bench-warm@example.com")
        terms = harness.call("GET", "/v1/policies/terms").json()["version"]
        harness.call("POST", "/v1/me/terms", json_body={"version": terms, "age_confirmed": True}, caller=caller)
        from atelier.services import get_services
        from tests.support.money import give_credits

        give_credits(get_services().accounts.require(caller.account_id), 50)
        submission = {"kind": "image", "model": "local-image", "prompt": "warm"}
        job = harness.call("POST", "/v1/jobs", json_body=submission, caller=caller).json()
        return [
            compare(harness, caller, "/v1/billing/balance", invocations),
            compare(harness, caller, f"/v1/jobs/{job['id']}", invocations),
        ]


def figures(invocations: int = 300) -> list[Figure]:
    rows = []
    for result in measure(invocations):
        how = (
            f"median of {result['invocations']} warm in-process invocations each, alternating, against the "
            f"emulator; both make the same calls ({', '.join(result['calls'])}); the bare route replays them "
            f"with boto3 behind `APIGatewayRestResolver()` without validation. Outside the AWS calls: "
            f"{result['real_own_ms']:.1f} ms vs {result['bare_own_ms']:.1f} ms; with {IN_REGION_CALL_MS:g} ms "
            f"per call (in-region DynamoDB) instead of the emulator's round trips: "
            f"{result['projected_ratio']:.2f}x"
        )
        rows.append(
            Figure(
                "warm overhead",
                f"warm request: {result['route']} (authenticated)",
                f"<= {GOAL_RATIO:g}x a bare resolver route",
                ratio_text(result["ratio"], f"{result['real_ms']:.1f} ms", f"{result['bare_ms']:.1f} ms"),
                verdict(result["ratio"], GOAL_RATIO),
                how,
                result,
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invocations", type=int, default=300)
    parser.add_argument("--json", help="also write the figures to this file (for bench/report.py)")
    options = parser.parse_args()
    rows = figures(options.invocations)
    print(f"warm overhead: real handler vs a bare resolver making the same AWS calls (goal <= {GOAL_RATIO:g}x)")
    for row in rows:
        data = row.data
        print(
            f"  {data['route']:<24} real {data['real_ms']:>7.2f} ms  bare {data['bare_ms']:>7.2f} ms"
            f"  {data['ratio']:>5.2f}x  {row.verdict}  calls: {', '.join(data['calls'])}"
        )
        print(
            f"  {'':<24} outside AWS calls: real {data['real_own_ms']:>6.2f} ms  bare {data['bare_own_ms']:>6.2f} ms;"
            f" with {IN_REGION_CALL_MS:g} ms per call in-region: {data['projected_ratio']:.2f}x"
        )
    write(options.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
