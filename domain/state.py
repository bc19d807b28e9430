"""What a document knows about its sources: one entry per slot.

An entry is the slot's watermark (the highest source version applied) and,
unless the item was removed from the slot, its slice. A removed item keeps
its entry as a tombstone so a late record cannot resurrect it. A join slot's
entry can be *settled*: its slice was read again after the document was
loaded (see ``dynafold.domain.fold.settle``), so it is at least as new as its version.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterator, Mapping, Optional

import attrs

from dynafold.domain.events import Slot
from dynafold.domain.source import SourceVersion


@attrs.frozen
class Entry:
    slot: Slot
    version: SourceVersion
    data: Optional[Mapping[str, Any]]
    settled: bool = False

    @property
    def read(self) -> bool:
        """The slice came from a read (a join read, a scan row, a settling read), not a stream record:
        it may be newer than its version says."""
        return self.settled or self.version.sequence == 0

    @property
    def removed(self) -> bool:
        return self.data is None

    @property
    def source(self):
        return self.slot.source


def _frozen_entries(entries: Mapping[str, Entry]) -> Mapping[str, Entry]:
    return MappingProxyType(dict(entries))


@attrs.frozen
class AggregateState:
    """The entries of one document, by slot key."""

    entries: Mapping[str, Entry] = attrs.field(factory=dict, converter=_frozen_entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, slot: Slot) -> Optional[Entry]:
        return self.entries.get(slot.key)

    def live(self, role: str) -> list[Entry]:
        """Live entries of one role, in a fixed order (by source id)."""
        return sorted(
            (e for e in self.entries.values() if e.slot.role == role and e.data is not None),
            key=lambda e: e.slot.source.id,
        )

    def without_tombstones_before(self, cutoff_us: int) -> "AggregateState":
        """Drop tombstones whose removal is older than ``cutoff_us`` (the sweep)."""
        kept = {
            key: e
            for key, e in self.entries.items()
            if not (e.data is None and e.version.created_at_us < cutoff_us)
        }
        return self if len(kept) == len(self.entries) else AggregateState(kept)

    def to_json(self) -> dict[str, Any]:
        return {key: [e.version.to_json(), None if e.data is None else dict(e.data)] + ([True] if e.settled else [])
                for key, e in self.entries.items()}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "AggregateState":
        return cls(
            {
                key: Entry(Slot.from_key(key), SourceVersion.from_json(stored[0]), stored[1],
                            len(stored) > 2 and stored[2] is True)
                for key, stored in value.items()
            }
        )
