"""The lookup port: reads on the source tables that joins and fan-outs need.

A join (a lesson shows its song) needs a consistent read of the joined item;
a fan-out (a song renamed updates all its lessons) needs a query on an index
of the pointing table. The domain says *what* to read; the projector decides
*how* (batched, with retries), so the translation stays free of I/O.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Protocol, Union

import attrs

from dynafold.domain.source import KeyValue, SourceItem


@attrs.frozen
class IndexQuery:
    """Every item of ``table`` whose index ``index`` has the key ``key`` ((attribute, value) pairs)."""

    table: str
    index: str
    key: tuple[tuple[str, KeyValue], ...]


Need = Union[SourceItem, IndexQuery]


class LookupUnavailable(Exception):
    """A lookup could not be answered now (throttling, network): retry the record later."""


class Lookup(Protocol):
    def item(self, source: SourceItem) -> Optional[Mapping[str, Any]]:
        """The item as it is now (a strongly consistent read), or None if absent."""

    def items(self, sources: Iterable[SourceItem]) -> Mapping[str, Optional[Mapping[str, Any]]]:
        """Several items as they are now, by source id (absent ones map to None)."""

    def query(self, query: IndexQuery) -> list[Mapping[str, Any]]:
        """The items the index holds for the key (eventually consistent)."""
