"""The documents the tables imply right now: a replay into a memory store.

The demo checks itself with these. (``verify`` replays into a scratch SQLite
file instead, so its memory stays bounded on large tables.)
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from dynafold.domain.model import Model
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.stores.memory import MemoryCheckpoints, MemoryQuarantine, MemoryStore
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.replay.job import ReplayJob


def replayed_documents(
    model: Model, client: Any, aggregates: Optional[Iterable[str]] = None, names: TableNames = IDENTITY
) -> dict[str, dict[str, dict]]:
    store = MemoryStore()
    job = ReplayJob(model, store, MemoryQuarantine(), client, MemoryCheckpoints(),
                    lookup_factory=lambda: DynamoLookup(client, model, names=names), segments=1, names=names)
    result = {}
    for name in sorted(aggregates or model.aggregates):
        job.run(name)
        result[name] = {d.key.id: dict(d.body) for d in store.stored(store.targets(name).read) if d.body is not None}
    return result
