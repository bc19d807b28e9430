"""dynafold against the managed pipeline's way of writing, on the same server and the same records.

Both sides take the same batches of 1,000 order records: dynafold through
its public Lambda handler, folding them into customer documents under
optimistic concurrency; the Data Prepper-style baseline writing one order
document per record, one ``_bulk`` per batch, no reads. Reported per
workload: records per second (wall clock) and client CPU per record
(``process_time`` of this process; the servers run in their own processes),
each as dynafold / baseline, and store round trips per batch. Each side runs
the workload on fresh indices, warmed and then in pairs (``benchmarks.pairs``).
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any, Callable

from benchmarks.dp_baseline import DataPrepperStyle
from benchmarks.pairs import ROUNDS, alternate
from benchmarks.pairs import spread as ratio_spread
from benchmarks.workloads import batches, clustered, spread
from dynafold.handlers.stream import make_handler
from dynafold.projector.engine.document_cache import DocumentCache
from dynafold.projector.runtime import build_projector
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.opensearch.store import OpenSearchStore
from dynafold.sample import MODEL

BATCH = 1000


def _client(url: str) -> Any:
    from opensearchpy import OpenSearch

    plain = url.replace("opensearch+", "").split("?", 1)[0]
    return OpenSearch(hosts=[plain], timeout=60)


def _timed(run: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def dynafold_run(url: str, records: list[dict], **projector_options: Any) -> tuple[float, float, float]:
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    store = OpenSearchStore.from_url(f"{url}{'&' if '?' in url else '?'}prefix={prefix}")
    options = {"cache": DocumentCache(), **projector_options}
    projector = build_projector(MODEL, store, MemoryQuarantine(), aggregates=["customer"], **options)
    handle = make_handler(lambda: projector, emit=lambda *a: None)
    counted = {"requests": 0}
    transport = store.client.transport
    original = transport.perform_request

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted["requests"] += 1
        return original(*args, **kwargs)

    transport.perform_request = counting
    chunks = batches(records, BATCH)

    def run() -> None:
        for chunk in chunks:
            pending = chunk
            for _ in range(10):
                failed = {f["itemIdentifier"] for f in handle({"Records": pending}, None)["batchItemFailures"]}
                if not failed:
                    break
                counted["redelivered"] = counted.get("redelivered", 0) + len(failed)
                pending = [r for r in pending if r["dynamodb"]["SequenceNumber"] in failed]
            else:
                raise RuntimeError(f"{len(failed)} records still failing after 10 deliveries")

    wall, cpu = _timed(run)
    store.close()
    if counted.get("redelivered"):
        print(f"  (dynafold: {counted['redelivered']} records redelivered after batch item failures)")
    return wall, cpu, counted["requests"] / len(chunks)


def baseline_run(url: str, records: list[dict]) -> tuple[float, float, float]:
    writer = DataPrepperStyle(_client(url), f"bench{uuid.uuid4().hex[:8]}-orders")
    chunks = batches(records, BATCH)
    wall, cpu = _timed(lambda: [writer.project(chunk) for chunk in chunks])
    return wall, cpu, 1.0


def compare(url: str, server: str, rounds: int = ROUNDS, **projector_options: Any) -> list[dict]:
    rows = []
    for name, records in (("spread: 10,000 orders, 2,000 customers, 1,000 per batch", spread()),
                          ("clustered: 20,000 orders, 800 customers, customer by customer", clustered())):
        pairs = alternate(lambda: dynafold_run(url, records, **projector_options),
                          lambda: baseline_run(url, records), rounds)
        ours, theirs = [p[0] for p in pairs], [p[1] for p in pairs]
        wall, cpu, trips = (statistics.median(x) for x in zip(*ours))
        base_wall, base_cpu, _ = (statistics.median(x) for x in zip(*theirs))
        n = len(records)
        rows.append({
            "server": server, "workload": name,
            "dynafold records/s": round(n / wall), "baseline records/s": round(n / base_wall),
            "records/s ratio": ratio_spread(t[0] / o[0] for o, t in pairs),
            "CPU µs/record (dynafold)": round(cpu / n * 1e6), "CPU µs/record (baseline)": round(base_cpu / n * 1e6),
            "CPU ratio": ratio_spread(o[1] / t[1] for o, t in pairs), "round trips/batch": round(trips, 2),
        })
    return rows
