"""dynafold benchmarks: ``python benchmarks/run.py [--quick] [--profile] [--real-node]``.

Every figure is a count or a ratio against a baseline measured in the same
process, so it means the same on a noisy laptop and a CI box:

1. stream batch cost: records/s of decode -> translate -> fold -> store at
   batch sizes 10/100/1000, next to the naive 1:1 pattern (one read and one
   write per record) on the same store, and store round trips per batch;
   OpenSearch is osmem and, with ``--real-node`` (or ``DYNAFOLD_REAL_NODES=1``),
   also a real node from Maven Central (``tests.servers.opensearch_node``),
   fed the same batches of the same records;
2. decode overhead: turning records into domain events, divided by what
   boto3's TypeDeserializer alone takes on the same images;
3. replay: items/s from scan pages into SQLite, and peak RSS at 20k, 200k
   and 1M items (each size in a fresh process);
4. hot aggregate: 8 projectors updating one customer at once: attempts per
   batch and whether the document converged.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from boto3.dynamodb.types import TypeDeserializer  # noqa: E402

from domain.sample import MODEL  # noqa: E402
from domain.state import AggregateState  # noqa: E402
from domain.fold import fold  # noqa: E402
from projector.batch import Backoff, Projector  # noqa: E402
from projector.quarantine import MemoryQuarantine  # noqa: E402
from projector.records import decode_stream_record  # noqa: E402
from projector.stores import open_store  # noqa: E402
from projector.stores.base import DocKey, DocumentWrite  # noqa: E402
from projector.stores.counting import CountingStore  # noqa: E402

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/{table}/stream/2026-11-01T00:00:00.000"


def order_record(i: int, customers: int) -> dict:
    keys = {"customer_id": {"S": f"c{i % customers}"}, "order_id": {"S": f"o{i}"}}
    image = {**keys, "status": {"S": "paid"}, "total": {"N": f"{i}.25"}, "currency": {"S": "EUR"},
             "placed_at": {"S": "2026-11-01T10:00:00Z"}, "items": {"L": [{"M": {"sku": {"S": "x"}, "qty": {"N": "1"}}}]}}
    return {"eventID": f"e{i}", "eventName": "INSERT", "eventSourceARN": ARN.format(table="orders"),
            "dynamodb": {"ApproximateCreationDateTime": 1_790_000_000 + i / 1000, "Keys": keys, "NewImage": image,
                         "SequenceNumber": str(10**20 + i), "StreamViewType": "NEW_AND_OLD_IMAGES"}}


def naive(store, records) -> None:
    """The classic 1:1 projector: for each record, read its document, apply, write it back."""
    aggregate = MODEL.aggregate("customer")
    translator = MODEL.translators["orders"]
    for raw in records:
        record = decode_stream_record(raw, MODEL)
        for event in translator.translate(record, None):
            doc_id = event.customer_id
            loaded = store.load({"customer": [doc_id]})
            key = DocKey(loaded.targets["customer"][0], doc_id)
            current = loaded.documents.get(key)
            state = fold(aggregate, current.state if current else AggregateState(), [event])
            store.write([DocumentWrite(key, current.token if current else None, state, aggregate.document(doc_id, state))])


def store_url(kind: str, tmp: str, osmem, node=None) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp}/{random.random()}.db"
    if kind == "opensearch (real node)":
        return f"{node.store_url}?prefix=bench{random.randrange(16 ** 8):08x}-"
    return osmem.clone().url.replace("http://", "opensearch+http://")


def batch_cost(kinds, osmem, total: int = 2000, node=None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            for size in (10, 100, 1000):
                records = [order_record(i, total // 5) for i in range(total)]
                store = CountingStore(open_store(store_url(kind, tmp, osmem, node)))
                projector = Projector(MODEL, store, MemoryQuarantine(), backoff=Backoff(base=0, cap=0))
                store.calls.clear()
                started = time.perf_counter()
                for start in range(0, total, size):
                    projector.project(records[start : start + size])
                ours = total / (time.perf_counter() - started)
                trips = sum(store.calls.values()) / (total / size)
                baseline_store = CountingStore(open_store(store_url(kind, tmp, osmem, node)))
                baseline_store.prepare(list(MODEL.aggregates.values()))
                baseline_store.calls.clear()
                n = total
                started = time.perf_counter()
                naive(baseline_store, records[:n])
                theirs = n / (time.perf_counter() - started)
                rows.append({"store": kind, "batch": size, "records/s": round(ours), "baseline records/s": round(theirs),
                             "speedup": round(ours / theirs, 1), "round trips/batch": round(trips, 2),
                             "baseline round trips/batch": round(sum(baseline_store.calls.values()) / n * size, 1)})
    return rows


def stream_mix(n: int) -> list[dict]:
    """A realistic mix: 20% INSERT, 70% MODIFY (new and old image), 10% REMOVE."""
    records = []
    for i in range(n):
        raw = order_record(i, 100)
        kind = i % 10
        if kind >= 2:
            raw["dynamodb"]["OldImage"] = dict(raw["dynamodb"]["NewImage"], status={"S": "placed"})
            raw["eventName"] = "MODIFY"
        if kind == 9:
            raw["dynamodb"].pop("NewImage")
            raw["eventName"] = "REMOVE"
        records.append(raw)
    return records


def decode_overhead(n: int = 20_000) -> list[dict]:
    translator = MODEL.translators["orders"]
    deserializer = TypeDeserializer()
    rows = []
    for label, records in (("INSERT only", [order_record(i, 100) for i in range(n)]), ("stream mix", stream_mix(n))):
        for _ in range(2):
            started = time.perf_counter()
            for raw in records:
                for image in ("Keys", "NewImage", "OldImage"):
                    if image in raw["dynamodb"]:
                        {k: deserializer.deserialize(v) for k, v in raw["dynamodb"][image].items()}
            floor = time.perf_counter() - started
            started = time.perf_counter()
            for raw in records:
                translator.translate(decode_stream_record(raw, MODEL), None)
            ours = time.perf_counter() - started
        rows.append({"records": f"{n} ({label})", "boto3 TypeDeserializer s": round(floor, 3),
                     "dynafold decode+translate s": round(ours, 3), "ratio": round(ours / floor, 2), "target": "<= 2.0"})
    return rows


def peak_rss_kb() -> int:
    """The process's peak resident set (VmHWM: reset by exec, unlike ru_maxrss, which keeps the forking parent's)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def replay_worker(items: int, page: int = 1000) -> None:
    """Run in a fresh process: scan-shaped pages of customers into SQLite; print items/s and peak RSS."""
    from replay.scan import scan_decoder

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/replay.db")
        projector = Projector(MODEL, store, MemoryQuarantine(), aggregates=["customer"])
        decode = scan_decoder(MODEL.table("customers"), 1_790_000_000_000_000)
        gc.collect()
        before_kb = peak_rss_kb()
        started = time.perf_counter()
        for start in range(0, items, page):
            rows = [{"customer_id": {"S": f"c{i:08d}"}, "name": {"S": f"Name {i}"}, "email": {"S": f"u{i}@example.com"},
                     "country": {"S": "NL"}, "marketing_opt_in": {"BOOL": True}, "version": {"N": "1"},
                     "password_hash": {"S": "x" * 60}} for i in range(start, min(items, start + page))]
            projector.project(rows, decode=decode, source="scan")
        elapsed = time.perf_counter() - started
    peak_kb = peak_rss_kb()
    print(json.dumps({"items": items, "items/s": round(items / elapsed), "RSS before MB": round(before_kb / 1024, 1),
                      "peak RSS MB": round(peak_kb / 1024, 1), "growth MB": round((peak_kb - before_kb) / 1024, 1)}))


