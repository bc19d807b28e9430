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
hypothesis settings (by default the active profile's example count). Hypothesis's
``explain`` phase is always left out: it replays the failing example hundreds
of times over moto to list the lines only failures ran, which took minutes
for a one-line model bug, and the shrunk steps already say what happened.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator, Mapping, Optional

from hypothesis import HealthCheck, Phase
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
    """Raise an ``AssertionError`` with a shrunk counterexample (hypothesis attaches the steps) if
    ``model``'s documents can diverge, or if a record the harness writes is quarantined (a model bug:
    a ``derive`` value its kind refuses, a ``route`` that raises), which fails the example at once."""
    machine = machine_for(model, workload=Workload(model, items=items, pool_size=pool_size), names=names)
    chosen = settings or Settings(stateful_step_count=steps, deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    chosen = Settings(chosen, phases=[phase for phase in chosen.phases if phase is not Phase.explain])
    with _engine_logs_quiet():
        run_state_machine_as_test(machine, settings=chosen)


@contextlib.contextmanager
def _engine_logs_quiet() -> Iterator[None]:
    """The engine's warnings (a record quarantined, a batch retried) are what the harness provokes and
    judges itself: a failure carries its reason and the shrunk steps, so hundreds of copies of the
    same warning from the examples hypothesis tries while shrinking would only bury it."""
    logger = logging.getLogger("dynafold")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
