"""Drift of the kinds ``verify --repair`` exists for, injected into converged documents.

A document deleted by hand, a field edited by hand, a slice lost (a record
discarded after its retries, a fan-out a lagging index hid), a document
that should not exist. Each is written straight to the store, with
watermarks no newer than the tables, as real drift would be.
"""

from __future__ import annotations

import random
from typing import Any

from dynafold.domain.model import Model
from dynafold.domain.state import AggregateState
from dynafold.projector.stores.base import DocKey, DocumentWrite


def inject(model: Model, store: Any, rng: random.Random) -> set[tuple[str, str]]:
    """Corrupt a few documents; returns the (aggregate, id) of those whose visible body changed."""
    changed: set[tuple[str, str]] = set()
    for name in sorted(model.aggregates):
        aggregate = model.aggregate(name)
        target = store.targets(name).read
        documents = [d for d in store.stored(target) if d.body is not None]
        rng.shuffle(documents)
        for kind, doc in zip(("delete", "edit", "lose"), documents):
            if kind == "delete":
                store.delete(doc.key, doc.token)
                changed.add((name, doc.key.id))
            elif kind == "edit":
                field = rng.choice(sorted(doc.body))
                store.write([DocumentWrite(doc.key, doc.token, doc.state, {**doc.body, field: "DRIFT"})])
                changed.add((name, doc.key.id))
            else:
                lost = [k for k, e in doc.state.entries.items() if e.data is not None and not k.startswith("$root|")]
                if not lost:
                    continue
                kept = {k: e for k, e in doc.state.entries.items() if k != rng.choice(lost)}
                state = AggregateState(kept)
                body = aggregate.document(doc.key.id, state)
                store.write([DocumentWrite(doc.key, doc.token, state, body)])
                if body != doc.body:
                    changed.add((name, doc.key.id))
        if documents:
            donor = documents[0]
            fake = DocKey(target, "drift-fabricated")
            store.write([DocumentWrite(fake, None, AggregateState(), {**(donor.body or {})})])
            changed.add((name, fake.id))
    return changed
