"""Field kinds: what a declared attribute may hold, and how stores index it.

One declaration serves three purposes. It is the allowlist (an attribute no
aggregate declares never leaves DynamoDB), the type check on the way in (a
value of another DynamoDB type is a ``TranslationError`` naming the
attribute, so the record is quarantined instead of corrupting a document),
and the mapping on the way out (``Field`` values, which the stores turn into
OpenSearch mappings and SQLite search columns).
"""

from __future__ import annotations

import enum
import math
from decimal import Decimal
from typing import Any, Mapping, Union

import attrs

from dynafold.domain.geo import FORMS, NotAPoint, point


class TranslationError(ValueError):
    """The record's contents do not fit the model (bad types, missing keys)."""


class FieldKind(enum.Enum):
    KEYWORD = "keyword"  # exact value: ids, codes, enums (S or N)
    TEXT = "text"  # full-text searchable (with an exact keyword subfield)
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"  # exact decimal number (money)
    DATETIME = "datetime"  # ISO-8601 string
    KEYWORDS = "keywords"  # list of exact values (SS, NS or a list)
    OBJECTS = "objects"  # list of objects with declared subfields
    OBJECT = "object"  # one object with declared subfields
    GEO_POINT = "geo_point"  # a location: {"lat", "lon"}, "lat,lon" or a geohash; documents show {"lat", "lon"}


@attrs.frozen
class Field:
    """One field of a document, as the stores see it."""

    name: str
    kind: FieldKind
    fields: tuple["Field", ...] = ()


@attrs.frozen
class Kind:
    """A declared kind; ``objects`` and ``object`` carry their subfields."""

    kind: FieldKind
    subfields: tuple[tuple[str, "Kind"], ...] = ()

    def field(self, name: str) -> Field:
        return Field(name, self.kind, tuple(kind.field(sub) for sub, kind in self.subfields))


KindLike = Union[Kind, FieldKind]

keyword = Kind(FieldKind.KEYWORD)
text = Kind(FieldKind.TEXT)
boolean = Kind(FieldKind.BOOLEAN)
integer = Kind(FieldKind.INTEGER)
decimal = Kind(FieldKind.DECIMAL)
datetime = Kind(FieldKind.DATETIME)
keywords = Kind(FieldKind.KEYWORDS)
geo_point = Kind(FieldKind.GEO_POINT)


def objects(**subfields: KindLike) -> Kind:
    """A list of objects, each holding only the declared subfields (checked by ``as_kind`` when the
    aggregate is built, so a wrong one is named with its aggregate and field)."""
    return Kind(FieldKind.OBJECTS, tuple(subfields.items()))


def object_(**subfields: KindLike) -> Kind:
    """One object holding only the declared subfields."""
    return Kind(FieldKind.OBJECT, tuple(subfields.items()))


def as_kind(value: Any) -> Kind:
    if isinstance(value, Kind):
        if not value.subfields:
            return value
        checked = []
        for name, kind in value.subfields:
            try:
                checked.append((name, as_kind(kind)))
            except TypeError as error:
                raise TypeError(f"subfield {name!r}: {error}") from None
        return Kind(value.kind, tuple(checked))
    if isinstance(value, FieldKind):
        if value in (FieldKind.OBJECTS, FieldKind.OBJECT):
            raise TypeError(f"{value.value} needs its subfields: use objects(...) or object_(...)")
        return Kind(value)
    raise TypeError(f"not a field kind: {value!r}")


_TYPE_NAMES = {str: "S", Decimal: "N", bool: "BOOL", bytes: "B", list: "L", dict: "M"}


def _type_name(value: Any) -> str:
    if isinstance(value, (set, frozenset)):
        return "set"
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _fail(path: str, expected: str, value: Any) -> TranslationError:
    return TranslationError(f"attribute {path!r} must be {expected}, not {_type_name(value)}")


def _scalar(value: Any) -> bool:
    return type(value) is str or type(value) is Decimal


