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

Both run once unmeasured first (the node's JIT and caches), and every
run's indices are deleted after it, outside the timing, so no run pays for
another's merges. Printed per segment count: items/s of each and their
ratio (median and range over the rounds), client CPU per item (user +
system of the whole process tree), the OpenSearch node's CPU per item (its
process group, from ``/proc``), OpenSearch requests and kilobytes sent per
1,000 items (counted below both sides by ``benchmarks/instrument``), and
the peak resident memory of the largest process.

The capacity model's check (``dynafold.deploy.capacity``): the rebuild's
scan phase (its own items/s line, without the settle pause and the check)
against what the model predicts for this machine from the one-segment
figures: each segment at ``capacity.segment_rate``, all of them within this
machine's cores, which the node, DynamoDB Local and the
workers share.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional

import attrs
import boto3

from benchmarks.pairs import alternate, spread

ROOT = Path(__file__).resolve().parents[1]
INSTRUMENT = Path(__file__).resolve().parent / "instrument"
REPLAYED = ("customers", "orders", "subscriptions", "lessons")  # what a rebuild of both aggregates scans
SHARES = {"customers": 0.20, "orders": 0.58, "subscriptions": 0.10, "songs": 0.02, "lessons": 0.10}


def fill(client, items: int, seed: int = 7) -> dict[str, int]:
    """The sample's tables with ``items`` items in all, in the proportions of ``SHARES``.

    The tables are created without streams: a rebuild only scans, and DynamoDB
    Local looks up a table's stream description with a query whose cost grows
    with every stream record it holds, so a streamed fill of 500,000 items took
    over an hour (under 150 items/s at the end) where this one takes minutes.
    """
    from dynafold.projector.aws.provision import table_definition
    from dynafold.sample import MODEL
    from dynafold.testing.sample_writer import typed

    for spec in MODEL.tables.values():
        definition = table_definition(spec)
        del definition["StreamSpecification"]
        client.create_table(**definition)
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


