"""Writes a model's own declarations imply: keys that collide, parents that move, pointers that change.

Every attribute an aggregate reads gets values: declared fields from their
kinds; parent attributes from the root's key values (so children attach,
detach and move); join pointers from the target's key values (so joins hit,
miss and change); entity attributes from their conditions (so items enter
and leave entities). Keys come from small pools, so items are re-created,
overwritten and deleted again. An undeclared ``secret_note`` rides along on
every item: it must never reach a document, the quarantine or a log.
Users can replace the generated items of a table with their own strategy.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping, Optional

from hypothesis import strategies as st

from dynafold.domain.geo import GEOHASH_ALPHABET, MAX_GEOHASH
from dynafold.domain.kinds import FieldKind, Kind
from dynafold.domain.model import Model
from dynafold.domain.tables import Prefix, TableOrEntity

SECRET = "secret_note"
_WORDS = ["alpha", "beta", "gamma", "Ünïcode", "o'brien", "x.org"]


def secret_value(table: str, key: Mapping[str, Any]) -> str:
    return f"SECRET-{table}-" + "-".join(str(v) for v in key.values())


class _Domains:
    """Union-find over (table, key attribute): a parent or pointer attribute shares its target's values."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, node: tuple[str, str]) -> tuple[str, str]:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        self.parent[self.find(a)] = self.find(b)


def kind_values(kind: Kind) -> st.SearchStrategy:
    k = kind.kind
    if k is FieldKind.KEYWORD:
        return st.sampled_from(["red", "green", "blue", Decimal(1), Decimal("2.5")])
    if k is FieldKind.TEXT:
        return st.lists(st.sampled_from(_WORDS), min_size=0, max_size=3).map(" ".join)
    if k is FieldKind.BOOLEAN:
        return st.booleans()
    if k is FieldKind.INTEGER:
        return st.integers(-3, 3).map(Decimal)
    if k is FieldKind.DECIMAL:
        return st.integers(-10**6, 10**6).map(lambda n: Decimal(n).scaleb(-2))
    if k is FieldKind.DATETIME:
        return st.sampled_from(["2026-01-01T00:00:00Z", "2026-06-30T12:00:00Z", "2025-12-31T23:59:59Z"])
    if k is FieldKind.GEO_POINT:
        return geo_values()
    if k is FieldKind.KEYWORDS:
        members = st.sampled_from(["a", "b", "c"])
        return st.one_of(st.frozensets(members, min_size=1, max_size=3), st.lists(members, max_size=3))
    subfields = st.fixed_dictionaries({}, optional={name: kind_values(sub) for name, sub in kind.subfields})
    if k is FieldKind.OBJECT:
        return subfields
    return st.lists(subfields, max_size=2)


def geo_values() -> st.SearchStrategy:
    """A location in each form an item may hold one: a map of numbers, a "lat,lon" string, a geohash;
    the poles and the date line included."""
    lat = st.integers(-90_000, 90_000).map(lambda n: Decimal(n).scaleb(-3))
    lon = st.integers(-180_000, 180_000).map(lambda n: Decimal(n).scaleb(-3))
    return st.one_of(
        st.builds(lambda a, o: {"lat": a, "lon": o}, lat, lon),
        st.builds(lambda a, o: f"{a},{o}", lat, lon),
        st.text(GEOHASH_ALPHABET, min_size=1, max_size=MAX_GEOHASH),
    )


