"""Pipeline throughput: image jobs per minute through the whole local stack (HTTP submit, queue,
worker, local provider, S3, settlement), polled to completion over HTTP, against rendering the same
images directly in one thread (the provider's own work, no platform around it), in the same run.

    python -m bench.generation [--jobs 60]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bench.figures import INFO, Figure, write


def direct_render_seconds(jobs: int) -> float:
    """The local provider's rendering of the same 512x512 images, one after another, nothing else."""
    from atelier.integrations.inference.local import ImageSpec, render_image

    started = time.perf_counter()
    for index in range(jobs):
        render_image(ImageSpec(prompt=f"bench {index}", seed=index))
    return time.perf_counter() - started


def run(jobs: int) -> dict[str, Any]:
    from atelier.data.accounts import AccountRepository
    from tests.support.client import signed_in
    from tests.support.money import give_credits
    from tests.support.stack import running_stack

    with running_stack(parameters={"LogLevel": "WARNING"}) as stack:
        client = signed_in(stack.api_url, "bench@example.com")
        version = client.get("/v1/policies/terms").json()["version"]
        client.post("/v1/me/terms", json={"version": version, "age_confirmed": True})
        client.request("PUT", "/v1/billing/spend-cap", json={"monthly_credits": None})
        give_credits(AccountRepository().require(client.get("/v1/me").json()["id"]), jobs * 10)

        started = time.perf_counter()
        pending: set[str] = set()
        submitted = 0
        while submitted < jobs or pending:
            # At most the in-flight limit at once, as one account can.
            while submitted < jobs and len(pending) < 5:
                answer = client.post(
                    "/v1/jobs", json={"kind": "image", "model": "local-image", "prompt": f"bench {submitted}"}
                )
                if answer.status_code == 429:
                    break
                pending.add(answer.json()["id"])
                submitted += 1
            for job_id in list(pending):
                if client.get(f"/v1/jobs/{job_id}").json()["status"] in ("succeeded", "failed", "canceled"):
                    pending.discard(job_id)
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        client.close()
    direct = direct_render_seconds(jobs)
    return {
        "jobs": jobs,
        "seconds": elapsed,
        "per_minute": jobs / elapsed * 60,
        "direct_seconds": direct,
        "direct_per_minute": jobs / direct * 60,
        "ratio": elapsed / direct,
    }


def figures(jobs: int = 60) -> list[Figure]:
    result = run(jobs)
    how = (
        f"{jobs} image jobs (512x512, local provider) submitted over HTTP by one account (5 in flight), "
        "polled to completion; against rendering the same images in one thread, no platform"
    )
    return [
        Figure(
            "pipeline",
            "image pipeline throughput (local provider)",
            "-",
            f"**{result['per_minute']:.0f} jobs/min** vs {result['direct_per_minute']:.0f} rendered directly: "
            f"the pipeline takes {result['ratio']:.2f}x the rendering time",
            INFO,
            how,
            result,
        )
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--json", help="also write the figures to this file (for bench/report.py)")
    arguments = parser.parse_args()
    rows = figures(arguments.jobs)
    result = rows[0].data
    print(f"pipeline: {result['jobs']} image jobs (512x512, local provider) in {result['seconds']:.1f} s")
    print(f"throughput: {result['per_minute']:.0f} jobs per minute on this machine (one account, 5 in flight)")
    print(
        f"the same images rendered directly: {result['direct_seconds']:.1f} s ({result['direct_per_minute']:.0f}"
        f" per minute); the pipeline takes {result['ratio']:.2f}x that"
    )
    write(arguments.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