def accept(kind: Kind, value: Any, path: str) -> Any:
    """The value as a document holds it, or a ``TranslationError`` naming the path (never the value).

    NULL and absent are both ``None``. Sets become sorted lists (JSON has no
    sets); objects keep their declared subfields only.
    """
    if value is None:
        return None
    k = kind.kind
    if k is FieldKind.TEXT or k is FieldKind.DATETIME:
        if type(value) is str:
            return value
        raise _fail(path, "S", value)
    if k is FieldKind.KEYWORD:
        if _scalar(value):
            return value
        raise _fail(path, "S|N", value)
    if k is FieldKind.BOOLEAN:
        if type(value) is bool:
            return value
        raise _fail(path, "BOOL", value)
    if k is FieldKind.DECIMAL:
        if type(value) is Decimal:
            return value
        raise _fail(path, "N", value)
    if k is FieldKind.INTEGER:
        if type(value) is Decimal and value == value.to_integral_value():
            return int(value)
        raise _fail(path, "an integral N", value)
    if k is FieldKind.KEYWORDS:
        if isinstance(value, (set, frozenset)) and all(_scalar(v) for v in value):
            return sorted(value, key=lambda v: (type(v) is Decimal, v))
        if type(value) is list and all(_scalar(v) for v in value):
            return list(value)
        raise _fail(path, "SS|NS|a list of S or N", value)
    if k is FieldKind.OBJECT:
        if type(value) is dict:
            return _object(kind, value, path)
        raise _fail(path, "M", value)
    if k is FieldKind.GEO_POINT:
        if type(value) is dict or type(value) is str:
            try:
                return point(value)
            except NotAPoint as reason:
                raise TranslationError(f"attribute {path!r} must be a point ({FORMS}): {reason}") from None
        raise _fail(path, f"a point ({FORMS})", value)
    if k is FieldKind.OBJECTS:
        if type(value) is not list:
            raise _fail(path, "a list of M", value)
        result = []
        for index, item in enumerate(value):
            if type(item) is not dict:
                raise _fail(f"{path}[{index}]", "M", item)
            result.append(_object(kind, item, f"{path}[{index}]"))
        return result
    raise TypeError(f"unknown kind {k}")  # pragma: no cover - every FieldKind is handled above


_PLAIN_TYPES = {
    FieldKind.TEXT: frozenset({str}),
    FieldKind.DATETIME: frozenset({str}),
    FieldKind.KEYWORD: frozenset({str, Decimal}),
    FieldKind.BOOLEAN: frozenset({bool}),
    FieldKind.DECIMAL: frozenset({Decimal}),
}


