"""Rebuild throughput against the 1:1 refill, from DynamoDB Local into a real OpenSearch node.

``python -m benchmarks.rebuild [--items 500000] [--segments 1,2,4] [--rounds 3]``

DynamoDB Local holds the sample's five tables (customers, their orders and
subscriptions, songs, lessons pointing at songs). For each segment count the
two commands run in turn, A B A B ..., each on fresh indices of the same
node, each as its own process tree (its worker processes included):

- dynafold: ``dynafold replay --rebuild`` of both aggregates with
  ``--segments N --workers N`` (folding orders and subscriptions into their
  customers, reading every lesson's song, under optimistic concurrency);
- the 1:1 refill (``benchmarks.refill``): the same parallel scan of the same
  tables, one ``_bulk`` of one document per item per page.

Printed per segment count: items/s of each and their ratio (median and
range over the rounds), client CPU per item (user + system of the whole
process tree), OpenSearch requests and kilobytes sent per 1,000 items
(counted below both sides by ``benchmarks/instrument``), and the peak
resident memory of the largest process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENT = Path(__file__).resolve().parent / "instrument"
REPLAYED = ("customers", "orders", "subscriptions", "lessons")  # what a rebuild of both aggregates scans
SHARES = {"customers": 0.20, "orders": 0.58, "subscriptions": 0.10, "songs": 0.02, "lessons": 0.10}


def fill(client, items: int, seed: int = 7) -> dict[str, int]:
    """The sample's tables with ``items`` items in all, in the proportions of ``SHARES``."""
    from dynafold.projector.aws.provision import create_tables
    from dynafold.sample import MODEL
    from dynafold.testing.sample_writer import typed

    create_tables(client, MODEL)
    rng = random.Random(seed)
    counts = {table: max(1, int(items * share)) for table, share in SHARES.items()}
    customers, songs = counts["customers"], counts["songs"]

    def rows(table: str):
        for i in range(counts[table]):
            if table == "customers":
                yield {"customer_id": f"c{i:08d}", "name": f"Customer {i}", "email": f"user{i}@example.com",
                       "country": rng.choice(["NL", "DE", "FR", "GB"]), "marketing_opt_in": i % 3 == 0,
                       "version": 1, "password_hash": "x" * 60}
            elif table == "orders":
                yield {"customer_id": f"c{rng.randrange(customers):08d}", "order_id": f"o{i:09d}",
                       "status": rng.choice(["paid", "shipped", "cancelled", "new"]),
                       "total": rng.randrange(100, 100_000) / 100, "currency": "EUR",
                       "placed_at": f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T10:00:00Z",
                       "items": [{"sku": f"sku{rng.randrange(1000)}", "qty": rng.randrange(1, 4)}]}
            elif table == "subscriptions":
                yield {"customer_id": f"c{rng.randrange(customers):08d}", "plan_id": f"p{i:08d}",
                       "status": rng.choice(["active", "cancelled"])}
            elif table == "songs":
                yield {"song_id": f"s{i:07d}", "title": f"Song number {i}", "artist": f"Artist {i % 97}", "version": 1}
            else:
                yield {"lesson_id": f"l{i:08d}", "title": f"Lesson {i}", "level": rng.choice(["beginner", "advanced"]),
                       "instrument": rng.choice(["guitar", "piano"]), "song_id": f"s{rng.randrange(songs):07d}"}

    def write(table: str, chunk: list) -> None:
        request = {table: [{"PutRequest": {"Item": typed(row)}} for row in chunk]}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or None

    def chunks():
        for table in SHARES:
            batch = []
            for row in rows(table):
                batch.append(row)
                if len(batch) == 25:
                    yield table, batch
                    batch = []
            if batch:
                yield table, batch

    from decimal import Decimal

    def decimals(row):
        return {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in row.items()}

    with ThreadPoolExecutor(8) as pool:
        for _ in pool.map(lambda tc: write(tc[0], [decimals(r) for r in tc[1]]), chunks()):
            pass
    return counts


