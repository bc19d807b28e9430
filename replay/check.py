"""Re-deriving a stored document from a consistent read of the items it holds.

An independent second opinion on a document: read every source item its
state names, translate them afresh, fold from empty, derive, compare. The
rebuild's sample check and ``verify`` use it.
"""

from __future__ import annotations

import time
from typing import Any, Iterable, Optional

from domain.aggregate import Aggregate
from domain.fold import fold
from domain.model import Model
from domain.source import SourceItem
from domain.state import AggregateState
from projector.lookup import DynamoLookup
from projector.records import scanned_record
from projector.stores.base import StoredDocument


def rederive_state(model: Model, client: Any, aggregate: Aggregate, doc_id: str, sources: Iterable[SourceItem],
                   t_start_us: Optional[int] = None) -> tuple[AggregateState, set[str]]:
    """The state a document has when its source items are read now; and which of them exist."""
    t_start_us = t_start_us if t_start_us is not None else int(time.time() * 1_000_000)
    sources = sorted({s.id: s for s in sources if s.table in model.tables}.values(), key=lambda s: s.id)
    lookup = DynamoLookup(client, model)
    lookup.prefetch(sources)
    events, existing = [], set()
    for source in sources:
        image = lookup.item(source)
        if image is None:
            continue
        existing.add(source.id)
        record = scanned_record(model.table(source.table), image, t_start_us)
        for event in model.translators[source.table].translate(record, lookup):
            if doc_id in set(aggregate.routes(event)):
                events.append(event)
    return fold(aggregate, AggregateState(), events), existing


def rederive(model: Model, client: Any, aggregate: Aggregate, stored: StoredDocument,
             t_start_us: Optional[int] = None) -> Optional[dict]:
    state, _ = rederive_state(model, client, aggregate, stored.key.id, [e.source for e in stored.state], t_start_us)
    return aggregate.document(stored.key.id, state)
