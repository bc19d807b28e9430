"""Store errors end in a clean outcome: one rule, tested per case.

A transient store error returns ``batchItemFailures`` (never an exception
out of the handler: Lambda would retry the whole batch without the
partial-failure bookkeeping); a record that can never be projected is
quarantined; the handler raises only when it cannot name the failed record.
"""

from __future__ import annotations

import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dynafold.domain.state import AggregateState
from dynafold.handlers.stream import UnnamedFailure, make_handler
from dynafold.projector.engine.batch import Backoff, Projector
from dynafold.projector.stores import open_store
from dynafold.projector.stores.base import DocKey, DocumentWrite, StoreUnavailable, StoreUnusable
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.opensearch.store import OpenSearchStore
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.sample import MODEL
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
    'cannot rollback - no transaction is active', hiding 'database or disk is full'. A full disk is the
    user's to fix (``StoreUnusable``, exit 2); the stream function still fails the batch for redelivery."""
    store = SQLiteStore(f"sqlite:///{tmp_path}/views.db")
    projector = Projector(MODEL, store, MemoryQuarantine(), backoff=QUICK)
    fill_to_the_limit(store)
    with pytest.raises(StoreUnusable, match="database or disk is full"):
        for i in range(100):
            store.write([DocumentWrite(DocKey("customer_v1", f"d{i}"), None, AggregateState(), {"name": "x" * size})])
    batch = [customer(f"c{i}", name="x" * size, seq=i) for i in range(1, 30)]
    handle = make_handler(lambda: projector, emit=lambda *a: None)
    assert handle({"Records": batch}, None) == {"batchItemFailures": sequences(batch)}


class _Answering(BaseHTTPRequestHandler):
    """Answers every request 200 with the server's ``body`` (a proxy that is not OpenSearch)."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    do_GET = do_PUT = do_HEAD = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answering)
    server.daemon_threads = True
    server.body = b""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


NOT_OPENSEARCH = {
    "html": b"<html><body>502 Bad Gateway</body></html>",
    "truncated": b'{"docs": [{"found": tr',
    "a list": b"[]",
    "a string": b'"ok"',
    "docs not a list": b'{"docs": "none", "items": 7}',
    "entries not objects": b'{"docs": [1], "items": [1]}',
}


@pytest.mark.parametrize("body", NOT_OPENSEARCH.values(), ids=NOT_OPENSEARCH.keys())
def test_a_200_answer_that_is_not_opensearch_json_is_a_store_error(proxy, body, monkeypatch):
    """A proxy answering 200 with invalid JSON raised a raw JSONDecodeError (or a TypeError on odd JSON) out of the handler."""
    proxy.body = body
    store = OpenSearchStore.from_url(f"opensearch+http://127.0.0.1:{proxy.server_address[1]}")
    for call in (lambda: store.prepare(list(MODEL.aggregates.values())), lambda: store.load({"customer": ["c1"]}),
                 lambda: store.write([DocumentWrite(DocKey("customer_v1", "c1"), None, AggregateState(), None)]),
                 lambda: store.reload([DocKey("customer_v1", "c1")])):
        with pytest.raises(StoreUnavailable):
            call()
    monkeypatch.setattr(store, "prepare", lambda aggregates: None)
    projector = Projector(MODEL, store, MemoryQuarantine(), backoff=QUICK)
    batch = [customer("c1", seq=1), customer("c2", seq=2)]
    handle = make_handler(lambda: projector, emit=lambda *a: None)
    assert handle({"Records": batch}, None) == {"batchItemFailures": sequences(batch)}


def test_a_lock_held_past_the_busy_timeout_at_cold_start_fails_the_batch_and_the_next_invocation_builds_again(tmp_path):
    """WAL mode and the schema ran outside the lock-error mapping: 'database is locked' escaped the handler."""
    path = tmp_path / "views.db"
    url = f"sqlite:///{path}"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StoreUnavailable, match="locked"):
        SQLiteStore(url, busy_timeout_s=0.05)
    built = []

    def build() -> Projector:
        built.append(1)
        return Projector(MODEL, SQLiteStore(url, busy_timeout_s=0.05), MemoryQuarantine())

    handle = make_handler(build, emit=lambda *a: None)
    batch = [customer("c1", seq=1), customer("c2", seq=2)]
    assert handle({"Records": batch}, None) == {"batchItemFailures": sequences(batch)}
    holder.execute("ROLLBACK")
    holder.close()
    assert handle({"Records": batch}, None) == {"batchItemFailures": []}
    assert len(built) == 2 and SQLiteStore(url).get("customer", "c2") is not None


def test_the_handler_raises_only_when_it_cannot_name_the_failed_record():
    """A failure the report can name returns batchItemFailures; without a sequence number Lambda must retry the batch."""

    def broken() -> Projector:
        raise StoreUnavailable("the store is down")

    handle = make_handler(broken, emit=lambda *a: None)
    batch = [customer("c1", seq=1), customer("c2", seq=2)]
    assert handle({"Records": batch}, None) == {"batchItemFailures": sequences(batch)}
    assert handle({"Records": []}, None) == {"batchItemFailures": []}
    nameless = customer("c0", seq=0)
    del nameless["dynamodb"]["SequenceNumber"]
    with pytest.raises(UnnamedFailure):
        handle({"Records": [nameless, *batch]}, None)


@pytest.mark.parametrize("store_url", ["opensearch"], indirect=True)
@pytest.mark.parametrize("lost", ["everything", "the control index"])
def test_a_warm_projector_rediscovers_targets_after_the_indices_disappear(store_url, lost):
    """A warm container kept its cached targets and failed every batch ('targets changed') until a cold start."""
    store = open_store(store_url)
    handle = make_handler(lambda: Projector(MODEL, store, MemoryQuarantine(), backoff=QUICK), emit=lambda *a: None)
    first = [customer("c1", seq=1)]
    assert handle({"Records": first}, None) == {"batchItemFailures": []}
    indices = [store.prefix + "dynafold_control"] + ([store.prefix + "customer_v1", store.prefix + "lesson_v1"]
                                                     if lost == "everything" else [])
    for index in indices:
        store.client.indices.delete(index=index)
    later = [customer("c2", seq=2), customer("c1", seq=3, name="Grace")]
    assert handle({"Records": later}, None) == {"batchItemFailures": []}
    assert store.get("customer", "c2")["name"] == "Ada" and store.get("customer", "c1")["name"] == "Grace"
    assert store.targets("customer").write == ("customer_v1",)
