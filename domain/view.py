"""The visible document: derived from the slices of one document's state.

``derive`` hooks see a typed view: ``view.name`` (a root field),
``view.orders`` (a child collection: rows sorted by key), ``view.song`` (a
join: a row or ``None``), and on each child row its own fields and joins.
A row holds what the declarations make the engine keep of its item: the
declared fields, the item's key attributes (declared as fields or not),
the pointing attributes of its joins, and on a joined row the joined
item's key attributes and the join's fields. Reading anything else
(another attribute of the item, even one the table has) raises
``UndeclaredAttribute`` naming the aggregate and the attribute, when the
model loads if the dry run meets it. A join shows
the slice read for the pointing item's *current* pointer only: slices left
from an earlier pointer stay hidden, as a replay of the final tables would
never show them.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from dynafold.domain.declarations import ROOT, ProjectionError
from dynafold.domain.events import Slot
from dynafold.domain.kinds import TranslationError, derived_value
from dynafold.domain.roles import JoinRole, MemberRole
from dynafold.domain.state import AggregateState, Entry


class UndeclaredAttribute(ProjectionError, AttributeError):
    """``derive`` read an attribute the aggregate does not declare."""


class Row:
    """Declared attributes of one item, by attribute access or ``row["name"]``."""

    __slots__ = ("_values", "_label")

    def __init__(self, values: Mapping[str, Any], label: str) -> None:
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]

    def __getitem__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        try:
            return values[name]
        except KeyError:
            label = object.__getattribute__(self, "_label")
            raise UndeclaredAttribute(
                f"{label} has no declared attribute {name!r} (declared: {sorted(values)})"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a view row is read-only")

    def __contains__(self, name: str) -> bool:
        return name in object.__getattribute__(self, "_values")

    def __repr__(self) -> str:
        return f"Row({dict(object.__getattribute__(self, '_values'))!r})"


def short(join: JoinRole) -> str:
    return join.name.rsplit(".", 1)[-1]


def _joined(join: JoinRole, entry: Entry, values: Mapping[str, Any], state: AggregateState) -> Optional[dict]:
    target = join.stored_target(values)
    if target is None:
        return None
    found = state.entries.get(Slot(join.name, target, entry.slot.source).key)
    if found is None or found.data is None:
        return None
    return {**dict(target.key), **found.data}


def _row_values(role: MemberRole, entry: Entry, state: AggregateState) -> tuple[dict, dict]:
    """(attributes for the view, joined slices by join name) of one member entry."""
    values = {**dict(entry.slot.source.key), **entry.data}
    joined = {short(join): _joined(join, entry, values, state) for join in role.joins}
    return values, joined


def _label(aggregate: str, role: MemberRole) -> str:
    return f"aggregate {aggregate!r}" + ("" if role.name == ROOT else f", children {role.name!r}")


def _row(aggregate: str, role: MemberRole, entry: Entry, state: AggregateState) -> Row:
    values, joined = _row_values(role, entry, state)
    label = _label(aggregate, role)
    for name, data in joined.items():
        values[name] = None if data is None else Row(data, f"{label}, join {name!r}")
    return Row(values, label)


def view(aggregate: Any, roles: Sequence[MemberRole], root: Entry, state: AggregateState) -> Row:
    """The typed view ``derive`` receives."""
    values = dict(object.__getattribute__(_row(aggregate.name, roles[0], root, state), "_values"))
    for role in roles[1:]:
        values[role.name] = [_row(aggregate.name, role, entry, state) for entry in state.live(role.name)]
    return Row(values, f"aggregate {aggregate.name!r}")


def _projected(join: JoinRole, data: Optional[dict]) -> Optional[dict[str, Any]]:
    return None if data is None else {name: data.get(name) for name, _ in join.fields}


def _plain(role: MemberRole, entry: Entry, state: AggregateState) -> dict[str, Any]:
    """A child as the default document shows it: its fields, then its joins as objects."""
    values, joined = _row_values(role, entry, state)
    body = {name: values.get(name) for name, _ in role.fields}
    for join in role.joins:
        body[short(join)] = _projected(join, joined[short(join)])
    return body


def render(aggregate: Any, roles: Sequence[MemberRole], doc_id: str, state: AggregateState) -> Optional[dict[str, Any]]:
    """The visible document, or ``None`` while its root item does not exist (a tombstone document)."""
    roots = state.live(ROOT)
    if not roots:
        return None
    if len(roots) > 1:
        raise ProjectionError(
            f"aggregate {aggregate.name!r} document {doc_id!r} has {len(roots)} live root items"
        )
    root, role = roots[0], roles[0]
    body = {name: root.data.get(name) for name, _ in role.fields}
    if aggregate.derive is None:
        for child in roles[1:]:
            body[child.name] = [_plain(child, entry, state) for entry in state.live(child.name)]
        _, joined = _row_values(role, root, state)
        for join in role.joins:
            body[short(join)] = _projected(join, joined[short(join)])
        return body
    try:
        derived = aggregate.derive(view(aggregate, roles, root, state))
    except ProjectionError:
        raise
    except Exception as error:  # its message may quote the document's contents: keep only the type
        raise ProjectionError(f"aggregate {aggregate.name!r}: derive raised {type(error).__name__}") from None
    names = [name for name, _ in aggregate.derived]
    if not isinstance(derived, Mapping) or set(derived) != set(names):
        got = sorted(derived) if isinstance(derived, Mapping) else type(derived).__name__
        raise ProjectionError(
            f"aggregate {aggregate.name!r}: derive returned {got}, but the aggregate declares derived fields {names}"
        )
    for name, kind in aggregate.derived:
        try:
            body[name] = derived_value(kind, derived[name], name)
        except TranslationError as error:
            raise ProjectionError(f"aggregate {aggregate.name!r}: {error}") from None
    return body
