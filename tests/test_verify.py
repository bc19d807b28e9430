"""Verify finds exactly the injected drift, repair fixes it without regressing anything, sweep purges old tombstones."""

from __future__ import annotations

import json
import random
import threading
from decimal import Decimal

import pytest

from dynafold.cli import main
from dynafold.domain.source import SourceItem, SourceVersion
from dynafold.domain.state import AggregateState
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.stores import open_store
from dynafold.projector.stores.base import DocKey, DocumentWrite
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.replay.sweep import HorizonTooShort, sweep
from dynafold.replay.verify import DIFFERENT, MISSING, UNEXPECTED, Verifier
from dynafold.sample import MODEL
from dynafold.testing.sample_writer import SampleWriter
from tests.support import oracle, workload
from tests.support.states import slot, state
from tests.test_replay import TABLES, documents, job_for

STORES = ["memory", "sqlite", "opensearch", "node"]


def stored(store, aggregate, doc_id):
    key = DocKey(store.targets(aggregate).read, doc_id)
    return store.reload([key])[key]


def setup_views(dynamodb, url):
    writer = SampleWriter(dynamodb)
    workload.run(writer, random.Random(21), 150, customers=8, lessons=10)
    for cid in ("c-keep", "c-gone"):
        writer.put("customers", {"customer_id": cid, "name": "Kim", "email": "k@x.io", "country": "NL", "marketing_opt_in": False})
    writer.put("orders", {"customer_id": "c-keep", "order_id": "o-x", "status": "paid", "total": Decimal("5.00"), "currency": "EUR"})
    writer.put("songs", {"song_id": "s-drift", "title": "Before", "artist": "A"})
    writer.put("lessons", {"lesson_id": "l-drift", "song_id": "s-drift", "title": "Drift lesson"})
    store = open_store(url)
    job = job_for(store, dynamodb, segments=2)
    for aggregate in ("customer", "lesson"):
        job.run(aggregate)
    return writer, store


@pytest.mark.parametrize("store_url", STORES, indirect=True)
def test_verify_finds_exactly_the_injected_drift_and_repair_fixes_it(dynamodb, store_url):
    writer, store = setup_views(dynamodb, store_url)
    verifier = Verifier(MODEL, store, dynamodb, lookup_factory=lambda: DynamoLookup(dynamodb, MODEL), segments=2)
    assert [verifier.verify(a).drift for a in ("customer", "lesson")] == [[], []]

    victim = next(d for d in store.stored(store.targets("customer").read) if d.body and d.key.id.startswith("c") and d.key.id not in ("c-keep", "c-gone"))
    assert store.delete(victim.key, victim.token)                                   # deleted document
    keep = stored(store, "customer", "c-keep")
    store.write([DocumentWrite(keep.key, keep.token, keep.state, {**keep.body, "country": "XX"})])  # stale field
    fake = DocKey(store.targets("customer").read, "c-fabricated")
    body = {**keep.body, "customer_id": "c-fabricated"}
    store.write([DocumentWrite(fake, None, AggregateState(), body)])                 # extra document
    writer.delete("customers", {"customer_id": "c-gone"})                            # root deleted, record lost
    writer.update("songs", {"song_id": "s-drift"}, {"title": "After"})               # fan-out update lost

    customer = verifier.verify("customer")
    lesson = verifier.verify("lesson")
    found = {(d.id, d.kind) for d in customer.drift + lesson.drift}
    assert found == {(victim.key.id, MISSING), ("c-keep", DIFFERENT), ("c-fabricated", UNEXPECTED),
                     ("c-gone", UNEXPECTED), ("l-drift", DIFFERENT)}
    keep_drift = next(d for d in customer.drift if d.id == "c-keep")
    assert [(f.path, f.expected, f.actual) for f in keep_drift.fields] == [("country", "NL", "XX")]
    lesson_drift = lesson.drift[0]
    assert {(f.path, f.expected, f.actual) for f in lesson_drift.fields} == {("song_title", "After", "Before")}

    for drift in customer.drift + lesson.drift:
        assert verifier.repair(drift)
    assert [verifier.verify(a).drift for a in ("customer", "lesson")] == [[], []]
    expected = oracle.expected({t: writer.scan(t) for t in TABLES})
    for aggregate in ("customer", "lesson"):
        assert oracle.normalized(documents(store, aggregate)) == oracle.normalized(expected[aggregate])


