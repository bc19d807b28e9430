"""The documents the final tables imply, computed straight from their contents.

No events, no versions, no fold, no store: for each root item, its
children are the items whose parent names it *now*, and each join shows the
item its pointer names *now* (or nothing). This is what a replay of the
final tables must produce, and what every document must converge to
whatever happened on the way. It reads the model's routing (which
documents an image belongs to, what slice it keeps) and its ``derive``,
because those are the specification; everything that can reorder,
duplicate or lose information is left out.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from dynafold.domain.declarations import ROOT
from dynafold.domain.events import Slot
from dynafold.domain.model import Model
from dynafold.domain.source import SourceItem, SourceVersion
from dynafold.domain.state import AggregateState, Entry

_NOW = SourceVersion()


def _index(model: Model, tables: Mapping[str, list[dict]]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for table, items in tables.items():
        spec = model.tables[table]
        for item in items:
            found[SourceItem.of(table, {k: item[k] for k in spec.key_attributes}).id] = item
    return found


def oracle_documents(model: Model, tables: Mapping[str, list[dict]]) -> dict[str, dict[str, dict]]:
    """``{aggregate: {document id: body}}`` for the visible documents the tables imply."""
    by_id = _index(model, tables)
    result: dict[str, dict[str, dict]] = {}
    for aggregate in model.aggregates.values():
        entries: dict[str, dict[str, Entry]] = {}
        for role in aggregate.roles:
            spec = model.tables[role.table]
            for item in tables.get(role.table, []):
                source = SourceItem.of(role.table, {k: item[k] for k in spec.key_attributes})
                for doc in role.documents(item):
                    data = role.slice(item)
                    slot = Slot(role.name, source)
                    entries.setdefault(doc, {})[slot.key] = Entry(slot, _NOW, data)
                    for join in role.joins:
                        target = join.target_of(item)
                        joined: Optional[dict[str, Any]] = None if target is None else by_id.get(target.id)
                        if target is not None and joined is not None and join.accepts(joined):
                            join_slot = Slot(join.name, target, source)
                            entries[doc][join_slot.key] = Entry(join_slot, _NOW, join.slice(joined))
        documents = {}
        for doc, doc_entries in entries.items():
            if not any(e.slot.role == ROOT for e in doc_entries.values()):
                continue
            body = aggregate.document(doc, AggregateState(doc_entries))
            if body is not None:
                documents[doc] = body
        result[aggregate.name] = documents
    return result


def difference(name: str, expected: dict, got: dict) -> str:
    lines = [f"aggregate {name!r}: documents differ from the final tables"]
    for doc in sorted(set(expected) | set(got)):
        if expected.get(doc) != got.get(doc):
            lines.append(f"  {doc}:\n    expected {expected.get(doc)!r}\n    got      {got.get(doc)!r}")
    return "\n".join(lines[:12])
