"""Re-deriving a stored document from a consistent read of the items it holds.

An independent second opinion on a document: read every source item its
state names, translate them afresh, fold from empty, derive, compare. The
rebuild's sample check and ``verify`` use it.
"""

from __future__ import annotations

import time
from typing import Any, Optional

from domain.aggregate import Aggregate
from domain.fold import fold
from domain.model import Model
from domain.state import AggregateState
from projector.lookup import DynamoLookup
from projector.records import scanned_record
from projector.stores.base import StoredDocument


def rederive(model: Model, client: Any, aggregate: Aggregate, stored: StoredDocument,
             t_start_us: Optional[int] = None) -> Optional[dict]:
    t_start_us = t_start_us if t_start_us is not None else int(time.time() * 1_000_000)
    sources = [entry.source for entry in stored.state if entry.source.table in model.tables]
    lookup = DynamoLookup(client, model)
    lookup.prefetch(sources)
    events = []
    for source in sources:
        image = lookup.item(source)
        if image is None:
            continue
        record = scanned_record(model.table(source.table), image, t_start_us)
        for event in model.translators[source.table].translate(record, lookup):
            if stored.key.id in set(aggregate.routes(event)):
                events.append(event)
    return aggregate.document(stored.key.id, fold(aggregate, AggregateState(), events))
