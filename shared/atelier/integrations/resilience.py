"""Retries and circuit breakers for every HTTP call Atelier makes to a provider (inference and
payments): one mechanism, used by each provider client around its own single attempt.

- **Only what is safe to repeat is repeated**: reads and polls, and writes that carry the provider's
  idempotency key (PayPal's ``PayPal-Request-Id``). A submit without one is made once: a 5xx after
  the provider accepted the job would otherwise start (and bill) it twice.
- **Backoff**: exponential with full jitter, ``uniform(0, min(cap, base * 2**retry))``; when the
  provider says ``Retry-After`` (seconds or an HTTP date) the wait is at least that. A wait longer
  than ``max_wait_seconds`` is not made here: the error goes up (with its retry-after) and the queue
  or the caller tries later.
- **Time budget**: never sleep past the invocation's deadline. A handler opens ``time_budget`` with
  the Lambda context's remaining time; a retry whose wait plus ``reserve_seconds`` (room for the
  attempt itself) does not fit is not made.
- **Circuit breaker**, one per provider: after ``failure_threshold`` transient failures in a row it
  opens and calls fail at once (``CircuitOpenError``) for ``cool_off_seconds``, then lets one trial
  call through; its failure opens it again for twice as long (up to ``max_cool_off_seconds``), its
  success closes it. ``outage_seconds`` says how long the provider has been failing, so a job can
  give up (and release its credits) when an outage outlasts a limit. The state lives in the
  container's memory (see docs/decisions.md, 2026-12-06).

Clocks and the sleeper are injectable, so tests never really wait.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from atelier import errors
from atelier.observability import logger, record_metric

type Sleeper = Callable[[float], None]
type MonotonicClock = Callable[[], float]


class CircuitOpenError(errors.DependencyUnavailableError):
    """The provider failed repeatedly just now: the call was not made."""

    code = "provider_unavailable"
    default_message = "The provider is unavailable; try again shortly."

    def __init__(self, provider: str = "inference", *, retry_after_seconds: float = 1.0, outage_seconds: float = 0.0):
        super().__init__(
            f"The {provider} provider is unavailable; try again shortly.",
            details={"provider": provider, "reason": "circuit_open"},
            retry_after_seconds=max(1, round(retry_after_seconds)),
        )
        self.provider = provider
        self.outage_seconds = outage_seconds


class TransientFailure(Exception):
    """What one attempt raises when making it again may work (429, 5xx, timeout, network): it
    carries the error to raise when no retry is made, and the provider's Retry-After if it gave one."""

    def __init__(self, error: Exception, *, retry_after_seconds: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_seconds = retry_after_seconds


# ------------------------------------------------------------------------------------------
# Retry-After and the time budget.
# ------------------------------------------------------------------------------------------
def parse_retry_after(value: str | None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date (RFC 9110);
    None when absent or unreadable, 0 for a date already past."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now()).total_seconds())


_deadline: ContextVar[tuple[float, MonotonicClock] | None] = ContextVar("atelier_time_budget", default=None)


@contextmanager
def time_budget(seconds: float, *, clock: MonotonicClock = time.monotonic) -> Iterator[None]:
    """Everything inside must end within ``seconds`` (a handler passes the Lambda context's
    remaining time): retries and waits that would not fit are not made."""
    token = _deadline.set((clock() + max(0.0, seconds), clock))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining_seconds() -> float | None:
    """Seconds left in the current time budget, or None outside one."""
    found = _deadline.get()
    if found is None:
        return None
    deadline, clock = found
    return deadline - clock()


# ------------------------------------------------------------------------------------------
# The circuit breaker.
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    cool_off_seconds: float = 15.0
    max_cool_off_seconds: float = 120.0


class CircuitBreaker:
    """One provider's breaker, shared by the threads of a container."""

    def __init__(
        self, provider: str, policy: BreakerPolicy | None = None, *, clock: MonotonicClock = time.monotonic
    ) -> None:
        self.provider = provider
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._open_until: float | None = None
        self._cool_off = self.policy.cool_off_seconds
        self._outage_since: float | None = None  # the first failure of the current run of failures
        self._trial_running = False

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._open_until is not None and self._clock() < self._open_until

    def outage_seconds(self) -> float:
        with self._lock:
            return 0.0 if self._outage_since is None else self._clock() - self._outage_since

    def before_call(self) -> None:
        """Raises CircuitOpenError while open (and while a half-open trial call is out)."""
        with self._lock:
            if self._open_until is None:
                return
            now = self._clock()
            outage = now - (self._outage_since or now)
            if now < self._open_until:
                raise CircuitOpenError(self.provider, retry_after_seconds=self._open_until - now, outage_seconds=outage)
            if self._trial_running:
                raise CircuitOpenError(self.provider, retry_after_seconds=1.0, outage_seconds=outage)
            self._trial_running = True

    def succeeded(self) -> None:
        with self._lock:
            if self._open_until is not None:
                logger.info("provider circuit closed", extra={"provider": self.provider})
            self._failures, self._open_until, self._trial_running = 0, None, False
            self._outage_since, self._cool_off = None, self.policy.cool_off_seconds

    def failed(self) -> None:
        with self._lock:
            now = self._clock()
            self._failures += 1
            if self._outage_since is None:
                self._outage_since = now
            if self._trial_running:  # the half-open trial failed: open again, for longer
                self._trial_running = False
                self._cool_off = min(self._cool_off * 2, self.policy.max_cool_off_seconds)
                self._open_until = now + self._cool_off
                record_metric("ProviderCircuitOpened", provider=self.provider)
            elif self._open_until is None and self._failures >= self.policy.failure_threshold:
                self._open_until = now + self._cool_off
                logger.warning("provider circuit opened", extra={"provider": self.provider})
                record_metric("ProviderCircuitOpened", provider=self.provider)


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(provider: str) -> CircuitBreaker:
    """The container's breaker for a provider (inference and payment provider names differ)."""
    with _breakers_lock:
        found = _breakers.get(provider)
        if found is None:
            found = _breakers[provider] = CircuitBreaker(provider)
        return found


def forget_breakers() -> None:
    """Closes every breaker (tests)."""
    with _breakers_lock:
        _breakers.clear()


_default_sleep: list[Sleeper] = [time.sleep]


@contextmanager
def sleeping_with(sleep: Sleeper) -> Iterator[None]:
    """Waits between retries of clients built without a sleeper go to ``sleep`` (tests: no real waits)."""
    _default_sleep.append(sleep)
    try:
        yield
    finally:
        _default_sleep.remove(sleep)


# ------------------------------------------------------------------------------------------
# Retrying.
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_seconds: float = 0.5
    cap_seconds: float = 8.0
    # A provider asking for a longer wait is not waited for here: the queue tries later.
    max_wait_seconds: float = 20.0
    # Room an attempt needs inside the time budget after a wait.
    reserve_seconds: float = 5.0


DEFAULT_RETRY_POLICY = RetryPolicy()


def backoff_seconds(retry: int, policy: RetryPolicy, rng: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform over [0, min(cap, base * 2**retry))."""
    return rng() * min(policy.cap_seconds, policy.base_seconds * 2**retry)


class Resilient:
    """Makes a provider's calls through its breaker, retrying those that are safe to repeat."""

    def __init__(
        self,
        provider: str,
        *,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        breaker: CircuitBreaker | None = None,
        sleep: Sleeper | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self.policy = policy
        self._breaker = breaker
        self._sleep = sleep
        self._rng = rng

    def sleep(self, seconds: float) -> None:
        (self._sleep or _default_sleep[-1])(seconds)

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker or breaker_for(self.provider)

    def call[T](self, attempt: Callable[[], T], *, repeatable: bool) -> T:
        """``attempt`` makes one call: it answers, raises TransientFailure (may pass), or raises
        anything else (the provider answered: no retry, and the breaker counts it as up)."""
        breaker = self.breaker
        retry = 0
        while True:
            breaker.before_call()
            try:
                answer = attempt()
            except TransientFailure as failure:
                breaker.failed()
                wait = self._wait_before_retry(retry, failure, repeatable=repeatable)
                if wait is None:
                    raise failure.error from failure
                logger.info(
                    "provider call retried",
                    extra={"provider": self.provider, "retry": retry + 1, "wait_ms": round(wait * 1000)},
                )
                self.sleep(wait)
                retry += 1
                continue
            except BaseException:
                breaker.succeeded()
                raise
            breaker.succeeded()
            return answer

    def _wait_before_retry(self, retry: int, failure: TransientFailure, *, repeatable: bool) -> float | None:
        if not repeatable or retry + 1 >= self.policy.attempts:
            return None
        wait = backoff_seconds(retry, self.policy, self._rng)
        if failure.retry_after_seconds is not None:
            wait = max(wait, failure.retry_after_seconds)
        if wait > self.policy.max_wait_seconds:
            return None
        left = remaining_seconds()
        if left is not None and wait + self.policy.reserve_seconds > left:
            return None
        return wait