def replay_memory(sizes) -> list[dict]:
    rows = []
    for items in sizes:
        out = subprocess.run([sys.executable, __file__, "--replay-worker", str(items)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    smallest = rows[0]["peak RSS MB"]
    for row in rows:
        row["RSS vs smallest"] = round(row["peak RSS MB"] / smallest, 2)
    return rows


def hot_aggregate(projectors: int = 8, batches: int = 25, size: int = 20) -> dict:
    store = open_store("memory://")
    attempts = []
    lock = threading.Lock()

    def worker(n: int):
        projector = Projector(MODEL, store, MemoryQuarantine(), backoff=Backoff(base=0.0005, cap=0.01, attempts=60), rng=random.Random(n))
        for b in range(batches):
            records = [order_record(n * 100_000 + b * size + i, 1) for i in range(size)]
            report = projector.project(records)
            with lock:
                attempts.append((report.writes, report.failed_from is None))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(projectors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    doc = next(iter(store.stored(store.targets("customer").read)))
    orders = len(doc.state)
    writes = [a for a, _ in attempts]
    return {"projectors": projectors, "batches": len(attempts), "orders expected": projectors * batches * size,
            "orders in document": orders, "converged": orders == projectors * batches * size and all(ok for _, ok in attempts),
            "mean write attempts/batch": round(sum(writes) / len(writes), 2), "max write attempts/batch": max(writes)}


def table(title: str, rows: list[dict]) -> None:
    print(f"\n## {title}\n")
    headers = list(rows[0])
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in headers) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller replay sizes (20k, 200k) and no OpenSearch")
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile of the batch hot path")
    parser.add_argument("--real-node", action="store_true",
                        help="also a real OpenSearch node from Maven Central (as DYNAFOLD_REAL_NODES=1 does)")
    parser.add_argument("--replay-worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replay_worker:
        replay_worker(args.replay_worker)
        return 0
    osmem = node = None
    kinds = ["memory", "sqlite"]
    if not args.quick:
        try:
            from osmem_server import OsmemServer

            osmem = OsmemServer.start()
            kinds.append("opensearch")
        except Exception as error:
            print(f"(OpenSearch rows skipped: {error})")
    if args.real_node or os.environ.get("DYNAFOLD_REAL_NODES") == "1":
        from tests.servers import opensearch_node
        from tests.servers.common import Unavailable

        try:
            node = opensearch_node.start()
            kinds.append("opensearch (real node)")
            print(f"(real node: OpenSearch {node.version} on Java {node.java}, healthy {node.started_s:.1f} s after launch)")
        except (Unavailable, RuntimeError) as error:
            print(f"(real-node rows skipped: {error})")
    try:
        table("1. Stream batch cost (2,000 order records over 400 customers)", batch_cost(kinds, osmem, node=node))
    finally:
        if osmem is not None:
            osmem.close()
        if node is not None:
            node.stop()
    table("2. Decode overhead (records to domain events, against deserializing the same images)", decode_overhead())
    table("3. Replay into SQLite (customers, pages of 1,000)", replay_memory([20_000, 200_000] if args.quick else [20_000, 200_000, 1_000_000]))
    table("4. Hot aggregate (one customer, concurrent projectors)", [hot_aggregate()])
    if args.profile:
        records = [order_record(i, 200) for i in range(5000)]
        projector = Projector(MODEL, open_store("memory://"), MemoryQuarantine())
        profile = cProfile.Profile()
        profile.enable()
        for start in range(0, len(records), 1000):
            projector.project(records[start : start + 1000])
        profile.disable()
        print("\n## Profile of the batch hot path (memory store, top 15 by cumulative time)\n")
        pstats.Stats(profile).sort_stats("cumulative").print_stats(15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
