"""Aggregate declarations: which items make a document, and what it shows.

An aggregate names a root (one item per document), child collections,
joins, the fields it shows and an optional ``derive`` hook. The engine
derives everything else from that, identically for every model: routing by
old and new image, join reads and their stamps, fan-outs, replay tables,
mappings, verify and repair. A declaration that cannot work is refused here,
when the model is loaded, with a ``ModelError`` naming the aggregate and
the field.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping, Optional, Union

import attrs

from dynafold.domain.compile import compile_roles, dry_run
from dynafold.domain.declarations import (
    RESERVED_FIELD,
    ROOT,
    Children,
    Declared,
    Join,
    ProjectionError,
    attribute_names,
    checked_parts,
    declared_fields,
    named,
)
from dynafold.domain.kinds import Field, FieldKind, KindLike
from dynafold.domain.roles import JoinRole, MemberRole
from dynafold.domain.state import AggregateState
from dynafold.domain.tables import Entity, ModelError, Table, TableOrEntity
from dynafold.domain.view import render

__all__ = ["Aggregate", "Children", "Join", "ProjectionError", "RESERVED_FIELD", "ROOT"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@attrs.frozen(init=False)
class Aggregate:
    """One kind of view document.

    ``fields`` are root attributes shown as they are. Without ``derive`` the
    document also shows each child collection as a list of objects (sorted
    by key) and each join as an object (or null). With ``derive``, the
    function receives a typed view (``view.name``, ``view.orders``,
    ``view.song``; what it holds: ``dynafold.domain.view``) and returns
    exactly the ``derived`` fields; it must be pure, since it runs again for
    every change, in any order. ``version`` names the physical target, so bump it
    when a change needs a rebuild. ``time_field`` names the document's
    datetime field that dashboards chart it over (none by default). After
    construction, ``fields`` holds the document's fields as the stores see them.
    """

    name: str
    root: TableOrEntity
    root_fields: Declared
    children: tuple[tuple[str, Children], ...]
    joins: tuple[tuple[str, Join], ...]
    derive: Optional[Callable[[Any], Mapping[str, Any]]] = attrs.field(eq=False)
    derived: Declared
    version: int
    id: Optional[tuple[str, ...]]
    time_field: Optional[str]
    fields: tuple[Field, ...]
    roles: tuple[MemberRole, ...] = attrs.field(eq=False, repr=False)

    def __init__(self, name: str, root: Optional[TableOrEntity] = None, *, fields: Optional[Mapping[str, KindLike]] = None,
                 children: Optional[Mapping[str, Children]] = None, joins: Optional[Mapping[str, Join]] = None,
                 derive: Optional[Callable[[Any], Mapping[str, Any]]] = None,
                 derived: Optional[Mapping[str, KindLike]] = None, version: int = 1,
                 id: Union[str, Iterable[str], None] = None, time_field: Optional[str] = None,
                 **unknown: Any) -> None:
        if unknown:
            raise ModelError(f"aggregate {name!r}: unknown options {sorted(unknown)}")
        if not isinstance(root, (Table, Entity)):
            raise ModelError(f"aggregate {name!r}: root must be a Table or an Entity, not {type(root).__name__}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ModelError(f"aggregate name {name!r} must match {_NAME.pattern}")
        owner = f"aggregate {name!r}"
        root_fields = declared_fields(owner, fields)
        kids = named(f"{owner}, children", children, Children)
        root_joins = named(f"{owner}, join", joins, Join)
        checked_parts(owner, kids, root_joins)
        derived_fields = declared_fields(f"{owner}, derived", derived)
        if derive is None and derived_fields:
            raise ModelError(f"{owner}: derived fields {[n for n, _ in derived_fields]} need a derive function")
        if derive is not None and not callable(derive):
            raise ModelError(f"{owner}: derive must be a function of the document view")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ModelError(f"{owner}: version must be a positive integer")
        document = [kind.field(field) for field, kind in root_fields]
        if derive is not None:
            document += [kind.field(field) for field, kind in derived_fields]
        else:
            document += [Field(child, FieldKind.OBJECTS, _child_subfields(c)) for child, c in kids]
            document += [Field(join, FieldKind.OBJECT, tuple(k.field(f) for f, k in j.fields)) for join, j in root_joins]
        self.__attrs_init__(name, root, root_fields, kids, root_joins, derive, derived_fields, version,
                            attribute_names(id), time_field, tuple(document), ())
        object.__setattr__(self, "roles", compile_roles(self))
        dry_run(self)

    @property
    def tables(self) -> frozenset[str]:
        """Every table the aggregate reads: its members' and its joins' tables."""
        names = {role.table for role in self.roles}
        names.update(join.target_table for role in self.roles for join in role.joins)
        return frozenset(names)

    @property
    def replay_tables(self) -> tuple[str, ...]:
        """Tables a replay scans: the root's and the children's (joins are read through their pointers)."""
        return tuple(sorted({role.table for role in self.roles}))

    @property
    def join_roles(self) -> tuple[JoinRole, ...]:
        return tuple(join for role in self.roles for join in role.joins)

    def join(self, name: str) -> JoinRole:
        """The join role named ``name`` (a join slot's role)."""
        for join in self.join_roles:
            if join.name == name:
                return join
        raise KeyError(f"aggregate {self.name!r} has no join {name!r}")

    def role(self, name: str) -> MemberRole:
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(f"aggregate {self.name!r} has no role {name!r}")

    def document(self, doc_id: str, state: AggregateState) -> Optional[dict[str, Any]]:
        """The visible document, or ``None`` while the root item does not exist."""
        return render(self, self.roles, doc_id, state)


def _child_subfields(children: Children) -> tuple[Field, ...]:
    own = [kind.field(name) for name, kind in children.fields]
    joined = [Field(join, FieldKind.OBJECT, tuple(k.field(f) for f, k in j.fields)) for join, j in children.joins]
    return tuple(own + joined)
