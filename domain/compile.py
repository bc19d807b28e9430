"""From an aggregate declaration to its roles, refusing declarations that cannot work.

Every refusal is a ``ModelError`` naming the aggregate and the field, raised
when the model is loaded, never at the first record.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from dynafold.domain.declarations import FLAT_SUFFIX, RESERVED_FIELD, ROOT, Join
from dynafold.domain.kinds import FieldKind
from dynafold.domain.roles import JoinRole, MemberRole
from dynafold.domain.tables import ModelError, Table, TableOrEntity, pinned
from dynafold.domain.view import Row, UndeclaredAttribute, short

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def compile_roles(aggregate: Any) -> tuple[MemberRole, ...]:
    """The member roles of the aggregate (root first), each with its join roles."""
    owner = f"aggregate {aggregate.name!r}"
    root_id = _root_id(aggregate, owner)
    _check_names(aggregate, owner)
    _check_flat_copies(owner, aggregate.fields, "")
    _check_time_field(aggregate, owner)
    roles = [
        MemberRole(
            aggregate.name, ROOT, aggregate.root, aggregate.root_fields, root_id, None,
            _joins(aggregate, ROOT, "", aggregate.root, aggregate.joins, owner),
            _routing_attributes(aggregate.root, root_id, aggregate.joins),
        )
    ]
    for name, children in aggregate.children:
        label = f"{owner}, children {name!r}"
        parent = children.parent
        if parent is not None:
            if not parent or not all(isinstance(p, str) and p for p in parent):
                raise ModelError(f"{label}: parent must name one or more attributes")
            if len(parent) != len(root_id):
                raise ModelError(
                    f"{label}: parent {list(parent)} names {len(parent)} attribute(s) but the root id "
                    f"{list(root_id)} has {len(root_id)}; give one parent attribute per root id attribute, in order"
                )
        elif not callable(children.route):
            raise ModelError(f"{label}: route must be a function of an item image")
        roles.append(
            MemberRole(
                aggregate.name, name, children.source, children.fields, parent, children.route,
                _joins(aggregate, name, f"{name}.", children.source, children.joins, label),
                _routing_attributes(children.source, parent or (), children.joins) | ({"*"} if parent is None else set()),
            )
        )
    return tuple(roles)


def _root_id(aggregate: Any, owner: str) -> tuple[str, ...]:
    root = aggregate.root
    keys = root.key_attributes
    pins = pinned(root)
    unpinned = tuple(k for k in keys if k not in pins)
    if aggregate.id is None:
        return unpinned or keys
    chosen = aggregate.id
    outside = [a for a in chosen if a not in keys]
    if outside:
        raise ModelError(f"{owner}, id: {outside} are not key attributes of {root.describe()}; the id must be "
                         "made of the root's key")
    missing = [a for a in unpinned if a not in chosen]
    if missing:
        raise ModelError(
            f"{owner}, id {list(chosen)}: two root items ({root.describe()}) that differ only in {missing} would "
            "share one document (a route that sends two roots to one document); include them in the id, or pin "
            "them with an equality condition on the root entity"
        )
    return chosen


def _routing_attributes(source: TableOrEntity, parent: tuple[str, ...], joins: tuple[tuple[str, Join], ...]) -> frozenset[str]:
    """Non-key attributes that decide where an item goes: records of such tables need their old image."""
    keys = set(source.key_attributes)
    names = set(parent)
    names.update(c.attribute for c in source.conditions)
    for _, join in joins:
        names.update(p for p, _ in join.on)
    return frozenset(names - keys)


def _joins(aggregate: Any, role: str, prefix: str, pointing: TableOrEntity, joins, owner: str) -> tuple[JoinRole, ...]:
    result = []
    for name, join in joins:
        label = f"{owner}, join {name!r}"
        target = join.target
        target_keys = target.table.key_attributes
        pins = pinned(target)
        pointers = []
        seen = set()
        for pointing_attribute, target_attribute in join.on:
            if not isinstance(pointing_attribute, str) or not pointing_attribute:
                raise ModelError(f"{label}: pointing attributes must be names")
            if target_attribute not in target_keys:
                raise ModelError(f"{label}: {target_attribute!r} is not a key attribute of {target.describe()}")
            if target_attribute in seen:
                raise ModelError(f"{label}: {target_attribute!r} is pointed at twice")
            seen.add(target_attribute)
            pointers.append((target_attribute, pointing_attribute))
        constants = []
        for key in target_keys:
            if key in seen:
                continue
            if key in pins:
                constants.append((key, pins[key]))
                continue
            raise ModelError(
                f"{label}: the pointer does not determine the key attribute {key!r} of {target.describe()}; "
                "map a pointing attribute to it in 'on', or pin it with an equality condition on the target entity"
            )
        pointing_table = pointing.table
        index = pointing_table.index(join.index) if isinstance(join.index, str) else None
        if index is None:
            raise ModelError(
                f"{label}: table {pointing_table.name!r} has no index {join.index!r} "
                f"(its indexes: {[i.name for i in pointing_table.indexes] or 'none'}); a join needs the index that "
                "finds its pointing items when the joined item changes (the fan-out)"
            )
        pointing_attributes = {p for _, p in pointers}
        if set(index.key_attributes) != pointing_attributes:
            raise ModelError(
                f"{label}: index {index.name!r} of table {pointing_table.name!r} is keyed by "
                f"{list(index.key_attributes)}, but the join points through {sorted(pointing_attributes)}; the "
                "fan-out index must be keyed by exactly the pointing attributes"
            )
        prefixes = _join_prefixes(label, join, target, {t for t, _ in pointers})
        for target_attribute, pointing_attribute in pointers:
            want, have = target.table.key_type(target_attribute), pointing_table.key_type(pointing_attribute)
            if want != have:
                raise ModelError(
                    f"{label}: pointing attribute {pointing_attribute!r} is {have} on table {pointing_table.name!r} "
                    f"(so is the key of its index {index.name!r}), but {target.describe()} keys {target_attribute!r} "
                    f"as {want}: declare types={{{pointing_attribute!r}: {want!r}}} on table {pointing_table.name!r} "
                    f"(DynamoDB refuses an item whose index key has another type than the index's)"
                )
        result.append(
            JoinRole(aggregate.name, prefix + name, role, target, tuple(pointers), tuple(constants), index.name,
                     pointing_table.name, index.key_attributes, join.fields, prefixes)
        )
    return tuple(result)


def _join_prefixes(label: str, join: Join, target: TableOrEntity, pointed: set[str]) -> tuple[tuple[str, str], ...]:
    """The join's key prefixes, each on a key attribute a pointer fills, of type S, non-empty."""
    for attribute, text in join.prefix:
        if attribute not in pointed:
            raise ModelError(f"{label}: prefix for {attribute!r}, which no pointing attribute fills "
                             f"(the pointers fill {sorted(pointed)})")
        if not isinstance(text, str) or not text:
            raise ModelError(f"{label}: the prefix of {attribute!r} must be a non-empty string")
        if target.table.key_type(attribute) != "S":
            raise ModelError(f"{label}: {target.describe()} keys {attribute!r} as "
                             f"{target.table.key_type(attribute)}; only an S key can have a prefix")
    return tuple(sorted(join.prefix))


