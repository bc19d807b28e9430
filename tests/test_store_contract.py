"""The store contract, run on every store: memory, SQLite, OpenSearch (osmem, a real node, a live cluster).

The cases ship in ``dynafold.testing.store_contract`` (so authors of other stores
run them too); each states one promise of ``dynafold.projector.stores.base`` that
the projector's convergence depends on: conditional writes with one winner
per race, per-item outcomes, tombstones hidden from readers, exact numbers,
atomic target switches, and a projector that converges or reports records
failed (never loses them) when the store throttles, resets connections or
loses answers. Here each store is one subclass. Memory and SQLite get their
faults at the port; OpenSearch gets real ones (``NetworkFaults``: an index
block answers 429, a TCP proxy resets). ``TestNodeStore`` is the real
OpenSearch node of the session (``DYNAFOLD_REAL_NODES=1``, see
``tests.servers``); ``TestLiveStore`` runs when ``OPENSEARCH_URL`` is set
(``https://…`` or ``opensearch+https://…``). Both use a unique index prefix
that is deleted afterwards.
"""

from __future__ import annotations

import random
from typing import Optional

import pytest

from dynafold.projector.stores import open_store
from dynafold.projector.stores.base import DocumentStore
from dynafold.projector.stores.memory import MemoryStore
from dynafold.testing.store_contract import PortFaults, StoreContract
from tests.support.faults import NetworkFaults


class TestMemoryStore(StoreContract):
    shared: Optional[MemoryStore] = None

    def make_store(self) -> DocumentStore:
        if self.shared is None:
            self.shared = MemoryStore()
        return self.shared

    def make_faults(self, store: DocumentStore, rng: random.Random) -> PortFaults:
        return PortFaults(store, rng)


class TestSQLiteStore(StoreContract):
    def make_store(self) -> DocumentStore:
        return open_store(f"sqlite:///{self.tmp_path}/views.db")

    def make_faults(self, store: DocumentStore, rng: random.Random) -> PortFaults:
        return PortFaults(store, rng)


class OpenSearchContract(StoreContract):
    """An OpenSearch store at ``store_url(request)``; faults come from the network."""

    def store_url(self, request) -> str:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _opensearch(self, _store_contract_case, request):
        self.url = self.store_url(request)  # that fixture deletes the prefix's indices after our clients are closed
        self.admin = self.open()
        yield
        self.close_stores()

    def make_store(self, url: Optional[str] = None) -> DocumentStore:
        return open_store(url or self.url)

    def make_faults(self, store: DocumentStore, rng: random.Random) -> NetworkFaults:
        return NetworkFaults(self.url, self.admin, lambda url: self.track(self.make_store(url)), rng, self.closers)


class TestOsmemStore(OpenSearchContract):
    search_differs = ("osmem's text analysis is not OpenSearch's (it indexes without the analyzer's folding): "
                      "TestNodeStore runs the search cases on a real node")

    def store_url(self, request) -> str:
        return request.getfixturevalue("osmem_url").replace("http://", "opensearch+http://") + "?prefix=contract-"


class TestNodeStore(OpenSearchContract):
    def store_url(self, request) -> str:
        return request.getfixturevalue("opensearch_node_url")


class TestLiveStore(OpenSearchContract):
    def store_url(self, request) -> str:
        return request.getfixturevalue("live_opensearch_url")


def test_sqlite_paging_seeks_instead_of_rescanning(tmp_path):
    """Review finding: every chunk re-scanned the index from the start (quadratic)."""
    from dynafold.projector.stores.sqlite.store import SQLiteStore
    from dynafold.sample import CUSTOMER as CUSTOMER_FOR_PAGING

    store = SQLiteStore(f"sqlite:///{tmp_path}/v.db")
    store.prepare([CUSTOMER_FOR_PAGING])
    target = store.targets("customer").read
    from dynafold.domain.state import AggregateState
    from dynafold.projector.stores.base import DocKey as Key
    from dynafold.projector.stores.base import DocumentWrite as Write

    store.write([Write(Key(target, f"c{i:05d}"), None, AggregateState(), None) for i in range(1200)])
    conn = store._connections.get()
    plans = []
    conn.set_trace_callback(lambda sql: plans.append(sql) if "ORDER BY id" in sql else None)
    list(store.stored(target))
    plan = conn.execute(f'EXPLAIN QUERY PLAN SELECT id FROM "doc_{target}" WHERE id > ? ORDER BY id LIMIT 500', ("a",)).fetchall()
    assert any("SEARCH" in str(row) for row in plan), plan
    assert len(plans) == 4 and all(" OR " not in sql for sql in plans)
    assert len(list(store.stored(target))) == 1200
