"""The parts an aggregate is declared from: child collections and joins.

Children are items whose parent attribute names the document (writers may
change it); a join is an attribute of the root or of a child pointing at
another table's item, with the index on the pointing table that finds the
pointers again when the joined item changes.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Optional, Union

import attrs

from dynafold.domain.kinds import Kind, KindLike, as_kind
from dynafold.domain.tables import Entity, ModelError, Table, TableOrEntity

RESERVED_FIELD = "dynafold"
FLAT_SUFFIX = "_flat"  # a collection's plain copy for dashboards sits beside it as <name>_flat (OpenSearch)
ROOT = "$root"

Declared = tuple[tuple[str, Kind], ...]


class ProjectionError(Exception):
    """An aggregate broke its own declaration at run time (a bug in the model, not in the data)."""


def declared_fields(owner: str, value: Any, checked: bool = True) -> Declared:
    """``(name, kind)`` pairs; ``checked=False`` leaves the kinds to ``Aggregate``, which knows the
    aggregate and the children or join a wrong kind belongs to (see ``checked_parts``)."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ModelError(f"{owner}: fields must be a mapping of attribute name to kind")
    result = []
    for name, kind in value.items():
        if not isinstance(name, str) or not name:
            raise ModelError(f"{owner}: field names must be non-empty strings, not {name!r}")
        try:
            result.append((name, as_kind(kind) if checked else kind))
        except TypeError as error:
            raise ModelError(f"{owner}, field {name!r}: {error}") from None
    return tuple(result)


def named(owner: str, value: Any, kind: type) -> tuple:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ModelError(f"{owner}: give a mapping of name to {kind.__name__}")
    for name, item in value.items():
        if not isinstance(item, kind):
            raise ModelError(f"{owner} {name!r}: expected a {kind.__name__}, not {type(item).__name__}")
    return tuple(value.items())


def attribute_names(value: Union[str, Iterable[str], None]) -> Optional[tuple[str, ...]]:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value)


@attrs.frozen(init=False)
class Join:
    """An attribute pointing at another table's item, and the index that finds the pointers.

    ``on`` is the pointing attribute (it holds the target's hash key), or a
    mapping of pointing attribute to target key attribute. ``index`` is a
    secondary index of the pointing table keyed by the pointing attribute(s):
    when the joined item changes, the engine queries it to reach every
    document that shows the item.

    ``prefix`` builds the target's key from a pointer that holds only the
    rest of it, as single-table designs write them: with
    ``Join(app_products, on="product_id", prefix="PROD#", ...)`` an order's
    ``product_id = "p1"`` joins the item whose key is ``"PROD#p1"`` (without
    it, the pointer must hold ``"PROD#p1"`` itself). With several pointing
    attributes, give ``{target key attribute: prefix}``. Only ``S`` keys take
    a prefix.
    """

    target: TableOrEntity
    on: tuple[tuple[str, str], ...]
    index: str
    fields: Declared
    prefix: tuple[tuple[str, str], ...]  # (target key attribute, text its value starts with before the pointer's)

    def __init__(self, target: TableOrEntity, on: Union[str, Mapping[str, str]], *, index: str,
                 fields: Mapping[str, KindLike], prefix: Union[str, Mapping[str, str], None] = None) -> None:
        if not isinstance(target, (Table, Entity)):
            raise ModelError(f"a join targets a Table or an Entity, not {type(target).__name__}")
        if isinstance(on, str):
            pairs = ((on, target.table.hash_key),)
        elif isinstance(on, Mapping):
            pairs = tuple(on.items())
        else:
            raise ModelError("join 'on' must be the pointing attribute or a mapping {pointing attribute: target key}")
        self.__attrs_init__(target, pairs, index, declared_fields("join", fields, checked=False),
                            _prefixes(prefix, pairs))


def _prefixes(prefix: Union[str, Mapping[str, str], None], pairs: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    if prefix is None:
        return ()
    if isinstance(prefix, str):
        if len(pairs) != 1:
            raise ModelError("join prefix: the join points through several attributes; give "
                             "{target key attribute: prefix}")
        return ((pairs[0][1], prefix),)
    if isinstance(prefix, Mapping):
        return tuple(prefix.items())
    raise ModelError(f"join prefix must be a string or a mapping {{target key attribute: prefix}}, not "
                     f"{type(prefix).__name__}")


@attrs.frozen(init=False)
class Children:
    """A collection of items that belong to the document their ``parent`` attribute(s) name.

    ``parent`` lists the child's attributes that hold the root's id, in the
    order of the root's id attributes. Writers may change them: the item then
    leaves one document and joins another. For what an attribute cannot say,
    ``route(image) -> document ids`` computes the documents instead (the
    engine still routes the old and the new image, so moves stay correct).
    """

    source: TableOrEntity
    parent: Optional[tuple[str, ...]]
    route: Optional[Callable[[Mapping[str, Any]], Iterable[str]]]
    fields: Declared
    joins: tuple[tuple[str, Join], ...]

    def __init__(self, source: TableOrEntity, parent: Union[str, Iterable[str], None] = None, *,
                 fields: Mapping[str, KindLike], joins: Optional[Mapping[str, Join]] = None,
                 route: Optional[Callable[[Mapping[str, Any]], Iterable[str]]] = None) -> None:
        if not isinstance(source, (Table, Entity)):
            raise ModelError(f"children come from a Table or an Entity, not {type(source).__name__}")
        if (parent is None) == (route is None):
            raise ModelError("children need exactly one of parent= (attribute names) or route= (a function)")
        self.__attrs_init__(source, attribute_names(parent), route, declared_fields("children", fields, checked=False),
                            named("children join", joins, Join))


def checked_parts(owner: str, children: Iterable[tuple[str, Children]], joins: Iterable[tuple[str, Join]]) -> None:
    """Check the kinds of the children's and joins' fields, naming the aggregate and the part.

    Children and joins are declared before their aggregate exists, so they keep their kinds as
    written until this check replaces them by the checked ones (idempotent for shared declarations).
    """
    def check(part: Any, label: str) -> None:
        object.__setattr__(part, "fields", declared_fields(label, dict(part.fields)))

    for name, join in joins:
        check(join, f"{owner}, join {name!r}")
    for child, declared in children:
        check(declared, f"{owner}, children {child!r}")
        for name, join in declared.joins:
            check(join, f"{owner}, children {child!r}, join {name!r}")
