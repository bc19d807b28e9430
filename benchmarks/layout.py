"""What keeping the engine's object out of readers' ``_source`` costs the write path, on the real node.

The same 1,000 customer documents of 8 orders each (the sample model,
folded from ``benchmarks.workloads``) go to two targets of one node, one
per layout (``layout``): this release's (the object in stored fields,
``_source.excludes``) and the first (the object in ``_source``). Each target
is filled once, then both are overwritten conditionally, in turn
(``benchmarks.pairs``), every round writing all 1,000 documents ``PASSES``
times (one ``store.write`` each) and loading them back once
(``store.reload``). Reported per pass, as this layout / the first: bytes
sent, the node's CPU (``/proc``), the wall time of the write and of the
load, and each index's size after a flush and a merge to one segment.

These pairs do not hold still: with one pass per round (0.2-0.3 s) the
node's CPU ratio ranged 1.01-2.37 over nine pairs, with five 0.89-2.77, a
merge landing in one side's round or the other's. The full benchmark's
runs before and after a layout change are the steadier measure.

    python -m benchmarks.layout [--opensearch URL --node-pid PID] [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any, Callable

import attrs

from benchmarks.pairs import ROUNDS, alternate, spread
from benchmarks.rebuild import group_cpu_s
from benchmarks.workloads import batches, clustered
from dynafold.handlers.stream import make_handler
from dynafold.projector.runtime import build_projector
from dynafold.projector.stores.base import DocKey, DocumentWrite, Written
from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
from dynafold.projector.stores.opensearch.layout import FIRST_LAYOUT_META
from dynafold.projector.stores.opensearch.mappings import META, index_body
from dynafold.projector.stores.opensearch.store import OpenSearchStore
from dynafold.sample import CUSTOMER, MODEL
from dynafold.testing.store_contract.records import customer_record

CUSTOMERS, ORDERS_EACH = 1_000, 8
PASSES = 5


@attrs.frozen
class Round:
    sent_bytes: float
    write_cpu_s: float
    load_cpu_s: float
    write_s: float
    load_s: float


def documents() -> list:
    """The customer documents (state and body) the sample model folds from the clustered workload."""
    memory = MemoryStore()
    projector = build_projector(MODEL, memory, MemoryQuarantine(), aggregates=["customer"])
    handle = make_handler(lambda: projector, emit=lambda *a: None)
    customers = [customer_record(i + 1, f"c{i:05d}", f"Customer {i}") for i in range(CUSTOMERS)]
    for chunk in batches(customers, 1_000) + batches(clustered(CUSTOMERS * ORDERS_EACH, CUSTOMERS), 1_000):
        if handle({"Records": chunk}, None)["batchItemFailures"]:
            raise RuntimeError("the workload did not fold")
    return list(memory.stored(memory.targets("customer").read))


class Side:
    """One target in one layout, with the tokens of its documents."""

    def __init__(self, store: OpenSearchStore, target: str, docs: list, node_pid: int) -> None:
        self.store, self.target, self.docs, self.node_pid = store, target, docs, node_pid
        self.tokens: dict[str, Any] = {}
        self.sent = 0
        transport = store.client.transport
        original = transport.perform_request

        def counting(method: str, url: str, *args: Any, body: Any = None, **kwargs: Any) -> Any:
            if url.endswith("/_bulk"):
                self.sent += len(body.encode() if isinstance(body, str) else body or b"")
            return original(method, url, *args, body=body, **kwargs)

        transport.perform_request = counting

    def write_all(self) -> None:
        writes = [DocumentWrite(DocKey(self.target, d.key.id), self.tokens.get(d.key.id), d.state, d.body)
                  for d in self.docs]
        outcomes = self.store.write(writes)
        for key, outcome in outcomes.items():
            if not isinstance(outcome, Written):
                raise RuntimeError(f"{self.target}: {key.id} not written: {outcome}")
            self.tokens[key.id] = outcome.token

    def round(self) -> Round:
        sent, cpu = self.sent, group_cpu_s(self.node_pid)
        started = time.perf_counter()
        for _ in range(PASSES):
            self.write_all()
        written, written_cpu = time.perf_counter(), group_cpu_s(self.node_pid)
        loaded = self.store.reload([DocKey(self.target, d.key.id) for d in self.docs])
        done, done_cpu = time.perf_counter(), group_cpu_s(self.node_pid)
        if len(loaded) != len(self.docs):
            raise RuntimeError(f"{self.target}: loaded {len(loaded)} of {len(self.docs)}")
        return Round((self.sent - sent) / PASSES, (written_cpu - cpu) / PASSES, done_cpu - written_cpu,
                     (written - started) / PASSES, done - written)

    def size_mb(self) -> float:
        index = self.store.names.index(self.target)
        self.store.client.indices.flush(index=index)
        self.store.client.indices.forcemerge(index=index, max_num_segments=1)
        stats = self.store.client.indices.stats(index=index, metric="store")
        return stats["indices"][index]["primaries"]["store"]["size_in_bytes"] / 2**20


def first_layout_body(target: str) -> dict:
    body = index_body(CUSTOMER, target)
    del body["mappings"]["_source"]
    body["mappings"]["properties"][META] = FIRST_LAYOUT_META
    return body


def compare(url: str, node_pid: int, rounds: int) -> dict[str, str]:
    docs = documents()
    store = OpenSearchStore.from_url(url)
    store.prepare([CUSTOMER])
    current = Side(store, store.targets("customer").write[0], docs, node_pid)
    first = "customer_v0"
    store.client.indices.create(index=store.names.index(first), body={
        **first_layout_body(first), "aliases": {store.names.writer(first): {"is_hidden": True}}})
    old = Side(OpenSearchStore.from_url(url), first, docs, node_pid)
    old.store.prepare([CUSTOMER])
    for side in (current, old):
        side.write_all()  # the first layout's target learns its layout on its first (refused) write
    pairs = alternate(current.round, old.round, rounds)

    def both(value: Callable[[Round], float], scale: float, unit: str, digits: int = 0) -> str:
        ours = statistics.median(value(a) for a, _ in pairs) * scale
        theirs = statistics.median(value(b) for _, b in pairs) * scale
        ratio = spread(value(a) / value(b) for a, b in pairs)
        return f"{ours:,.{digits}f} / {theirs:,.{digits}f} {unit} ({ratio})"

    sizes = current.size_mb(), old.size_mb()
    return {
        "documents": f"{len(docs):,} customers, {sum(len(d.body.get('orders') or []) for d in docs):,} orders",
        "bytes sent per pass": both(lambda r: r.sent_bytes, 1 / 1024, "KB"),
        "node CPU per write pass": both(lambda r: r.write_cpu_s, 1000, "ms"),
        "write wall time per pass": both(lambda r: r.write_s, 1000, "ms"),
        "load (_mget) wall time": both(lambda r: r.load_s, 1000, "ms"),
        "node CPU per load": both(lambda r: r.load_cpu_s or 1e-9, 1000, "ms"),
        f"index size after {PASSES * (rounds + 1) + 1} writes of each document, a flush and a merge":
            f"{sizes[0]:.2f} / {sizes[1]:.2f} MB ({sizes[0] / sizes[1]:.2f})",
    }


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--opensearch", help="a node's URL (default: start the test node)")
    parser.add_argument("--node-pid", type=int, help="the node's process group, for its CPU")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    node = None
    if args.opensearch is None:
        from tests.servers import opensearch_node

        node = opensearch_node.start(heap="1g")
        url, pid = node.url, node.pid
    else:
        url, pid = args.opensearch, args.node_pid
    try:
        rows = compare(url.replace("http://", "opensearch+http://", 1) if url.startswith("http://") else url, pid,
                       args.rounds)
    finally:
        if node is not None:
            node.stop()
    print("| measure | this layout / the first (ratio, median and range of the pairs) |\n|---|---|")
    for name, value in rows.items():
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
