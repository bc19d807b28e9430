"""Runs in pairs: the one way every benchmark here compares dynafold with its baseline.

Both sides run once unmeasured (warming the server's caches, its JIT and
ours), then in turn, A B A B ..., so a drift in the machine's speed falls on
both; each pair gives one ratio, and a figure is printed as the median with
the range of the pairs (``median (min–max)``). Before every run the garbage
of the runs before it is collected, outside the measurement, so no run pays
for another's.
"""

from __future__ import annotations

import gc
import statistics
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
ROUNDS = 9  # five moved a short run's median ratio by up to 16% between two runs of the benchmark


def alternate(ours: Callable[[], T], theirs: Callable[[], T], rounds: int = ROUNDS, warmup: int = 1) -> list[tuple[T, T]]:
    """``rounds`` pairs of (ours, theirs), after ``warmup`` unmeasured runs of each."""
    def clean(run: Callable[[], T]) -> T:
        gc.collect()
        return run()

    for _ in range(warmup):
        clean(theirs)
        clean(ours)
    pairs = []
    for _ in range(rounds):
        baseline = clean(theirs)
        pairs.append((clean(ours), baseline))
    return pairs


def spread(values: Iterable[float], digits: int = 2) -> str:
    values = list(values)
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"
