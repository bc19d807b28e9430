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
from typing import Callable, Mapping, Optional, Sequence

import attrs

from domain.aggregate import Aggregate, ProjectionError
from domain.events import DomainEvent
from domain.fold import fold
from domain.model import Model
from domain.state import AggregateState
from projector.document_cache import DocumentCache
from projector.report import BatchReport
from projector.stores.base import (
    Conflict,
    DocKey,
    DocumentStore,
    DocumentWrite,
    Rejected,
    StoreUnavailable,
    StoredDocument,
    UnknownTarget,
    Written,
)

from projector.backoff import Backoff

log = logging.getLogger("dynafold.projector")


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
                 cache: Optional[DocumentCache] = None) -> None:
        self.model = model
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
        """(targets, documents) from the cache, reloading only what it lacks; () when it cannot say."""
        if self.cache is None:
            return ()
        targets = self.cache.targets(list(wanted))
        if targets is None:
            return ()
        documents, missing = {}, []
        for name, docs in wanted.items():
            for target in self.targets.get(name, targets[name]):
                for doc_id in docs:
                    key = DocKey(target, doc_id)
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
        for attempt in range(self.backoff.attempts):
            if time_left() < margin_s:
                break
            if attempt:
                report.retries += 1
                self.sleep(self.backoff.delay(attempt, self.rng))
            try:
                report.loads += 1
                loaded = self.store.load({name: list(docs) for name, docs in wanted.items()})
                break
            except StoreUnavailable as error:
                log.warning("store load failed", extra={"attempt": attempt, "error": str(error)})
            except UnknownTarget as error:
                report.fail(first_record, f"targets changed under the batch: {error}")
                return None
        if loaded is None:
            report.fail(first_record, "store unavailable (load)")
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
        for item in list(pending.values()):
            if not self.prepare(item, report):
                del pending[item.key]
        attempt = 0
        while pending:
            if attempt >= self.backoff.attempts or time_left() < margin_s:
                break
            if attempt:
                report.retries += 1
                self.sleep(self.backoff.delay(attempt, self.rng))
            attempt += 1
            try:
                report.writes += 1
                outcomes = self.store.write([p.write for p in pending.values()])
            except StoreUnavailable as error:
                log.warning("store write failed", extra={"attempt": attempt, "error": str(error)})
                continue
            except UnknownTarget as error:
                # A rebuild switched and dropped a target after this batch loaded: redeliver,
                # and the next load sees the new targets.
                if self.cache is not None:
                    self.cache.clear()
                for item in pending.values():
                    report.fail(min(item.records), f"targets changed under the batch: {error}")
                return
            conflicted = []
            for key, outcome in outcomes.items():
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
                    item = pending[key]
                    item.stored = current.get(key)
                    if not self.prepare(item, report):
                        del pending[key]
        for item in pending.values():
            report.fail(min(item.records), f"document {item.key.target}/{item.key.id} not written after {attempt} attempts")

    def prepare(self, item: Pending, report: BatchReport) -> bool:
        """Fold the item's events onto its stored state; False when there is nothing to write.

        A document the aggregate cannot derive (a ``ProjectionError``: a model
        bug, such as a route sending two root items to one document) is
        handled like a document the store refuses: its records are tried one
        at a time and those that trigger the error are quarantined, so a model
        bug never blocks the shard.
        """
        before = item.stored.state if item.stored is not None else AggregateState()
        after = fold(before, item.events)
        if after is before:
            report.stale += len(item.events)
            return False
        try:
            body = item.aggregate.document(item.key.id, after)
        except ProjectionError as error:
            report.rejected.append((item, f"the aggregate cannot derive the document: {error}"))
            return False
        item.write = DocumentWrite(item.key, item.stored.token if item.stored else None, after, body)
        return True

    def apply_alone(self, item: Pending, index: int, report: BatchReport) -> Optional[str]:
        """Write one record's events to the document; the store's reason if it refuses them."""
        events = [event for i, event in item.routed if i == index]
        for attempt in range(self.backoff.attempts):
            if attempt:
                report.retries += 1
                self.sleep(self.backoff.delay(attempt, self.rng))
            try:
                stored = self.store.reload([item.key]).get(item.key)
                before = stored.state if stored is not None else AggregateState()
                after = fold(before, events)
                if after is before:
                    return None
                body = item.aggregate.document(item.key.id, after)
                write = DocumentWrite(item.key, stored.token if stored is not None else None, after, body)
                outcome = self.store.write([write]).get(item.key)
            except (StoreUnavailable, UnknownTarget):
                continue
            except ProjectionError as error:
                return f"the aggregate cannot derive the document: {error}"
            if isinstance(outcome, Written):
                report.documents_written += 1
                report.documents.add(item.key)
                return None
            if isinstance(outcome, Rejected):
                return f"rejected by the store: {outcome.reason}"
        report.fail(index, f"document {item.key.target}/{item.key.id} not written after {self.backoff.attempts} attempts")
        return None
