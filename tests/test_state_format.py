"""The stored fold state has a format number: today's round-trips, yesterday's loads, tomorrow's is refused.

A document written by an older dynafold must keep loading and take the next
write; one written by a newer dynafold must never be overwritten by this one
(its records fail for redelivery until every writer is upgraded).
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynafold.domain.events import Slot
from dynafold.domain.source import SourceItem, SourceVersion
from dynafold.domain.state import AggregateState, Entry
from dynafold.handlers.stream import make_handler
from dynafold.projector.runtime import build_projector
from dynafold.projector.stores import codec, open_store
from dynafold.projector.stores.base import DocKey, DocumentWrite, Written
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.state_format import FORMAT, UnknownStateFormat, dump_state, load_state
from dynafold.sample import CUSTOMER, MODEL
from dynafold.testing.store_contract.documents import customer_doc
from dynafold.testing.store_contract.records import customer_record

slices = st.one_of(st.none(), st.dictionaries(st.sampled_from(["name", "total", "tags"]), st.one_of(
    st.text(max_size=5), st.decimals(allow_nan=False, allow_infinity=False, places=2), st.lists(st.text(max_size=3)))))
entries = st.builds(
    lambda table, key, role, t, seq, declared, data, settled: Entry(
        Slot(role, SourceItem.of(table, {"id": key})), SourceVersion(t, seq, 0, declared), data, settled),
    st.sampled_from(["orders", "customers"]), st.text(min_size=1, max_size=4), st.sampled_from(["root", "orders"]),
    st.integers(0, 2**53), st.integers(0, 2**64), st.integers(0, 5), slices, st.booleans())
states = st.lists(entries, max_size=6).map(lambda es: AggregateState({e.slot.key: e for e in es}))


@given(states)
def test_every_state_round_trips_through_the_stored_text(state):
    stored = codec.loads(codec.dumps(dump_state(state)))
    assert stored["format"] == FORMAT
    assert load_state(stored) == state


@given(states)
def test_a_state_written_before_the_format_had_a_number_still_loads(state):
    assert load_state(codec.loads(codec.dumps(state.to_json()))) == state


def test_a_newer_format_is_refused_naming_both_versions():
    with pytest.raises(UnknownStateFormat, match=r"format 3.*reads up to 2"):
        load_state({"format": 3, "slots": {}})


def _sqlite_row(url: str, doc_id: str, state_json: dict, body: dict) -> None:
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        (revision,) = db.execute("SELECT last FROM dynafold_revision").fetchone()
        db.execute('INSERT INTO "doc_customer_v1" (id, revision, state, body) VALUES (?, ?, ?, ?)',
                   (doc_id, revision + 1, codec.dumps(state_json), codec.dumps(body)))
        db.execute("UPDATE dynafold_revision SET last = ?", (revision + 1,))


def test_sqlite_writes_format_2_and_loads_and_overwrites_a_format_1_row(tmp_path):
    url = f"sqlite:///{tmp_path}/views.db"
    store = open_store(url)
    store.prepare([CUSTOMER])
    state, body = customer_doc("c1", "Ada", total=Decimal("42.50"))
    assert isinstance(store.write([DocumentWrite(DocKey("customer_v1", "c1"), None, state, body)])[DocKey("customer_v1", "c1")], Written)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        (raw,) = db.execute('SELECT state FROM "doc_customer_v1" WHERE id = ?', ("c1",)).fetchone()
    assert codec.loads(raw)["format"] == 2
    old, old_body = customer_doc("c2", "Grace")
    _sqlite_row(url, "c2", old.to_json(), old_body)
    loaded = store.reload([DocKey("customer_v1", "c2")])[DocKey("customer_v1", "c2")]
    assert loaded.state == old
    projector = build_projector(MODEL, store, MemoryQuarantine())
    assert projector.project([customer_record(1000, "c2", "Grace Hopper")]).documents_written == 1
    assert store.get("customer", "c2")["name"] == "Grace Hopper"


def test_a_document_of_a_newer_format_is_never_overwritten_and_its_records_wait(tmp_path):
    url = f"sqlite:///{tmp_path}/views.db"
    store = open_store(url)
    store.prepare([CUSTOMER])
    _, body = customer_doc("c3", "Joan")
    _sqlite_row(url, "c3", {"format": 3, "slots": {}}, body)
    projector = build_projector(MODEL, store, MemoryQuarantine())
    record = customer_record(1000, "c3", "Joan of Arc")
    with pytest.raises(UnknownStateFormat):
        projector.project([record])
    handle = make_handler(lambda: projector, emit=lambda *a: None)
    assert handle({"Records": [record]}, None) == {
        "batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    assert store.get("customer", "c3")["name"] == "Joan"
