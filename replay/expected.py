"""The documents the tables imply right now: a replay into a memory store.

``verify`` compares a store with these; the demo checks itself with them.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Optional

from domain.model import Model
from projector.batch import Projector
from projector.lookup import DynamoLookup
from projector.quarantine import MemoryQuarantine
from projector.stores.memory import MemoryStore
from replay.scan import scan_decoder, scan_pages


def expected_documents(
    model: Model, client: Any, aggregates: Optional[Iterable[str]] = None
) -> dict[str, dict[str, dict]]:
    names = sorted(aggregates or model.aggregates)
    t_start_us = int(time.time() * 1_000_000)
    result = {}
    for name in names:
        aggregate = model.aggregate(name)
        store = MemoryStore()
        projector = Projector(
            model, store, MemoryQuarantine(), lookup_factory=lambda: DynamoLookup(client, model), aggregates=[name]
        )
        for table in aggregate.replay_tables:
            decode = scan_decoder(model.table(table), t_start_us)
            for page in scan_pages(client, table):
                report = projector.project(page.items, decode=decode, source="scan")
                if report.failed_from is not None:
                    raise RuntimeError(f"replay of {table} failed: {report.failure_reason}")
        read = store.targets(name).read
        result[name] = {d.key.id: dict(d.body) for d in store.stored(read) if d.body is not None}
    return result
