"""``memory://``: documents, quarantine and checkpoints in this process, for tests, property tests and benchmarks.

Documents are kept serialized, as every real store keeps them, so a value
that does not survive the round trip fails here first.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any, Collection, Iterable, Iterator, Mapping, Optional, Sequence

from dynafold.domain.aggregate import Aggregate
from dynafold.projector.control.quarantine_entry import QuarantineEntry
from dynafold.projector.stores import codec
from dynafold.projector.stores.base import (
    Conflict,
    DocKey,
    DocumentWrite,
    Gone,
    Loaded,
    Outcome,
    Sample,
    StoredDocument,
    Targets,
    UnknownTarget,
    Written,
    default_target,
    require_targets,
    reservoir,
)
from dynafold.projector.stores.lease import Lease, permit_change, renewed, taken
from dynafold.projector.stores.search_terms import document_words, query_words, rank, text_fields
from dynafold.projector.stores.state_format import dump_state, load_state


class MemoryStore:
    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._rows: dict[str, dict[str, tuple[int, str, Optional[str]]]] = {}
        self._aggregates: dict[str, Aggregate] = {}
        self._target_of: dict[str, str] = {}
        self._targets: dict[str, Targets] = {}
        self._leases: dict[str, Lease] = {}
        self._tokens = itertools.count(1)

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> "MemoryStore":
        return cls(url)

    def prepare(self, aggregates: Collection[Aggregate]) -> None:
        with self._lock:
            for aggregate in aggregates:
                self._aggregates[aggregate.name] = aggregate
                if aggregate.name not in self._targets:
                    target = default_target(aggregate)
                    self.create_target(aggregate, target)
                    self._targets[aggregate.name] = Targets(target, (target,))

    def load(self, wanted: Mapping[str, Collection[str]]) -> Loaded:
        with self._lock:
            targets = {name: require_targets(self._targets, name).write for name in wanted}
            keys = [DocKey(t, doc_id) for name, ids in wanted.items() for t in targets[name] for doc_id in ids]
            return Loaded(targets, self._read(keys))

    def reload(self, keys: Collection[DocKey]) -> Mapping[DocKey, StoredDocument]:
        with self._lock:
            return self._read(keys)

    def _read(self, keys: Collection[DocKey]) -> dict[DocKey, StoredDocument]:
        found = {}
        for key in keys:
            row = self._rows.get(key.target, {}).get(key.id)
            if row is not None:
                found[key] = _document(key, row)
        return found

    def write(self, writes: Sequence[DocumentWrite]) -> Mapping[DocKey, Outcome]:
        outcomes: dict[DocKey, Outcome] = {}
        with self._lock:
            for w in writes:
                rows = self._rows.get(w.key.target)
                if rows is None:
                    outcomes[w.key] = Gone(f"no target {w.key.target!r}")
                    continue
                current = rows.get(w.key.id)
                if (current is None) != (w.expected is None) or (current is not None and current[0] != w.expected):
                    outcomes[w.key] = Conflict()
                    continue
                token = next(self._tokens)
                body = None if w.body is None else codec.dumps(w.body)
                rows[w.key.id] = (token, codec.dumps(dump_state(w.state)), body)
                outcomes[w.key] = Written(token)
        return outcomes

    def targets(self, aggregate: str) -> Targets:
        with self._lock:
            return require_targets(self._targets, aggregate)

    def create_target(self, aggregate: Aggregate, target: str) -> None:
        with self._lock:
            self._aggregates[aggregate.name] = aggregate
            self._rows.setdefault(target, {})
            self._target_of[target] = aggregate.name

    def set_targets(self, aggregate: str, targets: Targets, *, expected: Optional[Targets] = None,
                    lease: Optional[Lease] = None) -> None:
        with self._lock:
            permit_change(aggregate, self._targets.get(aggregate), self._leases.get(aggregate), expected=expected,
                          lease=lease)
            for target in (targets.read, *targets.write):
                if target is not None and target not in self._rows:
                    raise UnknownTarget(f"no target {target!r}")
            self._targets[aggregate] = targets

    def differences(self, aggregate: Aggregate, target: str) -> list[str]:
        """Documents are kept as they are, with nothing made from the model's kinds: never any."""
        with self._lock:
            if target not in self._rows:
                raise UnknownTarget(f"no target {target!r}")
        return []

    def drop_target(self, target: str) -> None:
        with self._lock:
            self._rows.pop(target, None)
            self._target_of.pop(target, None)

    def physical(self, aggregate: str) -> frozenset[str]:
        with self._lock:
            return frozenset(t for t, name in self._target_of.items() if name == aggregate)

    def lease(self, aggregate: str) -> Optional[Lease]:
        with self._lock:
            return self._leases.get(aggregate)

    def take_lease(self, aggregate: str, holder: str, ttl_s: float, *, work: Mapping[str, Any] = {},
                   replaces: Optional[str] = None, now: Optional[float] = None) -> tuple[Lease, Optional[Lease]]:
        with self._lock:
            lease, previous = taken(self._leases.get(aggregate), aggregate, holder, ttl_s, work=work,
                                    replaces=replaces, now=time.time() if now is None else now)
            self._leases[aggregate] = lease
            return lease, previous

    def renew_lease(self, lease: Lease, ttl_s: float, *, work: Optional[Mapping[str, Any]] = None,
                    now: Optional[float] = None) -> Lease:
        with self._lock:
            renewal = renewed(self._leases.get(lease.aggregate), lease, ttl_s, work=work,
                              now=time.time() if now is None else now)
            self._leases[lease.aggregate] = renewal
            return renewal

    def release_lease(self, lease: Lease) -> None:
        with self._lock:
            current = self._leases.get(lease.aggregate)
            if current is not None and current.id == lease.id:
                del self._leases[lease.aggregate]

    def _visible(self, aggregate: str) -> list[tuple[str, dict]]:
        read = self.targets(aggregate).read
        rows = self._rows.get(read, {}) if read else {}
        return sorted((doc_id, codec.loads(row[2])) for doc_id, row in rows.items() if row[2] is not None)

    def get(self, aggregate: str, doc_id: str) -> Optional[dict[str, Any]]:
        with self._lock:
            read = self.targets(aggregate).read
            row = self._rows.get(read, {}).get(doc_id) if read else None
            return None if row is None or row[2] is None else codec.loads(row[2])

    def documents(self, aggregate: str) -> Iterator[dict[str, Any]]:
        with self._lock:
            visible = self._visible(aggregate)
        return iter([body for _, body in visible])

    def search(self, aggregate: str, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """The search rule (``search_terms``) over the visible documents; with no relevance score,
        documents matching as many words exactly are in id order."""
        with self._lock:
            fields = text_fields(self._aggregates[aggregate])
            visible = self._visible(aggregate)
        terms = query_words(query, len(fields))
        if not terms or not fields or limit <= 0:
            return []
        bodies = dict(visible)
        ranked = rank(terms, ((doc_id, document_words(body, fields)) for doc_id, body in visible))
        return [bodies[doc_id] for doc_id in ranked[:limit]]

    def stored(self, target: str) -> Iterator[StoredDocument]:
        with self._lock:
            rows = sorted(self._rows.get(target, {}).items())
        return iter([_document(DocKey(target, doc_id), row) for doc_id, row in rows])

    def sample(self, target: str, size: int, seed: int) -> Sample:
        return reservoir(self.stored(target), size, seed)

    def delete(self, key: DocKey, expected: Any) -> bool:
        """Delete a document if it still has the expected token (the sweep)."""
        with self._lock:
            rows = self._rows.get(key.target, {})
            row = rows.get(key.id)
            if row is None or row[0] != expected:
                return False
            del rows[key.id]
            return True

    def close(self) -> None:
        pass


def _document(key: DocKey, row: tuple[int, str, Optional[str]]) -> StoredDocument:
    token, state, body = row
    return StoredDocument(
        key, token, load_state(codec.loads(state)), None if body is None else codec.loads(body)
    )


class MemoryQuarantine:
    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._entries: dict[str, QuarantineEntry] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> "MemoryQuarantine":
        return cls(url)

    def put(self, entries: Iterable[QuarantineEntry]) -> None:
        with self._lock:
            for entry in entries:
                self._entries.setdefault(entry.id, entry)

    def list(self, table: Optional[str] = None) -> list[QuarantineEntry]:
        with self._lock:
            return sorted(
                (e for e in self._entries.values() if table is None or e.table == table), key=lambda e: e.id
            )

    def get(self, entry_id: str) -> Optional[QuarantineEntry]:
        with self._lock:
            return self._entries.get(entry_id)

    def drop(self, entry_id: str) -> bool:
        with self._lock:
            return self._entries.pop(entry_id, None) is not None


class MemoryCheckpoints:
    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> "MemoryCheckpoints":
        return cls()

    def get(self, key: str) -> Optional[str]:
        with self._lock:
            return self._values.get(key)

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._values[key] = value

    def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._values if k.startswith(prefix)]:
                del self._values[key]

    def items(self, prefix: str = "") -> list[tuple[str, str]]:
        with self._lock:
            return sorted((k, v) for k, v in self._values.items() if k.startswith(prefix))
