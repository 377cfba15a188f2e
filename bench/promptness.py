"""How soon a finished generation shows `succeeded`: the delay between the provider finishing a job
and the job's status saying so, p50/p95, with and without provider callbacks, for jobs that take
about 2 s, 20 s and 120 s.

    python -m bench.promptness [--jobs 20] [--json out.json]

Time is simulated, work is real. Waiting (the queue's delays, the worker's in-process waits, the
provider's generation time) moves a simulated clock without sleeping, so the 120 s case does not
take 120 s; everything Atelier does (the real `run_generation`, `handle_provider_callback`, the
adapters over HTTP to the local provider stand-ins, DynamoDB and S3 in the emulator) runs for real
and its wall-clock time is added to the simulated clock as it runs. Two latencies that are not ours
to measure are assumed and added: the queue's hand-off of a message to the worker and a callback's
trip from the provider to the webhook function (``--handoff``, ``--delivery``, 0.1 s each).

Each job runs alone: its provider (Replicate and RunPod in turn, both through their real adapters)
takes the model's expected duration give or take 25 % (seeded), and finishes at a known instant;
with callbacks it calls back then (Replicate signed, RunPod with its tokened URL), without them only
the worker's looks find it. The baseline is the schedule used before (delayed looks at 2, 3, 5, 8,
13, 20, 30, 45 then every 60 s), computed for the same finishing instants with no processing time.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bench.figures import MET, MISSED, Figure, silenced_stdout, write

DURATIONS = (2.0, 20.0, 120.0)
EPOCH = 1_790_000_000.0
WORKER_TIMEOUT_SECONDS = 120.0
OLD_LADDER = (2, 3, 5, 8, 13, 20, 30, 45, 60)


class SimulatedTime:
    """Simulated seconds that also run on with real work: while code runs its wall-clock time
    passes here too; a wait adds its length at once, without sleeping."""

    def __init__(self) -> None:
        self.base = 0.0
        self.mark = time.perf_counter()

    def seconds(self) -> float:
        return self.base + (time.perf_counter() - self.mark)

    def jump_to(self, moment: float) -> None:
        """An event loop moving to the next event (never backwards)."""
        self.base, self.mark = max(self.seconds(), moment), time.perf_counter()

    def sleep(self, seconds: float) -> None:
        self.base, self.mark = self.seconds() + max(0.0, seconds), time.perf_counter()

    def epoch(self) -> float:
        return EPOCH + self.seconds()

    def now(self) -> datetime:  # atelier.clock.Clock
        return datetime.fromtimestamp(self.epoch(), UTC)


@dataclass(order=True)
class Event:
    at: float
    order: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False)


class Noticing:
    """An adapter that notes when a look first finds a job final (the rest of the delay is
    Atelier's own completion work: download, probe, store, settle)."""

    def __init__(self, adapter: Any, sim: SimulatedTime) -> None:
        self._adapter = adapter
        self._sim = sim
        self.name = adapter.name
        self.noticed: dict[str, float] = {}

    def status(self, provider_job_id: str) -> Any:
        state = self._adapter.status(provider_job_id)
        if state.status.is_final:
            self.noticed.setdefault(provider_job_id, self._sim.seconds())
        return state

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adapter, name)


class Simulation:
    """The events of one run: queue messages, providers finishing, callbacks arriving."""

    def __init__(self, sim: SimulatedTime, handoff: float, delivery: float) -> None:
        self.sim = sim
        self.handoff = handoff
        self.delivery = delivery
        self.events: list[Event] = []
        self._order = itertools.count()

    def at(self, moment: float, kind: str, payload: Any) -> None:
        heapq.heappush(self.events, Event(moment, next(self._order), kind, payload))

    # atelier.integrations.queue.MessageQueue
    def send(self, message: Any, *, delay_seconds: int = 0) -> None:
        self.at(self.sim.seconds() + delay_seconds + self.handoff, "message", message)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def ladder_delay(finished_after: float) -> float:
    """How long after a job finished the schedule used before would have looked at it."""
    looked, polls = 0.0, 0
    while looked < finished_after:
        looked += OLD_LADDER[min(polls, len(OLD_LADDER) - 1)]
        polls += 1
    return looked - finished_after


