"""JSON logs and EMF metrics: identities and counts, never item contents."""

from __future__ import annotations

import io
import json

from domain.sample import MODEL
from projector import logs, metrics
from projector.batch import Projector
from projector.lambda_handler import make_handler
from projector.quarantine import MemoryQuarantine
from projector.stores.memory import MemoryStore
from tests.support.records import customer, order


def run_batch(records, now_s: float):
    out = io.StringIO()
    logs.configure("INFO", stream=out)
    emitted = []
    store = MemoryStore()
    handle = make_handler(lambda: Projector(MODEL, store, MemoryQuarantine()),
                          emit=lambda values, dims: emitted.append(metrics.emf_line(values, dims, timestamp_ms=int(now_s * 1000))))
    handle({"Records": records}, None)
    return [json.loads(line) for line in out.getvalue().splitlines()], [json.loads(line) for line in emitted]


def test_every_batch_emits_one_emf_document_with_the_counters_and_the_lag():
    bad = order("c1", "o2", seq=3)
    bad["dynamodb"]["NewImage"]["total"] = {"S": "lots"}
    lines, emf = run_batch([customer("c1", seq=1, created=1_790_000_000), order("c1", "o1", seq=2), bad], now_s=1_790_000_010)
    (document,) = emf
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "dynafold" and directive["Dimensions"] == [["table"]]
    names = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert names["ProjectionLag"] == "Milliseconds" and names["Records"] == "Count"
    assert document["table"] == "customers"
    assert (document["Records"], document["Events"], document["DocumentsWritten"], document["Quarantined"]) == (3, 2, 1, 1)
    assert document["ProjectionLag"] > 0 and document["BatchLatency"] >= 0
    for name in names:
        assert name in document


def test_log_lines_name_records_and_documents_but_never_item_contents():
    bad = order("c1", "o2", seq=3)
    bad["dynamodb"]["NewImage"]["total"] = {"S": "lots"}
    lines, _ = run_batch([customer("c1", seq=1), bad], now_s=1_790_000_010)
    quarantined = next(line for line in lines if line["message"] == "record quarantined")
    assert quarantined["table"] == "orders" and quarantined["event_id"] == "ev-orders-3"
    assert quarantined["sequence"] == "100000000000000000003"
    summary = next(line for line in lines if line["message"] == "batch projected")
    assert summary["documents"] == ["customer_v1/c1"] and summary["written"] == 1
    text = json.dumps(lines)
    assert "do-not-leak" not in text and "c1@example.com" not in text and "Ada" not in text
