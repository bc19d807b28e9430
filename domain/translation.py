"""From one source record to the domain events it implies, for every aggregate.

The same function serves stream records, scan rows, export lines, repairs
and quarantine retries. For each role the table plays:

- **member** (root or child): the documents the new image belongs to get
  the item's slice; the documents only the old image belonged to get its
  removal, at the record's version (the item moved, left the entity, or
  was deleted). Each of the item's joins reads the joined item now (a
  consistent read) and stamps the slice it saw ``version.via()``; a
  pointer that changed leaves its old join slot. Both are gated on the
  record being the item's latest (see ``dynafold.domain.fold``).
- **join target**: the joined item's slice goes to every document whose
  pointing items the fan-out index query finds.

A record that changes nothing an aggregate declares (an old image whose
slice and documents equal the new one's) yields no event for it: the
previous record already delivered that state, so skipping it is safe and
saves the write (and, for a joined item, the whole fan-out).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Optional

import attrs

from dynafold.domain.events import DomainEvent, Gate, Slot
from dynafold.domain.kinds import TranslationError
from dynafold.domain.lookup import Lookup, Need
from dynafold.domain.records import Origin, SourceRecord
from dynafold.domain.roles import JoinRole, MemberRole
from dynafold.domain.source import SourceItem
from dynafold.domain.tables import Table

__all__ = ["Translator", "TranslationError", "TablePlan", "declared_version"]


@attrs.frozen
class Translator:
    """The escape hatch: a hand-written translation for one table, replacing the engine's.

    ``translate(record, lookup) -> list[DomainEvent]`` must honour the
    contract the engine's own translation keeps (README "Writing your own
    model"): stamp own slots with ``record.version`` and join slots with
    ``record.version.via(...)``; emit a removal (``state=None``) for every
    document the record's old image belonged to and its new image does not;
    never emit anything for an aggregate an item does not belong to; give
    the same events for the same record and the same table contents.
    ``needs(record)`` names the reads to prefetch for a batch.
    """

    table: str
    translate: Callable[[SourceRecord, Lookup], list[DomainEvent]]
    needs: Callable[[SourceRecord], Iterable[Need]] = lambda record: ()


def declared_version(table: Table, image: Optional[Mapping[str, Any]]) -> int:
    """The table's version attribute as an integer (0 when absent or not an integer)."""
    if table.version is None or image is None:
        return 0
    value = image.get(table.version)
    try:
        if value is not None and type(value) is not bool and value == value.to_integral_value():
            return int(value)
    except (AttributeError, ArithmeticError):
        pass
    return 0


@attrs.frozen(eq=False)
class TablePlan:
    """Every role one table plays in a model: the engine's translation for its records."""

    table: Table
    members: tuple[MemberRole, ...]
    joined: tuple[JoinRole, ...]
    owners: Mapping[tuple[str, str], MemberRole]  # (aggregate, role name) -> the role that owns a join

    @property
    def routing_attributes(self) -> frozenset[str]:
        names: set[str] = set()
        for role in self.members:
            names |= role.routing_attributes
        return frozenset(names)

    def needs(self, record: SourceRecord, *, fan_out: bool = True) -> list[Need]:
        found: list[Need] = []
        new, olds = record.image, _olds(record)
        for role in self.members:
            if role.joins and (docs := role.documents(new)) and not _unchanged(role, record, olds, docs):
                for join in role.joins:
                    target = join.target_of(new)
                    if target is not None:
                        found.append(target)
        if fan_out:
            for join in self.joined:
                if _fans_out(join, record, olds):
                    found.append(join.query(record.item))
        return found

    def translate(self, record: SourceRecord, lookup: Lookup, *, fan_out: bool = True) -> list[DomainEvent]:
        """The record's events; ``fan_out=False`` leaves out the joined-item side (a repair re-reads
        the pointing items instead)."""
        events: list[DomainEvent] = []
        olds = _olds(record)
        for role in self.members:
            _member(role, record, olds, lookup, events)
        if fan_out:
            for join in self.fan_outs(record):
                events.extend(self.fan_out_events(join, record, lookup.query(join.query(record.item)), lookup))
        return events

    def fan_outs(self, record: SourceRecord) -> list[JoinRole]:
        """The joins whose pointing documents this record changes (each needs an index query)."""
        olds = _olds(record)
        joins = [join for join in self.joined if _fans_out(join, record, olds)]
        for join in joins:
            if join.accepts(record.image):
                join.slice(record.image)  # a value of the wrong type is this record's poison, found now
        return joins

    def fan_out_events(self, join: JoinRole, record: SourceRecord, rows: Iterable[Mapping[str, Any]],
                       lookup: Lookup) -> list[DomainEvent]:
        """The joined item's slice for the documents of the pointing items in ``rows`` (index query rows:
        one page or all of them; pointing items the index does not project enough of are read)."""
        events: list[DomainEvent] = []
        _fan_out(join, self.owners[(join.aggregate, join.owner)], record, list(rows), lookup, events)
        return events


