"""What an aggregate document knows about its sources: one entry per source item.

An entry is the item's watermark (the highest source version applied) and,
unless the item was removed, its slice. A removed item keeps its entry as a
tombstone so a late record cannot resurrect it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Iterator, Mapping, Optional

import attrs

from domain.source import SourceItem, SourceVersion


@attrs.frozen
class Entry:
    source: SourceItem
    version: SourceVersion
    data: Optional[Mapping[str, Any]]

    @property
    def removed(self) -> bool:
        return self.data is None


def _frozen_entries(entries: Mapping[str, Entry]) -> Mapping[str, Entry]:
    return MappingProxyType(dict(entries))


@attrs.frozen
class AggregateState:
    """The entries of one document, by source item id."""

    entries: Mapping[str, Entry] = attrs.field(factory=dict, converter=_frozen_entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, source: SourceItem) -> Optional[Entry]:
        return self.entries.get(source.id)

    def live(self, table: str) -> list[Entry]:
        """Live entries of one table, in a fixed order (by source id)."""
        return sorted(
            (e for e in self.entries.values() if e.source.table == table and not e.removed),
            key=lambda e: e.source.id,
        )

    def without_tombstones_before(self, cutoff_us: int) -> "AggregateState":
        """Drop tombstones whose removal is older than ``cutoff_us`` (the sweep)."""
        kept = {
            sid: e
            for sid, e in self.entries.items()
            if not (e.removed and e.version.created_at_us < cutoff_us)
        }
        return self if len(kept) == len(self.entries) else AggregateState(kept)

    def to_json(self) -> dict[str, Any]:
        return {
            sid: [e.version.to_json(), None if e.data is None else dict(e.data)]
            for sid, e in self.entries.items()
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "AggregateState":
        return cls(
            {
                sid: Entry(SourceItem.from_id(sid), SourceVersion.from_json(version), data)
                for sid, (version, data) in value.items()
            }
        )
