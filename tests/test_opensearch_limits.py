"""Bounded requests: ``_mget`` and ``_bulk`` split by count and bytes, halved on 413, oversized documents rejected.

Every request is recorded with its body size, its number of documents and
its status, so the tests count requests and bytes instead of timing
anything. Two servers whose requests are limited to 100 kB: the real node
``opensearch_node_limited`` (``http.max_content_length: 100kb``, answering
a larger request with 413 and an empty body) and osmem, which has no limit,
behind a client connection that answers 413 as the node does for any
request body over 100 kB.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Optional

import pytest
from opensearchpy import Urllib3HttpConnection
from opensearchpy.exceptions import ConnectionError, TransportError

from dynafold.domain.state import AggregateState
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores.base import DocKey, DocumentWrite, Rejected, Retryable, StoreUnavailable, Written
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.opensearch.store import OpenSearchStore
from dynafold.sample import MODEL
from dynafold.testing.store_contract.documents import customer_doc
from dynafold.testing.store_contract.records import customer_record, order_record
from tests.servers.fixtures import drop_prefixed, prefixed_url

SERVER_LIMIT = 100 * 1024
V1 = "customer_v1"


class Recorded:
    def __init__(self) -> None:
        self.requests: list[tuple[str, int, int, int]] = []  # (path, body bytes, documents, status)
        self.answers_left: Optional[int] = None  # requests answered before the connection breaks

    def of(self, path: str) -> list[tuple[int, int, int]]:
        return [(size, docs, status) for p, size, docs, status in self.requests if p == path]

    def clear(self) -> None:
        self.requests.clear()


def _documents(path: str, body: bytes) -> int:
    if path.endswith("/_bulk"):
        return body.count(b"\n") // 2
    if path.endswith("/_mget"):
        return body.count(b'"_id"')
    return 0


@pytest.fixture(params=["osmem", "node"])
def limited(request):
    """(store factory, recorded requests): a server that refuses request bodies over 100 kB with 413."""
    recorded = Recorded()
    enforce = request.param == "osmem"
    if enforce:
        base = request.getfixturevalue("osmem_url").replace("http://", "opensearch+http://") + "?prefix=lim-"
    else:
        base = prefixed_url(request.getfixturevalue("opensearch_node_limited").store_url)

    class Recording(Urllib3HttpConnection):
        def perform_request(self, method, url, params=None, body=None, *args, **kwargs):
            path, size = url.split("?", 1)[0], len(body or b"")
            entry = [path, size, _documents(path, body or b""), 0]
            recorded.requests.append(entry)
            try:
                if recorded.answers_left is not None:
                    if recorded.answers_left <= 0:
                        raise ConnectionError("N/A", "connection reset (injected)", OSError())
                    recorded.answers_left -= 1
                if enforce and size > SERVER_LIMIT:
                    raise TransportError(413, "")
                status, headers, data = super().perform_request(method, url, params, body, *args, **kwargs)
                entry[3] = status
                return status, headers, data
            except TransportError as error:
                entry[3] = error.status_code if isinstance(error.status_code, int) else -1
                raise

    stores = []

    def open_limited(**limits: int) -> OpenSearchStore:
        query = "".join(f"&{name}={value}" for name, value in limits.items())
        store = OpenSearchStore.from_url(base + query, connection_class=Recording)
        store.prepare(list(MODEL.aggregates.values()))
        stores.append(store)
        recorded.clear()
        return store

    yield open_limited, recorded
    for store in stores:
        store.close()
    if not enforce:
        drop_prefixed(base)


def tombstones(count: int) -> list[DocumentWrite]:
    """Documents of identical size: fixed-width ids, no body, empty state."""
    return [DocumentWrite(DocKey(V1, f"c{i:05d}"), None, AggregateState(), None) for i in range(count)]


def test_a_write_of_20000_documents_is_split_into_full_requests_under_the_byte_limit(limited):
    open_limited, recorded = limited
    store = open_limited(max_request_bytes=100_000, max_batch_docs=1_000)
    outcomes = store.write(tombstones(20_000))
    assert len(outcomes) == 20_000 and all(isinstance(o, Written) for o in outcomes.values())
    bulks = recorded.of("/_bulk")
    size = bulks[0][0] // bulks[0][1]  # every action has the same size
    per_request = 100_000 // size
    assert per_request < 1_000, "the byte limit binds before the count limit"
    assert [docs for _, docs, _ in bulks] == [per_request] * (len(bulks) - 1) + [20_000 - per_request * (len(bulks) - 1)]
    assert len(bulks) == math.ceil(20_000 / per_request)
    assert all(body <= 100_000 and status == 200 for body, _, status in bulks)


def test_a_load_of_50000_ids_is_split_by_the_count_limit(limited):
    open_limited, recorded = limited
    store = open_limited(max_request_bytes=100_000, max_batch_docs=1_000)
    store.write(tombstones(1_000))
    recorded.clear()
    loaded = store.load({"customer": [f"c{i:05d}" for i in range(50_000)]})
    assert len(loaded.documents) == 1_000
    mgets = recorded.of("/_mget")
    assert len(mgets) == 50_000 // 1_000, "the control document rides along in the first request, uncounted"
    assert [docs for _, docs, _ in mgets] == [1_001] + [1_000] * 49
    assert all(body <= 100_000 and status == 200 for body, _, status in mgets)


def test_the_count_limit_splits_a_write_of_small_documents(limited):
    open_limited, recorded = limited
    store = open_limited(max_batch_docs=300)
    assert all(isinstance(o, Written) for o in store.write(tombstones(1_000)).values())
    assert [docs for _, docs, _ in recorded.of("/_bulk")] == [300, 300, 300, 100]


def test_a_failure_after_some_requests_were_answered_leaves_only_the_rest_to_resend(limited):
    open_limited, recorded = limited
    store = open_limited(max_batch_docs=10)
    recorded.answers_left = 0
    with pytest.raises(StoreUnavailable, match="connection failed"):
        store.write(tombstones(25))
    recorded.answers_left = 2
    outcomes = store.write(tombstones(25))
    assert [type(outcomes[DocKey(V1, f"c{i:05d}")]).__name__ for i in (0, 19, 20, 24)] == ["Written", "Written", "Retryable", "Retryable"]
    assert "connection failed" in outcomes[DocKey(V1, "c00024")].reason
    assert sum(isinstance(o, Retryable) for o in outcomes.values()) == 5


def big_writes(count: int, name_bytes: int) -> list[DocumentWrite]:
    writes = []
    for i in range(count):
        state, body = customer_doc(f"c{i}", "x" * name_bytes)
        writes.append(DocumentWrite(DocKey(V1, f"c{i}"), None, state, body))
    return writes


def test_a_413_halves_the_refused_request_and_later_requests_are_packed_smaller(limited):
    open_limited, recorded = limited
    store = open_limited(max_request_bytes=1_000_000)
    writes = big_writes(8, 10_000)  # about 20 kB per action (the name is in the body and in the state)
    outcomes = store.write(writes)
    assert all(isinstance(o, Written) for o in outcomes.values())
    bulks = recorded.of("/_bulk")
    assert [(docs, status) for _, docs, status in bulks] == [(8, 413), (4, 200), (4, 200)]
    assert bulks[0][0] > SERVER_LIMIT >= max(bulks[1][0], bulks[2][0])

    recorded.clear()
    again = [DocumentWrite(w.key, outcomes[w.key].token, w.state, w.body) for w in writes]
    assert all(isinstance(o, Written) for o in store.write(again).values())
    assert all(status == 200 and size <= bulks[0][0] // 2 for size, _, status in recorded.of("/_bulk"))


def test_the_413_warning_reaches_the_json_log_path_with_its_fields(limited):
    """The warning's logger is a module logger under ``dynafold.`` (it once was outside it and came out as a
    plain root-handler line) and its fields are on the allowlist, so a Lambda's JSON line carries them."""
    import io
    import json
    import logging

    from dynafold.projector.observability import logs

    logger = logging.getLogger("dynafold")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    out = io.StringIO()
    try:
        logs.configure("INFO", stream=out)
        open_limited, recorded = limited
        store = open_limited(max_request_bytes=1_000_000)
        store.write(big_writes(8, 10_000))
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    (refused_bytes, _, status), *_ = recorded.of("/_bulk")
    (line,) = [json.loads(text) for text in out.getvalue().splitlines() if "HTTP 413" in text]
    assert status == 413 and line["level"] == "WARNING" and line["service"] == "dynafold"
    assert (line["request_bytes"], line["pack_bytes"]) == (refused_bytes, refused_bytes // 2)
    assert line["store"].startswith("opensearch+http://")
    assert "?" not in line["store"], "the store is named without its query (no credentials, no options)"


def test_a_413_on_a_large_mget_splits_it_too(limited):
    open_limited, recorded = limited
    store = open_limited(max_request_bytes=1_000_000, max_batch_docs=10_000)
    ids = [f"c{i:06d}" for i in range(3_000)]
    loaded = store.load({"customer": ids})
    assert loaded.documents == {} and loaded.targets == {"customer": (V1,)}
    assert [(docs, status) for _, docs, status in recorded.of("/_mget")] == [(3_001, 413), (1_500, 200), (1_501, 200)]


def test_a_document_over_max_request_bytes_is_rejected_without_being_sent(limited):
    open_limited, recorded = limited
    store = open_limited(max_request_bytes=50_000)
    small, huge = big_writes(1, 100)[0], big_writes(2, 30_000)[1]
    outcomes = store.write([small, huge])
    assert isinstance(outcomes[small.key], Written)
    assert isinstance(outcomes[huge.key], Rejected) and "max_request_bytes" in outcomes[huge.key].reason
    assert [docs for _, docs, _ in recorded.of("/_bulk")] == [1]


def test_a_document_refused_even_alone_quarantines_its_records_and_the_rest_of_the_batch_is_written(limited):
    open_limited, recorded = limited
    store = open_limited()  # 8 MiB: above the server's limit, so the server's 413 decides
    records = [customer_record(1, "c1", "Ada"), order_record(2, "c1", "o1", Decimal("10.00"))]
    records += [customer_record(3, "c2", "G" * 150_000), order_record(4, "c2", "o1", Decimal("5.00"))]
    records += [customer_record(5, "c3", "Alan")]
    quarantine = MemoryQuarantine()
    report = Projector(MODEL, store, quarantine).project(records)
    assert report.failed_from is None
    assert [entry.event_id for entry in quarantine.list()] == ["customers-3"]
    assert "HTTP 413" in quarantine.list()[0].reason and "G" * 20 not in quarantine.list()[0].reason
    assert store.get("customer", "c1")["orders"][0]["order_id"] == "o1" and store.get("customer", "c3")["name"] == "Alan"
    assert store.get("customer", "c2") is None, "without its root record the document stays hidden"
    assert store.reload([DocKey(V1, "c2")])[DocKey(V1, "c2")].body is None
    assert any(status == 413 and docs == 1 for _, docs, status in recorded.of("/_bulk"))
