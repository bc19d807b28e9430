"""Fault injection at the port, for any ``DocumentStore``, reproducible from a seed.

``FaultyStore`` wraps any ``DocumentStore`` and fails the ways a real store
fails, at the level of the port:

- whole calls (``load``, ``reload``, ``write`` by default) raise
  ``StoreUnavailable`` *before* reaching the store (``fail_call``: a
  timeout, a refused or reset connection) or *after* the store did the work
  (``lose_response``: the answer is lost, so a write took effect but the
  caller does not know);
- single write items come back ``Retryable`` without being sent
  (``retryable_item``: a 429 or 5xx for that item);
- single write items lose a real race (``conflict_item``): just before the
  write is forwarded, another writer rewrites the stored document (or
  creates it, empty) through the inner store, so the inner store itself
  answers ``Conflict``;
- ``delay`` seconds pass (through ``sleep``) before every call;
- ``on_write(writes)`` runs before every write call, for tests that need
  their own interference at that moment.

Every draw comes from the ``rng`` passed in, so a failing run replays
exactly. Rates and ``max_faults`` are plain attributes: change them at any
time (start or end a storm). ``calls`` counts calls per method, ``injected``
counts faults per kind, ``forwarded`` counts document writes that reached
the inner store.

Faults one level down (a TCP proxy that resets connections in front of a
real server) belong to the store's own tests: see ``tests.support.faults``
for OpenSearch's.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any, Callable, Collection, Iterator, Mapping, Optional, Sequence

from dynafold.domain.aggregate import Aggregate
from dynafold.domain.state import AggregateState
from dynafold.projector.stores.base import (
    DocKey,
    DocumentStore,
    DocumentWrite,
    Loaded,
    Outcome,
    Retryable,
    StoredDocument,
    StoreUnavailable,
    Targets,
)

FAULTY_CALLS = ("load", "reload", "write")


class FaultyStore:
    def __init__(
        self,
        inner: DocumentStore,
        rng: random.Random,
        *,
        fail_call: float = 0.0,
        lose_response: float = 0.0,
        retryable_item: float = 0.0,
        conflict_item: float = 0.0,
        delay: float = 0.0,
        max_faults: Optional[int] = None,
        faulty_calls: Collection[str] = FAULTY_CALLS,
        on_write: Optional[Callable[[list[DocumentWrite]], None]] = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.rng = rng
        self.fail_call = fail_call
        self.lose_response = lose_response
        self.retryable_item = retryable_item
        self.conflict_item = conflict_item
        self.delay = delay
        self.max_faults = max_faults
        self.faulty_calls = frozenset(faulty_calls)
        self.on_write = on_write
        self.sleep = sleep
        self.calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self.forwarded = 0

    @property
    def url(self) -> str:
        return self.inner.url

    def heal(self) -> None:
        """No more faults of any kind from now on."""
        self.fail_call = self.lose_response = self.retryable_item = self.conflict_item = 0.0

    def _fault(self, kind: str, rate: float) -> bool:
        if rate <= 0 or (self.max_faults is not None and sum(self.injected.values()) >= self.max_faults):
            return False
        if self.rng.random() < rate:
            self.injected[kind] += 1
            return True
        return False

    def _call(self, name: str, run: Callable[[], Any]) -> Any:
        self.calls[name] += 1
        if self.delay:
            self.sleep(self.delay)
        faulty = name in self.faulty_calls
        if faulty and self._fault("fail_call", self.fail_call):
            raise StoreUnavailable(f"injected fault: connection reset before {name} reached the store")
        result = run()
        if faulty and self._fault("lose_response", self.lose_response):
            raise StoreUnavailable(f"injected fault: connection reset after {name} reached the store (answer lost)")
        return result

    def prepare(self, aggregates: Collection[Aggregate]) -> None:
        return self._call("prepare", lambda: self.inner.prepare(aggregates))

    def load(self, wanted: Mapping[str, Collection[str]]) -> Loaded:
        return self._call("load", lambda: self.inner.load(wanted))

    def reload(self, keys: Collection[DocKey]) -> Mapping[DocKey, StoredDocument]:
        return self._call("reload", lambda: self.inner.reload(keys))

    def write(self, writes: Sequence[DocumentWrite]) -> Mapping[DocKey, Outcome]:
        def run() -> Mapping[DocKey, Outcome]:
            if self.on_write is not None:
                self.on_write(list(writes))
            outcomes: dict[DocKey, Outcome] = {}
            forward = []
            for w in writes:
                if self._fault("retryable_item", self.retryable_item):
                    outcomes[w.key] = Retryable("injected fault: 429 too many requests")
                    continue
                if self._fault("conflict_item", self.conflict_item):
                    self._race(w)
                forward.append(w)
            if forward:
                self.forwarded += len(forward)
                outcomes.update(self.inner.write(forward))
            return outcomes

        return self._call("write", run)

    def _race(self, w: DocumentWrite) -> None:
        """Another writer gets there first: the document is rewritten unchanged, or created empty."""
        current = self.inner.reload([w.key]).get(w.key)
        if current is None:
            rival = DocumentWrite(w.key, None, AggregateState(), None)
        else:
            rival = DocumentWrite(w.key, current.token, current.state, current.body)
        self.inner.write([rival])

    def targets(self, aggregate: str) -> Targets:
        return self._call("targets", lambda: self.inner.targets(aggregate))

    def create_target(self, aggregate: Aggregate, target: str) -> None:
        return self._call("create_target", lambda: self.inner.create_target(aggregate, target))

    def set_targets(self, aggregate: str, targets: Targets, **conditions: Any) -> None:
        return self._call("set_targets", lambda: self.inner.set_targets(aggregate, targets, **conditions))

    def drop_target(self, target: str) -> None:
        return self._call("drop_target", lambda: self.inner.drop_target(target))

    def get(self, aggregate: str, doc_id: str) -> Optional[dict[str, Any]]:
        return self._call("get", lambda: self.inner.get(aggregate, doc_id))

    def documents(self, aggregate: str) -> Iterator[dict[str, Any]]:
        return self._call("documents", lambda: self.inner.documents(aggregate))

    def search(self, aggregate: str, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return self._call("search", lambda: self.inner.search(aggregate, query, limit))

    def stored(self, target: str) -> Iterator[StoredDocument]:
        return self._call("stored", lambda: self.inner.stored(target))

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        """Anything beyond the port (``delete``, ...) goes to the inner store, counted."""
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            return self._call(name, lambda: attribute(*args, **kwargs))

        return counted
