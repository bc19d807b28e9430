"""The pure core of dynafold: declarations (tables, aggregates), source items
and versions, domain events, the translation and the fold. Nothing here
performs I/O."""

from domain.aggregate import Aggregate, ProjectionError
from domain.declarations import Children, Join
from domain.events import DomainEvent, Slot
from domain.fold import fold
from domain.kinds import Field, FieldKind, TranslationError
from domain.lookup import IndexQuery, Lookup, LookupUnavailable
from domain.model import Model
from domain.records import Origin, RecordRef, SourceRecord
from domain.source import SourceItem, SourceVersion
from domain.state import AggregateState, Entry
from domain.tables import Entity, Index, ModelError, Table, prefix
from domain.translation import Translator

__all__ = [
    "Aggregate",
    "AggregateState",
    "Children",
    "DomainEvent",
    "Entity",
    "Entry",
    "Field",
    "FieldKind",
    "Index",
    "IndexQuery",
    "Join",
    "Lookup",
    "LookupUnavailable",
    "Model",
    "ModelError",
    "Origin",
    "ProjectionError",
    "RecordRef",
    "Slot",
    "SourceItem",
    "SourceRecord",
    "SourceVersion",
    "Table",
    "TranslationError",
    "Translator",
    "fold",
    "prefix",
]
