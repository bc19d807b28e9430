"""The aggregate definition: which events make a document, and what it shows.

An aggregate declares everything about its documents that is not the fold
itself: how an event is routed to document ids, which attributes of each
source table it may hold (the allowlist: nothing else leaves DynamoDB), how
the visible document is derived from the slices, and the shape of that
document (which the stores turn into mappings and search columns).
"""

from __future__ import annotations

import enum
import re
from typing import Any, Callable, Iterable, Mapping, Optional

import attrs

from domain.events import DomainEvent
from domain.source import SourceItem
from domain.state import AggregateState, Entry

RESERVED_FIELD = "dynafold"


class FieldKind(enum.Enum):
    KEYWORD = "keyword"  # exact value: ids, codes, enums
    TEXT = "text"  # full-text searchable (with an exact keyword subfield)
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"  # exact decimal number (money)
    DATETIME = "datetime"  # ISO-8601 string
    KEYWORDS = "keywords"  # list of exact values
    OBJECTS = "objects"  # list of objects with declared subfields


@attrs.frozen
class Field:
    name: str
    kind: FieldKind
    fields: tuple["Field", ...] = ()


class ProjectionError(Exception):
    """An aggregate broke its own declaration (a bug in the model, not in the data)."""


@attrs.frozen
class AggregateView:
    """What ``derive`` sees: the document id and its live slices."""

    id: str
    state: AggregateState
    root: Entry

    def live(self, table: str) -> list[Entry]:
        return self.state.live(table)

    def get(self, table: str, **key: Any) -> Optional[Entry]:
        return self.state.get(SourceItem.of(table, key))


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_name(instance: Any, attribute: Any, value: str) -> None:
    if not _NAME.match(value):
        raise ValueError(f"aggregate name {value!r} must match {_NAME.pattern}")


def _check_fields(instance: Any, attribute: Any, value: tuple[Field, ...]) -> None:
    names = [f.name for f in value]
    if RESERVED_FIELD in names:
        raise ValueError(f"field name {RESERVED_FIELD!r} is reserved for dynafold's own metadata")
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate field names in {names}")


@attrs.frozen
class Aggregate:
    """One kind of view document.

    ``version`` is the schema version: bump it when ``derive`` or ``fields``
    change, and rebuild (a new physical index per version). ``root`` is the
    table whose item makes a document visible; while it is absent or removed
    the document is a hidden tombstone document.
    """

    name: str = attrs.field(validator=_check_name)
    version: int
    root: str
    sources: Mapping[str, frozenset[str]]
    fields: tuple[Field, ...] = attrs.field(validator=_check_fields)
    route: Callable[[DomainEvent], Iterable[str]]
    derive: Callable[[AggregateView], Mapping[str, Any]]
    scan_tables: tuple[str, ...] = ()

    @property
    def tables(self) -> frozenset[str]:
        return frozenset(self.sources)

    @property
    def replay_tables(self) -> tuple[str, ...]:
        """Tables a replay scans: by default every source table."""
        return self.scan_tables or tuple(sorted(self.sources))

    def routes(self, event: DomainEvent) -> Iterable[str]:
        if event.source.table not in self.sources:
            return ()
        return self.route(event)

    def slice(self, event: DomainEvent) -> Optional[Mapping[str, Any]]:
        """The part of the event's state this aggregate may keep (its allowlist)."""
        state = event.state()
        if state is None:
            return None
        allowed = self.sources[event.source.table]
        return {name: value for name, value in state.items() if name in allowed}

    def document(self, doc_id: str, state: AggregateState) -> Optional[dict[str, Any]]:
        """The visible document, or ``None`` while the root item does not exist."""
        roots = state.live(self.root)
        if not roots:
            return None
        if len(roots) > 1:
            raise ProjectionError(
                f"aggregate {self.name!r} document {doc_id!r} has {len(roots)} live {self.root!r} items; "
                "its route sends more than one root item to one document"
            )
        body = dict(self.derive(AggregateView(doc_id, state, roots[0])))
        declared = [f.name for f in self.fields]
        if body.keys() != set(declared):
            extra = sorted(set(body) - set(declared))
            missing = sorted(set(declared) - set(body))
            raise ProjectionError(
                f"aggregate {self.name!r} derived fields that do not match its declaration "
                f"(undeclared: {extra}, missing: {missing})"
            )
        return {name: body[name] for name in declared}
