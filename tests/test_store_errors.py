"""Store errors end in a clean outcome: one rule, tested per case.

A transient store error returns ``batchItemFailures`` (never an exception
out of the handler: Lambda would retry the whole batch without the
partial-failure bookkeeping); a record that can never be projected is
quarantined; the handler raises only when it cannot name the failed record.
"""

from __future__ import annotations

import pytest

from domain.sample import MODEL
from projector.batch import Backoff, Projector
from projector.lambda_handler import make_handler
from projector.quarantine import MemoryQuarantine
from domain.state import AggregateState
from projector.stores.base import DocKey, DocumentWrite, StoreUnavailable
from projector.stores.sqlite import SQLiteStore
from tests.support.records import customer

QUICK = Backoff(base=0, cap=0, attempts=2)


def sequences(records) -> list[dict]:
    return [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]


def fill_to_the_limit(store: SQLiteStore) -> None:
    """Make the store's file "full" for its connection (``max_page_count``): writes then raise SQLITE_FULL."""
    db = store._connections.get()
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {pages + 2}")


@pytest.mark.parametrize("size", [100, 5000], ids=["statement-rolled-back", "transaction-rolled-back"])
def test_a_full_sqlite_disk_is_a_store_error_that_names_the_cause(tmp_path, size):
    """SQLite may roll a full transaction back by itself: the explicit ROLLBACK then raised
    'cannot rollback - no transaction is active', hiding 'database or disk is full'."""
    store = SQLiteStore(f"sqlite:///{tmp_path}/views.db")
    projector = Projector(MODEL, store, MemoryQuarantine(), backoff=QUICK)
    fill_to_the_limit(store)
    with pytest.raises(StoreUnavailable, match="database or disk is full"):
        for i in range(100):
            store.write([DocumentWrite(DocKey("customer_v1", f"d{i}"), None, AggregateState(), {"name": "x" * size})])
    batch = [customer(f"c{i}", name="x" * size, seq=i) for i in range(1, 30)]
    handle = make_handler(lambda: projector, emit=lambda *a: None)
    assert handle({"Records": batch}, None) == {"batchItemFailures": sequences(batch)}
