"""The bad-input corpus: every record quarantined (its identity and declared attributes), named, never crashing the batch."""

from __future__ import annotations

import json

import pytest

from dynafold.handlers.stream import make_handler
from dynafold.projector.control.quarantine_entry import QuarantineEntry
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
from dynafold.sample import MODEL
from tests.corpus.bad_records import CORPUS, SECRET
from tests.support.records import customer, order


def assert_keeps_identity_and_declared_attributes_only(raw, entry: QuarantineEntry) -> None:
    """The entry names the record as it came and holds no attribute the model does not declare."""
    for text in (entry.raw, entry.reason, entry.summary, entry.position, entry.event_id):
        assert SECRET not in text
    kept = json.loads(entry.raw)
    if not isinstance(raw, dict):
        return
    if isinstance(raw.get("eventID"), str):
        assert kept["eventID"] == raw["eventID"]
    stream = raw.get("dynamodb")
    if isinstance(stream, dict) and isinstance(stream.get("SequenceNumber"), str):
        assert kept["dynamodb"]["SequenceNumber"] == stream["SequenceNumber"]
    declared = MODEL.declared_attributes(entry.table) if entry.table in MODEL.tables else frozenset()
    for part in ("Keys", "NewImage", "OldImage"):
        assert set(kept.get("dynamodb", {}).get(part, {})) <= declared


def test_the_corpus_has_at_least_thirty_hostile_records():
    assert len(CORPUS) >= 30
    assert len({name for name, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("name, raw, reason", CORPUS, ids=[name for name, _, _ in CORPUS])
def test_each_bad_record_is_quarantined_with_a_clear_reason(name, raw, reason):
    quarantine = MemoryQuarantine()
    store = MemoryStore()
    handle = make_handler(lambda: Projector(MODEL, store, quarantine), emit=lambda *a: None)
    good_before, good_after = customer("c-good", seq=1), order("c-good", "o-good", seq=99_999)
    result = handle({"Records": [good_before, raw, good_after]}, None)
    assert result == {"batchItemFailures": []}, "a poison record must not fail the batch"
    entries = quarantine.list()
    assert len(entries) == 1, [e.reason for e in entries]
    entry = entries[0]
    assert reason in entry.reason
    if isinstance(raw, dict) and isinstance(raw.get("dynamodb"), dict) and raw["dynamodb"].get("SequenceNumber", "").isdigit():
        assert f"seq {raw['dynamodb']['SequenceNumber']}" in entry.reason, "the error names the record"
    assert_keeps_identity_and_declared_attributes_only(raw, entry)
    doc = store.get("customer", "c-good")
    assert doc is not None and [o["order_id"] for o in doc["orders"]] == ["o-good"], "the rest of the batch is projected"


def test_the_whole_corpus_in_one_batch_is_quarantined_and_nothing_else_is_lost():
    quarantine = MemoryQuarantine()
    store = MemoryStore()
    handle = make_handler(lambda: Projector(MODEL, store, quarantine), emit=lambda *a: None)
    batch = [customer("c-good", seq=1)] + [raw for _, raw, _ in CORPUS] + [order("c-good", "o-good", seq=99_999)]
    assert handle({"Records": batch}, None) == {"batchItemFailures": []}
    assert len(quarantine.list()) == len(CORPUS)
    assert store.get("customer", "c-good")["orders"][0]["order_id"] == "o-good"
    handle({"Records": batch}, None)
    assert len(quarantine.list()) == len(CORPUS), "redelivered poison records are stored once"


def test_a_translator_that_crashes_quarantines_its_record_and_keeps_item_contents_out_of_logs(caplog):
    from dynafold.domain.model import Model
    from dynafold.domain.translation import Translator

    def explode(record, lookup):
        raise KeyError(record.image["password_hash"])

    model = Model(MODEL.aggregates.values(), translators=[Translator("customers", explode)])
    quarantine = MemoryQuarantine()
    with caplog.at_level("WARNING", logger="dynafold"):
        report = Projector(model, MemoryStore(), quarantine).project([customer("c1", seq=5)])
    assert report.failed_from is None and len(report.quarantined) == 1
    entry = quarantine.list()[0]
    assert "translator raised KeyError" in entry.reason and "<withheld>" in entry.reason
    assert_keeps_identity_and_declared_attributes_only(customer("c1", seq=5), entry)
    assert any("translator raised KeyError" in str(r.__dict__.get("reason")) for r in caplog.records)
    for record in caplog.records:
        assert "do-not-leak" not in record.getMessage() and "do-not-leak" not in str(record.__dict__.get("reason"))


def test_a_record_that_breaks_the_decoder_in_an_unforeseen_way_is_quarantined_not_fatal():
    class Exploding(dict):
        def get(self, *args, **kwargs):
            raise RuntimeError("boom")

    quarantine = MemoryQuarantine()
    store = MemoryStore()
    report = Projector(MODEL, store, quarantine).project([customer("c1", seq=1), Exploding(eventName="INSERT")])
    assert report.failed_from is None and store.get("customer", "c1") is not None
    assert "undecodable record (RuntimeError)" in quarantine.list()[0].reason


def test_a_version_attribute_that_is_not_an_integer_only_loses_its_tie_breaking():
    """Versions no longer order stream records (writers may lower them), so a bad one is not poison."""
    from tests.corpus.bad_records import _set, broken

    quarantine = MemoryQuarantine()
    store = MemoryStore()
    for index, version in enumerate(({"N": "1.5"}, {"S": "1"})):
        raw = broken(lambda: customer(f"c{index}", seq=10 + index), _set(["dynamodb", "NewImage", "version"], version))
        report = Projector(MODEL, store, quarantine).project([raw])
        assert report.failed_from is None and not report.quarantined
        assert store.get("customer", f"c{index}")["name"] == "Ada"


def test_two_poison_records_with_long_positions_get_two_quarantine_entries():
    """Positions used to be cut to 128 characters: two records alike in those kept one entry and counted two."""
    from tests.corpus.bad_records import _set, broken

    long_sequences = ["9" * 199 + "a", "9" * 199 + "b"]
    raws = [broken(lambda: order("c1", f"o{i}", seq=i), _set(["dynamodb", "SequenceNumber"], s))
            for i, s in enumerate(long_sequences)]
    quarantine = MemoryQuarantine()
    report = Projector(MODEL, MemoryStore(), quarantine).project(raws)
    assert len(report.quarantined) == 2
    entries = quarantine.list()
    assert len(entries) == 2, [e.id for e in entries]
    assert all(len(e.position) <= 128 for e in entries)
    assert len(Projector(MODEL, MemoryStore(), quarantine).project(raws).quarantined) == 2
    assert len(quarantine.list()) == 2, "a redelivered record keeps its id"
