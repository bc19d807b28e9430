"""The model harness is only worth something if it fails on a broken engine.

Each test breaks the engine one way the design notes warn about, runs the harness on a model
where that matters, and expects a counterexample: the watermark check removed, tombstones
dropped, the old image ignored (items never leave a document), the join gate ignored (a stale
slice from a pointer's previous life outranks the new read), fan-outs dropped.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings

import dynafold.domain.translation
import dynafold.projector.engine.conditional_write
from dynafold.domain.fold import fold as real_fold
from dynafold.domain.state import AggregateState, Entry
from dynafold.sample import MODEL as SAMPLE
from dynafold.testing import check_model
from tests.models import crm

HUNT = settings(max_examples=400, stateful_step_count=30, database=None, deadline=None, derandomize=True,
                phases=[Phase.generate], report_multiple_bugs=False, suppress_health_check=list(HealthCheck))


def finds_a_counterexample(model) -> bool:
    try:
        check_model(model, settings=HUNT)
    except AssertionError:
        return True
    return False


def fold_without_watermarks(state, events):
    entries = dict(state.entries)
    for event in events:
        entries[event.slot.key] = Entry(event.slot, event.version, event.state)
    return AggregateState(entries)


def fold_dropping_tombstones(state, events):
    folded = real_fold(state, events)
    return folded if folded is state else AggregateState({k: e for k, e in folded.entries.items() if e.data is not None})


def fold_without_gates(state, events):
    entries, changed = dict(state.entries), False
    for event in events:
        current = entries.get(event.slot.key)
        if current is None or event.version > current.version:
            entries[event.slot.key] = Entry(event.slot, event.version, None if event.forget else event.state)
            changed = True
    return AggregateState(entries) if changed else state


@pytest.mark.parametrize("broken_fold", [fold_without_watermarks, fold_dropping_tombstones, fold_without_gates],
                         ids=["no watermark check", "tombstones dropped", "join gate ignored"])
def test_a_broken_fold_is_caught(monkeypatch, broken_fold):
    monkeypatch.setattr(dynafold.projector.engine.conditional_write, "settle", lambda state, events: (broken_fold(state, events), ()))
    assert finds_a_counterexample(SAMPLE)


def test_ignoring_the_old_image_is_caught_where_items_move(monkeypatch):
    real = dynafold.domain.translation._olds
    monkeypatch.setattr(dynafold.domain.translation, "_olds", lambda record: real(record) if record.image is None else [])
    assert finds_a_counterexample(crm.MODEL)


def test_dropping_fan_outs_is_caught(monkeypatch):
    monkeypatch.setattr(dynafold.domain.translation, "_fans_out", lambda *args: False)
    assert finds_a_counterexample(SAMPLE)


def test_skipping_the_settling_read_is_caught(monkeypatch):
    """Without the read after the load, a fan-out landing between a pointing batch's join reads
    and its write is lost when the re-fold drops the slot the pointer left (the #13 flake)."""
    monkeypatch.setattr(dynafold.projector.engine.conditional_write, "settle", lambda state, events: (real_fold(state, events), ()))
    assert finds_a_counterexample(SAMPLE)