def slicer(fields: tuple[tuple[str, Kind], ...]):
    """``image -> {field: value}`` for declared fields, with ``accept``'s checks: a value whose type is
    already the kind's own is taken as it is (the common case, and the hot path of every record)."""
    plan = tuple((name, kind, _PLAIN_TYPES.get(kind.kind, frozenset())) for name, kind in fields)

    def cut(image: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        get = image.get
        for name, kind, plain in plan:
            value = get(name)
            out[name] = value if value is None or type(value) in plain else accept(kind, value, name)
        return out

    return cut


_INT64 = range(-(2**63), 2**63)
_DERIVED_PLAIN = {
    FieldKind.TEXT: (str,),
    FieldKind.DATETIME: (str,),
    FieldKind.KEYWORD: (str, int, Decimal),
    FieldKind.BOOLEAN: (bool,),
    FieldKind.DECIMAL: (Decimal, int, float),
}


def derived_value(kind: Kind, value: Any, path: str) -> Any:
    """A value ``derive`` computed, held to its declared kind as every store will hold it, or a
    ``TranslationError`` naming the path (never the value).

    Python's own numbers are welcome (``int`` for integer and decimal, ``float`` for decimal), but a
    value of another type is refused on every store alike: SQLite would keep it and OpenSearch's
    mapping refuse it, and two stores of one model would disagree.
    """
    if value is None:
        return None
    k = kind.kind
    plain = _DERIVED_PLAIN.get(k)
    if plain is not None:
        if type(value) in (list, tuple):  # OpenSearch holds a list of values in any field
            return [_plain_value(k, plain, item, f"{path}[{index}]") for index, item in enumerate(value)]
        return _plain_value(k, plain, value, path)
    if k is FieldKind.INTEGER:
        if type(value) in (list, tuple):
            return [_integer(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return _integer(value, path)
    if k is FieldKind.GEO_POINT:
        if type(value) in (list, tuple):
            return [_derived_point(item, f"{path}[{index}]") for index, item in enumerate(value)]
        return _derived_point(value, path)
    if k is FieldKind.KEYWORDS:
        return _keywords(value, path)
    if k is FieldKind.OBJECT:
        if isinstance(value, Mapping):
            return _derived_object(kind, value, path)
        raise _wrong(path, "an object", value)
    if k is FieldKind.OBJECTS:
        if not isinstance(value, (list, tuple)):
            raise _wrong(path, "a list of objects", value)
        result = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise _wrong(f"{path}[{index}]", "an object", item)
            result.append(_derived_object(kind, item, f"{path}[{index}]"))
        return result
    raise TypeError(f"unknown kind {k}")  # pragma: no cover - every FieldKind is handled above


_EXACT = "a string, an integer or a finite Decimal"


def _keywords(value: Any, path: str) -> list:
    """A list of exact values, each checked where it stands (a set's elements, which have no place,
    are named by the set): a float is refused, as for ``keyword``, since its text is not exact
    (``0.1 + 0.2`` would be the keyword ``0.30000000000000004``)."""
    if isinstance(value, (set, frozenset)):
        for item in value:
            if not _exact(item):
                one = "None" if item is None else f"a {_name(item)}"
                raise TranslationError(f"derived field {path!r} must hold {_EXACT} only; one element of the set is {one}")
        return sorted(value, key=lambda v: (type(v) is not str, v))
    if not isinstance(value, (list, tuple)):
        raise _wrong(path, f"a list of exact values ({_EXACT})", value)
    for index, item in enumerate(value):
        if not _exact(item):
            raise _wrong(f"{path}[{index}]", _EXACT + (" (a float is not an exact value)" if type(item) is float else ""),
                         item)
    return list(value)


def _exact(item: Any) -> bool:
    return type(item) in (str, int) or (type(item) is Decimal and item.is_finite())


def _derived_point(value: Any, path: str) -> dict[str, Any]:
    try:
        return point(value, numbers=(int, float, Decimal))
    except NotAPoint as reason:
        raise TranslationError(f"derived field {path!r} must be a point ({FORMS}): {reason}") from None


def _integer(value: Any, path: str) -> int:
    if type(value) is Decimal and value.is_finite() and value == value.to_integral_value():
        value = int(value)
    if type(value) is int and value in _INT64:
        return value
    raise _wrong(path, "an integer (64-bit)", value)


def _plain_value(k: FieldKind, plain: tuple, value: Any, path: str) -> Any:
    if not isinstance(value, plain) or (type(value) is bool and k is not FieldKind.BOOLEAN):
        raise _wrong(path, k.value, value)
    if (type(value) is float and not math.isfinite(value)) or (type(value) is Decimal and not value.is_finite()):
        raise _wrong(path, f"a finite {k.value}", value)
    return value


def _wrong(path: str, expected: str, value: Any) -> TranslationError:
    return TranslationError(f"derived field {path!r} must be {expected}, not {_name(value)}")


def _name(value: Any) -> str:
    """What a refused value is, never the value itself: its type's name (``None`` for none)."""
    return "None" if value is None else type(value).__name__


def _derived_object(kind: Kind, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    declared = {name for name, _ in kind.subfields}
    for name in value:
        if name not in declared:
            raise TranslationError(f"derived field {path!r} holds the undeclared subfield {str(name)[:64]!r}")
    return {name: derived_value(sub, value[name], f"{path}.{name}") for name, sub in kind.subfields if name in value}


def _object(kind: Kind, value: Mapping[str, Any], path: str) -> dict[str, Any]:
    return {name: accept(sub, value.get(name), f"{path}.{name}") for name, sub in kind.subfields}
