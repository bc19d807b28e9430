"""Document states built by hand, for store and sweep tests."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from dynafold.domain.aggregate import ROOT
from dynafold.domain.events import Slot
from dynafold.domain.source import SourceItem, SourceVersion
from dynafold.domain.state import AggregateState, Entry


def slot(role: str, item: SourceItem, via: Optional[SourceItem] = None) -> Slot:
    return Slot(ROOT if role == "root" else role, item, via)


def state(*entries: tuple[Slot, SourceVersion, Optional[Mapping[str, Any]]]) -> AggregateState:
    """``state((slot, version, data), ...)``: a tombstone where ``data`` is None."""
    return AggregateState({s.key: Entry(s, version, data) for s, version, data in entries})
