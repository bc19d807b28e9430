"""Documents OpenSearch Dashboards can chart, map and filter: the export, and what users send, on the real node.

Offline: ``dynafold dashboards export`` for several models follows the
saved-objects format Dashboards exports and imports (checked against the
rules of its fixture ``cypress/fixtures/opensearch_dashboards/visBuilder/
vb_saved_objects.ndjson``: one object a line with attributes, id,
migrationVersion, references and type; the ``*JSON`` attributes and
``fields`` are JSON text; every reference resolves to an object earlier in
the file; a summary line last).

On the real node, with the sample and with a model that has locations
(``tests.models.places``) projected by a replay: the index pattern's fields
are what Dashboards reads from ``_field_caps``; every visualization's request
(``tests.support.dashboards``) answers with buckets; and the issue's
acceptance aggregations hold against counts computed from the items.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from dynafold.cli import main
from dynafold.deploy.dashboards import MIGRATION, SOURCE_FILTERS, export, index_pattern_fields
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.aws.provision import create_tables
from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryCheckpoints, MemoryQuarantine
from dynafold.replay.job import ReplayJob
from dynafold.replay.rebuild import start
from dynafold.replay.targets import Held
from dynafold.sample import CUSTOMER
from dynafold.sample import MODEL as SAMPLE
from dynafold.testing.sample_writer import SampleWriter
from tests.models import crm, places, single_table
from tests.servers.fixtures import drop_prefixed, prefixed_url
from tests.support import dashboards, oracle, visual_data

MODELS = {"sample": SAMPLE, "places": places.MODEL, "crm": crm.MODEL, "single_table": single_table.MODEL}
KEYS = {"attributes", "id", "migrationVersion", "references", "type"}


def parsed(text: str) -> tuple[list[dict], dict]:
    lines = text.splitlines()
    return [json.loads(line) for line in lines[:-1]], json.loads(lines[-1])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_export_follows_the_saved_objects_format_and_every_reference_resolves(name):
    model = MODELS[name]
    text = export(model, "prod-")
    assert text.endswith("\n") and export(model, "prod-") == text, "stable: the same ids on every export"
    objects, summary = parsed(text)
    assert summary == {"exportedCount": len(objects), "missingRefCount": 0, "missingReferences": []}
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        assert set(obj) == KEYS and obj["migrationVersion"] == {obj["type"]: MIGRATION[obj["type"]]}
        for reference in obj["references"]:
            assert (reference["type"], reference["id"]) in seen, ("referenced before it is defined", reference)
        seen.add((obj["type"], obj["id"]))
        attributes = obj["attributes"]
        for key in ("visState", "uiStateJSON", "panelsJSON", "optionsJSON", "fields", "fieldFormatMap", "sourceFilters"):
            if key in attributes:
                assert isinstance(attributes[key], str) and json.loads(attributes[key]) is not None
        if "kibanaSavedObjectMeta" in attributes:
            source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
            assert source["query"] == {"query": "", "language": "kuery"} and source["filter"] == []
            if obj["type"] == "visualization":
                assert [r["name"] for r in obj["references"]] == [source["indexRefName"]]
        if obj["type"] == "dashboard":
            panels = json.loads(attributes["panelsJSON"])
            assert [p["panelRefName"] for p in panels] == [r["name"] for r in obj["references"]]
            assert all(r["type"] == "visualization" for r in obj["references"])
    patterns = {o["attributes"]["title"]: o["attributes"] for o in objects if o["type"] == "index-pattern"}
    assert sorted(patterns) == sorted(f"prod-{a}" for a in model.aggregates), "one index pattern per alias"
    for aggregate in model.aggregates.values():
        pattern = patterns[f"prod-{aggregate.name}"]
        fields = {f["name"]: f for f in json.loads(pattern["fields"])}
        assert json.loads(pattern["sourceFilters"]) == SOURCE_FILTERS and not any(n.startswith("dynafold") for n in fields)
        assert set(json.loads(pattern["fieldFormatMap"])) <= set(fields)
        if aggregate.time_field:
            assert fields[pattern["timeFieldName"]]["type"] == "date"
        else:
            assert "timeFieldName" not in pattern
    assert sum(o["type"] == "dashboard" for o in objects) == len(model.aggregates)


def test_the_sample_exports_a_count_over_time_top_values_and_formats_for_money_and_dates():
    objects, _ = parsed(export(SAMPLE))
    titles = [o["attributes"]["title"] for o in objects if o["type"] == "visualization"]
    assert titles == ["[customer] Count over last_order_at", "[customer] Top active_plans", "[customer] Top country",
                      "[customer] Top orders_flat.currency", "[customer] Top orders_flat.status",
                      "[lesson] Top instrument", "[lesson] Top level", "[lesson] Top song_id"]
    customer = next(o for o in objects if o["type"] == "index-pattern" and o["attributes"]["title"] == "customer")
    formats = json.loads(customer["attributes"]["fieldFormatMap"])
    assert formats["lifetime_value"] == {"id": "number", "params": {"pattern": "0,0.00[0000]"}}
    assert formats["orders_flat.placed_at"]["id"] == "date" and customer["attributes"]["timeFieldName"] == "last_order_at"
    maps = [o["attributes"]["title"] for o in parsed(export(places.MODEL))[0] if "Map of" in o["attributes"]["title"]]
    assert maps == ["[city] Map of location", "[shop] Map of city.centre", "[shop] Map of location",
                    "[shop] Map of visits_flat.where"]


def test_the_command_writes_the_file_and_refuses_what_it_cannot_do(tmp_path, capsys):
    out = tmp_path / "views.ndjson"
    assert main(["dashboards", "export", "--model", "tests.models.places:MODEL", "--out", str(out),
                 "--prefix", "prod-"]) == 0
    assert out.read_text() == export(places.MODEL, "prod-")
    assert "wrote" in capsys.readouterr().err
    assert main(["dashboards", "export", "--model", "tests.models.places:NOPE", "--out", str(out)]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["dashboards", "export", "--model", "tests.models.places:MODEL", "--out", str(out), "--prefix", "Bad"])
    assert usage.value.code == 2 and "must be lower case" in capsys.readouterr().err


# on the real node


@pytest.fixture(scope="module")
def projected(opensearch_node):
    """The sample (with a rebuild target registered, so two physical indices hold documents and tombstones)
    and the places model, replayed from moto into the real node; what they were built from."""
    url = prefixed_url(opensearch_node.store_url)
    now = datetime.now(timezone.utc)
    rng = random.Random(26)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        create_tables(client, SAMPLE)
        create_tables(client, places.MODEL)
        writer = SampleWriter(client)
        visual_data.write_sample(writer, now, rng)
        points = visual_data.write_places(client, now, rng)
        store = open_store(url)
        for model in (SAMPLE, places.MODEL):
            job = ReplayJob(model, store, MemoryQuarantine(), client, MemoryCheckpoints(), segments=2,
                            lookup_factory=lambda model=model: DynamoLookup(client, model))
            for name in model.aggregates:
                assert job.run(name).quarantined == 0
            if model is SAMPLE:
                with Held(store, "customer") as held:  # a rebuild under way: its target holds documents too
                    state = start(job, SAMPLE.aggregate("customer"), held)
                job.run("customer", targets=(state.new,))
        tables = {t: writer.scan(t) for t in ("customers", "orders", "subscriptions", "songs", "lessons")}
    store.prepare([*crm.MODEL.aggregates.values(), *single_table.MODEL.aggregates.values()])  # mappings only
    store.client.indices.refresh(index=store.prefix + "*", expand_wildcards="all")
    yield {"store": store, "now": now, "expected": oracle.expected(tables), "points": points}
    store.close()
    drop_prefixed(url)


def search(store, index: str, body: dict) -> dict:
    return store.client.search(index=index, body=body, params={"ignore_unavailable": "true"})


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_index_patterns_fields_are_what_dashboards_reads_from_field_caps(projected, name):
    model = MODELS[name]
    store = projected["store"]
    for aggregate in model.aggregates.values():
        caps = store.client.field_caps(index=store.names.alias(aggregate.name), fields="*")["fields"]
        theirs = [f for f in dashboards.fields_from_field_caps(caps) if not f["name"].startswith("dynafold")]
        assert index_pattern_fields(aggregate) == theirs, aggregate.name


@pytest.mark.parametrize("model", [SAMPLE, places.MODEL], ids=["sample", "places"])
def test_every_visualization_of_the_export_answers_the_request_dashboards_sends(projected, model):
    store, now = projected["store"], projected["now"]
    objects, _ = parsed(export(model, store.prefix))
    patterns = {o["id"]: o["attributes"] for o in objects if o["type"] == "index-pattern"}
    answered = 0
    for vis in (o for o in objects if o["type"] == "visualization"):
        pattern = patterns[vis["references"][0]["id"]]
        for time_range in (timedelta(days=30), timedelta(days=365)):
            body = dashboards.request(vis, pattern, now, time_range)
            response = search(store, pattern["title"], body)
            assert response["_shards"]["failed"] == 0, (vis["attributes"]["title"], response["_shards"])
            (name, result), = response["aggregations"].items()
            buckets = result["2"]["buckets"] if name == "filter_agg" else result["buckets"]
            assert buckets, (vis["attributes"]["title"], time_range)
            if name == "filter_agg":
                assert all("location" in b["3"] and b["doc_count"] <= result["doc_count"] for b in buckets)
            if "date_histogram" in json.dumps(body["aggs"]):
                total = store.client.count(index=pattern["title"], body={"query": body["query"]})["count"]
                assert sum(b["doc_count"] for b in buckets) == total
            answered += 1
    assert answered == 2 * sum(o["type"] == "visualization" for o in objects)


def test_acceptance_on_the_sample(projected):
    store, now, expected = projected["store"], projected["now"], projected["expected"]["customer"]
    alias = store.names.alias("customer")
    docs = list(expected.values())

    def aggregate(aggs: dict, query: dict | None = None) -> dict:
        body = {"size": 0, "aggs": aggs, **({"query": query} if query else {})}
        return store.client.search(index=alias, body=body)["aggregations"]

    # date_histogram on a root and on a child date field (no nested wrapper: per parent document)
    months = aggregate({"t": {"date_histogram": {"field": "last_order_at", "calendar_interval": "month"}}})["t"]
    assert sum(b["doc_count"] for b in months["buckets"]) == sum(d["last_order_at"] is not None for d in docs) > 0
    placed = aggregate({"t": {"date_histogram": {"field": "orders.placed_at", "calendar_interval": "month"}}})["t"]
    by_month = {b["key_as_string"][:7]: b["doc_count"] for b in placed["buckets"] if b["doc_count"]}
    want: dict[str, int] = {}
    for d in docs:
        for month in {o["placed_at"][:7] for o in d["orders"] if o["placed_at"]}:
            want[month] = want.get(month, 0) + 1
    assert by_month == want

    # range now-30d: the count computed from the items
    cutoff = visual_data.iso(now - timedelta(days=30))
    recent = store.client.count(index=alias, body={"query": {"range": {"last_order_at": {"gte": "now-30d"}}}})["count"]
    assert recent == sum(d["last_order_at"] is not None and d["last_order_at"] >= cutoff for d in docs) > 0

    # terms on <text field>.keyword, and on a child field without a nested wrapper
    names = aggregate({"t": {"terms": {"field": "name.keyword", "size": 20}}})["t"]["buckets"]
    assert {b["key"]: b["doc_count"] for b in names} == {n: sum(d["name"] == n for d in docs)
                                                         for n in {d["name"] for d in docs}}
    for field in ("orders.status", "orders_flat.status"):
        statuses = aggregate({"t": {"terms": {"field": field, "size": 20}}})["t"]["buckets"]
        assert {b["key"]: b["doc_count"] for b in statuses} == {
            s: sum(any(o["status"] == s for o in d["orders"]) for d in docs)
            for s in {o["status"] for d in docs for o in d["orders"]}}, field
    nested = aggregate({"n": {"nested": {"path": "orders"}, "aggs": {"t": {"terms": {"field": "orders.status"}}}}})
    assert sum(b["doc_count"] for b in nested["n"]["t"]["buckets"]) == sum(len(d["orders"]) for d in docs)

    # sum over a money field: the exact sum of the items
    total = aggregate({"t": {"sum": {"field": "lifetime_value"}}})["t"]["value"]
    exact = sum((d["lifetime_value"] for d in docs), Decimal(0))
    assert Decimal(total) == exact  # the node answers the double as its shortest decimal text

    # a wildcard pattern counts what the alias shows, though the physical targets hold tombstones and a rebuild
    everything = store.client.count(index=store.prefix + "customer_v*", params={"expand_wildcards": "all"})["count"]
    assert store.client.count(index=store.prefix + "customer*")["count"] == \
        store.client.count(index=alias)["count"] == len(docs) < everything


def test_readers_get_the_document_and_dashboards_never_shows_the_bookkeeping(projected):
    """Issue #26: no ``dynafold`` key in any hit's ``_source`` on the alias, for Discover (with the exported
    source filter) and for a plain search alike; the engine's object is in stored fields only."""
    store = projected["store"]
    objects, _ = parsed(export(SAMPLE, store.prefix))
    pattern = next(o["attributes"] for o in objects if o["attributes"].get("title") == store.names.alias("customer"))
    hits = search(store, pattern["title"], dashboards.discover(pattern))["hits"]["hits"]
    assert hits and all("dynafold" not in hit["_source"] and "name" in hit["_source"] for hit in hits)
    plain = store.client.search(index=pattern["title"], body={"size": 10_000})["hits"]["hits"]
    assert plain and all(set(hit["_source"]) <= {f.name for f in CUSTOMER.fields} for hit in plain)
    assert all("dynafold" not in doc for doc in store.documents("customer"))


