"""What the fault cases ask of a store's ``make_faults`` hook, and the answer every store can give.

Four cases make the store fail on purpose and check that the projector then
fails the batch (never loses a record) and converges when it is delivered
again. They need a ``StoreFaults``: a client of the store under contract
(``store``) that the faults hit, and four switches. ``PortFaults`` flips
them at the port (``FaultyStore``), which works for any store. A store
that talks over a network can do better and fail for real (a proxy that
resets connections, a server that answers 429): return an object with the
same switches. One without a switch makes the case that needs it skip,
saying which switch is missing.
"""

from __future__ import annotations

import random
from typing import Optional, Protocol

from dynafold.projector.stores.base import DocumentStore
from dynafold.testing.store_contract.faults import FaultyStore

CAPABILITIES = {
    "storm": "make every write answer 429 (storm(True)) and stop (storm(False))",
    "cut_writes": "reset every write call before it reaches the store",
    "lose_write_answers": "let writes take effect and lose their answers",
    "heal": "stop every fault",
}


class StoreFaults(Protocol):
    store: DocumentStore  # the client the projector under test writes through

    def storm(self, on: bool) -> None:
        """Every document write answers 'too many requests' (a 429) while on."""

    def cut_writes(self) -> None:
        """Every write call fails before it reaches the store (a reset connection), until ``heal``."""

    def lose_write_answers(self, times: Optional[int] = None) -> None:
        """Writes take effect but their answers are lost (``times`` calls, None: until ``heal``)."""

    def heal(self) -> None:
        """No more faults."""


class PortFaults:
    """Faults of a store without a network: injected at the port by ``FaultyStore``."""

    def __init__(self, store: DocumentStore, rng: random.Random) -> None:
        self.store = FaultyStore(store, rng, faulty_calls=("write",))

    def storm(self, on: bool) -> None:
        self.store.retryable_item = 1.0 if on else 0.0

    def cut_writes(self) -> None:
        self.store.fail_call = 1.0

    def lose_write_answers(self, times: Optional[int] = None) -> None:
        self.store.lose_response = 1.0
        self.store.max_faults = None if times is None else sum(self.store.injected.values()) + times

    def heal(self) -> None:
        self.store.heal()
        self.store.max_faults = None
