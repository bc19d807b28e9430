"""Translators: how the records of one table become domain events.

A translator is two plain functions. ``needs`` names the lookups a record will
make, so the projector can fetch them for a whole batch at once; ``translate``
turns one record into events and raises ``TranslationError`` when the record
cannot be understood (the record is then quarantined, never dropped).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping, Optional

import attrs

from domain.events import DomainEvent
from domain.lookup import Lookup, Need
from domain.records import SourceRecord


class TranslationError(ValueError):
    """The record's contents do not fit the table's model (bad types, missing keys)."""


def _no_needs(record: SourceRecord) -> Iterable[Need]:
    return ()


@attrs.frozen
class Translator:
    table: str
    translate: Callable[[SourceRecord, Lookup], list[DomainEvent]]
    needs: Callable[[SourceRecord], Iterable[Need]] = _no_needs


_TYPES = {
    "S": (str,),
    "N": (Decimal,),
    "BOOL": (bool,),
}
_TYPE_NAMES = {str: "S", Decimal: "N", bool: "BOOL", bytes: "B", list: "L", dict: "M", type(None): "NULL"}


def _type_name(value: Any) -> str:
    if isinstance(value, (set, frozenset)):
        return "set"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


@lru_cache(maxsize=None)
def _allowed(types: tuple[str, ...]) -> tuple[type, ...]:
    return tuple(t for kind in types for t in _TYPES[kind])


def attribute(image: Mapping[str, Any], name: str, *types: str, required: bool = False) -> Any:
    """The attribute's value if it has one of the DynamoDB ``types``; None when absent.

    A NULL attribute counts as absent. Any other type is a ``TranslationError``
    naming the attribute, the expected and the actual type (never the value:
    values may be personal data).
    """
    value = image.get(name)
    if value is None:
        if required:
            raise TranslationError(f"attribute {name!r} is missing")
        return None
    allowed = _allowed(types)
    if type(value) in allowed:
        return value
    if isinstance(value, bool) and bool not in allowed:
        raise TranslationError(f"attribute {name!r} must be {'|'.join(types)}, not BOOL")
    if not isinstance(value, allowed):
        raise TranslationError(f"attribute {name!r} must be {'|'.join(types)}, not {_type_name(value)}")
    return value


def declared_version(image: Optional[Mapping[str, Any]], name: str) -> int:
    """A declared version attribute as an integer (0 when the item has none yet)."""
    if image is None:
        return 0
    value = attribute(image, name, "N")
    if value is None:
        return 0
    if value != value.to_integral_value():
        raise TranslationError(f"version attribute {name!r} must be an integer")
    return int(value)
