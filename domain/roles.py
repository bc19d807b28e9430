"""Roles: the compiled form of a declaration, one per way an item can be in a document.

A member role (the root, or one child collection) says which documents an
item image belongs to and what slice of it they keep. A join role says
which item a pointing image points at, what slice of that item the
document keeps, and which index query finds the pointing items again.
Both are pure functions of an image, so the stream, a scan and a repair
route an item identically; the engine applies them to the old *and* the
new image of a record, which is how an item that moves between documents
leaves the one it left.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Optional, Union

import attrs

from dynafold.domain.kinds import Kind, TranslationError, accept, slicer
from dynafold.domain.lookup import IndexQuery
from dynafold.domain.source import SourceItem
from dynafold.domain.tables import TableOrEntity

_TYPE_OF = {str: "S", Decimal: "N", bytes: "B"}


def id_part(value: Any) -> Optional[str]:
    """One id value as text (numbers in canonical form, binaries in base64); None for none."""
    if type(value) is str:
        return value or None
    if type(value) is Decimal:
        return format(value.normalize(), "f") if value else "0"
    if type(value) is bytes:
        return base64.b64encode(value).decode("ascii") if value else None
    return None


def document_id(values: tuple[Any, ...], label: str) -> Optional[str]:
    """The document id named by ``values`` (one value: itself; several: a JSON array); None if one is absent."""
    if len(values) == 1 and type(values[0]) is str and values[0]:
        return values[0]
    parts = []
    for value in values:
        if value is None:
            return None
        part = id_part(value)
        if part is None:
            if value in ("", b""):
                return None
            raise TranslationError(f"attribute {label!r} must be S, N or B: it names a document")
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":"))


@attrs.frozen(eq=False)
class JoinRole:
    """A join of a member role: ``name`` is ``song`` (on the root) or ``orders.product`` (on a child)."""

    aggregate: str
    name: str
    owner: str
    target: TableOrEntity
    pointers: tuple[tuple[str, str], ...]  # (target key attribute, pointing attribute)
    constants: tuple[tuple[str, Any], ...]  # target key attributes pinned by the target entity
    index: str
    pointing_table: str
    index_keys: tuple[str, ...]
    fields: tuple[tuple[str, Kind], ...]
    prefixes: tuple[tuple[str, str], ...] = ()  # (target key attribute, text before the pointer's value)

    @property
    def target_table(self) -> str:
        return self.target.table.name

    @property
    def pointing_attributes(self) -> tuple[str, ...]:
        return tuple(p for _, p in self.pointers)

    def target_of(self, image: Mapping[str, Any]) -> Optional[SourceItem]:
        """The item the image points at, or None when a pointing attribute is absent."""
        key = dict(self.constants)
        for target_attribute, pointing in self.pointers:
            value = image.get(pointing)
            if value is None or value == "" or value == b"":
                return None
            expected = self.target.table.key_type(target_attribute)
            if _TYPE_OF.get(type(value)) != expected:
                raise TranslationError(
                    f"attribute {pointing!r} must be {expected}: it points at table {self.target_table!r}"
                )
            key[target_attribute] = value
        for target_attribute, text in self.prefixes:
            key[target_attribute] = text + key[target_attribute]
        return SourceItem.of(self.target_table, key)

    def stored_target(self, values: Mapping[str, Any]) -> Optional[SourceItem]:
        """``target_of`` for a pointing slice read back from a store: JSON gives an integral N pointer
        back as ``int`` and a B pointer as base64 text (the slice was checked when it was made)."""
        restored = None
        for target_attribute, pointing in self.pointers:
            value = values.get(pointing)
            expected = self.target.table.key_type(target_attribute)
            if (expected == "N" and type(value) is int) or (expected == "B" and type(value) is str and value):
                restored = dict(values) if restored is None else restored
                restored[pointing] = Decimal(value) if expected == "N" else base64.b64decode(value)
        return self.target_of(values if restored is None else restored)

    def accepts(self, image: Optional[Mapping[str, Any]]) -> bool:
        return image is not None and self.target.matches(image)

    def slice(self, image: Mapping[str, Any]) -> dict[str, Any]:
        return {name: accept(kind, image.get(name), f"{self.target_table}.{name}") for name, kind in self.fields}

    def pointer_to(self, key: Mapping[str, Any]) -> Optional[dict[str, Any]]:
        """The pointing attributes' values that name the item keyed ``key`` (its key without the join's
        prefixes), or None when no pointer can name it (a key without the prefix, or nothing after it)."""
        pointer = {}
        for attribute, pointing in self.pointers:
            value = key[attribute]
            text = next((t for a, t in self.prefixes if a == attribute), None)
            if text is not None:
                if type(value) is not str or not value.startswith(text) or value == text:
                    return None
                value = value[len(text):]
            pointer[pointing] = value
        return pointer

    def pointed_at(self, item: SourceItem) -> bool:
        """Whether a pointer can name ``item`` of the target table (always, without prefixes)."""
        return not self.prefixes or self.pointer_to(dict(item.key)) is not None

    def query(self, target: SourceItem) -> IndexQuery:
        """The index query that finds every item pointing at ``target``: the index holds the pointers'
        values, so a prefixed key is looked up without its prefix."""
        by_pointing = self.pointer_to(dict(target.key))
        if by_pointing is None:
            raise ValueError(f"no pointer of join {self.name!r} can name {target.id}")
        return IndexQuery(self.pointing_table, self.index, tuple((name, by_pointing[name]) for name in self.index_keys))


@attrs.frozen(eq=False)
class MemberRole:
    """The root (``$root``) or one child collection of an aggregate."""

    aggregate: str
    name: str
    source: TableOrEntity
    fields: tuple[tuple[str, Kind], ...]
    parent: Optional[tuple[str, ...]]
    route: Optional[Callable[[Mapping[str, Any]], Iterable[str]]]
    joins: tuple[JoinRole, ...]
    routing_attributes: frozenset[str]
    kept_attributes: tuple[str, ...] = attrs.field(init=False)
    compared_attributes: tuple[str, ...] = attrs.field(init=False)
    _cut: Callable = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        names = [name for name, _ in self.fields]
        for join in self.joins:
            names.extend(p for p in join.pointing_attributes if p not in names)
        kept = tuple(names)
        object.__setattr__(self, "kept_attributes", kept)
        decisive = set(kept) | (set(self.parent or ()) | {c.attribute for c in self.source.conditions})
        object.__setattr__(self, "compared_attributes", tuple(sorted(decisive)))
        object.__setattr__(self, "_cut", slicer(self.fields))

    @property
    def table(self) -> str:
        return self.source.table.name

    def documents(self, image: Optional[Mapping[str, Any]]) -> tuple[str, ...]:
        """The documents this image belongs to in this role (none when it is not of the role's entity)."""
        if image is None or not self.source.matches(image):
            return ()
        if self.route is not None:
            return _routed(self, image)
        doc = document_id(tuple(image.get(name) for name in self.parent), "/".join(self.parent))
        return () if doc is None else (doc,)

    def same(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        """True when nothing this role keeps or routes by differs between two images of one item."""
        if self.route is not None:
            return False
        return all(old.get(name) == new.get(name) for name in self.compared_attributes)

    def slice(self, image: Mapping[str, Any]) -> dict[str, Any]:
        data = self._cut(image)
        for join in self.joins:
            for pointing in join.pointing_attributes:
                if pointing not in data:
                    data[pointing] = image.get(pointing)
            join.target_of(image)  # a pointer of the wrong type is an error now, not a silent null later
        return data


def _routed(role: MemberRole, image: Mapping[str, Any]) -> tuple[str, ...]:
    try:
        ids = list(role.route(image))
    except Exception as error:
        raise TranslationError(f"route of children {role.name!r} raised {type(error).__name__}") from None
    for doc in ids:
        if not isinstance(doc, str) or not doc:
            raise TranslationError(f"route of children {role.name!r} returned a document id that is not a non-empty string")
    return tuple(dict.fromkeys(ids))


Role = Union[MemberRole, JoinRole]