def run(jobs: int, handoff: float, delivery: float, seed: int = 7) -> dict[str, Any]:
    from atelier.integrations.resilience import time_budget
    from atelier.models.accounts import Principal, PrincipalKind
    from atelier.models.generation import JobStatus
    from atelier.services import get_services
    from atelier.usecases.accept_terms import accept_terms
    from atelier.usecases.handle_provider_callback import handle_provider_callback
    from atelier.usecases.run_generation import run_generation
    from atelier.usecases.submit_job import JobSubmission, submit_job
    from tests.support.generation import run_generation_deps, submit_job_deps
    from tests.support.inference import RUNPOD_ENDPOINT, Delivery, ProviderNetwork
    from tests.support.money import give_credits, new_account
    from tests.support.stack import running_stack

    rng = random.Random(seed)
    results: dict[str, Any] = {"jobs": jobs, "handoff": handoff, "delivery": delivery, "cases": []}
    with running_stack(parameters={"LogLevel": "WARNING"}):
        services = get_services()
        sim = SimulatedTime()
        simulation = Simulation(sim, handoff, delivery)

        class Network(ProviderNetwork):
            def _deliver(self, url: str, headers: Any, body: bytes) -> int:
                simulation.at(sim.seconds() + delivery, "callback", Delivery(url, dict(headers), body))
                return 204

        network = Network()
        for stand_in in network.stand_ins.values():
            stand_in.clock = sim.epoch
        adapters: dict[str, Any] = {
            "replicate": Noticing(network.replicate(clock=sim.epoch), sim),
            "runpod": Noticing(network.runpod(), sim),
        }
        models = {"replicate": "owner/bench-model", "runpod": RUNPOD_ENDPOINT}

        account = new_account()
        give_credits(account, jobs * len(DURATIONS) * 2 * 10)
        accept_terms(
            account.id,
            services.settings.policy.initial_terms_version,
            accounts=services.accounts,
            policies=services.policies,
            clock=services.clock,
            settings=services.settings,
        )
        principal = Principal(
            kind=PrincipalKind.ACCOUNT,
            account_id=account.id,
            ledger_id=account.ledger_id,
            default_workspace_id=account.default_workspace_id,
            via="session",
        )
        size = {"type": "integer", "minimum": 64, "maximum": 64, "default": 64}

        for duration in DURATIONS:
            for callbacks in (True, False):
                settings = services.settings.model_copy(
                    update={
                        "api_base_url": "https://atelier.test" if callbacks else "",
                        "job_submissions_per_minute": 1_000_000,
                        "models": [
                            {
                                "id": f"bench-{provider}",
                                "kind": "image",
                                "provider": provider,
                                "provider_model": models[provider],
                                "name": f"Bench ({provider})",
                                "price": {"base": 1},
                                "params": {"width": size, "height": size},
                                "expected_seconds": duration,
                            }
                            for provider in models
                        ],
                    }
                )
                submit_deps = submit_job_deps(queue=simulation, clock=sim, settings=settings)
                worker_deps = run_generation_deps(
                    queue=simulation, provider_for=adapters.__getitem__, clock=sim, settings=settings, sleep=sim.sleep
                )
                delays: list[float] = []
                noticed: list[float] = []
                baseline: list[float] = []
                looks: list[int] = []
                # The very first job also warms the process (imports, clients): it is not counted.
                warm_up = 1 if not results["cases"] and not delays else 0
                for index in range(jobs + warm_up):
                    counted = index >= warm_up
                    provider = ("replicate", "runpod")[index % 2]
                    stand_in = network.stand_in(provider)
                    actual = duration * rng.uniform(0.75, 1.25)
                    stand_in.queue_seconds, stand_in.run_seconds = 0.1 * actual, 0.9 * actual
                    fake_ids: list[str] = []
                    job = submit_job(
                        submit_deps,
                        principal,
                        JobSubmission(
                            kind="image",
                            model=f"bench-{provider}",
                            prompt=f"bench {duration:g} s #{index}",
                            negative_prompt=None,
                            params={},
                            reference_upload_ids=[],
                        ),
                        workspace_id=None,
                        idempotency_key=None,
                    ).job
                    submitted_at = sim.seconds()
                    finished_at: float | None = None
                    known: set[str] = set(stand_in.jobs)
                    while simulation.events:
                        event = heapq.heappop(simulation.events)
                        sim.jump_to(event.at)
                        if event.kind == "message":
                            with time_budget(WORKER_TIMEOUT_SECONDS, clock=sim.seconds):
                                run_generation(worker_deps, event.payload, receive_count=1)
                        elif event.kind == "provider_done":
                            if stand_in.advance(event.payload):
                                stand_in.send_callback(event.payload)
                        else:  # a callback arriving at the webhook function
                            sent: Delivery = event.payload
                            handle_provider_callback(
                                provider,
                                {name.lower(): value for name, value in sent.headers.items()},
                                sent.body,
                                dict(parse_qsl(urlsplit(sent.url).query)),
                                provider=adapters[provider],
                                jobs=services.jobs,
                                queue=simulation,  # type: ignore[arg-type]
                            )
                        for fake_id in set(stand_in.jobs) - known:  # the provider got the job
                            known.add(fake_id)
                            fake_ids.append(fake_id)
                            fake = stand_in.jobs[fake_id]
                            finished_at = fake.created_at - EPOCH + stand_in.queue_seconds + stand_in.run_seconds
                            simulation.at(finished_at, "provider_done", fake)
                        current = services.jobs.get(account.id, job.id)
                        if current is not None and current.status.is_final:
                            if current.status is not JobStatus.SUCCEEDED or finished_at is None:
                                raise RuntimeError(f"job ended {current.status}: {current.error}")
                            seen = adapters[provider].noticed.get(current.provider_job_id or "", sim.seconds())
                            if counted:
                                delays.append(sim.seconds() - finished_at)
                                noticed.append(seen - finished_at)
                                baseline.append(ladder_delay(finished_at - submitted_at))
                            looks.append(
                                sum(
                                    1
                                    for method, subpath, *_ in stand_in.requests
                                    if method == "GET" and fake_ids[-1] in subpath
                                )
                            )
                            if not counted:
                                looks.pop()
                            simulation.events.clear()  # what is left would only find the job finished
                            break
                    else:
                        raise RuntimeError("the job never finished")
                results["cases"].append(
                    {
                        "duration": duration,
                        "callbacks": callbacks,
                        "p50": percentile(delays, 0.5),
                        "p95": percentile(delays, 0.95),
                        "mean_looks": statistics.fmean(looks),
                        "delays": [round(delay, 3) for delay in delays],
                        "noticed_p50": percentile(noticed, 0.5),
                        "noticed_p95": percentile(noticed, 0.95),
                        "baseline_p50": percentile(baseline, 0.5),
                        "baseline_p95": percentile(baseline, 0.95),
                    }
                )
    return results


