"""A store decorator that counts round trips: the deterministic cost of a batch.

Tests assert these counts (one load and one write per conflict-free batch)
and the benchmarks report them; wall-clock time is never asserted.
"""

from __future__ import annotations

from collections import Counter
from typing import Any


class CountingStore:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Counter = Counter()
        self.written: list = []
        self.reloaded: list = []
        self.loaded: list = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def load(self, wanted):
        self.calls["load"] += 1
        self.loaded.append({name: sorted(ids) for name, ids in wanted.items()})
        return self.inner.load(wanted)

    def reload(self, keys):
        self.calls["reload"] += 1
        self.reloaded.append(sorted(key.id for key in keys))
        return self.inner.reload(keys)

    def write(self, writes):
        self.calls["write"] += 1
        self.written.extend(writes)
        return self.inner.write(writes)

    def reset(self) -> None:
        self.calls.clear()
        self.written.clear()
        self.reloaded.clear()
        self.loaded.clear()
