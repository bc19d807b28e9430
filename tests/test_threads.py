"""Real concurrency: one writer and one projector thread per table, racing on shared documents.

``testkit.check_threads`` runs the writers and the projector threads against moto at once. Here
the projectors also go through a wrapper that delays writes and, at random, lets a foreign writer
touch a document between a projector's load and its write, so conditional writes really conflict,
on one SQLite file, one memory store, and one OpenSearch (the emulator and a real node).
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from domain.sample import MODEL
from projector.stores import open_store
from projector.stores.memory import MemoryStore
from projector.stores.sqlite import SQLiteStore
from testkit import check_threads
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


def test_threads_on_one_sqlite_file_converge(tmp_path):
    url = f"sqlite:///{tmp_path}/views.db"
    SQLiteStore(url).prepare(list(MODEL.aggregates.values()))
    rng = random.Random(1)
    before = InterferingStore.injected
    check_threads(MODEL, examples=2, stores=lambda: InterferingStore(SQLiteStore(url), random.Random(rng.random()), 0.2))
    assert InterferingStore.injected > before, "the wrapper made conditional writes conflict"


def test_threads_on_one_memory_store_converge():
    shared = MemoryStore()
    rng = random.Random(2)
    check_threads(MODEL, examples=2, stores=lambda: InterferingStore(shared, random.Random(rng.random()), 0.2))


@pytest.mark.parametrize("store_url", ["opensearch", "node"], indirect=True)
def test_threads_on_one_opensearch_converge(store_url):
    open_store(store_url).prepare(list(MODEL.aggregates.values()))
    rng = random.Random(3)
    before = InterferingStore.injected
    check_threads(MODEL, examples=2, stores=lambda: InterferingStore(open_store(store_url), random.Random(rng.random()), 0.4))
    assert InterferingStore.injected > before


def test_threads_converge_for_moving_items_and_a_single_table_design():
    check_threads(crm.MODEL, examples=2)
    check_threads(single_table.MODEL, examples=2)
