"""What only the OpenSearch store promises: its request budget, its mappings, its URL and its secrets.

The store contract itself runs in ``test_store_contract`` (its cases ship
in ``dynafold.testing.store_contract``); these tests run on osmem (an in-memory
OpenSearch, one isolated clone per test) and on the real node of the
session (``node``, under a prefix of the test's own), and, for
whole-request failures neither produces on demand, on a stub HTTP server.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from opensearchpy import Urllib3HttpConnection

from dynafold.domain.state import AggregateState
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores import codec, open_store
from dynafold.projector.stores.base import (
    DocKey,
    DocumentWrite,
    Rejected,
    Retryable,
    StoreUnavailable,
    Targets,
    Written,
)
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.opensearch.layout import FIRST_LAYOUT_META
from dynafold.projector.stores.opensearch.mappings import DATE
from dynafold.projector.stores.opensearch.requests import Limits
from dynafold.projector.stores.opensearch.store import OpenSearchStore
from dynafold.projector.stores.search_terms import QueryTooLong
from dynafold.sample import CUSTOMER, LESSON, MODEL
from dynafold.testing.store_contract.documents import customer_doc, put, tombstone
from dynafold.testing.store_contract.records import customer_record, order_record
from tests.test_end_to_end import project_and_check

PASSWORD = "s3cr3t-Pa55/word"
V1 = "customer_v1"


def store_url(osmem_url: str, query: str = "") -> str:
    return osmem_url.replace("http://", "opensearch+http://") + (f"?{query}" if query else "")


@pytest.fixture(params=["osmem", "node"])
def base_url(request):
    """An OpenSearch of each kind, as a store URL whose prefix (if any) ends in ``-``; ``dev-`` on osmem."""
    if request.param == "node":
        return request.getfixturevalue("opensearch_node_url")
    return store_url(request.getfixturevalue("osmem_url"), "prefix=dev-")


def prepared(url: str):
    store = open_store(url)
    store.prepare(list(MODEL.aggregates.values()))
    yield store
    store.close()


@pytest.fixture
def store(base_url):
    yield from prepared(base_url)


@pytest.fixture
def node_store(opensearch_node_url):
    """The sample's aggregates on the real node only: for what osmem does not do as OpenSearch does (text analysis)."""
    yield from prepared(opensearch_node_url)


def index(store, name: str) -> str:
    return store.prefix + name


@pytest.fixture
def counted(base_url):
    """A store whose every HTTP request is recorded as (method, path)."""
    requests: list[tuple[str, str]] = []

    class Counting(Urllib3HttpConnection):
        def perform_request(self, method, url, *args, **kwargs):
            requests.append((method, url.split("?", 1)[0]))
            return super().perform_request(method, url, *args, **kwargs)

    store = OpenSearchStore.from_url(base_url, connection_class=Counting)
    yield store, requests
    store.close()


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_conflict_free_batch_of_1000_records_costs_one_mget_and_one_bulk(counted):
    store, requests = counted
    projector = Projector(MODEL, store, MemoryQuarantine())
    first = [order_record(seq, f"c{seq % 200:03d}", f"o{seq // 200}", Decimal(seq) / 100) for seq in range(1, 1001)]
    changed = [order_record(seq, f"c{seq % 200:03d}", f"o{seq // 200}", Decimal(seq), "shipped") for seq in range(1001, 2001)]
    for batch in (first, changed):
        requests.clear()
        report = projector.project(batch)
        assert report.failed_from is None and report.documents_written == 200 and report.conflicts == 0
        assert [path for _, path in requests] == ["/_mget", "/_bulk"]


def test_a_batch_touching_1000_documents_loads_them_and_their_control_document_in_one_mget(counted):
    store, requests = counted
    projector = Projector(MODEL, store, MemoryQuarantine())
    projector.project([customer_record(1, "c0000", "Ada")])  # the store learns the write targets
    requests.clear()
    batch = [order_record(seq, f"c{seq:04d}", "o1", Decimal(seq) / 100) for seq in range(2, 1002)]
    report = projector.project(batch)
    assert report.failed_from is None and report.documents_written == 1_000
    assert [path for _, path in requests if path in ("/_mget", "/_bulk")] == ["/_mget", "/_bulk"]