def _check_names(aggregate: Any, owner: str) -> None:
    """Names are unique where they meet: in ``derive``'s view (root fields and attributes, children, joins)
    and in the document (root fields, then the derived fields, or the children and joins by default)."""
    attributes = {name for name, _ in aggregate.root_fields} | set(aggregate.root.key_attributes)
    attributes |= {p for _, join in aggregate.joins for p, _ in join.on}
    view: dict[str, str] = {name: f"attribute {name!r}" for name in attributes}
    document: dict[str, str] = {}

    def claim(seen: dict, name: Any, what: str) -> None:
        if not isinstance(name, str) or not name:
            raise ModelError(f"{owner}: {what} names must be non-empty strings")
        if name == RESERVED_FIELD:
            raise ModelError(f"{owner}, {what} {name!r}: the name {RESERVED_FIELD!r} is reserved for dynafold's metadata")
        if name in seen:
            raise ModelError(f"{owner}, {what} {name!r}: the name is already used by {seen[name]} (a field name clash)")
        if seen is document:
            _check_document_name(owner, what, name, top=True)
        seen[name] = f"{what} {name!r}"

    for name, _ in aggregate.root_fields:
        claim(document, name, "field")
    for what, items in (("children", aggregate.children), ("join", aggregate.joins)):
        for name, _ in items:
            if not _IDENTIFIER.match(name):
                raise ModelError(f"{owner}, {what} {name!r}: names must match {_IDENTIFIER.pattern}")
            claim(view, name, what)
            if aggregate.derive is None:
                claim(document, name, what)
    for name, _ in aggregate.derived:
        claim(document, name, "derived field")
    for child, children in aggregate.children:
        for name, kind in children.fields:
            _check_document_name(owner, f"children {child!r}, field", name, top=False)
            _check_subfields(owner, f"{child}.{name}", kind)
        inner = {name: "field" for name, _ in children.fields}
        inner.update({name: "attribute" for name in children.source.key_attributes})
        for name, _ in children.joins:
            if not _IDENTIFIER.match(name):
                raise ModelError(f"{owner}, children {child!r}, join {name!r}: names must match {_IDENTIFIER.pattern}")
            if name in inner:
                raise ModelError(f"{owner}, children {child!r}, join {name!r}: the name is already used by the "
                                 f"children's {inner[name]} {name!r} (a field name clash)")
            inner[name] = "join"
    for name, kind in [*aggregate.root_fields, *aggregate.derived]:
        _check_subfields(owner, name, kind)


