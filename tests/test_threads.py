"""Real concurrency: one writer and one projector thread per table, racing on shared documents.

``testkit.check_threads`` runs the writers and the projector threads against moto at once. Here
the projectors also go through a wrapper that delays writes and, at random, lets a foreign writer
touch a document between a projector's load and its write, so conditional writes really conflict,
on one SQLite file, one memory store, and one OpenSearch (the emulator and a real node).
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryStore
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.sample import MODEL
from dynafold.testing import check_threads
from tests.models import crm, single_table


class InterferingStore:
    """Delays writes and sometimes rewrites a document first, unchanged but with a new token."""

    injected = 0
    _lock = threading.Lock()

    def __init__(self, inner, rng: random.Random, conflict_rate: float) -> None:
        self.inner = inner
        self.rng = rng
        self.rate = conflict_rate

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def write(self, writes):
        with self._lock:
            interfere = [w for w in writes if self.rng.random() < self.rate]
            delay = self.rng.random() * 0.002
        time.sleep(delay)
        if interfere:
            current = self.inner.reload([w.key for w in interfere])
            rewrites = [type(w)(w.key, doc.token, doc.state, doc.body) for w in interfere if (doc := current.get(w.key))]
            outcomes = self.inner.write(rewrites)
            with self._lock:
                InterferingStore.injected += sum(1 for o in outcomes.values() if type(o).__name__ == "Written")
        return self.inner.write(writes)


def _per_example(open_one: Callable[[int], Any], rate: float, seed: int) -> Callable[[], Callable[[], Any]]:
    """For each example a store nobody has written (``open_one(n)``), behind interfering handles."""
    examples = itertools.count()
    rng = random.Random(seed)

    def fresh() -> Callable[[], Any]:
        n = next(examples)
        open_one(n).prepare(list(MODEL.aggregates.values()))
        return lambda: InterferingStore(open_one(n), random.Random(rng.random()), rate)

    return fresh


def _with_prefix(url: str, n: int) -> str:
    """The OpenSearch store URL with an index prefix of the example's own."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["prefix"] = f"{query.get('prefix', '')}ex{n}-"
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_threads_on_one_sqlite_file_converge(tmp_path):
    before = InterferingStore.injected
    check_threads(MODEL, examples=2, stores=_per_example(lambda n: SQLiteStore(f"sqlite:///{tmp_path}/views-{n}.db"),
                                                         0.2, 1))
    assert InterferingStore.injected > before, "the wrapper made conditional writes conflict"


def test_threads_on_one_memory_store_converge():
    memory: dict[int, MemoryStore] = {}
    check_threads(MODEL, examples=2, stores=_per_example(lambda n: memory.setdefault(n, MemoryStore()), 0.2, 2))


@pytest.mark.parametrize("store_url", ["opensearch", "node"], indirect=True)
def test_threads_on_one_opensearch_converge(store_url):
    before = InterferingStore.injected
    check_threads(MODEL, examples=2, stores=_per_example(lambda n: open_store(_with_prefix(store_url, n)), 0.4, 3))
    assert InterferingStore.injected > before


def test_every_example_starts_from_a_store_nobody_has_written():
    """The osmem variant once failed under load: every example wrote into the same indices, so an
    order left by an earlier example, unknown to this example's tables, showed as drift. ``stores``
    is now called once per example and each call opens a fresh store."""
    opened: list[MemoryStore] = []

    def fresh():
        opened.append(MemoryStore())
        store = opened[-1]
        return lambda: store

    check_threads(MODEL, examples=3, operations=6, stores=fresh)
    assert len(opened) == 3 and len({id(s) for s in opened}) == 3


def test_threads_converge_for_moving_items_and_a_single_table_design():
    check_threads(crm.MODEL, examples=2)
    check_threads(single_table.MODEL, examples=2)
