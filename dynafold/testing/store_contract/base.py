"""The hooks a store under contract implements, and what the cases get from them.

pytest makes a new instance of the test class for every case; the autouse
fixture gives it ``tmp_path`` and ``request``, and closes every client the
case opened (``open``/``track``) when the case ends.

``make_store`` (required) returns a new client of this case's store. Every
call during one case must reach the same stored data, which is empty at the
first call: racing cases open two clients and expect each to see the
other's writes. A store without separate clients returns the same object
each time.

``make_faults`` (optional) returns a ``StoreFaults`` for a client of the
store; the cases that need one skip, saying why, when it returns None.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from dynafold.projector.stores.base import DocumentStore
from dynafold.sample import MODEL
from dynafold.testing.store_contract.fault_hook import CAPABILITIES, StoreFaults


class StoreContractBase:
    tmp_path: Path
    request: Any  # pytest's FixtureRequest of the case
    closers: list[Callable[[], None]]

    @pytest.fixture(autouse=True)
    def _store_contract_case(self, request, tmp_path):
        self.request, self.tmp_path = request, tmp_path
        self.closers, self._tracked = [], []
        yield
        self.close_stores()

    # hooks

    def make_store(self) -> DocumentStore:
        """A new client of this case's store (see the module's docstring)."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_store() -> DocumentStore")

    def make_faults(self, store: DocumentStore, rng: random.Random) -> Optional[StoreFaults]:
        """Faults for ``store`` (a prepared client from ``make_store``), drawn from ``rng``; None: not provided."""
        return None

    # what the cases use

    def track(self, store: DocumentStore) -> DocumentStore:
        """Close ``store`` when the case ends (once, however often it is tracked)."""
        if all(store is not seen for seen in self._tracked):
            self._tracked.append(store)
            self.closers.append(store.close)
        return store

    def open(self) -> DocumentStore:
        return self.track(self.make_store())

    def prepared(self) -> DocumentStore:
        store = self.open()
        store.prepare(list(MODEL.aggregates.values()))
        return store

    def faults(self, store: DocumentStore, *needs: str, seed: int = 0) -> StoreFaults:
        """The ``make_faults`` hook's faults; the case skips if there are none or they lack one of ``needs``."""
        faults = self.make_faults(store, random.Random(seed))
        if faults is None:
            pytest.skip(f"{type(self).__name__} has no make_faults() hook "
                        "(return dynafold.testing.store_contract.PortFaults(store, rng) for faults at the port)")
        for need in needs:
            if not callable(getattr(faults, need, None)):
                pytest.skip(f"{type(faults).__name__} has no {need}() to {CAPABILITIES[need]}")
        return faults

    def close_stores(self) -> None:
        """Run the closers, newest first; safe to call more than once."""
        closers, self.closers = self.closers, []
        for close in reversed(closers):
            close()
