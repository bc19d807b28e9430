"""A model: the source tables, their translators and the aggregates built from them.

The projector, the replay runner and the verifier all take a model; the
sample domain (``domain.sample``) is one, and users write their own the
same way and point ``DYNAFOLD_MODEL`` at it.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

import attrs

from domain.aggregate import Aggregate
from domain.translation import Translator


@attrs.frozen
class SecondaryIndex:
    name: str
    hash_key: str
    range_key: Optional[str] = None


@attrs.frozen
class TableSpec:
    """The parts of a DynamoDB table's definition the engine relies on.

    ``version_attribute`` names an integer its writers increment under a
    condition expression; when set, it is the source version, comparable
    across stream records, scans and exports. Writers must never lower it for
    a key, also not when re-creating a deleted item.
    """

    name: str
    hash_key: str
    range_key: Optional[str] = None
    key_types: Mapping[str, str] = attrs.field(factory=dict)
    version_attribute: Optional[str] = None
    indexes: tuple[SecondaryIndex, ...] = ()

    @property
    def key_attributes(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)

    def index(self, name: str) -> SecondaryIndex:
        for index in self.indexes:
            if index.name == name:
                return index
        raise KeyError(f"table {self.name!r} has no index {name!r}")


def _index_by_name(items: Iterable, attr: str) -> dict:
    return {getattr(item, attr): item for item in items}


@attrs.frozen
class Model:
    tables: Mapping[str, TableSpec]
    translators: Mapping[str, Translator]
    aggregates: Mapping[str, Aggregate]

    @classmethod
    def of(
        cls,
        tables: Iterable[TableSpec],
        translators: Iterable[Translator],
        aggregates: Iterable[Aggregate],
    ) -> "Model":
        model = cls(
            _index_by_name(tables, "name"),
            _index_by_name(translators, "table"),
            _index_by_name(aggregates, "name"),
        )
        model.check()
        return model

    def check(self) -> None:
        for table in self.tables:
            if table not in self.translators:
                raise ValueError(f"table {table!r} has no translator")
        for aggregate in self.aggregates.values():
            unknown = sorted(set(aggregate.sources) - set(self.tables))
            if unknown:
                raise ValueError(f"aggregate {aggregate.name!r} draws on unknown tables {unknown}")
            if aggregate.root not in aggregate.sources:
                raise ValueError(f"aggregate {aggregate.name!r}: root table {aggregate.root!r} is not a source")

    def aggregate(self, name: str) -> Aggregate:
        try:
            return self.aggregates[name]
        except KeyError:
            raise KeyError(
                f"unknown aggregate {name!r}; this model has {sorted(self.aggregates)}"
            ) from None

    def table(self, name: str) -> TableSpec:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"unknown table {name!r}; this model has {sorted(self.tables)}") from None

    def aggregates_of(self, table: str) -> list[Aggregate]:
        return [a for a in self.aggregates.values() if table in a.sources]
