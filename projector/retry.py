"""The one retry policy and the one retry loop: full-jitter exponential backoff (AWS's recommendation
for contended retries).

Conflicting writers, throttled store items, DynamoDB's unprocessed keys and
replay pages that failed all wait ``uniform(0, min(cap, base * 2**attempt))``
before their next attempt: jitter spreads racing retriers apart, the cap
bounds a wait inside an invocation's time. Each use picks its own numbers,
and every retry loop is ``for attempt in backoff.rounds(...)``.
"""

from __future__ import annotations

import random
from typing import Callable, Iterator, Optional

import attrs


@attrs.frozen
class Backoff:
    base: float = 0.02
    cap: float = 1.0
    attempts: int = 8

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.base * (2**attempt)))

    def rounds(self, rng: random.Random, sleep: Callable[[float], None], *,
               time_left: Optional[Callable[[], float]] = None, margin_s: float = 0.0,
               on_retry: Callable[[], None] = lambda: None) -> Iterator[int]:
        """Attempt numbers ``0 .. attempts - 1``, waiting the jittered delay before each retry (and
        telling ``on_retry``); it stops early once ``time_left()`` falls under ``margin_s``, so an
        invocation ends with time to report what it did not finish. Leave the loop with ``break``
        on success; a loop that runs out (``for ... else``) has used every attempt or all the time."""
        for attempt in range(self.attempts):
            if time_left is not None and time_left() < margin_s:
                return
            if attempt:
                on_retry()
                sleep(self.delay(attempt, rng))
            yield attempt


WRITES = Backoff()
"""A lost race or a throttled item in a batch: short waits, many attempts."""
LOOKUPS = Backoff(base=0.05, cap=1.0, attempts=8)
"""BatchGetItem rounds with unprocessed keys."""
REPLAY_WRITES = Backoff(base=0.05, cap=2.0, attempts=8)
"""A replay's writes: it has minutes, not seconds, and shares the store with live projectors."""
REPLAY_PAGES = Backoff(base=0.2, cap=5.0, attempts=5)
"""A replay page that failed as a whole (the store unavailable): retried before the segment gives up."""
