"""The store contract: the promises of ``dynafold.projector.stores.base`` a store must keep, as pytest cases.

Write a ``DocumentStore`` for another engine and run the same cases dynafold
runs on its own stores (memory, SQLite, OpenSearch): subclass
``StoreContract`` in a test module of yours and run pytest on it.

    from dynafold.testing.store_contract import PortFaults, StoreContract
    from mystore import MyStore

    class TestMyStore(StoreContract):
        def make_store(self):  # a new client of this case's store, empty at the first call
            return MyStore(f"mystore:///{self.tmp_path}/views")
        def make_faults(self, store, rng):  # optional: without it the fault cases skip, saying so
            return PortFaults(store, rng)

The cases use the sample model (``dynafold.sample``): ``prepare`` gets its
aggregates. ``make_store`` is called more than once per case (racing
clients) and every call must reach the same data; every client is closed
when the case ends. ``make_faults`` may return your own ``StoreFaults``
that fail the store for real (a proxy that resets its connections, a
server answering 429); one that lacks a switch makes the case needing it
skip with the reason. ``FaultyStore`` injects faults at the port of any
store, seeded. A store whose full-text search cannot follow dynafold's search
rule sets ``search_differs`` to the reason, and the search cases skip.
"""

from __future__ import annotations

from dynafold.projector.errors import require_extra

require_extra("dynafold.testing.store_contract", "testing", ("pytest",))

import pytest  # noqa: E402

# the plain asserts of the cases explain their failures, as in the store author's own test modules;
# so the modules with asserts are imported only after this
pytest.register_assert_rewrite(*(f"{__name__}.{m}" for m in ("cases_writes", "cases_reads", "cases_search",
                                                              "cases_projector", "cases_targets", "delivery")))

from dynafold.testing.store_contract.base import StoreContractBase
from dynafold.testing.store_contract.cases_projector import ProjectorCases
from dynafold.testing.store_contract.cases_reads import ReadCases
from dynafold.testing.store_contract.cases_search import SearchCases
from dynafold.testing.store_contract.cases_targets import TargetCases
from dynafold.testing.store_contract.cases_writes import WriteCases
from dynafold.testing.store_contract.fault_hook import PortFaults, StoreFaults
from dynafold.testing.store_contract.faults import FaultyStore


class StoreContract(WriteCases, ReadCases, SearchCases, ProjectorCases, TargetCases):
    """Every case of the contract; subclass it as ``Test…`` and implement ``make_store``."""


__all__ = ["FaultyStore", "PortFaults", "StoreContract", "StoreContractBase", "StoreFaults"]
