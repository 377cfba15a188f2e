"""Retries with backoff, Retry-After, the time budget and the circuit breaker, on a fake clock and
a fake sleeper: nothing here really waits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from atelier import errors
from atelier.integrations.resilience import (
    BreakerPolicy,
    CircuitBreaker,
    CircuitOpenError,
    Resilient,
    RetryPolicy,
    TransientFailure,
    backoff_seconds,
    parse_retry_after,
    time_budget,
)
from tests.support.metrics import named


class FakeTime:
    """A monotonic clock that moves only when the fake sleeper sleeps (or a test says)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Flaky:
    """Fails the first `failures` calls the way a down provider does, then answers."""

    def __init__(self, failures: int, retry_after: float | None = None) -> None:
        self.failures = failures
        self.retry_after = retry_after
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientFailure(errors.DependencyUnavailableError("down"), retry_after_seconds=self.retry_after)
        return "answer"


def resilient(fake: FakeTime, policy: RetryPolicy | None = None, **breaker: float) -> Resilient:
    return Resilient(
        "acme",
        policy=policy or RetryPolicy(attempts=3, base_seconds=1.0, cap_seconds=8.0),
        breaker=CircuitBreaker("acme", BreakerPolicy(**breaker), clock=fake),  # type: ignore[arg-type]
        sleep=fake.sleep,
        rng=lambda: 0.5,
    )


def test_a_repeatable_call_is_retried_with_growing_jittered_waits():
    # Given a provider failing twice
    fake = FakeTime()
    flaky = Flaky(failures=2)
    # When a read is made
    answer = resilient(fake).call(flaky, repeatable=True)
    # Then it answers after two waits, each half (the fake jitter) of the doubling cap
    assert answer == "answer"
    assert flaky.calls == 3
    assert fake.slept == [0.5, 1.0]


def test_full_jitter_stays_under_the_exponential_cap():
    # Given the default shape of waits
    policy = RetryPolicy(base_seconds=0.5, cap_seconds=8.0)
    # When the jitter draws its extremes, then the wait stays in [0, min(cap, base * 2**retry))
    assert backoff_seconds(0, policy, lambda: 0.999) < 0.5
    assert backoff_seconds(3, policy, lambda: 0.999) < 4.0
    assert backoff_seconds(10, policy, lambda: 0.999) < 8.0
    assert backoff_seconds(2, policy, lambda: 0.0) == 0.0


def test_a_call_not_safe_to_repeat_is_made_once():
    # Given a provider failing once
    fake = FakeTime()
    flaky = Flaky(failures=1)
    # When a submit without an idempotency key is made, then the failure goes up without a retry
    with pytest.raises(errors.DependencyUnavailableError):
        resilient(fake).call(flaky, repeatable=False)
    assert flaky.calls == 1
    assert fake.slept == []


def test_retries_stop_after_the_policy_attempts():
    # Given a provider that keeps failing
    fake = FakeTime()
    flaky = Flaky(failures=10)
    # When a read is made, then it is tried three times (the policy) and the error goes up
    with pytest.raises(errors.DependencyUnavailableError):
        resilient(fake).call(flaky, repeatable=True)
    assert flaky.calls == 3


def test_retry_after_in_seconds_is_honoured_over_a_shorter_backoff():
    # Given a provider asking for 3 seconds
    fake = FakeTime()
    flaky = Flaky(failures=1, retry_after=3)
    # When a read is made, then the wait is the provider's 3 seconds, not the shorter backoff
    assert resilient(fake).call(flaky, repeatable=True) == "answer"
    assert fake.slept == [3]


