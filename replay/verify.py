"""Verify and repair: find drift between the tables and the views, and fix it.

``verify`` replays the aggregate's tables into a scratch SQLite store on
disk (bounded memory, same translators and fold, parallel segments), then
walks the scratch documents and the stored ones side by side in id order.
A document that differs is re-derived from consistent reads of its source
items before it is reported, so a live update that landed during the scan
is not mistaken for drift. ``sample`` keeps a deterministic fraction of ids
(by hash) for the comparison.

``repair`` folds the re-derived slices into the stored document through
the normal conditional write: watermarks decide, so a repair never
overwrites newer information, and a stored slice whose item no longer
exists gets a tombstone. A document whose state is right but whose body was
edited by hand is re-derived from its state and written back.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from typing import Any, Callable, Iterator, Optional

import attrs

from domain.aggregate import Aggregate
from domain.events import SliceObserved
from domain.fold import fold
from domain.model import Model
from domain.source import SourceVersion
from domain.state import AggregateState
from projector.checkpoints import MemoryCheckpoints
from projector.quarantine import MemoryQuarantine
from projector.stores.base import Conflict, DocKey, DocumentStore, DocumentWrite, StoredDocument, Written
from projector.stores.codec import canonical
from projector.stores.sqlite import SQLiteStore
from replay.check import rederive_state
from replay.job import ReplayJob

MISSING, UNEXPECTED, DIFFERENT = "missing", "unexpected", "different"


@attrs.frozen
class FieldDiff:
    path: str
    expected: Any
    actual: Any


@attrs.frozen
class Drift:
    aggregate: str
    id: str
    kind: str
    fields: tuple[FieldDiff, ...] = ()
    sources: tuple = ()

    def to_json(self) -> dict:
        return {
            "aggregate": self.aggregate,
            "id": self.id,
            "kind": self.kind,
            "fields": [{"path": f.path, "expected": canonical(f.expected), "actual": canonical(f.actual)} for f in self.fields],
        }


@attrs.define
class VerifyReport:
    aggregate: str
    compared: int = 0
    drift: list[Drift] = attrs.field(factory=list)
    transient: int = 0


def sampled(doc_id: str, fraction: float) -> bool:
    if fraction >= 1.0:
        return True
    digest = hashlib.sha256(doc_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def diff_fields(expected: Any, actual: Any, path: str = "") -> list[FieldDiff]:
    """Field-level differences; lists are compared element by element."""
    expected, actual = canonical(expected), canonical(actual)
    if isinstance(expected, dict) and isinstance(actual, dict):
        diffs = []
        for key in sorted(set(expected) | set(actual)):
            diffs.extend(diff_fields(expected.get(key), actual.get(key), f"{path}.{key}" if path else key))
        return diffs
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        diffs = []
        for index, (e, a) in enumerate(zip(expected, actual)):
            diffs.extend(diff_fields(e, a, f"{path}[{index}]"))
        return diffs
    return [] if expected == actual else [FieldDiff(path or "$", expected, actual)]


def _merge(left: Iterator[StoredDocument], right: Iterator[StoredDocument]):
    """Pairs (id, left doc or None, right doc or None) of two id-sorted streams."""
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a.key.id < b.key.id):
            yield a.key.id, a, None
            a = next(left, None)
        elif a is None or b.key.id < a.key.id:
            yield b.key.id, None, b
            b = next(right, None)
        else:
            yield a.key.id, a, b
            a, b = next(left, None), next(right, None)


class Verifier:
    def __init__(self, model: Model, store: DocumentStore, client: Any, *, lookup_factory: Callable[[], Any],
                 segments: int = 4, workers: int = 1, sample: float = 1.0, page_size: Optional[int] = None,
                 scratch_dir: Optional[str] = None) -> None:
        self.model = model
        self.store = store
        self.client = client
        self.lookup_factory = lookup_factory
        self.segments = segments
        self.workers = workers
        self.sample = sample
        self.page_size = page_size
        self.scratch_dir = scratch_dir

    def verify(self, name: str) -> VerifyReport:
        aggregate = self.model.aggregate(name)
        report = VerifyReport(name)
        with tempfile.TemporaryDirectory(dir=self.scratch_dir) as tmp:
            scratch = SQLiteStore(f"sqlite:///{os.path.join(tmp, 'expected.db')}")
            ReplayJob(self.model, scratch, MemoryQuarantine(), self.client, MemoryCheckpoints(),
                      lookup_factory=self.lookup_factory, segments=self.segments, workers=self.workers,
                      page_size=self.page_size).run(name)
            expected = scratch.stored(scratch.targets(name).read)
            actual = self.store.stored(self.store.targets(name).read)
            for doc_id, want, have in _merge(expected, actual):
                if not sampled(doc_id, self.sample):
                    continue
                report.compared += 1
                want_body = want.body if want is not None else None
                have_body = have.body if have is not None else None
                if canonical(want_body) == canonical(have_body):
                    continue
                sources = [e.source for doc in (want, have) if doc is not None for e in doc.state]
                state, _ = rederive_state(self.model, self.client, aggregate, doc_id, sources)
                fresh = aggregate.document(doc_id, state)
                if canonical(fresh) == canonical(have_body):
                    report.transient += 1
                    continue
                kind = MISSING if have_body is None else UNEXPECTED if fresh is None else DIFFERENT
                fields = tuple(diff_fields(fresh, have_body)) if kind == DIFFERENT else ()
                report.drift.append(Drift(name, doc_id, kind, fields, tuple(sources)))
            scratch.close()
        return report

    def repair(self, drift: Drift, *, attempts: int = 5) -> bool:
        """Fold the re-derived slices into every write target's document; True when something was written."""
        aggregate = self.model.aggregate(drift.aggregate)
        wrote = False
        for target in self.store.targets(drift.aggregate).write:
            key = DocKey(target, drift.id)
            for _ in range(attempts):
                stored = self.store.reload([key]).get(key)
                sources = list(drift.sources) + ([e.source for e in stored.state] if stored else [])
                t_repair = int(time.time() * 1_000_000)
                state, existing = rederive_state(self.model, self.client, aggregate, drift.id, sources, t_repair)
                write = _repair_write(aggregate, key, stored, state, existing, t_repair)
                if write is None:
                    break
                outcome = self.store.write([write]).get(key)
                if isinstance(outcome, Written):
                    wrote = True
                    break
                if not isinstance(outcome, Conflict):
                    time.sleep(0.2)
        return wrote


def _repair_write(aggregate: Aggregate, key: DocKey, stored: Optional[StoredDocument], fresh: AggregateState,
                  existing: set[str], t_repair_us: int) -> Optional[DocumentWrite]:
    before = stored.state if stored is not None else AggregateState()
    events = [SliceObserved(source=e.source, version=e.version, data=e.data) for e in fresh]
    for entry in before:
        if not entry.removed and entry.source.id not in existing:
            events.append(SliceObserved(source=entry.source,
                                        version=SourceVersion.scanned(entry.version.declared, t_repair_us), data=None))
    after = fold(aggregate, before, events)
    body = aggregate.document(key.id, after)
    if stored is not None and after is before and canonical(body) == canonical(stored.body):
        return None
    return DocumentWrite(key, stored.token if stored is not None else None, after, body)
