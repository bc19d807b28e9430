"""TableOrEntity tables and the entities stored in them.

A ``Table`` names a logical table: its keys, its secondary indexes and,
optionally, its version attribute. The physical name (``prod-customers``)
is configuration, mapped at the edge; the model never sees it. An
``Entity`` is one kind of item in a table (single-table designs keep
customers and their orders in one table, told apart by a key prefix such as
``ORDER#`` or by a type attribute); a plain ``Table`` used as an entity
matches every item.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Union

import attrs

KEY_TYPES = ("S", "N", "B")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


class ModelError(ValueError):
    """A declaration that cannot work, named by aggregate and field."""


class UnknownName(KeyError):
    """An aggregate or table the model does not have (a user's typo, not a bug)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown name"


@attrs.frozen
class Index:
    """A secondary index: the attributes it is keyed by."""

    name: str
    hash_key: str
    range_key: Optional[str] = None

    @property
    def key_attributes(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)


def _indexes(value: Any) -> tuple[Index, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        result = []
        for name, keys in value.items():
            keys = (keys,) if isinstance(keys, str) else tuple(keys)
            if not 1 <= len(keys) <= 2 or not all(isinstance(k, str) for k in keys):
                raise ModelError(f"index {name!r}: give its hash key, or (hash key, range key)")
            result.append(Index(name, *keys))
        return tuple(result)
    return tuple(value)


@attrs.frozen
class Table:
    """A logical source table.

    ``types`` gives the DynamoDB type of key attributes that are not ``S``
    (``{"order_no": "N"}``). ``version`` names an integer attribute writers
    increment; it only breaks ties between reads with the same stamp (see
    ``SourceVersion``), so writers may restart or lower it.
    """

    name: str
    hash_key: str
    range_key: Optional[str] = None
    types: Mapping[str, str] = attrs.field(factory=dict, converter=dict)
    version: Optional[str] = None
    indexes: tuple[Index, ...] = attrs.field(default=(), converter=_indexes)
    key_plan: tuple[tuple[str, str], ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # The key attributes in the order SourceItem keeps them (by name), with their DynamoDB types.
        object.__setattr__(self, "key_plan", tuple((n, self.types.get(n, "S")) for n in sorted(self.key_attributes)))
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ModelError(f"table name {self.name!r} must be 3 to 255 letters, digits, '_', '-' or '.'")
        for name, kind in self.types.items():
            if kind not in KEY_TYPES:
                raise ModelError(f"table {self.name!r}: type of {name!r} must be one of {KEY_TYPES}, not {kind!r}")
        names = [index.name for index in self.indexes]
        if len(set(names)) != len(names):
            raise ModelError(f"table {self.name!r}: duplicate index names {names}")

    @property
    def table(self) -> "Table":
        return self

    @property
    def key_attributes(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def key_type(self, attribute: str) -> str:
        return self.types.get(attribute, "S")

    def index(self, name: str) -> Optional[Index]:
        return next((index for index in self.indexes if index.name == name), None)

    @property
    def conditions(self) -> tuple["Condition", ...]:
        return ()

    def matches(self, image: Mapping[str, Any]) -> bool:
        return True

    def describe(self) -> str:
        return f"table {self.name!r}"


@attrs.frozen
class Prefix:
    """A condition: the attribute is a string beginning with ``value``."""

    value: str


@attrs.frozen
class Condition:
    attribute: str
    expected: Union[str, Prefix, Any]

    def holds(self, image: Mapping[str, Any]) -> bool:
        value = image.get(self.attribute)
        if isinstance(self.expected, Prefix):
            return type(value) is str and value.startswith(self.expected.value)
        return value is not None and value == self.expected

    @property
    def pins(self) -> bool:
        """True when the condition fixes the attribute to one value."""
        return not isinstance(self.expected, Prefix)


def prefix(value: str) -> Prefix:
    return Prefix(value)


@attrs.frozen(init=False)
class Entity:
    """The items of ``table`` for which every condition holds.

    Each keyword is the name of an attribute of the item, and its value the
    condition on it: a value the attribute must equal, or ``prefix(...)`` a
    string it must begin with. ``Entity(app, SK=prefix("ORDER#"))`` is the
    items whose ``SK`` begins with ``ORDER#``; ``Entity(app, kind="note")``
    the items whose attribute ``kind`` is ``"note"`` (``kind`` is the
    table's attribute, not a keyword of dynafold's). A condition on a
    non-key attribute can stop holding when a writer changes the attribute:
    the item then leaves the entity's documents, as an item whose parent
    attribute changes does.
    """

    table: Table
    conditions: tuple[Condition, ...]

    def __init__(self, table: Table, **conditions: Any) -> None:
        if not isinstance(table, Table):
            raise ModelError(f"an entity is a Table with conditions, not {type(table).__name__}")
        if not conditions:
            raise ModelError(f"entity of table {table.name!r} needs at least one condition")
        self.__attrs_init__(table, tuple(Condition(name, value) for name, value in sorted(conditions.items())))

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def key_attributes(self) -> tuple[str, ...]:
        return self.table.key_attributes

    def matches(self, image: Mapping[str, Any]) -> bool:
        return all(condition.holds(image) for condition in self.conditions)

    def pinned(self) -> dict[str, Any]:
        return {c.attribute: c.expected for c in self.conditions if c.pins}

    def describe(self) -> str:
        parts = ", ".join(
            f"{c.attribute} begins with {c.expected.value!r}" if isinstance(c.expected, Prefix) else f"{c.attribute} = {c.expected!r}"
            for c in self.conditions
        )
        return f"items of table {self.table.name!r} where {parts}"


TableOrEntity = Union[Table, Entity]


def pinned(source: TableOrEntity) -> dict[str, Any]:
    return source.pinned() if isinstance(source, Entity) else {}