def test_a_retry_after_longer_than_the_longest_wait_goes_up_for_the_queue():
    # Given a provider asking for a minute
    fake = FakeTime()
    flaky = Flaky(failures=1, retry_after=60)
    # When a read is made, then there is no wait here: the error goes up (the queue tries later)
    with pytest.raises(errors.DependencyUnavailableError):
        resilient(fake, RetryPolicy(max_wait_seconds=20)).call(flaky, repeatable=True)
    assert fake.slept == []


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    # Given a fixed now
    now = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
    # When Retry-After values are read, then seconds and HTTP dates both give the wait
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Sun, 06 Dec 2026 12:00:30 GMT", now=lambda: now) == 30
    assert parse_retry_after("Sun, 06 Dec 2026 11:00:00 GMT", now=lambda: now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_no_wait_is_made_past_the_time_budget():
    # Given an invocation with 6 seconds left and a provider asking for 2
    fake = FakeTime()
    flaky = Flaky(failures=1, retry_after=2)
    policy = RetryPolicy(reserve_seconds=5)
    # When a read is made, then the wait would leave no room for the attempt: the error goes up at once
    with time_budget(6, clock=fake), pytest.raises(errors.DependencyUnavailableError):
        resilient(fake, policy).call(flaky, repeatable=True)
    assert fake.slept == []
    # And with room enough, the same failure is waited out
    with time_budget(30, clock=fake):
        assert resilient(fake, policy).call(Flaky(failures=1, retry_after=2), repeatable=True) == "answer"


def test_the_breaker_opens_after_repeated_failures_and_stops_calling():
    # Given a provider down for good and a breaker opening after 4 failures
    fake = FakeTime()
    client = resilient(fake, RetryPolicy(attempts=2, base_seconds=0.1), failure_threshold=4, cool_off_seconds=15)
    down = Flaky(failures=1000)
    # When calls keep coming
    for _ in range(2):
        with pytest.raises(errors.DependencyUnavailableError):
            client.call(down, repeatable=True)
    with pytest.raises(CircuitOpenError) as raised:
        client.call(down, repeatable=True)
    # Then the provider was called 4 times, then no more, and the refusal says when to come back
    assert down.calls == 4
    assert raised.value.code == "provider_unavailable"
    assert raised.value.retry_after_seconds is not None
    assert 1 <= raised.value.retry_after_seconds <= 15


def test_each_opening_of_the_breaker_is_counted_by_provider(capsys):
    # Given a breaker opening after 2 failures
    fake = FakeTime()
    client = resilient(fake, RetryPolicy(attempts=1), failure_threshold=2, cool_off_seconds=10)
    down = Flaky(failures=1000)
    # When it opens, and its half-open trial fails once the cool-off has passed
    for _ in range(2):
        with pytest.raises(errors.DependencyUnavailableError):
            client.call(down, repeatable=True)
    fake.now += 11
    with pytest.raises(errors.DependencyUnavailableError):
        client.call(down, repeatable=True)
    # Then both openings were counted, under the provider's name
    opened = named(capsys.readouterr().out, "ProviderCircuitOpened")
    assert [(m.value, m.dimensions["provider"]) for m in opened] == [(1.0, "acme"), (1.0, "acme")]


def test_a_half_open_breaker_lets_one_trial_through_and_closes_on_success():
    # Given a breaker opened by two failures
    fake = FakeTime()
    client = resilient(fake, RetryPolicy(attempts=1), failure_threshold=2, cool_off_seconds=10)
    flaky = Flaky(failures=2)
    for _ in range(2):
        with pytest.raises(errors.DependencyUnavailableError):
            client.call(flaky, repeatable=True)
    with pytest.raises(CircuitOpenError):
        client.call(flaky, repeatable=True)
    # When the cool-off has passed, then one trial goes through, succeeds, and the breaker closes
    fake.now += 10
    assert client.call(flaky, repeatable=True) == "answer"
    assert not client.breaker.is_open
    assert client.breaker.outage_seconds() == 0


def test_a_failed_trial_opens_the_breaker_for_longer_and_the_outage_keeps_counting():
    # Given a breaker opened by one failure for 10 seconds
    fake = FakeTime()
    client = resilient(fake, RetryPolicy(attempts=1), failure_threshold=1, cool_off_seconds=10)
    down = Flaky(failures=1000)
    with pytest.raises(errors.DependencyUnavailableError):
        client.call(down, repeatable=True)
    # When its trial fails too
    fake.now += 10
    with pytest.raises(errors.DependencyUnavailableError):
        client.call(down, repeatable=True)
    # Then 15 seconds later (past the first cool-off, within the doubled one) it is still open,
    # and the outage is counted from the first failure
    fake.now += 15
    with pytest.raises(CircuitOpenError) as raised:
        client.call(down, repeatable=True)
    assert raised.value.outage_seconds == 25
    assert down.calls == 2


def test_an_answer_that_is_a_refusal_counts_as_the_provider_being_up():
    # Given a breaker opening after two failures in a row
    fake = FakeTime()
    client = resilient(fake, RetryPolicy(attempts=1), failure_threshold=2)

    def refused() -> str:
        raise errors.InvalidFieldError("no")

    # When a failure, a refusal (the provider answered) and a failure follow each other
    with pytest.raises(errors.DependencyUnavailableError):
        client.call(Flaky(failures=1), repeatable=True)
    with pytest.raises(errors.InvalidFieldError):
        client.call(refused, repeatable=True)
    with pytest.raises(errors.DependencyUnavailableError):
        client.call(Flaky(failures=1), repeatable=True)
    # Then the failures were not in a row: the breaker is closed
    assert not client.breaker.is_open