def test_acceptance_on_the_places_model(projected):
    store, points = projected["store"], projected["points"]
    shops, cities = store.names.alias("shop"), store.names.alias("city")
    europe = {"top_left": {"lat": 71, "lon": -25}, "bottom_right": {"lat": 35, "lon": 45}}

    def inside(p) -> bool:
        return 35 <= p["lat"] <= 71 and -25 <= p["lon"] <= 45

    def count(index: str, field: str) -> int:
        return store.client.count(index=index, body={"query": {"geo_bounding_box": {field: europe}}})["count"]

    assert count(shops, "location") == sum(map(inside, points["location"]))
    assert count(shops, "city.centre") == sum(map(inside, points["city.centre"]))
    visited = {shop for shop, p in points["visits.where"] if inside(p)}
    assert count(shops, "visits.where") == count(shops, "visits_flat.where") == len(visited)
    assert count(cities, "location") == sum(map(inside, points["city location"]))
    for index, field, found in ((shops, "location", points["location"]), (cities, "location", points["city location"])):
        grid = store.client.search(index=index, body={"size": 0, "aggs": {"t": {"geotile_grid": {
            "field": field, "precision": 3}}}})["aggregations"]["t"]["buckets"]
        assert sum(b["doc_count"] for b in grid) == len(found) > 0
    opened = store.client.search(index=shops, body={"size": 0, "aggs": {"t": {"date_histogram": {
        "field": "visits.at", "calendar_interval": "week"}}}})["aggregations"]["t"]["buckets"]
    assert sum(b["doc_count"] for b in opened) >= len({shop for shop, _ in points["visits.where"]})
