"""``check_model``: the harness users run on their own model.

It runs the state machine of ``dynafold.testing.machine`` against the model's
tables in moto: generated writes, Lambda-like deliveries with redelivery,
partial failures, racing projectors and parallel lanes per shard, a replay
racing live projection, lagging fan-out indexes. Every document must end
equal to what the final tables imply, and equal to what a replay of those
tables produces. Failures shrink to a short, readable sequence of steps.

    from dynafold.testing import check_model
    from myapp.views import MODEL

    def test_my_model_converges():
        check_model(MODEL)

``items={"devices": strategy}`` replaces the generated items of a table
(the strategy draws the non-key attributes); ``settings`` overrides the
hypothesis settings (by default the active profile's example count).
"""

from __future__ import annotations

from typing import Mapping, Optional

from hypothesis import HealthCheck
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from dynafold.domain.model import Model
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.testing.machine import machine_for
from dynafold.testing.workload import Workload


def check_model(model: Model, *, items: Optional[Mapping[str, st.SearchStrategy]] = None,
                names: TableNames = IDENTITY, settings: Optional[Settings] = None, steps: int = 30,
                pool_size: int = 3) -> None:
    """Raise an ``AssertionError`` with a shrunk counterexample if ``model``'s documents can diverge."""
    machine = machine_for(model, workload=Workload(model, items=items, pool_size=pool_size), names=names)
    chosen = settings or Settings(stateful_step_count=steps, deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    run_state_machine_as_test(machine, settings=chosen)