def _olds(record: SourceRecord) -> list[Mapping[str, Any]]:
    """The images the item had before this record: its old image (the keys alone for a bare REMOVE)
    and the record's ``left`` images."""
    olds = [image for image in record.left if image is not None]
    if record.old_image is not None:
        olds.insert(0, record.old_image)
    elif record.removed:
        olds.insert(0, dict(record.item.key))
    return olds


def _safe(function: Callable[[], Any], default: Any) -> Any:
    """An old image is history: a value that no longer translates cannot block the new state."""
    try:
        return function()
    except TranslationError:
        return default


def _unchanged(role: MemberRole, record: SourceRecord, olds: list, docs: tuple[str, ...]) -> bool:
    """A stream record whose old and new image agree on everything the role keeps or routes by."""
    if record.origin is not Origin.STREAM or record.old_image is None or record.image is None or len(olds) != 1:
        return False
    return role.same(record.old_image, record.image)


def _member(role: MemberRole, record: SourceRecord, olds: list, lookup: Lookup, events: list) -> None:
    new = record.image
    new_docs = role.documents(new)
    if new_docs and _unchanged(role, record, olds, new_docs):
        return
    version, item = record.version, record.item
    slot = Slot(role.name, item)
    gate = Gate(slot.key, version)
    data = role.slice(new) if new_docs else None
    for doc in new_docs:
        events.append(DomainEvent(role.aggregate, doc, slot, version, data, record.expired))
    left: dict[str, None] = {}
    for old in olds:
        for doc in _safe(lambda: role.documents(old), ()):
            if doc not in new_docs and doc not in left:
                left[doc] = None
                events.append(DomainEvent(role.aggregate, doc, slot, version, None, record.expired))
    for join in role.joins:
        target = join.target_of(new) if new_docs else None
        if target is not None:
            image = lookup.item(target)
            try:
                joined = join.slice(image) if join.accepts(image) else None
            except TranslationError as error:
                raise TranslationError(f"joined {target.table} item {target.id}: {error}") from None
            stamp = version.via(declared_version(join.target.table, image))
            for doc in new_docs:
                events.append(DomainEvent(role.aggregate, doc, Slot(join.name, target, item), stamp, joined,
                                          gate=gate))
        seen: set = set()
        for old in olds:
            previous = _safe(lambda: join.target_of(old), None)
            if previous is None:
                continue
            for doc in _safe(lambda: role.documents(old), ()):
                if (doc not in new_docs or previous != target) and (doc, previous) not in seen:
                    seen.add((doc, previous))
                    events.append(DomainEvent(role.aggregate, doc, Slot(join.name, previous, item), version.via(), None,
                                              gate=gate, forget=True))


def _fans_out(join: JoinRole, record: SourceRecord, olds: list) -> bool:
    """False when the record cannot change what any pointing document shows of the joined item."""
    if not join.pointed_at(record.item):  # a key without the join's prefix: no pointer names this item
        return False
    new_ok = join.accepts(record.image)
    if record.old_image is None:
        return new_ok or record.removed or bool(olds)
    old = record.old_image
    old_ok = join.accepts(old)
    if not new_ok and not old_ok:
        return False
    if new_ok and old_ok and record.origin is Origin.STREAM:
        return _safe(lambda: join.slice(old), None) != join.slice(record.image)
    return True


def _fan_out(join: JoinRole, owner: MemberRole, record: SourceRecord, rows: list, lookup: Lookup, events: list) -> None:
    item = record.item
    data = join.slice(record.image) if join.accepts(record.image) else None
    pointing: dict[str, tuple[SourceItem, Optional[Mapping[str, Any]]]] = {}
    unread = []
    keys = owner.source.table.key_attributes
    for row in rows:
        if any(row.get(k) is None for k in keys):
            continue
        source = SourceItem.of(owner.table, {k: row[k] for k in keys})
        complete = "*" not in owner.routing_attributes and all(a in row for a in owner.routing_attributes)
        pointing[source.id] = (source, row if complete else None)
        if not complete:
            unread.append(source)
    read = lookup.items(unread) if unread else {}
    for source, row in pointing.values():
        image = row if row is not None else read.get(source.id)
        if image is None:
            continue
        if row is None and _safe(lambda: join.target_of(image), None) != item:
            continue  # it points elsewhere now: its own record says so
        for doc in _safe(lambda: owner.documents(image), ()):
            events.append(DomainEvent(join.aggregate, doc, Slot(join.name, item, source), record.version, data,
                                      record.expired))
