"""The fold: apply events to one document's state under per-slot watermarks.

An event is applied only if its source version is newer than the watermark
of its slot, and it replaces only that slot. Stale and duplicate events
change nothing; events of different slots commute; the visible document is
derived from the slices. So the result depends on the latest event per slot
only, never on arrival order.

One refinement for joins: what a pointing item's record says about a join
slot (its join read; its pointer leaving) is *gated* on that record being
the pointing item's latest in the document. A pointer that leaves drops the
slot, and a pointer that comes back starts from its own read. Without that,
a joined-item record from the pointer's previous life could outrank the new
read in a one-second tie and stay, because the joined item's later records
found no pointer to fan out to. Gated events still converge under any
redelivery a stream reader makes (a record is delivered again only with the
records after it), because the latest record's own events always pass.
"""

from __future__ import annotations

from typing import Iterable

from domain.events import DomainEvent
from domain.state import AggregateState, Entry


def fold(state: AggregateState, events: Iterable[DomainEvent]) -> AggregateState:
    """The state after ``events``; the same object when none of them was new."""
    entries = None
    for event in events:
        key = event.slot.key
        held = state.entries if entries is None else entries
        if event.gate is not None:
            member = held.get(event.gate.member)
            if member is None or member.version != event.gate.version:
                continue
            if event.forget:
                if key in held:
                    if entries is None:
                        entries = dict(state.entries)
                    del entries[key]
                continue
        current = held.get(key)
        if current is not None and event.version <= current.version:
            continue
        if entries is None:
            entries = dict(state.entries)
        entries[key] = Entry(event.slot, event.version, event.state)
    return state if entries is None else AggregateState(entries)
