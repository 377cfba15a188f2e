"""Fixed-window rate limits counted in DynamoDB: one conditional update per check."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from pynamodb.exceptions import UpdateError

from atelier import errors
from atelier.data import keys
from atelier.data.base import is_conditional_failure, translate_errors
from atelier.data.items import RateCounterItem
from atelier.settings import get_settings


def hashed_subject(subject: str) -> str:
    """Counters are keyed by a salted hash, so no address or account id is stored in them."""
    salt = get_settings().platform.address_hash_salt.encode()
    return hmac.new(salt, subject.encode(), hashlib.sha256).hexdigest()[:32]


class RateLimiter:
    def hit(self, scope: str, subject: str, *, limit: int, window_seconds: int, now: datetime) -> None:
        """Counts one hit; raises RateLimitedError, with the wait, once the window is full."""
        epoch = int(now.timestamp())
        window_start = epoch - epoch % window_seconds
        window_end = window_start + window_seconds
        item = RateCounterItem(keys.rate_counter_pk(scope, hashed_subject(subject)), keys.rate_window_sk(window_start))
        with translate_errors():
            try:
                item.update(
                    actions=[
                        RateCounterItem.hits.add(1),
                        RateCounterItem.entity.set("rate_counter"),
                        RateCounterItem.expires_at.set(window_end + 3600),
                    ],
                    condition=RateCounterItem.hits.does_not_exist() | (RateCounterItem.hits < limit),
                )
            except UpdateError as exc:
                if is_conditional_failure(exc):
                    raise errors.RateLimitedError(retry_after_seconds=max(1, window_end - epoch)) from exc
                raise

    def give_back(self, scope: str, subject: str, *, window_seconds: int, now: datetime) -> None:
        """Uncounts a hit (made at `now`) whose request then failed on our side. Best effort: a hit
        left counted costs the caller one request of the window, nothing more."""
        epoch = int(now.timestamp())
        item = RateCounterItem(
            keys.rate_counter_pk(scope, hashed_subject(subject)), keys.rate_window_sk(epoch - epoch % window_seconds)
        )
        try:
            with translate_errors():
                item.update(actions=[RateCounterItem.hits.add(-1)], condition=RateCounterItem.hits > 0)
        except (UpdateError, errors.DependencyUnavailableError):
            return

    def count(self, scope: str, subject: str, *, window_seconds: int, now: datetime) -> int:
        """Counts one event, without a limit, and answers how many the window (at `now`) holds."""
        epoch = int(now.timestamp())
        window_start = epoch - epoch % window_seconds
        item = RateCounterItem(keys.rate_counter_pk(scope, hashed_subject(subject)), keys.rate_window_sk(window_start))
        with translate_errors():
            item.update(
                actions=[
                    RateCounterItem.hits.add(1),
                    RateCounterItem.entity.set("rate_counter"),
                    RateCounterItem.expires_at.set(window_start + window_seconds + 3600),
                ]
            )
        return int(item.hits)
