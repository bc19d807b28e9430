"""A hot aggregate: 8 projectors adding orders to one customer at once; attempts per batch, and convergence."""

from __future__ import annotations

import random
import threading

from benchmarks.workloads import order_record
from dynafold.projector.engine.batch import Backoff, Projector
from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.sample import MODEL


def measure(projectors: int = 8, batches: int = 25, size: int = 20) -> dict:
    store = open_store("memory://")
    attempts = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        projector = Projector(MODEL, store, MemoryQuarantine(), backoff=Backoff(base=0.0005, cap=0.01, attempts=60),
                              rng=random.Random(n))
        for b in range(batches):
            records = [order_record(n * 100_000 + b * size + i, 0, 0) for i in range(size)]
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
