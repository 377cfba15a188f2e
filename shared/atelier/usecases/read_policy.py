"""The terms or privacy version in force now, and the upcoming one if published."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from atelier.clock import Clock
from atelier.data.policies import PolicyRepository
from atelier.models.accounts import PolicyKind, PolicyVersion
from atelier.settings import Settings

_INITIAL_SUMMARIES = {
    PolicyKind.TERMS: "The terms of use of Atelier.",
    PolicyKind.PRIVACY: "How Atelier collects, uses, keeps and deletes personal data.",
}


@dataclass(frozen=True)
class PolicyStatus:
    in_force: PolicyVersion
    upcoming: PolicyVersion | None


def initial_policy(kind: PolicyKind, settings: Settings) -> PolicyVersion:
    """The version in force before any is published through the API."""
    version = (
        settings.policy.initial_terms_version if kind is PolicyKind.TERMS else settings.policy.initial_privacy_version
    )
    effective = (
        datetime.fromisoformat(version).replace(tzinfo=UTC) if len(version) == 10 else datetime(2026, 1, 1, tzinfo=UTC)
    )
    return PolicyVersion(
        kind=kind, version=version, summary=_INITIAL_SUMMARIES[kind], effective_at=effective, published_at=effective
    )


def read_policy(kind: PolicyKind, *, policies: PolicyRepository, clock: Clock, settings: Settings) -> PolicyStatus:
    now = clock.now()
    in_force = policies.in_force(kind, now) or initial_policy(kind, settings)
    return PolicyStatus(in_force=in_force, upcoming=policies.upcoming(kind, now))


_CACHE_SECONDS = 60
_cache: dict[tuple[int, PolicyKind], tuple[float, PolicyStatus]] = {}
_cache_lock = threading.Lock()


def forget_cached() -> None:
    """Empties the terms cache: its ages are on the monotonic clock, which does not count the time
    a SnapStart snapshot waits before it is restored."""
    with _cache_lock:
        _cache.clear()


def terms_in_force(*, policies: PolicyRepository, clock: Clock, settings: Settings) -> str:
    """The terms version in force, read at most once a minute per container. Safe because a new
    version is published well before it takes effect: the cached pair (in force, upcoming) is
    re-evaluated against the clock on every call."""
    key = (id(policies), PolicyKind.TERMS)
    now = clock.now()
    with _cache_lock:
        cached = _cache.get(key)
    if cached is None or time.monotonic() - cached[0] > _CACHE_SECONDS:
        status = read_policy(PolicyKind.TERMS, policies=policies, clock=clock, settings=settings)
        with _cache_lock:
            _cache[key] = (time.monotonic(), status)
    else:
        status = cached[1]
    if status.upcoming is not None and status.upcoming.effective_at <= now:
        return status.upcoming.version
    return status.in_force.version
