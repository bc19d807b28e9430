"""Domain events: immutable, state-carrying facts about one slot of one document.

An event says "in customer c1, order o-7 is now {status: shipped, total: 42}"
or "... is gone", never "add 1 to order_count": applying the latest state of
each slot is what makes the fold independent of delivery order. The engine
makes them from source records (``dynafold.domain.translation``); each names the
aggregate and document it belongs to, the slot (which item, in which role,
and for a join through which pointing item), the source version, and the
slice of the item the aggregate declared (``None`` when the item is gone,
left the document, or was not found by a join read).
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

import attrs

from dynafold.domain.source import SourceItem, SourceVersion


@attrs.frozen
class Slot:
    """Where in a document an item's slice lives: ``role`` (``$root``, a child
    collection or a join) and the item; join slots also name the pointing item
    (``via``), so two children pointing at one item keep separate slices."""

    role: str
    source: SourceItem
    via: Optional[SourceItem] = None
    key: str = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        key = f"{self.role}|{self.source.id}" if self.via is None else f"{self.role}|{self.source.id}|{self.via.id}"
        object.__setattr__(self, "key", key)

    @classmethod
    def from_key(cls, key: str) -> "Slot":
        role, _, rest = key.partition("|")
        decoder = json.JSONDecoder()
        _, end = decoder.raw_decode(rest)
        source = SourceItem.from_id(rest[:end])
        via = SourceItem.from_id(rest[end + 1:]) if end < len(rest) else None
        return cls(role, source, via)


@attrs.frozen
class Gate:
    """What a pointing item's record says about a join slot counts only while that record is the
    item's latest in the document: ``member`` (the pointing item's slot key) must be at ``version``."""

    member: str
    version: SourceVersion


@attrs.frozen
class DomainEvent:
    """``gate`` marks an event a pointing item's record makes about a join slot (its join read, or
    its leaving the slot); ``forget`` (with a gate) says the pointer left: the slot is dropped, so a
    pointer that comes back starts from its own read, never from what the slot held before."""

    aggregate: str
    document: str
    slot: Slot
    version: SourceVersion
    state: Optional[Mapping[str, Any]]
    expired: bool = False
    gate: Optional[Gate] = None
    forget: bool = False

    @property
    def removed(self) -> bool:
        return self.state is None

    @property
    def source(self) -> SourceItem:
        return self.slot.source