def figures(result: dict[str, Any]) -> list[Figure]:
    rows = []
    how = (
        f"bench/promptness.py: {result['jobs']} jobs per case, one at a time, Replicate and RunPod stand-ins in "
        f"turn, each taking the expected duration +-25 %; simulated waits, real work (emulator); hand-off "
        f"{result['handoff']:g} s and callback trip {result['delivery']:g} s assumed"
    )
    for case in result["cases"]:
        duration = case["duration"]
        limit = 1.0 if case["callbacks"] else 0.1 * duration
        mode = "with callbacks" if case["callbacks"] else "without callbacks (polling)"
        rows.append(
            Figure(
                "generation",
                f"finished -> `succeeded`, {duration:g} s jobs, {mode}",
                f"p95 <= {limit:g} s",
                f"p50 **{case['p50']:.2f} s**, p95 **{case['p95']:.2f} s** (seen by a look: p95 "
                f"{case['noticed_p95']:.2f} s; {case['mean_looks']:.1f} looks per job); "
                f"the fixed ladder before: p50 {case['baseline_p50']:.1f} s, p95 {case['baseline_p95']:.1f} s",
                MET if case["p95"] <= limit else MISSED,
                how,
                case,
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20, help="jobs per duration and mode")
    parser.add_argument("--handoff", type=float, default=0.1, help="queue to worker, seconds (assumed)")
    parser.add_argument("--delivery", type=float, default=0.1, help="provider to webhook, seconds (assumed)")
    parser.add_argument("--json", help="also write the figures to this file (for bench/report.py)")
    arguments = parser.parse_args()
    started = time.perf_counter()
    with silenced_stdout():
        result = run(arguments.jobs, arguments.handoff, arguments.delivery)
    print(__doc__.split("\n\n")[2].replace("\n", " "))
    print()
    print(
        f"{'duration':>9} {'mode':<14} {'p50 s':>7} {'p95 s':>7} {'goal':>8} {'seen p50/p95':>14} {'looks':>6}"
        "   fixed ladder p50/p95"
    )
    for case in result["cases"]:
        limit = 1.0 if case["callbacks"] else 0.1 * case["duration"]
        print(
            f"{case['duration']:>8g}s {'callbacks' if case['callbacks'] else 'polling only':<14} "
            f"{case['p50']:>7.2f} {case['p95']:>7.2f} {'<= ' + format(limit, 'g'):>8} "
            f"{case['noticed_p50']:>6.2f} /{case['noticed_p95']:>6.2f} {case['mean_looks']:>6.1f}"
            f"   {case['baseline_p50']:.1f} / {case['baseline_p95']:.1f}"
        )
    print(
        "\np50/p95: provider finished -> job `succeeded`; seen: provider finished -> a look at it answered "
        "final (the rest is the completion: download, probe, store in S3, settle in DynamoDB, on the emulator)"
    )
    print(f"{arguments.jobs} jobs per row; wall time {time.perf_counter() - started:.0f} s for all rows")
    write(arguments.json, figures(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
