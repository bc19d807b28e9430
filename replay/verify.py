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

from dynafold.domain.aggregate import Aggregate
from dynafold.domain.events import DomainEvent
from dynafold.domain.fold import fold
from dynafold.domain.model import Model
from dynafold.domain.source import ONE_SECOND_US
from dynafold.domain.state import AggregateState
from dynafold.projector.aws.server_clock import server_time_us
from dynafold.projector.control.quarantine import ScratchQuarantine
from dynafold.projector.runtime import Runtime
from dynafold.projector.stores.base import Conflict, DocKey, DocumentStore, DocumentWrite, StoredDocument, Written
from dynafold.projector.stores.codec import canonical
from dynafold.projector.stores.memory import MemoryCheckpoints
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.replay.check import rederive_state
from dynafold.replay.job import ReplayJob
from dynafold.replay.targets import missing

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
    states: tuple = ()

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
    unprojectable: int = 0  # table items the model cannot project (the live path quarantines them too)
    missing: list[str] = attrs.field(factory=list)  # targets the control record names that the store lacks


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
                 scratch_dir: Optional[str] = None, names: TableNames = IDENTITY,
                 clock: Optional[Callable[[], int]] = None,
                 wait_until: Optional[Callable[[int], None]] = None) -> None:
        """``clock`` is DynamoDB's time in microseconds (``server_time_us`` by default);
        ``wait_until(us)`` returns once that clock has reached ``us``."""
        self.model = model
        self.store = store
        self.client = client
        self.lookup_factory = lookup_factory
        self.segments = segments
        self.workers = workers
        self.sample = sample
        self.page_size = page_size
        self.scratch_dir = scratch_dir
        self.names = names
        self.clock = clock or (lambda: server_time_us(client))
        self.wait_until = wait_until or self._sleep_until

    @classmethod
    def on(cls, runtime: Runtime, **options: Any) -> "Verifier":
        """A verifier on a runtime's model, store, DynamoDB client, names, clock and scratch space."""
        return cls(runtime.model, runtime.store, runtime.dynamodb, lookup_factory=runtime.lookup_factory(),
                   names=runtime.names, scratch_dir=runtime.settings.scratch_dir, clock=runtime.clock(), **options)

    def _sleep_until(self, target_us: int) -> None:
        while self.clock() < target_us:
            time.sleep(0.25)

    def verify(self, name: str) -> VerifyReport:
        """Drift of the aggregate's read target; nothing is compared when the store lacks a target its
        control record names (``missing``: recover it with a replay first)."""
        aggregate = self.model.aggregate(name)
        report = VerifyReport(name, missing=missing(self.store, name))
        if report.missing:
            return report
        with tempfile.TemporaryDirectory(dir=self.scratch_dir) as tmp:
            scratch = SQLiteStore(f"sqlite:///{os.path.join(tmp, 'expected.db')}")
            replayed = ReplayJob(self.model, scratch, ScratchQuarantine(), self.client, MemoryCheckpoints(),
                                 lookup_factory=self.lookup_factory, segments=self.segments, workers=self.workers,
                                 page_size=self.page_size, names=self.names, clock=self.clock).run(name)
            report.unprojectable = replayed.quarantined
            expected = scratch.stored(scratch.targets(name).read)
            actual = self.store.stored(self.store.targets(name).read)
            for doc_id, want, have in _merge(expected, actual):
                want_body = want.body if want is not None else None
                have_body = have.body if have is not None else None
                if (want_body is None and have_body is None) or not sampled(doc_id, self.sample):
                    continue  # tombstones on both sides are no document: not compared, not counted
                report.compared += 1
                if canonical(want_body) == canonical(have_body):
                    continue
                states = tuple(doc.state for doc in (want, have) if doc is not None)
                state = rederive_state(self.model, self.client, aggregate, doc_id, states, self.clock(), self.names)
                fresh = aggregate.document(doc_id, state)
                if canonical(fresh) == canonical(have_body):
                    report.transient += 1
                    continue
                kind = MISSING if have_body is None else UNEXPECTED if fresh is None else DIFFERENT
                fields = tuple(diff_fields(fresh, have_body)) if kind == DIFFERENT else ()
                report.drift.append(Drift(name, doc_id, kind, fields, states))
            scratch.close()
        return report

    def repair(self, drift: Drift, *, attempts: int = 5) -> bool:
        """Fold the re-derived slices into every write target's document; True when something was written.

        Reads are stamped ``T - 1 s`` on DynamoDB's clock, so a slot holding
        anything of that second or later with other data (an earlier read, a
        settled slice, a joined item's record whose later change a lagging index
        hid from its fan-out) outranks or ties the repair. Such a slot is waited
        out (``wait_until`` its second has passed) and read again: the item may
        have changed since, and only a later read can say so; once the read is
        stamped past the slot, the fold lets it in.
        """
        aggregate = self.model.aggregate(drift.aggregate)
        wrote = False
        for target in self.store.targets(drift.aggregate).write:
            key = DocKey(target, drift.id)
            for _ in range(attempts):
                stored = self.store.reload([key]).get(key)
                states = list(drift.states) + ([stored.state] if stored else [])
                state = rederive_state(self.model, self.client, aggregate, drift.id, states, self.clock(), self.names)
                tied = _tied(stored, state)
                if tied is not None:
                    self.wait_until(tied + 2 * ONE_SECOND_US)
                    continue
                write = _repair_write(aggregate, key, stored, state)
                if write is None:
                    break
                outcome = self.store.write([write]).get(key)
                if isinstance(outcome, Written):
                    wrote = True
                    break
                if not isinstance(outcome, Conflict):
                    time.sleep(0.2)
        return wrote


_WAIT_AT_MOST_US = 10 * ONE_SECOND_US


def _tied(stored: Optional[StoredDocument], fresh: AggregateState) -> Optional[int]:
    """The latest time of a stored slot that outranks or ties a fresh read with other data, if any."""
    if stored is None:
        return None
    latest = None
    for entry in fresh:
        held = stored.state.entries.get(entry.slot.key)
        if held is None or held.version < entry.version or held.data == entry.data:
            continue
        if held.version.created_at_us - entry.version.created_at_us > _WAIT_AT_MOST_US:
            continue  # a time far ahead of DynamoDB's clock: no wait outlasts it, so it is left alone
        latest = max(latest or 0, held.version.created_at_us)
    return latest


def _repair_write(aggregate: Aggregate, key: DocKey, stored: Optional[StoredDocument],
                  fresh: AggregateState) -> Optional[DocumentWrite]:
    """Fold the re-derived slices (removals included) into the stored state: the watermarks decide."""
    before = stored.state if stored is not None else AggregateState()
    events = [DomainEvent(aggregate.name, key.id, entry.slot, entry.version, entry.data) for entry in fresh]
    after = fold(before, events)
    body = aggregate.document(key.id, after)
    if stored is not None and after is before and canonical(body) == canonical(stored.body):
        return None
    return DocumentWrite(key, stored.token if stored is not None else None, after, body)
