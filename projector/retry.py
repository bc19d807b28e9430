"""The one retry policy: full-jitter exponential backoff (AWS's recommendation for contended retries).

Conflicting writers, throttled store items, DynamoDB's unprocessed keys and
replay pages that failed all wait ``uniform(0, min(cap, base * 2**attempt))``
before their next attempt: jitter spreads racing retriers apart, the cap
bounds a wait inside an invocation's time. Each use picks its own numbers.
"""

from __future__ import annotations

import random

import attrs


@attrs.frozen
class Backoff:
    base: float = 0.02
    cap: float = 1.0
    attempts: int = 8

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.base * (2**attempt)))


WRITES = Backoff()
"""A lost race or a throttled item in a batch: short waits, many attempts."""
LOOKUPS = Backoff(base=0.05, cap=1.0, attempts=8)
"""BatchGetItem rounds with unprocessed keys."""
REPLAY_WRITES = Backoff(base=0.05, cap=2.0, attempts=8)
"""A replay's writes: it has minutes, not seconds, and shares the store with live projectors."""
REPLAY_PAGES = Backoff(base=0.2, cap=5.0, attempts=5)
"""A replay page that failed as a whole (the store unavailable): retried before the segment gives up."""
