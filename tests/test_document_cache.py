"""A warm container skips the load for documents it wrote itself; a stale guess costs one conflict."""

from __future__ import annotations

import pytest

from dynafold.projector.engine.batch import Backoff, Projector
from dynafold.projector.engine.document_cache import DocumentCache
from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.sample import MODEL
from tests.support.counting import CountingStore
from tests.support.records import customer, order


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def projector_with_cache(store, clock=None) -> Projector:
    cache = DocumentCache(clock=clock or Clock())
    return Projector(MODEL, store, MemoryQuarantine(), backoff=Backoff(base=0, cap=0), cache=cache)


@pytest.mark.parametrize("store_url", ["memory", "sqlite", "opensearch", "node"], indirect=True)
def test_a_batch_of_documents_the_container_wrote_is_one_round_trip(store_url):
    store = CountingStore(open_store(store_url))
    projector = projector_with_cache(store)
    projector.project([customer(f"c{n}", seq=n) for n in range(50)] + [order(f"c{n}", "o1", seq=60 + n) for n in range(50)])
    store.calls.clear()
    report = projector.project([order(f"c{n}", "o2", seq=100 + n) for n in range(50)])
    assert report.documents_written == 50 and report.failed_from is None
    assert dict(store.calls) == {"write": 1}
    assert [o["order_id"] for o in store.get("customer", "c7")["orders"]] == ["o2", "o1"]


def test_a_document_someone_else_moved_on_costs_one_conflict_and_converges():
    shared = open_store("memory://")
    ours, theirs = projector_with_cache(CountingStore(shared)), projector_with_cache(shared)
    ours.project([customer("c1", seq=1)])
    theirs.project([order("c1", "o-theirs", seq=2)])
    report = ours.project([order("c1", "o-ours", seq=3)])
    assert report.conflicts == 1 and report.failed_from is None
    assert sorted(o["order_id"] for o in shared.get("customer", "c1")["orders"]) == ["o-ours", "o-theirs"]


def test_only_the_documents_missing_from_the_cache_are_reloaded():
    store = CountingStore(open_store("memory://"))
    projector = projector_with_cache(store)
    projector.project([order("c1", "o1", seq=1)])
    store.calls.clear()
    projector.project([order("c1", "o2", seq=2), order("c2", "o1", seq=3)])
    assert dict(store.calls) == {"reload": 1, "write": 1}
    assert store.reloaded == [["c2"]]


def test_the_write_targets_are_trusted_for_a_second_only():
    """A rebuild registers its new target and waits longer than that before T_start."""
    clock = Clock()
    store = CountingStore(open_store("memory://"))
    projector = projector_with_cache(store, clock)
    projector.project([order("c1", "o1", seq=1)])
    clock.now = 1.5
    store.reset()
    projector.project([order("c1", "o2", seq=2)])
    assert store.calls["load"] == 1, "targets older than the TTL are read again"
    assert store.loaded == [{"customer": []}], "and only they: c1 is the container's own, so it is not read again"


@pytest.mark.parametrize("store_url", ["memory", "opensearch", "node"], indirect=True)
def test_targets_read_again_bring_a_new_write_target_and_only_its_documents(store_url):
    """A rebuild registered a second write target while the container's targets aged: the next batch
    learns it, reads the documents there (none yet), and writes both targets; the cached ones stay cached."""
    from dynafold.projector.stores.base import Targets

    clock = Clock()
    store = CountingStore(open_store(store_url))
    projector = projector_with_cache(store, clock)
    projector.project([customer("c1", seq=1), customer("c2", seq=2)])
    old = store.targets("customer")
    store.create_target(MODEL.aggregate("customer"), "customer_v2")
    store.set_targets("customer", Targets(old.read, (*old.write, "customer_v2")))
    clock.now = 1.5
    store.reset()
    report = projector.project([order("c1", "o1", seq=3), order("c3", "o1", seq=4)])
    assert report.failed_from is None and report.documents_written == 4
    assert store.loaded == [{"customer": ["c3"]}] and store.reloaded == [["c1"]]
    written = {(w.key.target, w.key.id) for w in store.written}
    assert written == {(t, d) for t in (*old.write, "customer_v2") for d in ("c1", "c3")}
