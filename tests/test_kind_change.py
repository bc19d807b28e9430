"""A kind change is a rebuild, and the engine says so.

A mapping cannot change a field's type (nor an index its analyzers) in place.
When the model's mapping for an aggregate differs from a target's (a field
changed kind, a field was added, an older release made the target), the
stream side keeps writing what the old mapping holds, and leaves the rest
out, instead of quarantining every record; ``dynafold status`` lists the
differences and names the rebuild; ``dynafold replay --rebuild`` makes a
target from the model. Shown on the real node (and, for SQLite's search
index, on SQLite).
"""

from __future__ import annotations

import json
import logging
import time
from decimal import Decimal
from typing import Any

import boto3
import pytest

from dynafold import Aggregate, Model, Table
from dynafold.cli import main
from dynafold.cli.output import TextFormatter
from dynafold.domain.aggregate import Field, FieldKind
from dynafold.kinds import geo_point, integer, keyword, text
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.aws.provision import create_tables
from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryCheckpoints, MemoryQuarantine
from dynafold.projector.stores.opensearch.layout import FIRST_LAYOUT_META
from dynafold.replay.job import ReplayJob
from dynafold.replay.rebuild import rebuild
from dynafold.sample import MODEL as SAMPLE
from dynafold.testing.sample_writer import SampleWriter
from tests.support import workload

items = Table("items", "item_id")
BEFORE = Model([Aggregate("item", root=items, fields=dict(item_id=keyword, name=text, rating=keyword, stock=integer))])
# rating: keyword -> integer (the old keyword field takes numbers); stock: integer -> text (the old long
# field cannot take "few"); location: new (the old strict mapping has no such field)
AFTER = Model([Aggregate("item", root=items, fields=dict(item_id=keyword, name=text, rating=integer, stock=text,
                                                        location=geo_point))])


def job(model: Model, store, client) -> ReplayJob:
    return ReplayJob(model, store, MemoryQuarantine(), client, MemoryCheckpoints(), segments=1,
                     lookup_factory=lambda: DynamoLookup(client, model))


def put(client, item_id: str, **values: Any) -> None:
    item = {"item_id": {"S": item_id}, "name": {"S": f"Item {item_id}"}}
    for name, value in values.items():
        item[name] = {"N": str(value)} if isinstance(value, (int, Decimal)) else {"S": value}
    client.put_item(TableName="items", Item=item)


def status(url: str, model: str, tmp_path, capsys) -> dict:
    capsys.readouterr()
    code = main(["status", "--format", "json", "--store", url, "--model", model,
                 "--quarantine", f"sqlite:///{tmp_path}/q.db", "--checkpoints", f"sqlite:///{tmp_path}/c.db"])
    assert code == 0
    return json.loads(capsys.readouterr().out)["aggregates"]


def test_a_target_from_an_older_model_keeps_taking_what_it_holds_until_the_rebuild(
        aws, opensearch_node_url, tmp_path, capsys, caplog):
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_tables(client, AFTER)
    store = open_store(opensearch_node_url)
    put(client, "i1", rating="4", stock=3)
    assert job(BEFORE, store, client).run("item").quarantined == 0
    old = store.targets("item").read
    time.sleep(1.1)  # replays stamp reads in whole seconds: the second must be newer than the first

    put(client, "i1", rating=5, stock="few", location="52.52,13.405")
    put(client, "i2", rating=2, stock="none", location="1,2")
    caplog.set_level(logging.WARNING)
    summary = job(AFTER, store, client).run("item")
    assert summary.quarantined == 0, "what the old mapping cannot hold is left out, no record is lost"
    assert {store.get("item", i)["rating"] for i in ("i1", "i2")} == {5, 2}
    assert all("stock" not in store.get("item", i) and "location" not in store.get("item", i) for i in ("i1", "i2"))
    warned = [r for r in caplog.records if "older model" in r.getMessage()]
    assert warned and warned[0].fields == "stock, location" and warned[0].target == old
    assert "fields=stock, location" in TextFormatter().format(warned[0]), "the CLI's log line names them"

    found = status(opensearch_node_url, "tests.test_kind_change:AFTER", tmp_path, capsys)["item"]
    lines = found["differences"][old]
    assert any(line.startswith("rating: keyword here; the model maps it as long") for line in lines), lines
    assert any(line.startswith("stock: long here; the model maps it as text") for line in lines), lines
    assert any(line.startswith("location: missing here") for line in lines), lines
    assert "dynafold replay --rebuild --aggregate item" in found["note"]

    report = rebuild(job(AFTER, store, client), "item", settle_s=0)
    assert report.new != old and store.targets("item").read == report.new
    assert store.get("item", "i1") == {"item_id": "i1", "name": "Item i1", "rating": 5, "stock": "few",
                                       "location": {"lat": Decimal("52.52"), "lon": Decimal("13.405")}}
    assert status(opensearch_node_url, "tests.test_kind_change:AFTER", tmp_path, capsys)["item"]["differences"] == {}
    mapping = store.client.indices.get_mapping(index=store.names.index(report.new))
    properties = next(iter(mapping.values()))["mappings"]["properties"]
    assert properties["location"]["type"] == "geo_point" and properties["stock"]["type"] == "text"