def _run(command: list[str], env: dict, cwd: str) -> tuple[float, float, int, dict]:
    """(wall s, CPU s of the process tree, peak RSS bytes of its largest process, OpenSearch counts)."""
    counts_file = Path(cwd) / f"http-{uuid.uuid4().hex}.jsonl"
    env = {**env, "BENCH_HTTP_COUNTS": str(counts_file),
           "PYTHONPATH": os.pathsep.join([str(INSTRUMENT), str(ROOT), env.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}... exited {process.returncode}: {errors[-2000:]}")
    totals = {"requests": 0, "sent": 0, "received": 0}
    for line in counts_file.read_text().splitlines():
        for key in totals:
            totals[key] += json.loads(line)[key]
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, totals


def dynafold_command(opensearch: str, segments: int, workdir: str) -> list[str]:
    prefix = f"rb{uuid.uuid4().hex[:8]}-"
    return [sys.executable, "-m", "dynafold", "replay", "--rebuild", "--aggregate", "customer,lesson",
            "--segments", str(segments), "--workers", str(segments), "--model", "dynafold.sample:MODEL",
            "--store", f"opensearch+{opensearch}?prefix={prefix}", "--quarantine", f"sqlite:///{workdir}/q-{prefix}db"]


def refill_command(dynamodb: str, opensearch: str, segments: int) -> list[str]:
    return [sys.executable, "-m", "benchmarks.refill", "--dynamodb", dynamodb, "--opensearch", opensearch,
            "--tables", ",".join(REPLAYED), "--segments", str(segments), "--index-prefix", f"rf{uuid.uuid4().hex[:8]}-"]


def _spread(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def compare(dynamodb: str, opensearch: str, items: int, segment_counts, rounds: int) -> list[dict]:
    env = {**os.environ, "AWS_ENDPOINT_URL": dynamodb, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1", "DYNAFOLD_LOG_LEVEL": "ERROR"}
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for segments in segment_counts:
            ours, theirs = [], []
            for _ in range(rounds):
                theirs.append(_run(refill_command(dynamodb, opensearch, segments), env, workdir))
                ours.append(_run(dynafold_command(opensearch, segments, workdir), env, workdir))
            rows.append(_row(segments, items, ours, theirs))
            print(rows[-1], file=sys.stderr)
    return rows


def _row(segments: int, items: int, ours, theirs) -> dict:
    def per_k(runs, key):
        return statistics.median(r[3][key] for r in runs) / items * 1000

    return {
        "segments": segments,
        "dynafold items/s": round(statistics.median(items / r[0] for r in ours)),
        "1:1 refill items/s": round(statistics.median(items / r[0] for r in theirs)),
        "items/s ratio": _spread([t[0] / o[0] for o, t in zip(ours, theirs)]),
        "CPU µs/item (dynafold / refill)": f"{statistics.median(r[1] for r in ours) / items * 1e6:.0f} / "
                                          f"{statistics.median(r[1] for r in theirs) / items * 1e6:.0f}",
        "requests /1k items": f"{per_k(ours, 'requests'):.2f} / {per_k(theirs, 'requests'):.2f}",
        "KB sent /1k items": f"{per_k(ours, 'sent') / 1024:.0f} / {per_k(theirs, 'sent') / 1024:.0f}",
        "peak RSS MB": f"{max(r[2] for r in ours) / 2**20:.0f} / {max(r[2] for r in theirs) / 2**20:.0f}",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500_000, help="items across the five tables")
    parser.add_argument("--segments", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from tests.servers import dynamodb_local, opensearch_node

    local, node = dynamodb_local.start(), opensearch_node.start(heap="1g")
    try:
        client = boto3.client("dynamodb", endpoint_url=local.url, region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench")
        started = time.perf_counter()
        counts = fill(client, args.items)
        scanned = sum(counts[t] for t in REPLAYED)
        print(f"(filled {sum(counts.values()):,} items in {time.perf_counter() - started:.0f} s; a rebuild scans "
              f"{scanned:,}: {', '.join(f'{t} {counts[t]:,}' for t in REPLAYED)})", file=sys.stderr)
        rows = compare(local.url, node.url, scanned, [int(s) for s in args.segments.split(",")], args.rounds)
    finally:
        node.stop()
        local.stop()
    headers = list(rows[0])
    print("| " + " | ".join(headers) + " |\n|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in headers) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
