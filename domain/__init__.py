"""The pure core of dynafold: source items and versions, domain events,
aggregate definitions and the fold. Nothing here performs I/O."""

from domain.aggregate import Aggregate, AggregateView, Field, FieldKind, ProjectionError
from domain.events import DomainEvent, ItemChanged, ItemRemoved, routing
from domain.fold import fold
from domain.lookup import IndexQuery, Lookup, LookupUnavailable
from domain.model import Model, SecondaryIndex, TableSpec
from domain.records import Origin, RecordRef, SourceRecord
from domain.source import SourceItem, SourceVersion
from domain.state import AggregateState, Entry
from domain.translation import TranslationError, Translator, attribute, declared_version

__all__ = [
    "Aggregate",
    "AggregateState",
    "AggregateView",
    "DomainEvent",
    "Entry",
    "Field",
    "FieldKind",
    "IndexQuery",
    "ItemChanged",
    "ItemRemoved",
    "Lookup",
    "LookupUnavailable",
    "Model",
    "Origin",
    "ProjectionError",
    "RecordRef",
    "SecondaryIndex",
    "SourceItem",
    "SourceRecord",
    "SourceVersion",
    "TableSpec",
    "TranslationError",
    "Translator",
    "attribute",
    "declared_version",
    "fold",
    "routing",
]
