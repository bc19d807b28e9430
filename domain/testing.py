"""The fold law, as a check users run on their own aggregates.

Whatever order events arrive in, however often each is repeated and however
they are cut into batches, every document must equal the document built from
the latest event per source item alone. An aggregate that increments a
counter, or reads anything but its slices, fails this check.
"""

from __future__ import annotations

import random as _random
from collections import defaultdict
from typing import Any, Iterable, Mapping, Optional, Sequence

from domain.aggregate import Aggregate
from domain.events import DomainEvent
from domain.fold import fold
from domain.state import AggregateState


class FoldLawViolation(AssertionError):
    pass


def route_all(aggregate: Aggregate, events: Iterable[DomainEvent]) -> dict[str, list[DomainEvent]]:
    """Events per document id, in the given order."""
    routed: dict[str, list[DomainEvent]] = defaultdict(list)
    for event in events:
        for doc_id in aggregate.routes(event):
            routed[doc_id].append(event)
    return routed


def latest_per_source(events: Iterable[DomainEvent]) -> list[DomainEvent]:
    """The newest event of each source item; two different events with one version are an error."""
    latest: dict[str, DomainEvent] = {}
    for event in events:
        current = latest.get(event.source.id)
        if current is None or event.version > current.version:
            latest[event.source.id] = event
        elif event.version == current.version and event.state() != current.state():
            raise FoldLawViolation(
                f"two different events for {event.source.id} carry the same version {event.version}: "
                "no fold can order them (a translator must give each distinct state its own version)"
            )
    return list(latest.values())


def documents(
    aggregate: Aggregate, batches: Iterable[Sequence[DomainEvent]]
) -> dict[str, tuple[Optional[dict[str, Any]], AggregateState]]:
    """Fold batches one after the other, as the projector does: (document, state) per id."""
    states: dict[str, AggregateState] = {}
    for batch in batches:
        for doc_id, routed in route_all(aggregate, batch).items():
            states[doc_id] = fold(aggregate, states.get(doc_id, AggregateState()), routed)
    return {doc_id: (aggregate.document(doc_id, state), state) for doc_id, state in states.items()}


def expected_documents(aggregate: Aggregate, events: Sequence[DomainEvent]) -> dict[str, Optional[dict]]:
    """Per document: the document of the latest event per source item routed to it."""
    return {
        doc_id: aggregate.document(doc_id, fold(aggregate, AggregateState(), latest_per_source(routed)))
        for doc_id, routed in route_all(aggregate, events).items()
    }


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
    """Check the fold law for ``events``; return the expected documents.

    Each of ``orderings`` trials shuffles the events, repeats a random subset
    of them and cuts the result into random batches. Pass hypothesis'
    ``st.randoms()`` as ``random`` to let failures shrink.
    """
    rng = random if random is not None else _random.Random(0)
    events = list(events)
    expected = expected_documents(aggregate, events)
    for trial in range(orderings):
        delivered = events + [rng.choice(events) for _ in range(rng.randint(0, len(events)))] if events else []
        rng.shuffle(delivered)
        actual = documents(aggregate, _batches(delivered, rng))
        for doc_id, want in expected.items():
            got = actual[doc_id][0]
            if got != want:
                raise FoldLawViolation(
                    f"aggregate {aggregate.name!r}, document {doc_id!r}: delivery order changed the result "
                    f"(trial {trial}, {len(delivered)} deliveries)\n  expected {want!r}\n  got      {got!r}"
                )
    return expected