class Workload:
    """Strategies for the keys and items of every table of ``model``."""

    def __init__(self, model: Model, *, pool_size: int = 3,
                 items: Optional[Mapping[str, st.SearchStrategy]] = None) -> None:
        self.model = model
        self.pool_size = pool_size
        self.custom = dict(items or {})
        domains = _Domains()
        references: dict[tuple[str, str], tuple[str, str]] = {}
        conditions: dict[tuple[str, str], list] = {}
        kinds: dict[tuple[str, str], Kind] = {}
        prefixed: dict[tuple[str, str], str] = {}
        for aggregate in model.aggregates.values():
            root = aggregate.roles[0]
            root_id = root.parent
            for role in aggregate.roles:
                table = role.table
                for condition in role.source.conditions:
                    conditions.setdefault((table, condition.attribute), []).append(condition.expected)
                for name, kind in role.fields:
                    kinds.setdefault((table, name), kind)
                if role.parent is not None and role is not root:
                    for child_attribute, root_attribute in zip(role.parent, root_id):
                        references[(table, child_attribute)] = (root.table, root_attribute)
                for join in role.joins:
                    texts = dict(join.prefixes)
                    for target_attribute, pointing in join.pointers:
                        references[(table, pointing)] = (join.target_table, target_attribute)
                        if target_attribute in texts:  # the target's keys carry the prefix, the pointer the rest
                            prefixed[(table, pointing)] = texts[target_attribute]
                            conditions.setdefault((join.target_table, target_attribute), []).append(
                                Prefix(texts[target_attribute]))
                    for condition in join.target.conditions:
                        conditions.setdefault((join.target_table, condition.attribute), []).append(condition.expected)
                    for name, kind in join.fields:
                        kinds.setdefault((join.target_table, name), kind)
        for node, target in references.items():
            table = model.tables[node[0]]
            if node[1] in table.key_attributes and node not in prefixed:
                domains.union(node, target)
        self._domains = domains
        self._references = references
        self._prefixed = prefixed
        self._conditions = conditions
        self._kinds = kinds

    def domain(self, table: str, attribute: str) -> tuple[str, str]:
        node = (table, attribute)
        if node in self._references and attribute not in self.model.tables[table].key_attributes:
            node = self._references[node]
        return self._domains.find(node)

    def _pool(self, domain: tuple[str, str]) -> list[Any]:
        table, attribute = domain
        key_type = self.model.tables[table].key_type(attribute) if attribute in self.model.tables[table].key_attributes else "S"
        members = [node for node in self._domains.parent if self._domains.find(node) == domain] or [domain]
        expected = [c for node in members for c in self._conditions.get(node, [])]
        if key_type == "N":
            return [Decimal(n) for n in range(1, self.pool_size + 1)]
        if key_type == "B":
            return [bytes([n]) for n in range(1, self.pool_size + 1)]
        values: list[Any] = []
        for condition in expected:
            if isinstance(condition, Prefix):
                values += [f"{condition.value}{n}" for n in range(1, self.pool_size + 1)]
            elif isinstance(condition, str):
                values.append(condition)
        values += [f"{attribute[:3]}{n}" for n in range(1, self.pool_size + 1)]
        return list(dict.fromkeys(values))

    def values(self, table: str, attribute: str) -> list[Any]:
        """The values ``attribute`` of ``table`` takes: its domain's pool, and for a pointer whose join has a
        prefix, the pool of the target's keys without it (a key without the prefix stays, a pointer that misses)."""
        text = self._prefixed.get((table, attribute))
        if text is None:
            return self._pool(self.domain(table, attribute))
        pool = self._pool(self._domains.find(self._references[(table, attribute)]))
        return list(dict.fromkeys(v[len(text):] if isinstance(v, str) and v.startswith(text) and v != text else v
                                  for v in pool))

    def key(self, table: str, source: Optional[TableOrEntity] = None) -> st.SearchStrategy:
        """Keys of ``table``; with ``source`` (an entity of it), keys whose key conditions hold, so the item
        can be of that entity (its other conditions are the item's)."""
        spec = self.model.tables[table]
        conditions = [] if source is None else source.conditions
        strategies = {}
        for name in spec.key_attributes:
            values = self.values(table, name)
            fitting = [v for v in values if all(c.holds({name: v}) for c in conditions if c.attribute == name)]
            strategies[name] = st.sampled_from(fitting or values)
        return st.fixed_dictionaries(strategies)

    def attributes(self, table: str) -> dict[str, st.SearchStrategy]:
        """A strategy per non-key attribute the model reads from ``table`` (values of None mean absent)."""
        spec = self.model.tables[table]
        found: dict[str, st.SearchStrategy] = {}
        for (name_table, name), kind in self._kinds.items():
            if name_table == table and name not in spec.key_attributes:
                found[name] = kind_values(kind)
        for (name_table, name), target in self._references.items():
            if name_table == table and name not in spec.key_attributes:
                found[name] = st.sampled_from(self.values(table, name))
        for (name_table, name), expected in self._conditions.items():
            if name_table == table and name not in spec.key_attributes:
                choices = [c.value + "1" if isinstance(c, Prefix) else c for c in expected] + ["other"]
                found[name] = st.sampled_from(list(dict.fromkeys(choices)))
        return {name: st.one_of(st.none(), strategy) for name, strategy in sorted(found.items())}

    def item(self, table: str, key: Mapping[str, Any]) -> st.SearchStrategy:
        """A whole item (without its version attribute) for ``key``."""
        secret = {SECRET: secret_value(table, key)}
        if table in self.custom:
            return self.custom[table].map(lambda extra: {**extra, **key, **secret})
        attributes = self.attributes(table)
        optional = st.fixed_dictionaries({name: strategy for name, strategy in attributes.items()})
        return optional.map(lambda values: {**{k: v for k, v in values.items() if v is not None}, **key, **secret})

    def changes(self, table: str) -> st.SearchStrategy:
        """Some attributes of an existing item, changed (a parent, a pointer, a field...)."""
        if table in self.custom:
            return self.custom[table]
        attributes = self.attributes(table)
        if not attributes:
            return st.just({})
        names = sorted(attributes)
        return st.lists(st.sampled_from(names), min_size=1, max_size=len(names), unique=True).flatmap(
            lambda chosen: st.fixed_dictionaries({name: attributes[name] for name in chosen}))
