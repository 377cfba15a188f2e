"""Pipeline throughput: image jobs per minute through the whole local stack (HTTP submit, queue,
worker, local provider, S3, settlement), polled to completion over HTTP.

    python -m bench.generation [--jobs 60]
"""

from __future__ import annotations

import argparse
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=60)
    arguments = parser.parse_args()

    from atelier.data.accounts import AccountRepository
    from tests.support.client import signed_in
    from tests.support.money import give_credits
    from tests.support.stack import running_stack

    with running_stack() as stack:
        client = signed_in(stack.api_url, "bench@example.com")
        version = client.get("/v1/policies/terms").json()["version"]
        client.post("/v1/me/terms", json={"version": version, "age_confirmed": True})
        client.request("PUT", "/v1/billing/spend-cap", json={"monthly_credits": None})
        give_credits(AccountRepository().require(client.get("/v1/me").json()["id"]), arguments.jobs * 10)

        started = time.perf_counter()
        pending: set[str] = set()
        submitted = 0
        while submitted < arguments.jobs or pending:
            # At most the in-flight limit at once, as one account can.
            while submitted < arguments.jobs and len(pending) < 5:
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
    print(f"pipeline: {arguments.jobs} image jobs (512x512, local provider) in {elapsed:.1f} s")
    print(f"throughput: {arguments.jobs / elapsed * 60:.0f} jobs per minute on this machine (one account, 5 in flight)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
