"""Outbound webhooks: how long from a job's completion until its signed event reaches the receiver
(p50/p95), and the AWS calls one delivered event costs.

    python -m bench.webhooks              # 20 image jobs
    python -m bench.webhooks --jobs 50

Latency runs over real HTTP on the local runtime (`make dev`): a receiver on 127.0.0.1 registered
as an endpoint, image jobs submitted one after another; each event's latency is the moment it was
received less the job's `finished_at` (its payload carries it, in milliseconds). The local
runtime's pollers take a message within about a second of it being sent, as Lambda's SQS event
source does; the figure is dominated by that wait.

AWS calls are counted (bench/aws_calls.py's botocore hooks) around announcing one finished job to
one endpoint and making its one successful attempt, in this thread against the emulator.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime

from bench.aws_calls import counting, install


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def latency(jobs: int) -> list[float]:
    from tests.e2e.test_generation_journey import accept_terms, buy_credits, wait_for
    from tests.support.client import signed_in
    from tests.support.stack import running_stack
    from tests.support.webhook_receiver import running_receiver

    seconds: list[float] = []
    with running_stack() as runtime, running_receiver() as receiver:
        client = signed_in(runtime.api_url, "bench-webhooks@example.com")
        accept_terms(client)
        for _ in range((jobs // 9) + 1):
            buy_credits(client, "pack_studio")
        created = client.post("/v1/webhook-endpoints", json={"url": receiver.url, "events": ["job.succeeded"]})
        assert created.status_code == 201, created.text
        for number in range(jobs):
            submitted = client.post(
                "/v1/jobs",
                json={"kind": "image", "model": "local-image", "prompt": f"bench {number}"},
            )
            assert submitted.status_code == 202, submitted.text
            wait_for(client, submitted.json()["id"])
            receiver.wait_for(number + 1)
            request = receiver.received[number]
            payload = json.loads(request.body)
            finished = datetime.fromisoformat(payload["data"]["finished_at"].replace("Z", "+00:00")).timestamp()
            seconds.append(request.at - finished)
        client.close()
    return seconds


def calls_per_event() -> dict[str, int]:
    """One job.succeeded announced to one endpoint and delivered once."""
    from datetime import UTC
    from datetime import datetime as moment

    from atelier.ids import IdPrefix, new_id
    from atelier.models.generation import Job, JobStatus
    from atelier.models.webhooks import WebhookEventType
    from atelier.services import get_services
    from atelier.usecases.deliver_webhooks import DeliverWebhookDeps, DeliveryMessage, deliver
    from atelier.usecases.manage_webhooks import create_endpoint
    from tests.support.stack import running_stack
    from tests.support.webhook_receiver import running_receiver

    install()
    with running_stack() as runtime, running_receiver() as receiver:
        for poller in runtime.pollers:
            poller.request_stop()
        for poller in runtime.pollers:
            poller.stop()
        services = get_services()
        account_id = new_id(IdPrefix.ACCOUNT)
        endpoint = create_endpoint(
            account_id,
            url=receiver.url,
            events=[WebhookEventType.JOB_SUCCEEDED],
            description="",
            enabled=True,
            include_prompt=False,
            webhooks=services.webhooks,
            clock=services.clock,
            settings=services.settings,
        )
        now = moment.now(UTC)
        job = Job(
            id=new_id(IdPrefix.JOB),
            account_id=account_id,
            ledger_id="ldg_bench",
            workspace_id="ws_bench",
            kind="image",
            model="local-image",
            prompt="bench",
            status=JobStatus.SUCCEEDED,
            provider="local",
            cost_credits=1,
            charged_credits=1,
            created_at=now,
            finished_at=now,
            deadline_at=now,
        )
        services.webhook_events.webhooks  # noqa: B018 - the clients are made before counting, warm
        with counting() as announce:
            services.webhook_events.job_finished(job)
        [delivery], _ = services.webhooks.deliveries(account_id, endpoint.id, limit=1, after=None, now=now)
        message = DeliveryMessage(account_id=account_id, endpoint_id=endpoint.id, message_id=delivery.id, attempt=0)
        with counting() as attempt:
            deliver(DeliverWebhookDeps.from_services(services), message)
        assert len(receiver.received) == 1
    # The event source's own calls: Lambda's poller receives and deletes the message (batched).
    return {"announce": sum(announce.values()), "attempt": sum(attempt.values()), **dict(announce + attempt)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20)
    arguments = parser.parse_args()
    calls = calls_per_event()
    seconds = latency(arguments.jobs)
    print(f"delivery latency over {len(seconds)} jobs: p50 {statistics.median(seconds) * 1000:.0f} ms, ", end="")
    print(f"p95 {_percentile(seconds, 0.95) * 1000:.0f} ms, max {max(seconds) * 1000:.0f} ms")
    print(f"AWS calls per delivered event: {calls['announce']} to announce + {calls['attempt']} per attempt")
    for name, count in sorted(calls.items()):
        if name not in ("announce", "attempt"):
            print(f"  {name}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
