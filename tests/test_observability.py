"""JSON logs and EMF metrics: identities and counts, never item contents."""

from __future__ import annotations

import io
import json

from dynafold.handlers.entry import LambdaEntry
from dynafold.handlers.stream import make_handler
from dynafold.projector.engine.batch import Projector
from dynafold.projector.observability import logs, metrics
from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
from dynafold.sample import MODEL
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


def value(document: dict, name: str) -> float:
    """An EMF value: Powertools writes each as a one-element list."""
    found = document[name]
    return found[0] if isinstance(found, list) else found


def test_every_batch_emits_one_emf_document_with_the_counters_and_the_lag():
    bad = order("c1", "o2", seq=3)
    bad["dynamodb"]["NewImage"]["total"] = {"S": "lots"}
    lines, emf = run_batch([customer("c1", seq=1, created=1_790_000_000), order("c1", "o1", seq=2), bad], now_s=1_790_000_010)
    (document,) = emf
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "dynafold" and sorted(directive["Dimensions"][0]) == ["service", "table"]
    assert document["service"] == "dynafold"
    names = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert names["ProjectionLag"] == "Milliseconds" and names["Records"] == "Count"
    assert document["table"] == "customers"
    assert [value(document, n) for n in ("Records", "Events", "DocumentsWritten", "Quarantined")] == [3, 2, 1, 1]
    assert value(document, "ProjectionLag") > 0 and value(document, "BatchLatency") >= 0
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


def test_the_namespace_and_the_service_dimension_come_from_powertools_variables(monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "views-prod")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "orders-views")
    document = json.loads(metrics.emf_line({"Records": 3, "Conflicts": 1}, {"table": "orders"}, timestamp_ms=5))
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "views-prod" and document["service"] == "orders-views"
    assert {m["Name"] for m in directive["Metrics"]} == {"Records", "Conflicts"} and document["_aws"]["Timestamp"] == 5


class Context:
    function_name = "dynafold-orders"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:dynafold-orders"

    def __init__(self, request_id):
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self):
        return 60_000


def test_every_line_of_an_invocation_names_its_request_and_only_the_first_is_a_cold_start(monkeypatch):
    monkeypatch.setattr(logs, "_cold", True)
    out = io.StringIO()
    logs.configure("INFO", stream=out)
    handle = LambdaEntry(lambda settings: make_handler(lambda: Projector(MODEL, MemoryStore(), MemoryQuarantine()),
                                                       emit=lambda values, dims: None), configure_logs=False)
    handle({"Records": [customer("c1", seq=1)]}, Context("req-1"))
    handle({"Records": [customer("c2", seq=2)]}, Context("req-2"))
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    summaries = [line for line in lines if line["message"] == "batch projected"]
    assert [(s["function_request_id"], s["cold_start"]) for s in summaries] == [("req-1", True), ("req-2", False)]
    assert all(s["function_name"] == "dynafold-orders" and s["service"] == "dynafold" for s in summaries)


def test_extra_fields_off_the_allowlist_and_tracebacks_never_reach_a_line():
    import logging

    out = io.StringIO()
    logs.configure("INFO", stream=out)
    log = logging.getLogger("dynafold.test")
    try:
        raise ValueError("item 42 has password hunter2")
    except ValueError:
        log.exception("lookup failed", extra={"table": "users", "image": {"password": "hunter2"}})
    (line,) = [json.loads(text) for text in out.getvalue().splitlines()]
    assert line["table"] == "users" and line["error"] == "ValueError" and "image" not in line
    assert "hunter2" not in out.getvalue()
