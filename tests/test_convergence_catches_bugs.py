"""The convergence suite is only worth something if it fails on a broken engine.

Each test breaks the engine the way the issue names (watermark check removed,
derived fields incremented instead of recomputed, tombstones dropped), runs
the state machine, and expects a counterexample.
"""

from __future__ import annotations

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

import projector.batch
from domain.fold import fold as real_fold
from domain.model import Model
from domain.sample import CUSTOMER, LESSON
from domain.sample.events import OrderChanged
from domain.sample.tables import TABLES
from domain.sample.translators import TRANSLATORS
from domain.source import SourceItem, SourceVersion
from domain.state import AggregateState, Entry
from tests.test_convergence import Convergence

HUNT = settings(max_examples=300, stateful_step_count=40, database=None, deadline=None, report_multiple_bugs=False,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck))


def finds_a_counterexample(machine=Convergence) -> bool:
    try:
        run_state_machine_as_test(machine, settings=HUNT)
    except AssertionError:
        return True
    return False


def test_without_the_watermark_check_the_suite_finds_a_counterexample(monkeypatch):
    def fold_without_watermarks(aggregate, state, events):
        entries = dict(state.entries)
        for event in events:
            entries[event.source.id] = Entry(event.source, event.version, aggregate.slice(event))
        return AggregateState(entries)

    monkeypatch.setattr(projector.batch, "fold", fold_without_watermarks)
    assert finds_a_counterexample()


def test_with_tombstones_dropped_the_suite_finds_a_counterexample(monkeypatch):
    def fold_dropping_tombstones(aggregate, state, events):
        folded = real_fold(aggregate, state, events)
        if folded is state:
            return state
        return AggregateState({sid: e for sid, e in folded.entries.items() if not e.removed})

    monkeypatch.setattr(projector.batch, "fold", fold_dropping_tombstones)
    assert finds_a_counterexample()


COUNTER = SourceItem.of("dynafold-counter", {"id": "order_count"})


def fold_incrementing(aggregate, state, events):
    """Counts applied order events into the document, as an incrementing projection would."""
    folded = real_fold(aggregate, state, events)
    if aggregate.name != "customer" or folded is state:
        return folded
    applied = sum(1 for e in events if isinstance(e, OrderChanged) and folded.entries[e.source.id].version == e.version
                  and (state.get(e.source) is None or state.get(e.source).version < e.version))
    entries = dict(folded.entries)
    previous = entries.get(COUNTER.id)
    count = (previous.data["n"] if previous else 0) + applied
    entries[COUNTER.id] = Entry(COUNTER, SourceVersion(0, 0, count), {"n": count})
    return AggregateState(entries)


def derive_with_counter(view):
    body = CUSTOMER.derive(view)
    counter = view.state.get(COUNTER)
    return {**body, "order_count": counter.data["n"] if counter else 0}


class IncrementingConvergence(Convergence):
    model = Model.of(TABLES, TRANSLATORS, (attrs.evolve(CUSTOMER, derive=derive_with_counter), LESSON))


def test_with_derived_fields_incremented_the_suite_finds_a_counterexample(monkeypatch):
    monkeypatch.setattr(projector.batch, "fold", fold_incrementing)
    assert finds_a_counterexample(IncrementingConvergence)