def group_cpu_s(leader: int) -> float:
    """User + system CPU seconds of every live process in ``leader``'s process group (a server's JVM)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == leader:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


@attrs.frozen
class Measured:
    """One run of one side."""

    wall_s: float
    cpu_s: float
    peak_rss: int
    http: dict
    node_cpu_s: float
    dynamodb_cpu_s: float
    scan_items_per_s: Optional[float]  # the rebuild's scan phase, from its summary lines


SUMMARY = re.compile(r"replay: [^:]+: (\d+) items in .*?, ([0-9.]+)s \(")


def scan_phase_rate(stderr: str) -> Optional[float]:
    """Items per second of the scan phases a ``dynafold replay`` printed (one line per aggregate)."""
    found = [(int(items), float(seconds)) for items, seconds in SUMMARY.findall(stderr)]
    seconds = sum(s for _, s in found)
    return sum(i for i, _ in found) / seconds if found and seconds > 0 else None


def _run(command: list[str], env: dict, cwd: str, servers: tuple[int, int]) -> Measured:
    """One command as its own process tree, with the node's and DynamoDB Local's CPU meanwhile."""
    node, dynamodb = servers
    node_before, dynamodb_before = group_cpu_s(node), group_cpu_s(dynamodb)
    counts_file = Path(cwd) / f"http-{uuid.uuid4().hex}.jsonl"
    env = {**env, "BENCH_HTTP_COUNTS": str(counts_file),
           "PYTHONPATH": os.pathsep.join([str(INSTRUMENT), str(ROOT), env.get("PYTHONPATH", "")])}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    errors = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}... exited {process.returncode}: {errors[-2000:]}")
    totals = {"requests": 0, "sent": 0, "received": 0}
    peak = 0
    for line in counts_file.read_text().splitlines():
        counted = json.loads(line)  # one process of the tree
        for key in totals:
            totals[key] += counted[key]
        peak = max(peak, counted["peak_rss"])
    return Measured(wall, usage.ru_utime + usage.ru_stime, peak, totals,
                    group_cpu_s(node) - node_before, group_cpu_s(dynamodb) - dynamodb_before, scan_phase_rate(errors))


def dynafold_command(opensearch: str, segments: int, workdir: str, prefix: str) -> list[str]:
    return [sys.executable, "-m", "dynafold", "replay", "--rebuild", "--aggregate", "customer,lesson",
            "--segments", str(segments), "--workers", str(segments), "--model", "dynafold.sample:MODEL",
            "--store", f"opensearch+{opensearch}?prefix={prefix}", "--quarantine", f"sqlite:///{workdir}/q-{prefix}db"]


def refill_command(dynamodb: str, opensearch: str, segments: int, prefix: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.refill", "--dynamodb", dynamodb, "--opensearch", opensearch,
            "--tables", ",".join(REPLAYED), "--segments", str(segments), "--index-prefix", prefix]


def _drop(opensearch: str, prefix: str) -> None:
    """Every index a run made (hidden ones included), so the next run does not pay for its merges."""
    from opensearchpy import OpenSearch

    client = OpenSearch(hosts=[opensearch], timeout=120)
    client.indices.delete(index=f"{prefix}*", expand_wildcards="all", ignore=404)
    client.close()


def compare(dynamodb: str, opensearch: str, items: int, segment_counts: list[int], rounds: int,
            servers: tuple[int, int]) -> list[dict]:
    """One row per segment count; ``servers`` are the node's and DynamoDB Local's process groups."""
    env = {**os.environ, "AWS_ENDPOINT_URL": dynamodb, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1", "DYNAFOLD_LOG_LEVEL": "ERROR"}
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as workdir:
        def side(command: Callable[[int, str], list[str]], letters: str, segments: int) -> Measured:
            prefix = f"{letters}{uuid.uuid4().hex[:8]}-"
            try:
                return _run(command(segments, prefix), env, workdir, servers)
            finally:
                _drop(opensearch, prefix)

        def ours(segments: int, prefix: str) -> list[str]:
            return dynafold_command(opensearch, segments, workdir, prefix)

        def theirs(segments: int, prefix: str) -> list[str]:
            return refill_command(dynamodb, opensearch, segments, prefix)

        one_segment: Optional[list[Measured]] = None
        for segments in segment_counts:
            pairs = alternate(lambda: side(ours, "rb", segments), lambda: side(theirs, "rf", segments), rounds,
                              warmup=1 if segments == segment_counts[0] else 0)
            if segments == 1:
                one_segment = [ours_run for ours_run, _ in pairs]
            rows.append(_row(segments, items, pairs, one_segment))
            print(rows[-1], file=sys.stderr)
    return rows


def predicted_scan_rate(one_segment: list[Measured], items: int, segments: int, cores: int) -> float:
    """The capacity model's items/s for ``segments`` workers on this machine, from one-segment runs:
    each segment at ``capacity.segment_rate``, all within ``cores`` shared by workers, node and
    DynamoDB Local."""
    from dynafold.deploy.capacity import Limits, segment_rate
    from dynafold.deploy.capacity import Measured as PerItem

    client = statistics.median(r.cpu_s for r in one_segment) / items * 1e6
    node = statistics.median(r.node_cpu_s for r in one_segment) / items * 1e6
    dynamodb = statistics.median(r.dynamodb_cpu_s for r in one_segment) / items * 1e6
    one = segment_rate(PerItem(cpu_us_per_item=client, domain_cpu_us_per_item=node, item_bytes=1.0),
                       Limits(scan_mb_per_s_per_segment=float("inf")), 1.0)
    return min(segments * one, cores * 1e6 / (client + node + dynamodb))


def _row(segments: int, items: int, pairs: list[tuple[Measured, Measured]],
         one_segment: Optional[list[Measured]]) -> dict:
    ours, theirs = [p[0] for p in pairs], [p[1] for p in pairs]

    def both(value: Callable[[Measured], float], scale: float = 1e6, digits: int = 0) -> str:
        return " / ".join(f"{statistics.median(value(r) for r in runs) / items * scale:.{digits}f}"
                          for runs in (ours, theirs))

    scan = [r.scan_items_per_s for r in ours if r.scan_items_per_s]
    predicted = predicted_scan_rate(one_segment, items, segments, os.cpu_count() or 1) if one_segment else None
    return {
        "segments": segments,
        "dynafold items/s": round(statistics.median(items / r.wall_s for r in ours)),
        "1:1 refill items/s": round(statistics.median(items / r.wall_s for r in theirs)),
        "items/s ratio": spread(t.wall_s / o.wall_s for o, t in pairs),
        "client CPU µs/item": both(lambda r: r.cpu_s),
        "node CPU µs/item": both(lambda r: r.node_cpu_s),
        "requests /1k items": both(lambda r: r.http["requests"], 1000, 2),
        "KB sent /1k items": both(lambda r: r.http["sent"] / 1024, 1000),
        "peak RSS MB": f"{max(r.peak_rss for r in ours) / 2**20:.0f} / {max(r.peak_rss for r in theirs) / 2**20:.0f}",
        "scan phase items/s (model)": f"{statistics.median(scan):.0f} ({predicted:.0f})" if scan and predicted else "-",
    }


def main_rows(items: int, segment_counts: list[int], rounds: int) -> list[dict]:
    """Both servers started, the tables filled, ``compare`` run, the servers stopped."""
    from tests.servers import dynamodb_local, opensearch_node

    local, node = dynamodb_local.start(heap="3g"), opensearch_node.start(heap="1g")  # 500k items live in its heap
    try:
        client = boto3.client("dynamodb", endpoint_url=local.url, region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench")
        started = time.perf_counter()
        counts = fill(client, items)
        scanned = sum(counts[t] for t in REPLAYED)
        print(f"(filled {sum(counts.values()):,} items in {time.perf_counter() - started:.0f} s; a rebuild scans "
              f"{scanned:,}: {', '.join(f'{t} {counts[t]:,}' for t in REPLAYED)})", file=sys.stderr)
        return compare(local.url, node.url, scanned, segment_counts, rounds, (node.pid, local.pid))
    finally:
        node.stop()
        local.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500_000, help="items across the five tables")
    parser.add_argument("--segments", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    rows = main_rows(args.items, [int(s) for s in args.segments.split(",")], args.rounds)
    headers = list(rows[0])
    print("| " + " | ".join(headers) + " |\n|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in headers) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
