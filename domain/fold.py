"""The fold: apply events to one document's state under per-source watermarks.

An event is applied only if its source version is newer than the watermark
of its source item, and it replaces only that item's slice. Stale and
duplicate events change nothing; events of different items commute; derived
fields are recomputed from the slices. So the result depends on the latest
event per source item only, never on arrival order.
"""

from __future__ import annotations

from typing import Iterable

from domain.aggregate import Aggregate
from domain.events import DomainEvent
from domain.state import AggregateState, Entry


def fold(aggregate: Aggregate, state: AggregateState, events: Iterable[DomainEvent]) -> AggregateState:
    """The state after ``events``; the same object when none of them was new."""
    entries = None
    for event in events:
        current = (state.entries if entries is None else entries).get(event.source.id)
        if current is not None and event.version <= current.version:
            continue
        if entries is None:
            entries = dict(state.entries)
        entries[event.source.id] = Entry(event.source, event.version, aggregate.slice(event))
    return state if entries is None else AggregateState(entries)
