"""Where a piece of information comes from, and how new it is.

A source item is one DynamoDB item (table + primary key). A source version
orders everything ever said about one source item, whether it came from a
stream record, a table scan, an export or a consistent read.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any, Mapping, Union

import attrs

KeyValue = Union[str, Decimal, bytes]

ONE_SECOND_US = 1_000_000


_quote = json.encoder.py_encode_basestring if json.encoder.c_encode_basestring is None else json.encoder.c_encode_basestring


def _key_value(value: Any) -> KeyValue:
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int, bytes)):
        raise TypeError(f"key values are S, N or B, not {type(value).__name__}")
    if isinstance(value, int):
        return Decimal(value)
    return value


def _canonical(value: KeyValue) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return {"N": format(value.normalize(), "f")}
    return {"B": base64.b64encode(value).decode("ascii")}


def _uncanonical(value: Any) -> KeyValue:
    if isinstance(value, str):
        return value
    if "N" in value:
        return Decimal(value["N"])
    return base64.b64decode(value["B"])


@attrs.frozen(order=False, repr=False)
class SourceItem:
    """One DynamoDB item: its table and its primary key.

    Equal keys are equal items whatever their spelling (``N`` values compare
    numerically, as DynamoDB compares them), so the identity is the canonical
    ``id`` string, which is also what documents store.
    """

    table: str = attrs.field(eq=False)
    key: tuple[tuple[str, KeyValue], ...] = attrs.field(eq=False)
    id: str = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if all(type(value) is str for _, value in self.key):
            pairs = ",".join(f"[{_quote(name)},{_quote(value)}]" for name, value in self.key)
            object.__setattr__(self, "id", f"[{_quote(self.table)},[{pairs}]]")
            return
        canonical = [[name, _canonical(value)] for name, value in self.key]
        object.__setattr__(
            self, "id", json.dumps([self.table, canonical], separators=(",", ":"), ensure_ascii=False)
        )

    @classmethod
    def of(cls, table: str, key: Mapping[str, Any]) -> "SourceItem":
        return cls(table, tuple(sorted((name, _key_value(value)) for name, value in key.items())))

    @classmethod
    def from_id(cls, source_id: str) -> "SourceItem":
        table, canonical = json.loads(source_id)
        return cls(table, tuple((name, _uncanonical(value)) for name, value in canonical))

    def __getitem__(self, name: str) -> KeyValue:
        for key_name, value in self.key:
            if key_name == name:
                return value
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"SourceItem({self.id})"


@attrs.frozen(order=True)
class SourceVersion:
    """How new a piece of information about one source item is (a total order).

    ``declared`` is the table's version attribute (0 when the table declares
    none) and dominates, because it is the only order that scan rows, exports
    and stream records share exactly. The stream position
    ``(created_at_us, sequence)`` breaks ties: between stream records it is the
    order DynamoDB wrote them in; a scan row taken after ``T_start`` sits at
    ``(T_start - 1 s, 0)``, after everything older and before every stream
    record of the window in which live projection already ran.
    """

    declared: int = 0
    created_at_us: int = 0
    sequence: int = 0

    @classmethod
    def scanned(cls, declared: int, t_start_us: int) -> "SourceVersion":
        """The version of a row read by a scan, export or repair begun at ``t_start_us``."""
        return cls(declared, t_start_us - ONE_SECOND_US, 0)

    def to_json(self) -> list[int]:
        return [self.declared, self.created_at_us, self.sequence]

    @classmethod
    def from_json(cls, value: Any) -> "SourceVersion":
        declared, created_at_us, sequence = value
        return cls(int(declared), int(created_at_us), int(sequence))
