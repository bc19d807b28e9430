"""A model: the source tables and the aggregates built from them.

The projector, the replay runner, the verifier and the deployment all take
a model; the sample domain (``dynafold.sample``) is one, and users write
their own the same way and point ``DYNAFOLD_MODEL`` at it. Loading a model
checks it whole: every aggregate's declaration, and that every aggregate
means the same thing by a table's name.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import attrs

from dynafold.domain.aggregate import Aggregate
from dynafold.domain.compile import check_table
from dynafold.domain.tables import ModelError, Table, UnknownName
from dynafold.domain.translation import TablePlan, Translator


@attrs.frozen(init=False)
class Model:
    tables: Mapping[str, Table]
    aggregates: Mapping[str, Aggregate]
    translators: Mapping[str, Translator]
    plans: Mapping[str, TablePlan] = attrs.field(eq=False, repr=False)

    def __init__(self, aggregates: Iterable[Aggregate], *, tables: Iterable[Table] = (),
                 translators: Iterable[Translator] = ()) -> None:
        by_table: dict[str, Table] = {}
        for table in tables:
            if not isinstance(table, Table):
                raise ModelError(f"a model's tables are Table values, not {type(table).__name__}")
            if table.name in by_table and by_table[table.name] != table:
                raise ModelError(f"table {table.name!r} is declared twice, differently")
            by_table[table.name] = table
        by_name: dict[str, Aggregate] = {}
        for aggregate in aggregates:
            if not isinstance(aggregate, Aggregate):
                raise ModelError(f"a model holds Aggregate declarations, not {type(aggregate).__name__}")
            if aggregate.name in by_name:
                raise ModelError(f"aggregate {aggregate.name!r} is declared twice")
            by_name[aggregate.name] = aggregate
            for role in aggregate.roles:
                sources = [(role.source, f"{'root' if role.name == '$root' else 'children ' + repr(role.name)}")]
                sources += [(join.target, f"join {join.name!r}") for join in role.joins]
                for source, where in sources:
                    table = source.table
                    if table.name not in by_table:
                        by_table[table.name] = table
                    problem = check_table(aggregate, source, where, by_table)
                    if problem:
                        raise ModelError(problem)
        if not by_name:
            raise ModelError("a model needs at least one aggregate: Model([Aggregate(...), ...])")
        hatches: dict[str, Translator] = {}
        for translator in translators:
            if not isinstance(translator, Translator):
                raise ModelError(f"translators are dynafold.domain.translation.Translator values, not {type(translator).__name__}")
            if translator.table not in by_table:
                raise ModelError(f"translator for table {translator.table!r}: the model has no such table {sorted(by_table)}")
            hatches[translator.table] = translator
        self.__attrs_init__(by_table, by_name, hatches, _plans(by_table, by_name.values()))


    def aggregate(self, name: str) -> Aggregate:
        try:
            return self.aggregates[name]
        except KeyError:
            raise UnknownName(f"unknown aggregate {name!r}; this model has {sorted(self.aggregates)}") from None

    def table(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            raise UnknownName(f"unknown table {name!r}; this model has {sorted(self.tables)}") from None

    def plan(self, table: str) -> TablePlan:
        return self.plans[table]

    def aggregates_of(self, table: str) -> list[Aggregate]:
        return [a for a in self.aggregates.values() if table in a.tables]

    def old_image_reasons(self, table: str) -> list[str]:
        """Why records of ``table`` need their old image (empty when keys suffice)."""
        reasons = []
        for role in self.plans[table].members:
            for attribute in sorted(role.routing_attributes):
                what = "a route function" if attribute == "*" else repr(attribute)
                reasons.append(f"aggregate {role.aggregate!r} routes it by {what}")
        for join in self.plans[table].joined:
            keys = set(join.target.table.key_attributes)
            for condition in join.target.conditions:
                if condition.attribute not in keys:
                    reasons.append(f"aggregate {join.aggregate!r} joins only items whose {condition.attribute!r} matches")
        return reasons

    def declared_attributes(self, table: str) -> frozenset[str]:
        """Every attribute of ``table`` that some aggregate reads: nothing else may leave DynamoDB."""
        spec = self.tables[table]
        names = set(spec.key_attributes)
        if spec.version:
            names.add(spec.version)
        plan = self.plans[table]
        for role in plan.members:
            names.update(role.kept_attributes)
            names.update(a for a in role.routing_attributes if a != "*")
            names.update(c.attribute for c in role.source.conditions)
        for join in plan.joined:
            names.update(name for name, _ in join.fields)
            names.update(c.attribute for c in join.target.conditions)
        return frozenset(names)


def _plans(tables: Mapping[str, Table], aggregates: Iterable[Aggregate]) -> dict[str, TablePlan]:
    members: dict[str, list] = {name: [] for name in tables}
    joined: dict[str, list] = {name: [] for name in tables}
    owners = {}
    for aggregate in aggregates:
        for role in aggregate.roles:
            members[role.table].append(role)
            owners[(aggregate.name, role.name)] = role
            for join in role.joins:
                joined[join.target_table].append(join)
    return {
        name: TablePlan(tables[name], tuple(members[name]), tuple(joined[name]), owners)
        for name in tables
    }
