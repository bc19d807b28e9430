"""Replay against the bare scan of the same pages, over real scan responses.

moto's HTTP server (its own process, as DynamoDB is) holds a customers
table; the baseline reads every page of it (``Scan``, pages of 1,000) and
does nothing else; the replay reads the same pages and projects them into
SQLite through the full engine, reading the next page while it stores this
one. Reported: items/s of each, their ratio, and the replay's peak Python
heap (tracemalloc) at two table sizes: flat means bounded by the page.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc

import boto3

from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.aws.provision import create_tables
from dynafold.projector.stores.memory import MemoryCheckpoints, MemoryQuarantine
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.replay.job import ReplayJob
from dynafold.replay.scan import scan_pages
from dynafold.sample import MODEL

PAGE = 1000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MotoServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start")

    def client(self):
        return boto3.client("dynamodb", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="bench", aws_secret_access_key="bench")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def _fill(client, items: int, start: int) -> None:
    for base in range(start, start + items, 25):
        client.batch_write_item(RequestItems={"customers": [
            {"PutRequest": {"Item": {"customer_id": {"S": f"c{i:08d}"}, "name": {"S": f"Name {i}"},
                                     "email": {"S": f"u{i}@example.com"}, "country": {"S": "NL"},
                                     "marketing_opt_in": {"BOOL": True}, "version": {"N": "1"},
                                     "password_hash": {"S": "x" * 60}}}}
            for i in range(base, min(start + items, base + 25))]})


def _replay(client, traced: bool):
    """(seconds, summary) of one replay into a fresh SQLite file; with ``traced``, (peak heap bytes, summary)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(f"sqlite:///{tmp}/replay.db")
        job = ReplayJob(MODEL, store, MemoryQuarantine(), client, MemoryCheckpoints(),
                        lookup_factory=lambda: DynamoLookup(client, MODEL), segments=1, page_size=PAGE)
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        summary = job.run("customer")
        elapsed = time.perf_counter() - started
        if traced:
            elapsed = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        store.close()
    return elapsed, summary


def compare(sizes=(20_000, 60_000)) -> list[dict]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    server = MotoServer()
    rows = []
    try:
        client = server.client()
        create_tables(client, MODEL)
        filled = 0
        for size in sizes:
            _fill(client, size - filled, filled)
            filled = size
            started = time.perf_counter()
            scanned = sum(len(page.items) for page in scan_pages(client, "customers", limit=PAGE))
            bare = time.perf_counter() - started
            replay, summary = _replay(client, traced=False)
            peak, _ = _replay(client, traced=True)
            assert summary.items == scanned == size, (summary.items, scanned, size)
            rows.append({"items": f"{size:,}", "bare scan items/s": round(size / bare), "replay items/s": round(size / replay),
                         "ratio": round(bare / replay, 2), "goal": ">= 0.9", "replay peak heap MB": round(peak / 2**20, 1)})
    finally:
        server.close()
    return rows
