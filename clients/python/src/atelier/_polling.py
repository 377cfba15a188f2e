"""How often ``wait`` looks again: soon at first (most images take seconds), then less often; a
``Retry-After`` on an answer is the server's hint of when to look again, and is taken as given."""

from __future__ import annotations

import httpx

from .errors import retry_after_of

FIRST_INTERVAL = 0.5
GROWTH = 1.5
LONGEST_INTERVAL = 5.0


class Schedule:
    def __init__(self, interval: float | None = None) -> None:
        # A fixed interval when the caller gives one; otherwise growing from FIRST_INTERVAL.
        self.fixed = interval
        self.current = interval if interval is not None else FIRST_INTERVAL

    def next_wait(self, response: httpx.Response, left: float) -> float:
        hinted = retry_after_of(response)
        wait = self.current if hinted is None else hinted
        if self.fixed is None:
            self.current = min(LONGEST_INTERVAL, self.current * GROWTH)
        return max(0.0, min(wait, left))
