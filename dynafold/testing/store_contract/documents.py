"""Documents written straight through the port, by one client or by several racing ones.

The cases use the sample model's ``customer`` aggregate (``dynafold.sample``):
its read and write target after ``prepare`` is ``customer_v1``; ``customer_v2``
is the target a case creates to switch to.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from dynafold.domain.aggregate import ROOT
from dynafold.domain.events import Slot
from dynafold.domain.source import SourceItem, SourceVersion
from dynafold.domain.state import AggregateState, Entry
from dynafold.projector.stores.base import DocKey, DocumentStore, DocumentWrite
from dynafold.sample import CUSTOMER
from dynafold.testing.store_contract.records import T0

V1, V2 = "customer_v1", "customer_v2"


def customer_doc(cid: str, name: str, version: int = 1, **data: Any) -> tuple[AggregateState, dict]:
    """The state and body of a customer document with one root entry."""
    item = SourceItem.of("customers", {"customer_id": cid})
    slot = Slot(ROOT, item)
    entry = Entry(slot, SourceVersion.streamed(T0 * 1_000_000, version, version), {"customer_id": cid, "name": name, **data})
    state = AggregateState({slot.key: entry})
    return state, CUSTOMER.document(cid, state)


def put(store: DocumentStore, key: DocKey, name: str, expected: Any = None, version: int = 1):
    """Write one customer document (``expected``: the token it must still have, None: it must not exist)."""
    state, body = customer_doc(key.id, name, version)
    return store.write([DocumentWrite(key, expected, state, body)])[key]


def tombstone(store: DocumentStore, key: DocKey, expected: Any, version: int = 2):
    """Write a tombstone (state kept, no body) in place of the document."""
    state, _ = customer_doc(key.id, "gone", version)
    return store.write([DocumentWrite(key, expected, state, None)])[key]


def names(docs) -> dict[str, str]:
    return {d["customer_id"]: d["name"] for d in docs}


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment, each on its own thread."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]