def test_a_new_write_target_costs_one_more_mget_once(counted, base_url):
    store, requests = counted
    projector = Projector(MODEL, store, MemoryQuarantine())
    projector.project([customer_record(1, "c1", "Ada")])
    admin = open_store(base_url)
    admin.create_target(CUSTOMER, "customer_v2")
    admin.set_targets("customer", Targets(V1, (V1, "customer_v2")))
    for seq, expected in ((2, ["/_mget", "/_mget", "/_bulk"]), (3, ["/_mget", "/_bulk"])):
        requests.clear()
        assert projector.project([customer_record(seq, "c1", f"Ada {seq}")]).documents_written == 2
        assert [path for _, path in requests] == expected
    assert [d.body["name"] for d in admin.stored("customer_v2")] == ["Ada 3"]


def test_mappings_of_the_sample_aggregates_are_strict_and_typed(store):
    customer_v1, lesson_v1 = index(store, "customer_v1"), index(store, "lesson_v1")
    mapping = store.client.indices.get_mapping(index=customer_v1)[customer_v1]["mappings"]
    assert mapping["dynamic"] == "strict"
    fields = mapping["properties"]
    assert fields["name"] == {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    assert fields["lifetime_value"] == {"type": "double"} and fields["order_count"] == {"type": "long"}
    assert fields["last_order_at"] == DATE and fields["active_plans"] == {"type": "keyword"}
    orders = fields["orders"]
    assert orders["type"] == "nested" and orders["include_in_root"] is True
    assert orders["properties"]["total"] == {"type": "double", "copy_to": ["orders_flat.total"]}
    assert fields["orders_flat"] == {"properties": {"currency": {"type": "keyword"}, "order_id": {"type": "keyword"},
                                                    "placed_at": DATE, "status": {"type": "keyword"},
                                                    "total": {"type": "double"}}}
    stored_only = {"type": "keyword", "index": False, "doc_values": False, "store": True}
    assert fields["dynafold"]["properties"] == {"id": {"type": "keyword"}, "visible": {"type": "boolean", "store": True},
                                                "fold_state": stored_only, "numbers": stored_only}
    assert mapping["_source"] == {"excludes": ["dynafold"]}
    settings = store.client.indices.get_settings(index=lesson_v1)[lesson_v1]["settings"]["index"]
    assert settings["query"]["default_field"] == ["title", "song_title", "song_artist"]
    assert settings["hidden"] == "true" and settings["analysis"]["analyzer"]["default"]["tokenizer"] == "dynafold_words"
    assert set(store.client.indices.get_mapping(index=lesson_v1)[lesson_v1]["mappings"]["properties"]) == {
        f.name for f in LESSON.fields
    } | {"dynafold"}


def test_the_fold_state_is_a_stored_field_and_readers_see_the_declared_fields_only(store):
    """Issue #26: no ``dynafold`` key in any hit's ``_source`` on the alias; the engine loads its state from
    the stored fields, as one JSON text (one string is far cheaper for the node than nested objects)."""
    state, body = customer_doc("c1", "Ada", total=Decimal("42.50"))
    assert isinstance(store.write([DocumentWrite(DocKey(V1, "c1"), None, state, body)])[DocKey(V1, "c1")], Written)
    assert isinstance(tombstone(store, DocKey(V1, "c2"), None), Written)
    raw = store.client.get(index=index(store, V1), id="c1", stored_fields="dynafold.fold_state,dynafold.visible",
                           _source="true")
    assert "dynafold" not in raw["_source"] and raw["fields"]["dynafold.visible"] == [True]
    text = raw["fields"]["dynafold.fold_state"][0]
    assert '"total":42.50' in text and text.startswith('{"format":2,')
    loaded = store.reload([DocKey(V1, "c1"), DocKey(V1, "c2")])
    assert loaded[DocKey(V1, "c1")].state == state and loaded[DocKey(V1, "c1")].body == body
    assert loaded[DocKey(V1, "c2")].body is None
    store.client.indices.refresh(index=index(store, V1))
    hits = store.client.search(index=store.names.alias("customer"), body={"query": {"match_all": {}}})["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == ["c1"]
    assert all(set(hit["_source"]) <= {f.name for f in CUSTOMER.fields} for hit in hits)


def digits(value):
    """A value compared digit for digit (``Decimal("42.50") == Decimal("42.5")``, their digits differ)."""
    if isinstance(value, dict):
        return {name: digits(item) for name, item in value.items()}
    if isinstance(value, list):
        return [digits(item) for item in value]
    return (type(value).__name__, str(value))


EXACT = {
    "lifetime_value": Decimal("12345678901234567890.123456789012345678"),  # 38 digits: a double keeps 17
    "order_count": 12,
    "active_plans": [123456789012345678901234567890, Decimal("3.14159265358979323846264338327950288"), "p1"],
}


def test_numbers_a_double_would_round_reach_readers_as_their_exact_digits_and_load_as_decimals(store):
    """Left out of ``_source``, the engine's object makes OpenSearch re-serialize ``_source``, where a number is
    a double: a number with more digits than that goes as the string of its digits, and loads as it was."""
    state, body = customer_doc("c1", "Ada")
    body = {**body, **EXACT, "orders": [{"order_id": "o1", "total": Decimal("0.1000000000000000000000000000001")},
                                        {"order_id": "o2", "total": Decimal("42.5")},
                                        {"order_id": "o3", "total": Decimal("42.50")}]}
    assert isinstance(store.write([DocumentWrite(DocKey(V1, "c1"), None, state, body)])[DocKey(V1, "c1")], Written)
    source = store.client.get(index=store.names.alias("customer"), id="c1")["_source"]
    assert source["lifetime_value"] == "12345678901234567890.123456789012345678"
    assert source["orders"][0]["total"] == "0.1000000000000000000000000000001"
    assert source["active_plans"] == [EXACT["active_plans"][0], "3.14159265358979323846264338327950288", "p1"]
    assert source["orders"][1]["total"] == 42.5  # a number that comes back with its own digits stays a number
    assert source["orders"][2]["total"] == "42.50"  # a trailing zero would not come back
    loaded = store.reload([DocKey(V1, "c1")])[DocKey(V1, "c1")]
    assert digits(loaded.body) == digits(body)
    assert store.get("customer", "c1") == loaded.body
    assert list(store.documents("customer")) == [loaded.body]
    assert store.search("customer", "Ada") == [loaded.body]
    store.client.indices.refresh(index=index(store, V1))
    total = store.client.search(index=store.names.alias("customer"), body={
        "size": 0, "aggs": {"v": {"sum": {"field": "lifetime_value"}}}})["aggregations"]["v"]["value"]
    assert float(total) == float(EXACT["lifetime_value"])  # the numeric mapping took the string


def dynamodb_numbers() -> st.SearchStrategy[Decimal]:
    """Every number DynamoDB holds: up to 38 significant digits, magnitudes from 1E-130 to below 1E+126."""
    digits = st.integers(-(10**38 - 1), 10**38 - 1)
    return st.builds(lambda c, e: Decimal(c).scaleb(e), digits, st.integers(-168, 125)).filter(
        lambda d: d == 0 or -130 <= d.adjusted() <= 125)


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(number=st.one_of(dynamodb_numbers(), st.decimals(allow_nan=False, allow_infinity=False, places=3,
                                                        min_value=-10**8, max_value=10**8)))
@example(number=Decimal("42.50"))
@example(number=Decimal("4.0"))
@example(number=Decimal("-0"))
@example(number=Decimal("0.001"))
@example(number=Decimal("0.0001"))
@example(number=Decimal("9999999.5"))
@example(number=Decimal("10000000.5"))
@example(number=Decimal("1E-130"))
@example(number=Decimal("123456789012345.6"))
def test_every_number_dynamodb_holds_reads_back_with_its_own_digits(store, number):
    """The re-serialized ``_source`` must not change a digit the engine reads back, in a decimal field, a
    keyword list or a child; what readers see is the same number (or its digits as a string)."""
    state, body = customer_doc("n", "Ada")
    body = {**body, "lifetime_value": number, "active_plans": [number],
            "orders": [{"order_id": "o1", "total": number}]}
    key = DocKey(V1, "n")
    token = (store.reload([key]).get(key) or None)
    assert isinstance(store.write([DocumentWrite(key, token and token.token, state, body)])[key], Written)
    loaded = store.reload([key])[key].body
    expected = codec.canonical(number)  # what every store reads back: the digits as written, an integer as an int
    for read in (loaded["lifetime_value"], loaded["active_plans"][0], loaded["orders"][0]["total"]):
        assert type(read) is type(expected) and str(read) == str(expected)
    shown = store.client.get(index=store.names.alias("customer"), id="n")["_source"]["lifetime_value"]
    assert Decimal(str(shown)) == number


def test_a_target_of_the_first_layout_still_loads_and_takes_writes(store):
    """Targets made before the stored fields keep the engine's object in ``_source`` (the state as an object
    before format numbers, then packed as one text): they load, and take the next write, until a rebuild."""
    old = "customer_v7"
    body = {"settings": {"index.hidden": True}, "mappings": {"dynamic": "strict", "properties": {
        **{name: mapping for name, mapping in
           store.client.indices.get_mapping(index=index(store, V1))[index(store, V1)]["mappings"]["properties"].items()
           if name != "dynafold"},
        "dynafold": FIRST_LAYOUT_META}}}
    store.client.indices.create(index=index(store, old), body=body)
    store.client.indices.put_alias(index=index(store, old), name=store.names.writer(old), body={"is_hidden": True})
    earlier, earlier_body = customer_doc("c2", "Grace")
    store.client.index(index=index(store, old), id="c2", refresh=True,
                       body={**earlier_body, "dynafold": {"id": "c2", "visible": True, "state": earlier.to_json()}})
    loaded = store.reload([DocKey(old, "c2")])[DocKey(old, "c2")]
    assert loaded.state == earlier and loaded.body["name"] == "Grace"
    assert isinstance(put(store, DocKey(old, "c2"), "Grace Hopper", expected=loaded.token, version=2), Written)
    assert store.reload([DocKey(old, "c2")])[DocKey(old, "c2")].body["name"] == "Grace Hopper"

    packed_before_the_format_number, packed_body = customer_doc("c3", "Joan")
    store.client.index(index=index(store, old), id="c3", refresh=True,
                       body={**packed_body, "dynafold": {"id": "c3", "visible": True, "state": {
                           "json": codec.dumps(packed_before_the_format_number.to_json())}}})
    assert store.reload([DocKey(old, "c3")])[DocKey(old, "c3")].state == packed_before_the_format_number

    state, exact_body = customer_doc("c4", "Ada")
    exact_body = {**exact_body, **EXACT}
    assert isinstance(store.write([DocumentWrite(DocKey(old, "c4"), None, state, exact_body)])[DocKey(old, "c4")],
                      Written)
    again = store.reload([DocKey(old, "c4")])[DocKey(old, "c4")]
    assert again.state == state and digits(again.body) == digits(exact_body)


def test_a_document_the_mapping_refuses_is_rejected_without_quoting_its_values(store):
    state, body = customer_doc("c1", "Ada")
    bad = {
        DocKey(V1, "undeclared"): {**body, "secret_note": "do-not-log-me"},
        DocKey(V1, "wrong-type"): {**body, "order_count": "do-not-log-me"},
        DocKey(V1, "x" * 513): body,
    }
    good = DocKey(V1, "fine")
    writes = [DocumentWrite(key, None, state, b) for key, b in bad.items()] + [DocumentWrite(good, None, state, body)]
    outcomes = store.write(writes)
    assert isinstance(outcomes[good], Written)
    assert all(isinstance(outcomes[key], Rejected) for key in bad)
    assert "strict_dynamic_mapping_exception" in outcomes[DocKey(V1, "undeclared")].reason
    assert "[secret_note]" in outcomes[DocKey(V1, "undeclared")].reason
    assert "mapper_parsing_exception" in outcomes[DocKey(V1, "wrong-type")].reason
    assert not any("do-not-log-me" in outcomes[key].reason for key in bad)
    assert store.load({"customer": ["x" * 600, "fine"]}).documents.keys() == {good}


def test_lesson_level_may_be_a_word_or_a_number(store):
    outcomes = {}
    for lesson_id, level in (("l1", "beginner"), ("l2", 3), ("l3", Decimal("2.5"))):
        body = {f.name: None for f in LESSON.fields} | {"lesson_id": lesson_id, "title": "Blues", "level": level}
        key = DocKey("lesson_v1", lesson_id)
        outcomes.update(store.write([DocumentWrite(key, None, AggregateState(), body)]))
    assert all(isinstance(o, Written) for o in outcomes.values())
    assert [d["level"] for d in store.documents("lesson")] == ["beginner", 3, Decimal("2.5")]


def test_index_blocks_and_closed_indices_are_retryable_not_rejected(store):
    state, body = customer_doc("c1", "Ada")
    write = [DocumentWrite(DocKey(V1, "c1"), None, state, body)]
    for settings in ({"index.blocks.write": True}, {"index.blocks.read_only_allow_delete": True}):
        store.client.indices.put_settings(index=index(store, V1), body=settings)
        (outcome,) = store.write(write).values()
        assert isinstance(outcome, Retryable) and "cluster_block_exception" in outcome.reason
        store.client.indices.put_settings(index=index(store, V1), body={k: None for k in settings})
    store.client.indices.close(index=index(store, V1))
    (outcome,) = store.write(write).values()
    assert isinstance(outcome, Retryable) and "index_closed_exception" in outcome.reason
    store.client.indices.open(index=index(store, V1))
    assert isinstance(store.write(write)[DocKey(V1, "c1")], Written)


def test_searches_through_the_alias_never_see_tombstones(store):
    put(store, DocKey(V1, "c1"), "Ada Lovelace")
    tombstone(store, DocKey(V1, "c2"), None)
    store.client.indices.refresh(index=index(store, V1))  # a real node's searches see writes only after a refresh
    direct = store.client.search(index=index(store, "customer"), body={"query": {"match_all": {}}})
    assert [hit["_id"] for hit in direct["hits"]["hits"]] == ["c1"]
    assert store.client.count(index=index(store, "customer"))["count"] == 1
    assert store.client.count(index=index(store, V1))["count"] == 2


def test_a_switch_makes_the_new_read_target_searchable_before_readers_move_to_it(store):
    """Found on the real node: a reader querying the alias right after a switch saw an empty index,
    because nothing written to the new target had been refreshed yet (osmem shows every write at once)."""
    store.create_target(CUSTOMER, "customer_v2")
    store.client.indices.put_settings(index=index(store, "customer_v2"), body={"index.refresh_interval": "-1"})
    for cid in ("c1", "c2", "c3"):
        put(store, DocKey("customer_v2", cid), "New")
    store.set_targets("customer", Targets("customer_v2", ("customer_v2",)))
    direct = store.client.search(index=index(store, "customer"), body={"query": {"match_all": {}}})
    assert sorted(hit["_id"] for hit in direct["hits"]["hits"]) == ["c1", "c2", "c3"]


def test_search_splits_words_where_sqlite_does_and_reads_no_syntax(node_store):
    store = node_store
    put(store, DocKey(V1, "c1"), "Ada O'Brien")
    state, body = customer_doc("c2", "Grace Hopper", email="c2@example.com")
    store.write([DocumentWrite(DocKey(V1, "c2"), None, state, body)])
    assert [d["customer_id"] for d in store.search("customer", "o'brien")] == ["c1"]
    assert [d["customer_id"] for d in store.search("customer", "c2@example.com")] == ["c2"]
    assert [d["customer_id"] for d in store.search("customer", "example")] == ["c2"]
    assert store.search("customer", "ada -o'brien") == store.search("customer", "ada o'brien")
    assert store.search("customer", "ada | grace") == []


def test_a_reader_that_never_prepared_the_aggregate_searches_the_fields_its_index_was_made_with(node_store):
    """A read-only command does not prepare: the store asks the index which fields to search."""
    put(node_store, DocKey(V1, "c1"), "Ada Müller")
    node_store.client.indices.refresh(index=index(node_store, V1))
    reader = OpenSearchStore.from_url(node_store.url, read_only=True)
    try:
        assert [d["customer_id"] for d in reader.search("customer", "muler ada")] == ["c1"]
        with pytest.raises(QueryTooLong):
            reader.search("customer", " ".join(["ada"] * 33))
    finally:
        reader.close()


def test_documents_and_stored_page_through_every_document_in_id_order(store):
    store.page_size = 4
    ids = [f"c{n:02d}" for n in range(23)]
    for n, cid in enumerate(reversed(ids)):
        if n % 5 == 0:
            tombstone(store, DocKey(V1, cid), None)
        else:
            put(store, DocKey(V1, cid), f"Name {cid}")
    hidden = {cid for n, cid in enumerate(reversed(ids)) if n % 5 == 0}
    assert [d["customer_id"] for d in store.documents("customer")] == [c for c in ids if c not in hidden]
    assert [d.key.id for d in store.stored(V1)] == ids


def test_delete_is_conditional_on_the_token(store):
    key = DocKey(V1, "c1")
    first = put(store, key, "Ada")
    second = put(store, key, "Grace", first.token, 2)
    assert store.delete(key, first.token) is False
    assert store.delete(key, second.token) is True
    assert store.delete(key, second.token) is False
    assert store.reload([key]) == {}
    assert isinstance(put(store, key, "Alan"), Written)


def test_url_options_and_defaults(osmem_url):
    store = open_store("opensearch+https://search.example.com?prefix=prod-&timeout=2.5")
    connection = store.client.transport.get_connection()
    assert (connection.host, connection.timeout) == ("https://search.example.com:443", 2.5)
    assert connection.pool.cert_reqs == "CERT_REQUIRED"
    assert store.prefix == "prod-"
    assert store.limits == Limits(max_request_bytes=8 * 1024 * 1024, max_batch_docs=1_000)
    assert open_store("opensearch+http://h?max_request_bytes=1000&max_batch_docs=7").limits == Limits(1000, 7)
    with pytest.warns(UserWarning, match="insecure"):
        insecure = open_store("opensearch+https://search.example.com:9443?verify_certs=false")
    assert insecure.client.transport.get_connection().pool.cert_reqs == "CERT_NONE"
    assert open_store("opensearch+http://localhost").client.transport.get_connection().host == "http://localhost:9200"
    for bad in (
        "opensearch+http://localhost?prefx=a",
        "opensearch+http://localhost?prefix=Upper",
        "opensearch+http://localhost?timeout=soon",
        "opensearch+http://localhost?verify_certs=maybe",
        "opensearch+http://localhost?aws_region=eu-west-1&aws_service=s3",
        "opensearch+http://localhost:port",
        "opensearch+http://localhost?max_request_bytes=0",
        "opensearch+http://localhost?max_batch_docs=many",
    ):
        with pytest.raises(ValueError):
            open_store(bad)


def test_basic_auth_comes_from_the_environment_or_the_url_and_never_shows(monkeypatch, caplog):
    monkeypatch.setenv("DYNAFOLD_OPENSEARCH_USERNAME", "dynafold")
    monkeypatch.setenv("DYNAFOLD_OPENSEARCH_PASSWORD", PASSWORD)
    caplog.set_level(logging.DEBUG)
    port = dead_port()
    from_env = open_store(f"opensearch+http://127.0.0.1:{port}?prefix=p-")
    from_url = open_store(f"opensearch+http://alan:{PASSWORD.replace('/', '%2F')}@127.0.0.1:{port}?prefix=p-")
    secrets = (PASSWORD, PASSWORD.replace("/", "%2F"), base64.b64encode(f"dynafold:{PASSWORD}".encode()).decode())
    for store, user in ((from_env, "dynafold"), (from_url, "alan")):
        header = store.client.transport.get_connection().headers["authorization"]
        assert header == "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()
        assert store.url == f"opensearch+http://127.0.0.1:{port}?prefix=p-"
        with pytest.raises(StoreUnavailable) as failure:
            store.prepare(list(MODEL.aggregates.values()))
        message = str(failure.value)
        assert f"127.0.0.1:{port}" in message and "connection failed" in message
        shown = message + repr(failure.value) + repr(store) + store.url + caplog.text
        assert not any(secret in shown for secret in secrets)
        assert failure.value.__cause__ is None and failure.value.__suppress_context__


class _Stub(BaseHTTPRequestHandler):
    """Answers every request with the server's configured status, echoing the Authorization header."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.server.delay:
            time.sleep(self.server.delay)
        body = json.dumps({"error": f"refused for {self.headers.get('authorization')}", "status": self.server.status})
        self.send_response(self.server.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_PUT = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.daemon_threads = True
    server.status, server.delay = 503, 0.0
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [429, 500, 503, 401])
def test_a_failing_whole_request_is_store_unavailable_without_credentials(stub, monkeypatch, status):
    monkeypatch.setenv("DYNAFOLD_OPENSEARCH_USERNAME", "dynafold")
    monkeypatch.setenv("DYNAFOLD_OPENSEARCH_PASSWORD", PASSWORD)
    stub.status = status
    store = OpenSearchStore.from_url(f"opensearch+http://127.0.0.1:{stub.server_address[1]}")
    state, body = customer_doc("c1", "Ada")
    with pytest.raises(StoreUnavailable) as failure:
        store.write([DocumentWrite(DocKey(V1, "c1"), None, state, body)])
    assert f"HTTP {status}" in str(failure.value) and "write failed" in str(failure.value)
    assert PASSWORD not in str(failure.value)
    assert base64.b64encode(f"dynafold:{PASSWORD}".encode()).decode() not in str(failure.value)


def test_a_request_that_times_out_is_store_unavailable(stub):
    stub.delay = 0.5
    store = OpenSearchStore.from_url(f"opensearch+http://127.0.0.1:{stub.server_address[1]}?timeout=0.1")
    with pytest.raises(StoreUnavailable, match="load failed: timed out"):
        store.load({"customer": ["c1"]})


def test_sigv4_signs_every_request_with_the_default_boto3_credentials(osmem_url, monkeypatch, tmp_path):
    for name, value in (("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-example")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    store = open_store(store_url(osmem_url, "aws_region=eu-west-1&aws_service=aoss"))
    pool = store.client.transport.get_connection().pool
    sent = []
    urlopen = pool.urlopen
    monkeypatch.setattr(pool, "urlopen", lambda method, url, body=None, headers=None, **kw: sent.append(headers) or urlopen(method, url, body, headers, **kw))
    store.prepare(list(MODEL.aggregates.values()))
    put(store, DocKey(V1, "c1"), "Ada")
    assert [d["name"] for d in store.documents("customer")] == ["Ada"]
    assert sent and all(
        h["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
        and "/eu-west-1/aoss/aws4_request" in h["Authorization"]
        for h in sent
    )
    monkeypatch.setenv("DYNAFOLD_OPENSEARCH_USERNAME", "dynafold")
    monkeypatch.setenv("DYNAFOLD_OPENSEARCH_PASSWORD", PASSWORD)
    with pytest.raises(ValueError, match="not both"):
        open_store(store_url(osmem_url, "aws_region=eu-west-1"))


def test_stream_records_through_the_lambda_handler_match_the_oracle_on_opensearch(dynamodb, streams, base_url):
    project_and_check(base_url, dynamodb, streams, seed=5)
