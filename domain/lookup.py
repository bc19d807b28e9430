"""The lookup port: reads on the source tables that some translators need.

A join (a lesson shows its song) needs a consistent read of the joined item;
a fan-out (a song renamed updates all its lessons) needs a query on an index.
The domain says *what* to read; the projector decides *how* (batched, with
retries), so translators stay free of I/O libraries.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Protocol, Union

import attrs

from domain.source import KeyValue, SourceItem


@attrs.frozen
class IndexQuery:
    """Every item of ``table`` whose ``attribute`` equals ``value``, through ``index``."""

    table: str
    index: str
    attribute: str
    value: KeyValue


Need = Union[SourceItem, IndexQuery]


class LookupUnavailable(Exception):
    """A lookup could not be answered now (throttling, network): retry the record later."""


class Lookup(Protocol):
    def item(self, source: SourceItem) -> Optional[Mapping[str, Any]]:
        """The item as it is now (a strongly consistent read), or None if absent."""

    def query(self, query: IndexQuery) -> list[Mapping[str, Any]]:
        """The items the index holds for the value (eventually consistent)."""
