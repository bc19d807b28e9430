"""Runs in pairs: the one way every benchmark here compares dynafold with its baseline.

Both sides run once unmeasured (warming the server's caches, its JIT and
ours), then in turn, A B A B ..., so a drift in the machine's speed falls on
both; each pair gives one ratio, and a figure is printed as the median with
the range of the pairs (``median (min–max)``).
"""

from __future__ import annotations

import statistics
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
ROUNDS = 5


def alternate(ours: Callable[[], T], theirs: Callable[[], T], rounds: int = ROUNDS, warmup: int = 1) -> list[tuple[T, T]]:
    """``rounds`` pairs of (ours, theirs), after ``warmup`` unmeasured runs of each."""
    for _ in range(warmup):
        theirs()
        ours()
    pairs = []
    for _ in range(rounds):
        baseline = theirs()
        pairs.append((ours(), baseline))
    return pairs


def spread(values: Iterable[float], digits: int = 2) -> str:
    values = list(values)
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"
