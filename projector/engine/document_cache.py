"""The documents this container wrote last, so a warm container can skip the load.

A Lambda container projects one shard; the documents of its next batch are
often the ones it just wrote (a busy customer, a song's lessons). For those
it keeps what its own write got back: the token and the fold state. A batch
whose documents are all here goes out as one conditional write, the one
round trip the managed 1:1 pipeline also needs. The cache is only ever a
guess: a token someone else has moved on makes the write a ``Conflict``, and
that document is reloaded and folded again, as for any race. The write
targets (which change during a rebuild) are trusted for ``targets_ttl_s``
only: a rebuild waits longer than that before it takes ``T_start``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Collection, Mapping, Optional

from dynafold.projector.config import DOCUMENT_CACHE
from dynafold.projector.stores.base import DocKey, StoredDocument

TARGETS_TTL_S = 1.0


class DocumentCache:
    def __init__(self, capacity: int = DOCUMENT_CACHE, targets_ttl_s: float = TARGETS_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.targets_ttl_s = targets_ttl_s
        self._clock = clock
        self._documents: OrderedDict[DocKey, StoredDocument] = OrderedDict()
        self._targets: dict[str, tuple[tuple[str, ...], float]] = {}
        self._lock = threading.Lock()

    def targets(self, aggregates: Collection[str], *, any_age: bool = False) -> Optional[dict[str, tuple[str, ...]]]:
        """The write targets of every aggregate, if all were learned recently enough (or at all, with
        ``any_age``: worth checking against the store, never trusted); else None."""
        now = self._clock()
        with self._lock:
            found = {}
            for name in aggregates:
                known = self._targets.get(name)
                if known is None or (not any_age and now - known[1] > self.targets_ttl_s):
                    return None
                found[name] = known[0]
            return found

    def learn_targets(self, targets: Mapping[str, tuple[str, ...]]) -> None:
        now = self._clock()
        with self._lock:
            for name, write in targets.items():
                self._targets[name] = (tuple(write), now)

    def get(self, key: DocKey) -> Optional[StoredDocument]:
        with self._lock:
            found = self._documents.get(key)
            if found is not None:
                self._documents.move_to_end(key)
            return found

    def put(self, key: DocKey, token: Any, state: Any, body: Any) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._documents[key] = StoredDocument(key, token, state, body)
            self._documents.move_to_end(key)
            while len(self._documents) > self.capacity:
                self._documents.popitem(last=False)

    def forget(self, key: DocKey) -> None:
        with self._lock:
            self._documents.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()
            self._targets.clear()
