"""Projectors over the store under contract, delivering the way Lambda does.

``reference`` is what a fault-free projection into a ``MemoryStore``
produces: every projector case must end with exactly those documents.
"""

from __future__ import annotations

import random
from typing import Callable

from dynafold.projector.engine.batch import Projector
from dynafold.projector.retry import Backoff
from dynafold.projector.runtime import build_projector
from dynafold.projector.stores.base import DocumentStore
from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
from dynafold.sample import MODEL


def reference(records: list[dict]) -> list[dict]:
    """The customer documents a fault-free projection of ``records`` produces."""
    store = MemoryStore()
    report = build_projector(MODEL, store, MemoryQuarantine()).project(records)
    assert report.failed_from is None
    return list(store.documents("customer"))


def projector(store: DocumentStore, *, attempts: int = 4, sleep: Callable[[float], None] = lambda s: None) -> Projector:
    """The sample model's projector, with a bounded backoff that does not really sleep."""
    return build_projector(MODEL, store, MemoryQuarantine(), backoff=Backoff(attempts=attempts), sleep=sleep,
                           rng=random.Random(7))


def deliver(p: Projector, records: list[dict], rounds: int = 40) -> int:
    """Deliver like Lambda: redeliver from the first failed record until the batch succeeds."""
    for round_ in range(rounds):
        report = p.project(records)
        assert not report.quarantined
        if report.failed_from is None:
            return round_ + 1
        records = records[report.failed_from :]
    raise AssertionError(f"not converged after {rounds} deliveries")
