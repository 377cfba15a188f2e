"""Load on the local runtime: mixed traffic of a dozen people and their scripts for a fixed number
of requests (health, sign-ins, profiles, jobs and assets, new jobs the local provider completes, the
gallery, share links, API-key calls, and deliberately bad requests). Nothing answers 5xx or fails to
answer, only rate limits answer 429, each bad request gets its 4xx, every answer is for its caller,
and once the platform is quiet every invariant holds.

    ATELIER_LOAD_SEED=7 pytest tests/reliability/test_load.py -s
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from local.runtime import LocalRuntime
from tests.support.chaos import quiesce
from tests.support.invariants import assert_invariants
from tests.support.load import Traffic, Visitor, welcome
from tests.support.stack import running_stack

SEED_VARIABLE = "ATELIER_LOAD_SEED"
VISITORS = 12
WORKERS = 8
BOUNDED_REQUESTS = 800
LONG_REQUESTS = 4000
RENAMES = 200


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalRuntime]:
    # Functions log warnings only: thousands of requests' info lines would cost more than they tell.
    with running_stack(parameters={"LogLevel": "WARNING"}) as runtime:
        yield runtime


@pytest.fixture(scope="module")
def people(stack: LocalRuntime) -> list[Visitor]:
    """A dozen people, each with credits, an API key and a published image."""
    return welcome(stack.api_url, VISITORS)


def run_load(stack: LocalRuntime, visitors: list[Visitor], requests: int) -> None:
    seed = int(os.environ.get(SEED_VARIABLE, "1"))
    # Given a dozen people, each with credits, an API key and a published image
    # When they and anonymous visitors send the planned traffic at once
    traffic = Traffic(stack.api_url, visitors, seed=seed, workers=WORKERS)
    try:
        report = traffic.run(requests)
    finally:
        traffic.close()
    print(f"\nload: seed {seed} ({SEED_VARIABLE}), {VISITORS} people")
    for line in report.lines():
        print(line)
    # Then nothing failed beyond the expected answers, and the platform, once quiet, keeps its promises
    assert not report.problems, f"{len(report.problems)} problem(s):\n" + "\n".join(report.problems[:40])
    quiesce(stack)
    assert_invariants(stack.emulator_url, stack.api_url)


def test_mixed_traffic_gets_no_unexpected_answer_and_keeps_every_promise(
    stack: LocalRuntime, people: list[Visitor]
) -> None:
    run_load(stack, people, BOUNDED_REQUESTS)


@pytest.mark.slow
def test_thousands_of_requests_get_no_unexpected_answer_and_keep_every_promise(
    stack: LocalRuntime, people: list[Visitor]
) -> None:
    run_load(stack, people, LONG_REQUESTS)


def test_concurrent_requests_are_each_answered_for_their_own_caller(stack: LocalRuntime, people: list[Visitor]) -> None:
    """Every function runs in this one process, where Powertools keeps the request being handled on
    a class shared by all resolvers: side by side, a request was validated against another's body
    and authenticated with another's cookie."""
    # Given twelve people, each renaming themselves and reading their profile at the same time
    visitors = people
    outcomes: Counter[str] = Counter()
    wrong: list[str] = []

    def rename(number: int) -> None:
        visitor = visitors[number % len(visitors)]
        name = f"Person {number % len(visitors)}"
        headers = {"Cookie": f"__Host-session={visitor.session_token}", "Origin": stack.api_url}
        with_body = number % 2 == 0
        answer = (
            http.patch("/v1/me", json={"name": name}, headers=headers)
            if with_body
            else http.get("/v1/me", headers=headers)
        )
        good = answer.status_code == 200 and answer.json()["id"] == visitor.account_id
        if good and with_body:
            good = answer.json()["name"] == name
        outcomes["own" if good else "someone else's"] += 1
        if not good:
            wrong.append(f"{visitor.account_id}: {answer.status_code} {answer.text[:160]}")

    # When the interpreter switches threads far more often than it does by itself (so requests
    # interleave at every step, as they may on any machine under load)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.00005)
    try:
        with httpx.Client(base_url=stack.api_url, timeout=120) as http, ThreadPoolExecutor(12) as pool:
            list(pool.map(rename, range(RENAMES)))
    finally:
        sys.setswitchinterval(interval)
    # Then every answer is the caller's own, with the caller's own change
    assert not wrong, f"{len(wrong)} of {RENAMES} answered for someone else:\n" + "\n".join(wrong[:10])
    assert outcomes["own"] == RENAMES
