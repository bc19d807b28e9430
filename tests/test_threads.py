"""Real concurrency: one thread per table projecting into the same store (SQLite, memory, OpenSearch) at once.

A wrapper slows writes down and, at random, lets a foreign writer touch a
document between a projector's load and its write, so conditional writes
really conflict. The documents must still equal the oracle.
"""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal

import pytest

from domain.sample import MODEL
from projector.batch import Backoff, Projector
from projector.quarantine import MemoryQuarantine
from projector.stores import open_store
from projector.stores.memory import MemoryStore
from projector.stores.sqlite import SQLiteStore
from tests.support import oracle
from tests.support.simulation import KEYS, SimulatedLookup, SimulatedTables


class InterferingStore:
    """Delays writes and sometimes rewrites a document first, unchanged but with a new token."""

    def __init__(self, inner, rng: random.Random, conflict_rate: float) -> None:
        self.inner = inner
        self.rng = rng
        self.rate = conflict_rate
        self.injected = 0
        self._lock = threading.Lock()

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
                self.injected += sum(1 for o in outcomes.values() if type(o).__name__ == "Written")
        return self.inner.write(writes)


def workload(seed: int) -> SimulatedTables:
    rng = random.Random(seed)
    tables = SimulatedTables()
    for step in range(400):
        tables.tick(rng.choice([0, 1, 1000]))
        cid = f"c{rng.randrange(4)}"
        choice = rng.randrange(10)
        if choice < 2:
            tables.put("customers", {"customer_id": cid, "name": "N", "email": "e", "country": "NL", "marketing_opt_in": True})
        elif choice < 4:
            tables.put("orders", {"customer_id": cid, "order_id": f"o{rng.randrange(5)}", "status": rng.choice(["paid", "placed"]),
                                  "total": Decimal(rng.randrange(1, 9999)) / 100, "currency": "EUR", "placed_at": "2026-11-01"})
        elif choice < 5:
            tables.put("subscriptions", {"customer_id": cid, "plan_id": "pro", "status": rng.choice(["active", "cancelled"])})
        elif choice < 6:
            tables.delete(rng.choice(["customers", "orders"]), (cid,) if rng.random() < 0.5 else (cid, f"o{rng.randrange(5)}"))
        elif choice < 8:
            tables.put("songs", {"song_id": f"s{rng.randrange(2)}", "title": f"T{step}", "artist": "A"})
        else:
            tables.put("lessons", {"lesson_id": f"l{rng.randrange(4)}", "song_id": f"s{rng.randrange(2)}", "title": "L"})
    return tables


def project_concurrently(tables: SimulatedTables, make_store, seed: int) -> None:
    errors = []

    def worker(table: str, index: int) -> None:
        try:
            rng = random.Random(seed * 100 + index)
            projector = Projector(MODEL, make_store(rng), MemoryQuarantine(), lookup_factory=lambda: SimulatedLookup(tables),
                                  backoff=Backoff(base=0.001, cap=0.01, attempts=50), rng=rng)
            records = tables.streams[table]
            position = 0
            while position < len(records):
                batch = records[position : position + rng.randint(1, 8)]
                report = projector.project(batch)
                position += len(batch) if report.failed_from is None else report.failed_from
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(t, i)) for i, t in enumerate(KEYS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


@pytest.mark.parametrize("seed", [1, 2])
def test_threads_on_one_sqlite_file_converge(tmp_path, seed):
    tables = workload(seed)
    url = f"sqlite:///{tmp_path}/views.db"
    SQLiteStore(url).prepare(list(MODEL.aggregates.values()))
    stores = []

    def make_store(rng):
        store = InterferingStore(SQLiteStore(url), rng, conflict_rate=0.2)
        stores.append(store)
        return store

    project_concurrently(tables, make_store, seed)
    assert sum(s.injected for s in stores) > 0
    check(SQLiteStore(url), tables)


@pytest.mark.parametrize("seed", [1, 2])
def test_threads_on_one_memory_store_converge(seed):
    tables = workload(seed)
    shared = MemoryStore()
    stores = []

    def make_store(rng):
        store = InterferingStore(shared, rng, conflict_rate=0.2)
        stores.append(store)
        return store

    project_concurrently(tables, make_store, seed)
    assert sum(s.injected for s in stores) > 0
    check(shared, tables)


@pytest.mark.parametrize("store_url", ["opensearch", "node"], indirect=True)
def test_threads_on_one_opensearch_converge(store_url):
    tables = workload(1)
    open_store(store_url).prepare(list(MODEL.aggregates.values()))
    stores = []

    def make_store(rng):
        store = InterferingStore(open_store(store_url), rng, conflict_rate=0.2)
        stores.append(store)
        return store

    project_concurrently(tables, make_store, 1)
    assert sum(s.injected for s in stores) > 0
    check(open_store(store_url), tables)


def check(store, tables: SimulatedTables) -> None:
    expected = oracle.expected(tables.final())
    for aggregate in ("customer", "lesson"):
        got = {d.key.id: d.body for d in store.stored(store.targets(aggregate).read) if d.body is not None}
        assert oracle.normalized(got) == oracle.normalized(expected[aggregate])
