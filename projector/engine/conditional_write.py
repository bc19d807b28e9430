"""The conditional write of one set of events: load, fold, write, and the race loop around it.

``load`` every affected document of every write target in one round trip,
fold, and ``write`` every changed document in one round trip, each
conditioned on its token. A lost race (``Conflict``) reloads and re-folds
only that document; a transient item failure (``Retryable``) resends only
that item; both with bounded, jittered backoff. Whatever still fails marks
its records failed, so the caller reports the lowest of them and everything
after it for redelivery, which the watermarks make harmless.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from typing import Any, Callable, Mapping, Optional, Sequence

import attrs

from dynafold.domain.aggregate import Aggregate, ProjectionError
from dynafold.domain.events import DomainEvent, Slot
from dynafold.domain.fold import freshen, settle
from dynafold.domain.lookup import LookupUnavailable
from dynafold.domain.model import Model
from dynafold.domain.state import AggregateState
from dynafold.projector.engine.document_cache import DocumentCache
from dynafold.projector.engine.report import BatchReport
from dynafold.projector.errors import named
from dynafold.projector.retry import Backoff
from dynafold.projector.stores.base import (
    Conflict,
    DocKey,
    DocumentStore,
    DocumentWrite,
    Gone,
    Rejected,
    StoredDocument,
    StoreUnavailable,
    UnknownTarget,
    Written,
)

log = logging.getLogger("dynafold.projector")

ReadNow = Callable[[Sequence[tuple[Aggregate, Slot]]], Mapping[tuple[str, str], Optional[Mapping[str, Any]]]]


@attrs.define
class Pending:
    """One document on one target, the events for it, and the records they came from."""

    aggregate: Aggregate
    key: DocKey
    routed: list[tuple[int, DomainEvent]]
    stored: Optional[StoredDocument] = None
    write: Optional[DocumentWrite] = None

    @property
    def events(self) -> list[DomainEvent]:
        return [event for _, event in self.routed]

    @property
    def records(self) -> set[int]:
        return {index for index, _ in self.routed}


class ConditionalWriter:
    """Folds routed events into documents and writes them under optimistic concurrency."""

    def __init__(self, model: Model, store: DocumentStore, *, backoff: Backoff, sleep: Callable[[float], None],
                 rng: random.Random, targets: Mapping[str, Sequence[str]],
                 cache: Optional[DocumentCache] = None, read_now: Optional[ReadNow] = None) -> None:
        """``read_now([(aggregate, slot)])`` reads the joined items of the slots again and returns
        their slices by (aggregate name, slot key) (see ``dynafold.domain.fold.settle``)."""
        self.model = model
        self.read_now = read_now
        self.store = store
        self.backoff = backoff
        self.sleep = sleep
        self.rng = rng
        self.targets = targets
        self.cache = cache

    def write(self, routed: list[tuple[int, DomainEvent]], report: BatchReport, time_left: Callable[[], float],
              margin_s: float) -> None:
        """Apply ``(record index, event)`` pairs; failures are recorded in ``report``."""
        wanted: dict[str, dict[str, list[tuple[int, DomainEvent]]]] = defaultdict(lambda: defaultdict(list))
        for index, event in routed:
            wanted[event.aggregate][event.document].append((index, event))
        if not wanted:
            return
        first_record = min(index for index, _ in routed)
        known = self._from_cache(wanted, report)
        if known:
            targets, documents = known
        else:
            loaded = self._load(wanted, report, first_record, time_left, margin_s)
            if loaded is None:
                return
            targets, documents = loaded
        self._write(wanted, targets, documents, report, time_left, margin_s)

    def _from_cache(self, wanted, report: BatchReport):
        """(targets, documents) from the cache, loading only what it lacks; () when it cannot say.

        Targets learned too long ago are learned again by a load of the documents the cache lacks
        alone (the control documents when it lacks none): a warm container never reloads what it
        wrote itself, which on OpenSearch would also make every realtime read refresh the index."""
        if self.cache is None:
            return ()
        names = list(wanted)
        targets = self.cache.targets(names)
        documents: dict = {}
        asked: set = set()
        if targets is None:
            known = self.cache.targets(names, any_age=True)
            if known is None:
                return ()
            uncached = {name: [d for d in docs if any(self.cache.get(DocKey(t, d)) is None
                                                      for t in self.targets.get(name, known[name]))]
                        for name, docs in wanted.items()}
            try:
                report.loads += 1
                loaded = self.store.load(uncached)
            except (StoreUnavailable, UnknownTarget):
                return ()
            self.cache.learn_targets(loaded.targets)
            targets = loaded.targets
            documents.update(loaded.documents)
            asked = {DocKey(t, d) for name, ids in uncached.items() for t in targets[name] for d in ids}
        missing = []
        for name, docs in wanted.items():
            for target in self.targets.get(name, targets[name]):
                for doc_id in docs:
                    key = DocKey(target, doc_id)
                    if key in asked:
                        continue
                    cached = self.cache.get(key)
                    if cached is None:
                        missing.append(key)
                    else:
                        documents[key] = cached
        if missing:
            try:
                report.loads += 1
                documents.update(self.store.reload(missing))
            except (StoreUnavailable, UnknownTarget):
                return ()
        return targets, documents

    def _load(self, wanted, report: BatchReport, first_record: int, time_left, margin_s):
        loaded = None
        reason = "out of time before the load"
        for attempt in self._rounds(report, time_left, margin_s):
            try:
                report.loads += 1
                loaded = self.store.load({name: list(docs) for name, docs in wanted.items()})
                break
            except StoreUnavailable as error:
                reason = "store unavailable (load)"
                log.warning("store load failed", extra={"attempt": attempt, "error": str(error)})
            except UnknownTarget as error:
                report.fail(first_record, f"targets changed under the batch: {error}")
                return None
        if loaded is None:
            report.fail(first_record, reason)
            return None
        if self.cache is not None:
            self.cache.learn_targets(loaded.targets)
        documents = dict(loaded.documents)
        extra = [
            DocKey(target, doc_id)
            for name, docs in wanted.items() if name in self.targets
            for target in self.targets[name] if target not in loaded.targets[name]
            for doc_id in docs
        ]
        if extra:
            try:
                report.loads += 1
                documents.update(self.store.reload(extra))
            except (StoreUnavailable, UnknownTarget):
                report.fail(first_record, "store unavailable (load)")
                return None
        return loaded.targets, documents

    def _write(self, wanted, targets, documents, report: BatchReport, time_left, margin_s) -> None:
        pending: dict[DocKey, Pending] = {}
        for name, docs in wanted.items():
            aggregate = self.model.aggregate(name)
            for target in self.targets.get(name, targets[name]):
                for doc_id, items in docs.items():
                    key = DocKey(target, doc_id)
                    pending[key] = Pending(aggregate, key, items, documents.get(key))
        for item in self.fold_pending(list(pending.values()), report):
            del pending[item.key]
        attempts = 0
        for attempt in self._rounds(report, time_left, margin_s) if pending else ():
            attempts = attempt + 1
            try:
                report.writes += 1
                outcomes = self.store.write([p.write for p in pending.values()])
            except StoreUnavailable as error:
                log.warning("store write failed", extra={"attempt": attempts, "error": str(error)})
                continue
            except UnknownTarget as error:  # a store that refuses the whole call for a vanished target
                self._gone(list(pending.values()), str(error), report)
                return
            conflicted = []
            gone = {key: outcome for key, outcome in outcomes.items() if isinstance(outcome, Gone)}
            if gone:
                self._gone([pending.pop(key) for key in gone], "; ".join(sorted({o.reason for o in gone.values()})),
                           report)
            for key, outcome in outcomes.items():
                if key in gone:
                    continue
                if isinstance(outcome, Written):
                    report.documents_written += 1
                    report.documents.add(key)
                    done = pending.pop(key)
                    if self.cache is not None:
                        self.cache.put(key, outcome.token, done.write.state, done.write.body)
                elif isinstance(outcome, Conflict):
                    report.conflicts += 1
                    conflicted.append(key)
                    if self.cache is not None:
                        self.cache.forget(key)
                elif isinstance(outcome, Rejected):
                    report.rejected.append((pending.pop(key), f"rejected by the store: {outcome.reason}"))
                    if self.cache is not None:
                        self.cache.forget(key)
            if conflicted:
                try:
                    report.loads += 1
                    current = self.store.reload(conflicted)
                except (StoreUnavailable, UnknownTarget):
                    continue  # the stale writes conflict again next round and reload then
                for key in conflicted:
                    pending[key].stored = current.get(key)
                for item in self.fold_pending([pending[key] for key in conflicted], report):
                    del pending[item.key]
            if not pending:
                break
        for item in pending.values():
            report.fail(min(item.records), f"document {item.key.target}/{item.key.id} not written after {attempts} attempts")

    def _gone(self, items: list[Pending], reason: str, report: BatchReport) -> None:
        """Documents whose target vanished after this batch loaded (a rebuild switched and dropped it, or it
        was deleted): nothing was written or created; their records fail, and their redelivery loads the
        targets again (the cache forgets what it knew)."""
        if self.cache is not None:
            self.cache.clear()
        for item in items:
            report.fail(min(item.records), f"targets changed under the batch: {reason}")

    def _rounds(self, report: BatchReport, time_left: Optional[Callable[[], float]] = None, margin_s: float = 0.0):
        return self.backoff.rounds(self.rng, self.sleep, time_left=time_left, margin_s=margin_s,
                                   on_retry=report.retried)

    def fold_pending(self, items: list[Pending], report: BatchReport) -> list[Pending]:
        """Fold each item's events onto its stored state; the items with nothing to write.

        The join slots the folds leave unsettled are read again in one lookup for all of them.
        A document the aggregate cannot derive (a ``ProjectionError``: a model
        bug, such as a route sending two root items to one document) is
        handled like a document the store refuses: its records are tried one
        at a time and those that trigger the error are quarantined, so a model
        bug never blocks the shard.
        """
        folded = []
        for item in items:
            before = item.stored.state if item.stored is not None else AggregateState()
            folded.append((item, before, *settle(before, item.events)))
        fresh, reason = self._read_again([(item.aggregate, u.slot) for item, _, _, unsettled in folded for u in unsettled])
        report.settled += len(fresh or ())
        idle = []
        for item, before, after, unsettled in folded:
            if unsettled and fresh is None:
                report.fail(min(item.records), f"document {item.key.target}/{item.key.id}: {reason}")
                idle.append(item)
                continue
            if unsettled:
                after = _freshened(item.aggregate, after, unsettled, fresh)
            if after is before:
                report.stale += len(item.events)
                idle.append(item)
                continue
            try:
                body = item.aggregate.document(item.key.id, after)
            except ProjectionError as error:
                report.rejected.append((item, f"the aggregate cannot derive the document: {error}"))
                idle.append(item)
                continue
            item.write = DocumentWrite(item.key, item.stored.token if item.stored else None, after, body)
        return idle

    def _read_again(self, wanted: list[tuple[Aggregate, Slot]]) -> tuple[Optional[Mapping[tuple[str, str], Any]], str]:
        """``(slices, "")`` from ``read_now``, or ``(None, reason)`` when the read failed: a throttle, or
        AccessDenied or a missing table, so these documents wait and the shard goes on."""
        if not wanted or self.read_now is None:
            return {}, ""
        try:
            return self.read_now(wanted), ""
        except LookupUnavailable as error:
            return None, str(error)
        except Exception as error:
            return None, f"the settling read of joined items failed: {named(error)}"

    def _fold(self, aggregate: Aggregate, before: AggregateState, events: list[DomainEvent]) -> AggregateState:
        """The fold, with the join slots it leaves unsettled read again now (after the load)."""
        after, unsettled = settle(before, events)
        fresh, reason = self._read_again([(aggregate, u.slot) for u in unsettled])
        if fresh is None:
            raise LookupUnavailable(reason)
        return _freshened(aggregate, after, unsettled, fresh)

    def apply_alone(self, item: Pending, index: int, report: BatchReport) -> Optional[str]:
        """Write one record's events to the document; the store's reason if it refuses them."""
        events = [event for i, event in item.routed if i == index]
        for _ in self._rounds(report):
            try:
                stored = self.store.reload([item.key]).get(item.key)
                before = stored.state if stored is not None else AggregateState()
                after = self._fold(item.aggregate, before, events)
                if after is before:
                    return None
                body = item.aggregate.document(item.key.id, after)
                write = DocumentWrite(item.key, stored.token if stored is not None else None, after, body)
                outcome = self.store.write([write]).get(item.key)
            except (StoreUnavailable, UnknownTarget, LookupUnavailable):
                continue
            except ProjectionError as error:
                return f"the aggregate cannot derive the document: {error}"
            if isinstance(outcome, Written):
                report.documents_written += 1
                report.documents.add(item.key)
                return None
            if isinstance(outcome, Rejected):
                return f"rejected by the store: {outcome.reason}"
            if isinstance(outcome, Gone):
                self._gone([item], outcome.reason, report)
                return None
        report.fail(index, f"document {item.key.target}/{item.key.id} not written after {self.backoff.attempts} attempts")
        return None


def _freshened(aggregate: Aggregate, after: AggregateState, unsettled, fresh) -> AggregateState:
    """``after`` with the slots that were read again holding what the read found."""
    return freshen(after, [(u, fresh[(aggregate.name, u.slot.key)]) for u in unsettled
                           if (aggregate.name, u.slot.key) in fresh])

