"""The fold law, as a check users run on their own aggregates.

However the events of different items interleave, however often a stretch
of one item's events is delivered again (with what follows it, as a stream
reader does) and however they are cut into batches, every document must
equal the document the events make in their given order. The engine's fold
guarantees that for the slices; what this checks is the part a model author
writes: a ``derive`` that reads anything but the view (a clock, a counter,
a random number) or depends on the order of its input fails here. The end-to-end
check of a whole model (decoding, routing, joins, moves) is
``dynafold.testing.harness``.
"""

from __future__ import annotations

import random as _random
from collections import defaultdict
from typing import Any, Iterable, Mapping, Optional, Sequence

from dynafold.domain.aggregate import Aggregate
from dynafold.domain.events import DomainEvent
from dynafold.domain.fold import fold
from dynafold.domain.state import AggregateState


class FoldLawViolation(AssertionError):
    pass


def route_all(aggregate: Aggregate, events: Iterable[DomainEvent]) -> dict[str, list[DomainEvent]]:
    """The aggregate's events per document id, in the given order."""
    routed: dict[str, list[DomainEvent]] = defaultdict(list)
    for event in events:
        if event.aggregate == aggregate.name:
            routed[event.document].append(event)
    return routed


def stream_of(event: DomainEvent) -> str:
    """The stream an event comes from: a join read or leave comes from its pointing item's records."""
    return (event.slot.via if event.gate is not None else event.slot.source).id


def delivery(events: Sequence[DomainEvent], rng: _random.Random) -> list[DomainEvent]:
    """A delivery a stream reader could make: each item's events in order, items interleaved at random,
    and now and then a stretch of one item's events delivered again with everything after it."""
    streams: dict[str, list[DomainEvent]] = defaultdict(list)
    for event in events:
        streams[stream_of(event)].append(event)
    queues = {name: list(stream) for name, stream in streams.items()}
    for name, stream in streams.items():
        if stream and rng.random() < 0.5:
            start = rng.randrange(len(stream))
            queues[name] = stream[:rng.randint(start, len(stream))] + stream[start:]
    delivered = []
    while queues:
        name = rng.choice(sorted(queues))
        delivered.append(queues[name].pop(0))
        if not queues[name]:
            del queues[name]
    return delivered


def documents(
    aggregate: Aggregate, batches: Iterable[Sequence[DomainEvent]]
) -> dict[str, tuple[Optional[dict[str, Any]], AggregateState]]:
    """Fold batches one after the other and derive each changed document, as the projector does:
    (document, state) per id."""
    states: dict[str, AggregateState] = {}
    bodies: dict[str, Optional[dict[str, Any]]] = {}
    for batch in batches:
        for doc_id, routed in route_all(aggregate, batch).items():
            before = states.get(doc_id, AggregateState())
            after = fold(before, routed)
            if after is not before or doc_id not in bodies:
                bodies[doc_id] = aggregate.document(doc_id, after)
            states[doc_id] = after
    return {doc_id: (bodies[doc_id], state) for doc_id, state in states.items()}


def documents_from_events(aggregate: Aggregate, events: Sequence[DomainEvent]) -> dict[str, Optional[dict]]:
    """Per document: the document the events make when folded in the order given."""
    return {doc_id: body for doc_id, (body, _) in documents(aggregate, [events]).items()}


def _batches(events: list, rng: _random.Random) -> list[list]:
    cuts = sorted(rng.sample(range(1, len(events)), k=rng.randint(0, len(events) - 1))) if len(events) > 1 else []
    bounds = [0, *cuts, len(events)]
    return [events[a:b] for a, b in zip(bounds, bounds[1:])]


def assert_fold_converges(
    aggregate: Aggregate,
    events: Sequence[DomainEvent],
    *,
    orderings: int = 25,
    random: Optional[_random.Random] = None,
) -> Mapping[str, Optional[dict]]:
    """Check the fold law for ``events`` (given in an order their items' streams allow); return the
    expected documents.

    Each of ``orderings`` trials interleaves the items' events at random,
    delivers stretches of them again (with what follows, as a stream reader
    does) and cuts the result into random batches. Pass hypothesis'
    ``st.randoms()`` as ``random`` to let failures shrink.
    """
    rng = random if random is not None else _random.Random(0)
    events = list(events)
    expected = documents_from_events(aggregate, events)
    for trial in range(orderings):
        delivered = delivery(events, rng)
        actual = documents(aggregate, _batches(delivered, rng))
        for doc_id, want in expected.items():
            got = actual[doc_id][0]
            if got != want:
                raise FoldLawViolation(
                    f"aggregate {aggregate.name!r}, document {doc_id!r}: delivery order changed the result "
                    f"(trial {trial}, {len(delivered)} deliveries)\n  expected {want!r}\n  got      {got!r}"
                )
    return expected