# OpenSearch's metadata fields: a document field of one of these names fails every write of the document.
_METADATA_FIELDS = frozenset({"_id", "_index", "_source", "_routing", "_field_names", "_ignored", "_seq_no",
                              "_primary_term", "_version", "_meta", "_doc_count", "_data_stream_timestamp",
                              "_size", "_type", "_uid", "_parent", "_all", "_tier", "_nested_path"})


def _check_document_name(owner: str, what: str, name: str, top: bool) -> None:
    """A name the stores can hold as a document field, refused at load rather than at every write."""
    if "." in name:
        raise ModelError(f"{owner}, {what} {name!r}: a document field name cannot hold '.', "
                         "which OpenSearch reads as a path into an object")
    if top and name in _METADATA_FIELDS:
        raise ModelError(f"{owner}, {what} {name!r}: the name is one of OpenSearch's metadata fields")


def _check_flat_copies(owner: str, fields: Any, path: str) -> None:
    """A collection not inside another has a plain copy ``<name>_flat`` beside it in OpenSearch (what
    dashboards aggregate on): no sibling may have that name."""
    names = {field.name for field in fields}
    for field in fields:
        if field.kind is FieldKind.OBJECTS and field.name + FLAT_SUFFIX in names:
            raise ModelError(f"{owner}, field {path + field.name + FLAT_SUFFIX!r}: the name is taken by the plain copy "
                             f"of the collection {path + field.name!r} that dashboards aggregate on")
        if field.kind is FieldKind.OBJECT:
            _check_flat_copies(owner, field.fields, f"{path}{field.name}.")


def _check_time_field(aggregate: Any, owner: str) -> None:
    """The time field names a datetime field of the document (Dashboards' time filter and histograms use it)."""
    name = aggregate.time_field
    if name is None:
        return
    found = next((field for field in aggregate.fields if field.name == name), None) if isinstance(name, str) else None
    if found is None:
        raise ModelError(f"{owner}, time_field {name!r}: not a field of the document (its fields: "
                         f"{[field.name for field in aggregate.fields]})")
    if found.kind is not FieldKind.DATETIME:
        raise ModelError(f"{owner}, time_field {name!r}: the field is {found.kind.value}, not datetime")


def _check_subfields(owner: str, name: str, kind: Any, depth: int = 0) -> None:
    names = [sub for sub, _ in kind.subfields]
    if len(set(names)) != len(names):
        raise ModelError(f"{owner}, field {name!r}: duplicate subfield names {names}")
    for sub, inner in kind.subfields:
        _check_document_name(owner, f"field {name!r}, subfield", sub, top=False)
        _check_subfields(owner, f"{name}.{sub}", inner, depth + 1)


def check_table(aggregate: Any, source: TableOrEntity, where: str, tables: dict[str, Table]) -> Optional[str]:
    """An error message when ``source`` names a table the model declares differently (or not at all)."""
    table = source.table
    declared = tables.get(table.name)
    if declared is None:
        return f"aggregate {aggregate.name!r}, {where}: table {table.name!r} is not one of the model's tables {sorted(tables)}"
    if declared != table:
        return f"aggregate {aggregate.name!r}, {where}: table {table.name!r} is declared twice, differently"
    return None


def _blank_row(aggregate_name: str, role: MemberRole, with_joins: bool) -> Row:
    values: dict[str, Any] = {name: None for name in role.source.key_attributes}
    values.update({name: None for name in role.kept_attributes})
    label = f"aggregate {aggregate_name!r}" + ("" if role.name == ROOT else f", children {role.name!r}")
    for join in role.joins:
        joined = {name: None for name in join.target.key_attributes}
        joined.update({name: None for name, _ in join.fields})
        values[short(join)] = Row(joined, f"{label}, join {short(join)!r}") if with_joins else None
    return Row(values, label)


def dry_run(aggregate: Any) -> None:
    """Call ``derive`` on blank views (no children, then one of each): an undeclared attribute or a
    result that does not match ``derived`` is a ``ModelError`` now. Other errors (arithmetic on a
    blank value) prove nothing and are ignored."""
    if aggregate.derive is None:
        return
    roles = aggregate.roles
    expected = {name for name, _ in aggregate.derived}
    for populated in (False, True):
        values = dict(_blank_row(aggregate.name, roles[0], populated)._values)
        for role in roles[1:]:
            values[role.name] = [_blank_row(aggregate.name, role, populated)] if populated else []
        try:
            result = aggregate.derive(Row(values, f"aggregate {aggregate.name!r}"))
        except UndeclaredAttribute as error:
            raise ModelError(f"aggregate {aggregate.name!r}, derive: {error}") from None
        except Exception:
            continue
        if not isinstance(result, Mapping) or set(result) != expected:
            got = sorted(result) if isinstance(result, Mapping) else type(result).__name__
            raise ModelError(
                f"aggregate {aggregate.name!r}, derive: returns {got}, but the aggregate declares derived fields "
                f"{sorted(expected)}"
            )