def previous_release_body(aggregate, target: str) -> dict:
    """The index the release before this change made (dates as keywords, ``raw`` subfields, no analyzer, visible)."""
    def field(f: Field) -> dict:
        if f.kind is FieldKind.TEXT:
            return {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}}
        if f.kind in (FieldKind.OBJECTS, FieldKind.OBJECT):
            return {"type": "nested" if f.kind is FieldKind.OBJECTS else "object",
                    "properties": {sub.name: field(sub) for sub in f.fields}}
        return {"type": {FieldKind.BOOLEAN: "boolean", FieldKind.INTEGER: "long",
                         FieldKind.DECIMAL: "double"}.get(f.kind, "keyword")}

    properties = {f.name: field(f) for f in aggregate.fields}
    properties["dynafold"] = FIRST_LAYOUT_META
    texts = [f.name for f in aggregate.fields if f.kind is FieldKind.TEXT]
    return {"settings": {"index.query.default_field": texts},
            "mappings": {"dynamic": "strict", "properties": properties}}


def test_an_existing_deployment_moves_to_the_date_mapping_with_one_rebuild(
        dynamodb, opensearch_node_url, monkeypatch, tmp_path, capsys):
    """What the README's upgrade note promises: the old target keeps working (a date is a fine keyword),
    status names what differs, and one ``replay --rebuild`` per aggregate makes the dashboards' mapping."""
    import dynafold.projector.stores.opensearch.store as opensearch_store

    writer = SampleWriter(dynamodb)
    workload.run(writer, __import__("random").Random(5), 120, customers=10, lessons=6)
    store = open_store(opensearch_node_url)
    with monkeypatch.context() as patch:
        patch.setattr(opensearch_store, "index_body", previous_release_body)
        store.prepare(list(SAMPLE.aggregates.values()))
    replay = ReplayJob(SAMPLE, store, MemoryQuarantine(), dynamodb, MemoryCheckpoints(), segments=2,
                       lookup_factory=lambda: DynamoLookup(dynamodb, SAMPLE))
    assert replay.run("customer").quarantined == 0
    alias = store.names.alias("customer")
    histogram = {"size": 0, "aggs": {"t": {"date_histogram": {"field": "last_order_at", "calendar_interval": "1d"}}}}
    with pytest.raises(Exception, match="date_histogram"):
        store.client.search(index=alias, body=histogram)

    before = status(opensearch_node_url, "dynafold.sample:MODEL", tmp_path, capsys)["customer"]
    lines = before["differences"]["customer_v1"]
    assert any(line.startswith("last_order_at: keyword here; the model maps it as date") for line in lines)
    assert any(line.startswith("name: text {\"fields\": {\"raw\"") for line in lines)
    assert any(line.startswith("text analysis:") for line in lines) and any("index.hidden" in line for line in lines)
    assert any(line.startswith("orders_flat: missing here") for line in lines)

    capsys.readouterr()
    assert main(["replay", "--rebuild", "--aggregate", "customer", "--settle", "0", "--no-progress",
                 "--store", opensearch_node_url, "--model", "dynafold.sample:MODEL",
                 "--quarantine", f"sqlite:///{tmp_path}/q.db", "--checkpoints", f"sqlite:///{tmp_path}/c.db"]) == 0
    after = status(opensearch_node_url, "dynafold.sample:MODEL", tmp_path, capsys)["customer"]
    assert after["differences"] == {} and after["read"].startswith("customer_v1_r")
    buckets = store.client.search(index=alias, body=histogram)["aggregations"]["t"]["buckets"]
    assert sum(b["doc_count"] for b in buckets) == store.client.count(
        index=alias, body={"query": {"exists": {"field": "last_order_at"}}})["count"] > 0
    assert store.client.count(index=store.prefix + "customer*")["count"] == store.client.count(index=alias)["count"]


def test_sqlite_moves_to_the_new_search_index_with_the_same_rebuild(dynamodb, tmp_path, monkeypatch, capsys):
    import dynafold.projector.stores.sqlite.store as sqlite_store

    writer = SampleWriter(dynamodb)
    writer.put("songs", {"song_id": "s1", "title": "Müller", "artist": "Trio"})
    writer.put("lessons", {"lesson_id": "l1", "title": "Lesson", "song_id": "s1"})
    url = f"sqlite:///{tmp_path}/views.db"
    store = open_store(url)
    with monkeypatch.context() as patch:
        patch.setattr(sqlite_store, "TOKENIZE", "unicode61")
        store.prepare(list(SAMPLE.aggregates.values()))
    replay = ReplayJob(SAMPLE, store, MemoryQuarantine(), dynamodb, MemoryCheckpoints(), segments=1,
                       lookup_factory=lambda: DynamoLookup(dynamodb, SAMPLE))
    replay.run("lesson")
    assert store.differences(SAMPLE.aggregate("lesson"), "lesson_v1") == [
        "search index: an older tokenizer here; the model's splits and folds words as "
        f"{sqlite_store.TOKENIZE!r}"]
    capsys.readouterr()
    assert main(["status", "--store", url, "--model", "dynafold.sample:MODEL"]) == 0
    shown = capsys.readouterr().out
    assert "lesson_v1 made from an older model: `dynafold replay --rebuild --aggregate lesson`" in shown
    assert "    lesson_v1 differs from the model:\n      search index: an older tokenizer here" in shown
    report = rebuild(replay, "lesson", settle_s=0)
    assert store.differences(SAMPLE.aggregate("lesson"), report.new) == []
    assert [d["lesson_id"] for d in store.search("lesson", "muller tri")] == ["l1"]
