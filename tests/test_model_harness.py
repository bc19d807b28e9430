"""The model harness (``testkit.check_model``) on five models of different shapes.

- the sample (children keyed under their parent; a root join fanned out through a GSI);
- a CRM (items that move between documents, joins on a versioned table and on children, two
  aggregates over the same tables), also deployed under physical table names;
- a single-table design (entities told apart by key prefix and by a type attribute);
- the escape hatches (children routed by a function, a table translated by hand);
- places on a map (``geo_point`` at the root, in children, through a join, composed by ``derive``).

Each run drives moto with generated writes (version attributes that go up, restart at 1, or go
down), delivers the streams as Lambda would (lanes per shard, failures, redelivery, racing
projectors, a replay racing live projection, lagging indexes) and requires every document to
equal what the final tables imply.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from dynafold.projector.table_names import TableNames
from dynafold.sample import MODEL as SAMPLE
from dynafold.testing import check_model
from tests.models import crm, groups, places, single_table

# Each example drives moto through some 30 steps (about half a second): the thorough profile runs
# 2,000 per model rather than the 10,000 of the pure property tests.
EXAMPLES = {"thorough": 2_000}.get(os.environ.get("HYPOTHESIS_PROFILE", "ci"), 60)
HARNESS = settings(max_examples=EXAMPLES, stateful_step_count=30, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_the_sample_converges():
    check_model(SAMPLE, settings=HARNESS)


def test_a_crm_with_moving_items_and_versioned_joins_converges():
    check_model(crm.MODEL, settings=HARNESS)


def test_a_crm_deployed_under_physical_table_names_converges():
    names = TableNames({name: f"prod-{name}" for name in crm.MODEL.tables})
    check_model(crm.MODEL, names=names, settings=HARNESS)


def test_a_single_table_design_converges():
    check_model(single_table.MODEL, settings=HARNESS)


def test_locations_in_every_place_a_field_can_be_converge():
    check_model(places.MODEL, items=places.ITEMS, settings=HARNESS)


def test_route_functions_and_a_hand_written_translator_converge():
    check_model(groups.MODEL, items=groups.ITEMS, settings=HARNESS)


def test_a_hand_written_translator_that_breaks_its_contract_is_caught():
    """The contract says: the group a flag moved away from gets its removal. Forget that, and the
    harness must find a document that keeps a flag the final tables no longer give it."""
    from hypothesis import HealthCheck, Phase, settings

    from dynafold import Model, Translator

    def forgetful(record, lookup):
        return [event for event in groups.translate_flag(record, lookup) if event.state is not None]

    broken = Model([groups.GROUP], translators=[Translator("flags", forgetful)])
    with pytest.raises(AssertionError, match="documents differ from the final tables"):
        check_model(broken, items=groups.ITEMS, settings=settings(
            max_examples=300, stateful_step_count=30, deadline=None, database=None, phases=[Phase.generate],
            suppress_health_check=list(HealthCheck)))


def test_a_derive_value_its_kind_refuses_fails_the_check_at_once_with_the_shrunk_steps(caplog):
    """A model author's ``derive`` returned ``[None]`` for a ``keywords`` field: the harness spent minutes
    shrinking and printed hundreds of "record quarantined" lines, then raised ``ProjectionError``. A model
    bug the harness finds now fails the check at the first record it quarantines, as an ``AssertionError``
    that names the element, with hypothesis's shrunk steps attached."""
    import time

    from hypothesis import HealthCheck, settings

    from dynafold import Aggregate, Model, Table
    from dynafold.kinds import keyword, keywords

    people = Table("people", "person_id")
    broken = Model([Aggregate("person", people, fields=dict(name=keyword),
                              derive=lambda p: {"tags": [None] if p.name else []}, derived=dict(tags=keywords))])
    started = time.monotonic()
    with pytest.raises(AssertionError) as failed:
        check_model(broken, settings=settings(max_examples=50, stateful_step_count=30, deadline=None, database=None,
                                              suppress_health_check=list(HealthCheck)))
    elapsed = time.monotonic() - started
    message = str(failed.value)
    assert "the aggregate cannot derive the document" in message and "'tags[0]'" in message and "None" in message
    assert any("state.put(" in note for note in getattr(failed.value, "__notes__", [])), "the shrunk steps"
    assert elapsed < 60, f"{elapsed:.0f} s"
    assert not [r for r in caplog.records if r.getMessage() == "record quarantined"], "the failure says it once"
