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
    """How new one observation of a source item is: a total order on DynamoDB's clock.

    ``created_at_us`` is DynamoDB's own time: a stream record's
    ``ApproximateCreationDateTime``, or ``T - 1 s`` for a row read by a scan,
    export or consistent read whose server time ``T`` came from DynamoDB
    (see ``scanned``). Within one time:

    - ``sequence`` (the stream record's sequence number, 0 for reads) orders
      the item's own stream records exactly, and puts every read at that time
      before every stream record at that time: a read stamped ``T - 1 s`` saw
      a state at least that new, so losing a same-second tie to a stream
      record can only delay the state the stream is about to deliver anyway;
    - ``via_sequence`` orders what the record of *another* item (a join's
      pointing item) says about this one: the join read it made, or the
      join slot it left. These are ordered by the pointing item's stream and
      always lose a same-second tie to the joined item's own records.
    - ``declared`` (the table's version attribute, 0 without one) breaks the
      remaining ties only: between two reads with the same stamp. It never
      overrules time or stream order, because writers lower it (PynamoDB and
      DynamoDBMapper restart at 1 on re-create; global tables resolve by
      timestamp), and any write between two equal-stamped reads has its own
      stream records, which outrank both.
    """

    created_at_us: int = 0
    sequence: int = 0
    via_sequence: int = 0
    declared: int = 0

    @classmethod
    def streamed(cls, created_at_us: int, sequence: int, declared: int = 0) -> "SourceVersion":
        """The version of a stream record."""
        return cls(created_at_us, sequence, 0, declared)

    @classmethod
    def scanned(cls, t_start_us: int, declared: int = 0) -> "SourceVersion":
        """The version of a row read by a scan, export or consistent read begun at server time ``t_start_us``."""
        return cls(t_start_us - ONE_SECOND_US, 0, 0, declared)

    def via(self, declared: int = 0) -> "SourceVersion":
        """The stamp of what this observation of a pointing item says about a joined item.

        Same time, ordered by the pointing item's stream position, before any
        stream record of the joined item at that time.
        """
        return SourceVersion(self.created_at_us, 0, self.sequence or self.via_sequence, declared)

    def to_json(self) -> list:
        """Sequence numbers (up to 40 digits) as text: JSON tools round integers past 64 bits."""
        return [self.created_at_us, str(self.sequence), str(self.via_sequence), self.declared]

    @classmethod
    def from_json(cls, value: Any) -> "SourceVersion":
        if len(value) != 4:
            raise ValueError(
                "a stored document carries a version from an older dynafold (before the stream-ordered versions); "
                "rebuild the aggregate with `dynafold replay --rebuild`"
            )
        created_at_us, sequence, via_sequence, declared = value
        return cls(int(created_at_us), int(sequence), int(via_sequence), int(declared))