def test_verify_cli_exit_codes_and_json(dynamodb, tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/v.db"
    writer, store = setup_views(dynamodb, url)
    assert main(["verify", "--store", url]) == 0
    writer.update("songs", {"song_id": "s-drift"}, {"title": "After"})
    capsys.readouterr()
    assert main(["verify", "--store", url, "--aggregate", "lesson", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["drift"] == 1 and report["aggregates"][0]["drift"][0]["id"] == "l-drift"
    assert main(["verify", "--store", url, "--aggregate", "lesson", "--repair"]) == 1
    assert main(["verify", "--store", url, "--aggregate", "lesson"]) == 0
    assert main(["verify", "--store", "sqlite:///" + str(tmp_path / "missing" / "x.db"), "--aggregate", "nope"]) == 2


def test_verify_says_how_many_table_items_the_model_cannot_project(dynamodb, tmp_path, capsys):
    """Review finding: a customer whose name is a number was in the table and in no document, and
    verify said only '0 drifted': true (a replay would not project it either), but silent."""
    url = f"sqlite:///{tmp_path}/v.db"
    setup_views(dynamodb, url)
    dynamodb.put_item(TableName="customers", Item={"customer_id": {"S": "poison"}, "name": {"N": "1"}})
    capsys.readouterr()
    assert main(["verify", "--store", url, "--aggregate", "customer"]) == 0
    assert "1 table item(s) the model cannot project" in capsys.readouterr().out
    assert main(["verify", "--store", url, "--aggregate", "customer", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["aggregates"][0]["unprojectable"] == 1


def test_a_repair_racing_live_projection_never_regresses_a_document(dynamodb, streams):
    from dynafold.handlers.stream import make_handler
    from dynafold.projector.engine.batch import Projector
    from dynafold.projector.stores.memory import MemoryStore
    from dynafold.testing.guarded import GuardedStore
    from tests.support.lambda_events import StreamPump

    writer, _ = setup_views(dynamodb, "memory://")
    guarded = GuardedStore(MemoryStore(), random.Random(0), MODEL)
    projector = Projector(MODEL, guarded, MemoryQuarantine(), lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    handle = make_handler(lambda: projector, emit=lambda *a: None)
    pump = StreamPump(dynamodb, streams, TABLES, handle, batch=7)
    pump()
    verifier = Verifier(MODEL, guarded, dynamodb, lookup_factory=lambda: DynamoLookup(dynamodb, MODEL), segments=2)
    keep = stored(guarded, "customer", "c-keep")
    guarded.write([DocumentWrite(keep.key, keep.token, keep.state, {**keep.body, "name": "Edited"})])
    drifts = verifier.verify("customer").drift
    assert [d.id for d in drifts] == ["c-keep"]
    stop, errors = threading.Event(), []

    def live():
        rng = random.Random(9)
        try:
            while not stop.is_set():
                writer.update("customers", {"customer_id": "c-keep"}, {"name": f"Kim {rng.randrange(1000)}"})
                writer.put("orders", {"customer_id": "c-keep", "order_id": f"o{rng.randrange(3)}", "status": "paid",
                                      "total": Decimal(rng.randrange(100)), "currency": "EUR"})
                pump()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=live)
    thread.start()
    try:
        for _ in range(20):
            verifier.repair(drifts[0])
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    pump()
    expected = oracle.expected({t: writer.scan(t) for t in TABLES})
    assert oracle.normalized(documents(guarded, "customer")) == oracle.normalized(expected["customer"])


@pytest.mark.parametrize("store_url", STORES, indirect=True)
def test_sweep_purges_old_tombstones_but_keeps_live_slices_and_refuses_short_horizons(store_url, capsys):
    store = open_store(store_url)
    store.prepare(list(MODEL.aggregates.values()))
    target = store.targets("customer").read
    old, new = SourceVersion.streamed(1_000_000, 1, 1), SourceVersion.streamed(10**15, 1, 1)
    root = slot("root", SourceItem.of("customers", {"customer_id": "c1"}))
    order = slot("orders", SourceItem.of("orders", {"customer_id": "c1", "order_id": "o1"}))
    gone = slot("orders", SourceItem.of("orders", {"customer_id": "c2", "order_id": "o1"}))
    live_orders = state((root, old, None), (order, old, {"order_id": "o1", "status": "paid"}))
    only_tombstones = state((gone, old, None))
    fresh_tombstone = state((slot("root", SourceItem.of("customers", {"customer_id": "c3"})), new, None))
    store.write([DocumentWrite(DocKey(target, "c1"), None, live_orders, None),
                 DocumentWrite(DocKey(target, "c2"), None, only_tombstones, None),
                 DocumentWrite(DocKey(target, "c3"), None, fresh_tombstone, None)])
    with pytest.raises(HorizonTooShort):
        sweep(MODEL, store, older_than_s=3600)
    report = sweep(MODEL, store, older_than_s=48 * 3600, now_us=10**15 + 1)
    assert (report.examined, report.rewritten, report.deleted) == (3, 1, 1)
    remaining = {d.key.id: d for d in store.stored(target)}
    assert set(remaining) == {"c1", "c3"}
    assert list(remaining["c1"].state.entries) == [order.key], "the orders of a deleted customer survive"

    assert main(["sweep", "--store", store_url, "--older-than", "2h"]) == 2
    assert "shorter than the 24 h stream retention" in capsys.readouterr().err


def test_sweep_keeps_a_tombstone_document_whose_recent_tombstones_are_still_inside_the_horizon():
    """Review finding: the sweep deleted the whole document, recent tombstone included."""
    from dynafold.projector.stores.memory import MemoryStore

    store = MemoryStore()
    store.prepare(list(MODEL.aggregates.values()))
    target = store.targets("customer").read
    hour = 3600 * 1_000_000
    now = 1_790_000_000 * 1_000_000
    root = slot("root", SourceItem.of("customers", {"customer_id": "c1"}))
    order = slot("orders", SourceItem.of("orders", {"customer_id": "c1", "order_id": "o1"}))
    tombstones = state((order, SourceVersion.streamed(now - 72 * hour, 1), None),
                       (root, SourceVersion.streamed(now - hour, 2, 3), None))
    store.write([DocumentWrite(DocKey(target, "c1"), None, tombstones, None)])
    report = sweep(MODEL, store, older_than_s=48 * 3600, now_us=now)
    assert (report.deleted, report.rewritten) == (0, 1)
    (kept,) = store.stored(target)
    assert list(kept.state.entries) == [root.key], "the 1-hour-old tombstone still guards the deleted customer"
