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

A join read is stamped with its pointing record's time, but it saw the joined
item as it was when it was made, later. Two outcomes of a fold can therefore
show an older state than one the document held, and ``settle`` names the join
slots where that can happen, so the writer reads the joined item again after
loading the document and before writing it (``freshen``):

- a joined item's stream record beats a read stamped with the same time: the
  read may have seen a later state that was fanned out nowhere, because the
  record's fan-out found the pointer elsewhere (a record from a previous life
  of the pointer);
- a pointer leaving dropped an entry newer than what then fills the slot: a
  read made before that entry's record, folded again after a lost race.

A read made after the load is newer than everything the loaded document held,
and every later record of the joined item outranks it and fans out to the
pointer, so the settled slice takes the newest version the fold weighed for
the slot (the winner's, or that of an entry a leaving pointer dropped),
marked ``settled``: a record delivered again is then no news.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional

import attrs

from dynafold.domain.events import DomainEvent, Slot
from dynafold.domain.source import SourceVersion
from dynafold.domain.state import AggregateState, Entry


@attrs.frozen
class Unsettled:
    """A join slot to read again, and the version its settled slice takes."""

    slot: Slot
    version: SourceVersion


def fold(state: AggregateState, events: Iterable[DomainEvent]) -> AggregateState:
    """The state after ``events``; the same object when none of them was new."""
    return settle(state, events)[0]


def settle(state: AggregateState, events: Iterable[DomainEvent]) -> tuple[AggregateState, tuple[Unsettled, ...]]:
    """The state after ``events``, and the join slots a read of the joined item taken now must settle."""
    entries = None
    reads: dict[str, set[int]] = {}  # join slot -> times of the reads it weighed
    dropped: dict[str, SourceVersion] = {}  # join slot -> newest version a leaving pointer dropped
    for event in events:
        key = event.slot.key
        held = state.entries if entries is None else entries
        joined = event.slot.via is not None
        if joined and key not in reads:
            reads[key] = set()
            stored = state.entries.get(key)
            if stored is not None and stored.read:
                reads[key].add(stored.version.created_at_us)
        if event.gate is not None:
            member = held.get(event.gate.member)
            if member is None or member.version != event.gate.version:
                continue
            if event.forget:
                if key in held:
                    gone = held[key].version
                    if key not in dropped or dropped[key] < gone:
                        dropped[key] = gone
                    if entries is None:
                        entries = dict(state.entries)
                    del entries[key]
                continue
        if joined and event.version.sequence == 0:
            reads[key].add(event.version.created_at_us)
        current = held.get(key)
        if current is not None and event.version <= current.version:
            continue
        if entries is None:
            entries = dict(state.entries)
        entries[key] = Entry(event.slot, event.version, event.state)
    after = state if entries is None else AggregateState(entries)
    return after, tuple(_unsettled(after, reads, dropped))


def _unsettled(after: AggregateState, reads: Mapping[str, set[int]],
               dropped: Mapping[str, SourceVersion]) -> Iterable[Unsettled]:
    for key, times in reads.items():
        final = after.entries.get(key)
        if final is None:
            continue
        if key in dropped and dropped[key] > final.version:
            yield Unsettled(final.slot, dropped[key])
        elif not final.read and final.version.created_at_us in times:
            yield Unsettled(final.slot, final.version)


def freshen(state: AggregateState, read: Iterable[tuple[Unsettled, Optional[Mapping[str, Any]]]]) -> AggregateState:
    """``state`` with each unsettled join slot holding what was read after the load, at its version."""
    entries = None
    for unsettled, data in read:
        key = unsettled.slot.key
        if key in state.entries:
            if entries is None:
                entries = dict(state.entries)
            entries[key] = Entry(unsettled.slot, unsettled.version, data, settled=True)
    return state if entries is None else AggregateState(entries)
