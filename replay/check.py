"""Re-deriving one document from consistent reads of the items it holds, or should hold.

An independent second opinion on a document: read every item its slots
name (and every item another opinion says belongs there) as it is now,
translate each afresh through the same roles, and fold from empty. An item
that no longer belongs to the document (deleted, moved to another parent,
no longer of the entity) gets a removal, and so does a join slot its
pointing item no longer points through: the re-derived state says where
every item is now, stamped ``T - 1 s`` on DynamoDB's clock. The rebuild's
sample check, ``verify`` and ``verify --repair`` use it.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from dynafold.domain.aggregate import Aggregate
from dynafold.domain.events import DomainEvent
from dynafold.domain.fold import fold
from dynafold.domain.model import Model
from dynafold.domain.source import SourceItem, SourceVersion
from dynafold.domain.state import AggregateState
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.aws.server_clock import server_time_us
from dynafold.projector.intake.records import scanned_record
from dynafold.projector.stores.base import StoredDocument
from dynafold.projector.table_names import IDENTITY, TableNames


def member_sources(aggregate: Aggregate, states: Iterable[AggregateState]) -> list[SourceItem]:
    """The items whose own slots (root, children) or join slots (as pointing items) appear in ``states``."""
    members = {role.name for role in aggregate.roles}
    found: dict[str, SourceItem] = {}
    for state in states:
        for entry in state:
            source = entry.slot.source if entry.slot.role in members else entry.slot.via
            if source is not None:
                found[source.id] = source
    return sorted(found.values(), key=lambda s: s.id)


def rederive_state(model: Model, client: Any, aggregate: Aggregate, doc_id: str, states: Iterable[AggregateState],
                   t_start_us: Optional[int] = None, names: TableNames = IDENTITY) -> AggregateState:
    """The state the document has when the items of ``states`` are read now."""
    states = list(states)
    t_start_us = t_start_us if t_start_us is not None else server_time_us(client)
    sources = [s for s in member_sources(aggregate, states) if s.table in model.tables]
    lookup = DynamoLookup(client, model, names=names)
    lookup.prefetch(sources)
    events: list[DomainEvent] = []
    for source in sources:
        image = lookup.item(source)
        if image is None:
            continue
        record = scanned_record(model.table(source.table), image, t_start_us)
        translator = model.translators.get(source.table)
        produced = (translator.translate(record, lookup) if translator is not None
                    else model.plan(source.table).translate(record, lookup, fan_out=False))
        events.extend(e for e in produced if e.aggregate == aggregate.name and e.document == doc_id)
    events.extend(_departures(aggregate, doc_id, states, events, t_start_us))
    return fold(AggregateState(), events)


def _departures(aggregate: Aggregate, doc_id: str, states: list[AggregateState], fresh: list[DomainEvent],
                t_start_us: int) -> list[DomainEvent]:
    """Removals for every slot the known states hold that the fresh reads did not put back."""
    present = {event.slot.key for event in fresh}
    members = {role.name for role in aggregate.roles}
    stamp = SourceVersion.scanned(t_start_us)
    removals: dict[str, DomainEvent] = {}
    for state in states:
        for entry in state:
            key = entry.slot.key
            if key in present or key in removals:
                continue
            version = stamp if entry.slot.role in members else stamp.via()
            removals[key] = DomainEvent(aggregate.name, doc_id, entry.slot, version, None)
    return list(removals.values())


def rederive(model: Model, client: Any, aggregate: Aggregate, stored: StoredDocument,
             t_start_us: Optional[int] = None, names: TableNames = IDENTITY) -> Optional[dict]:
    state = rederive_state(model, client, aggregate, stored.key.id, [stored.state], t_start_us, names)
    return aggregate.document(stored.key.id, state)
