"""The batch projector: one batch of records in, documents conditionally written.

Per batch: decode and translate every record (poison records go to the
quarantine), route the events to documents, ``load`` every affected
document of every write target in one round trip, fold, and ``write`` every
changed document in one round trip, each conditioned on its token. A lost
race (``Conflict``) reloads and re-folds only that document; a transient
item failure (``Retryable``) resends only that item; both with bounded,
jittered backoff. Whatever still fails marks its records failed: the caller
reports the lowest of them and everything after it for redelivery, which the
watermarks make harmless.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections import defaultdict
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import attrs

from domain.aggregate import Aggregate, ProjectionError
from domain.events import DomainEvent
from domain.fold import fold
from domain.kinds import TranslationError
from domain.lookup import Lookup, LookupUnavailable
from domain.model import Model
from domain.records import RecordRef, SourceRecord
from domain.state import AggregateState
from projector.quarantine import Quarantine, QuarantineEntry, raw_json
from projector.records import MalformedRecord, decode_stream_record, record_ref
from projector.sanitize import SanitizingQuarantine
from projector.table_names import IDENTITY, TableNames
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

log = logging.getLogger("dynafold.projector")

Decoder = Callable[[Any], SourceRecord]


@attrs.frozen
class Backoff:
    """Full-jitter exponential backoff: sleep uniform(0, min(cap, base * 2**attempt))."""

    base: float = 0.02
    cap: float = 1.0
    attempts: int = 8

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap, self.base * (2**attempt)))


@attrs.define
class BatchReport:
    """What one batch did, in counts (the metrics and the tests read these)."""

    records: int = 0
    events: int = 0
    stale: int = 0
    documents_written: int = 0
    conflicts: int = 0
    retries: int = 0
    loads: int = 0
    writes: int = 0
    quarantined: list[QuarantineEntry] = attrs.field(factory=list)
    failed_from: Optional[int] = None
    failure_reason: str = ""
    oldest_created_us: Optional[int] = None
    documents: set = attrs.field(factory=set)
    rejected: list = attrs.field(factory=list)

    def fail(self, index: int, reason: str) -> None:
        if self.failed_from is None or index < self.failed_from:
            self.failed_from = index
            self.failure_reason = reason


@attrs.define
class _Pending:
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


class Projector:
    def __init__(
        self,
        model: Model,
        store: DocumentStore,
        quarantine: Quarantine,
        *,
        lookup_factory: Callable[[], Lookup] = lambda: _NO_LOOKUP,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], None] = time.sleep,
        rng: Optional[random.Random] = None,
        aggregates: Optional[Iterable[str]] = None,
        targets: Optional[Mapping[str, Sequence[str]]] = None,
        names: TableNames = IDENTITY,
    ) -> None:
        """``aggregates`` limits projection to those aggregates (a replay of one aggregate);
        ``targets`` writes an aggregate to those targets only instead of its write targets
        (a rebuild scans into the new target alone while live projectors dual-write);
        ``names`` maps the model's logical tables to the deployed ones."""
        self.model = model
        self.store = store
        self.quarantine = SanitizingQuarantine.around(quarantine, model, names)  # nothing undeclared is kept
        self.lookup_factory = lookup_factory
        self.backoff = backoff
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.targets = {name: tuple(t) for name, t in (targets or {}).items()}
        self.names = names
        chosen = set(model.aggregates) if aggregates is None else set(aggregates)
        for name in chosen:
            model.aggregate(name)
        self._aggregates = frozenset(chosen)
        store.prepare([model.aggregate(name) for name in sorted(chosen)])

    def project(
        self,
        raws: Sequence[Any],
        *,
        decode: Optional[Decoder] = None,
        table: Optional[str] = None,
        time_left: Callable[[], float] = lambda: float("inf"),
        margin_s: float = 0.0,
        source: str = "stream",
    ) -> BatchReport:
        """Project one batch of raw records (in shard order)."""
        decode = decode or (lambda raw: decode_stream_record(raw, self.model, table, self.names))
        report = BatchReport(records=len(raws))
        records: list[Optional[SourceRecord]] = []
        poison: dict[int, QuarantineEntry] = {}
        for index, raw in enumerate(raws):
            try:
                records.append(decode(raw))
            except MalformedRecord as error:
                records.append(None)
                poison[index] = _entry(raw, error.ref, str(error), source)
            except Exception as error:  # a shape no check foresaw: still one record, never the batch
                records.append(None)
                ref = record_ref(raw, table)
                poison[index] = _entry(raw, ref, f"{ref}: undecodable record ({type(error).__name__})", source)
        created = [r.version.created_at_us for r in records if r is not None and r.origin.value == "stream"]
        report.oldest_created_us = min(created) if created else None
        routed = self._translate(raws, records, poison, report, source, time_left, margin_s)
        if poison:
            try:
                self.quarantine.put(poison.values())
            except Exception as error:  # the quarantine must hold them before the shard moves on
                report.fail(min(poison), f"quarantine unavailable: {type(error).__name__}")
            else:
                _logged(report.quarantined, poison.values())
        if routed:
            self._fold_and_write(routed, report, time_left, margin_s)
        if report.rejected:
            self._quarantine_rejected(raws, records, report, source)
        return report

    def _quarantine_rejected(self, raws, records, report: BatchReport, source: str) -> None:
        """Find, record by record, which records make the store refuse a document; quarantine those only.

        The store refused a whole document (a value its mapping rejects). The
        other records that touched it are innocent: they are applied one at a
        time, so only the records whose own change is refused are quarantined.
        This costs a round trip per record, on this rare path only.
        """
        entries = {}
        for item, _ in report.rejected:
            for index in sorted(item.records):
                reason = self._apply_alone(item, index, report)
                if reason is not None:
                    ref = records[index].ref if records[index] is not None else record_ref(raws[index])
                    entries[index] = _entry(
                        raws[index], ref, f"{ref}: document {item.key.target}/{item.key.id}: {reason}", source
                    )
        if not entries:
            return
        try:
            self.quarantine.put(entries.values())
        except Exception as error:
            report.fail(min(entries), f"quarantine unavailable: {type(error).__name__}")
            return
        _logged(report.quarantined, entries.values())

    def _apply_alone(self, item: _Pending, index: int, report: BatchReport) -> Optional[str]:
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

    def _translation(self, table: str):
        """The table's translator: a hand-written one if the model has it, else the engine's plan."""
        return self.model.translators.get(table) or self.model.plan(table)

    def _translate(self, raws, records, poison, report, source, time_left, margin_s) -> list[tuple[int, DomainEvent]]:
        """The events of each record for the aggregates this projector serves: (record index, event)."""
        lookup = self.lookup_factory()
        needs = []
        for record in records:
            if record is not None:
                try:
                    needs.extend(self._translation(record.table).needs(record))
                except Exception:
                    pass  # translate() below meets the same problem and quarantines the record
        if needs and hasattr(lookup, "prefetch"):
            try:
                lookup.prefetch(needs)
            except LookupUnavailable:
                pass  # each record retries its own lookups and fails alone below
        routed = []
        for index, record in enumerate(records):
            if record is None:
                continue
            if time_left() < margin_s:
                report.fail(index, "time budget exhausted before translation")
                break
            try:
                produced = self._translation(record.table).translate(record, lookup)
                mine = [(index, event) for event in produced if event.aggregate in self._aggregates]
            except LookupUnavailable as error:
                report.fail(index, str(error))
                break
            except Exception as error:  # a poison record, whatever the translator raised
                if isinstance(error, TranslationError):
                    poison[index] = _entry(raws[index], record.ref, f"{record.ref}: {error}", source)
                else:  # its message may quote item contents: keep it in the quarantine, not in logs
                    poison[index] = _entry(
                        raws[index], record.ref, f"{record.ref}: translator raised {type(error).__name__}: {error}",
                        source, summary=f"{record.ref}: translator raised {type(error).__name__}",
                    )
                continue
            report.events += len(mine)
            routed.extend(mine)
        return routed

    def _fold_and_write(self, routed, report: BatchReport, time_left, margin_s) -> None:
        wanted: dict[str, dict[str, list[tuple[int, DomainEvent]]]] = defaultdict(lambda: defaultdict(list))
        for index, event in routed:
            wanted[event.aggregate][event.document].append((index, event))
        if not wanted:
            return
        first_record = min(index for index, _ in routed)
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
                return
        if loaded is None:
            report.fail(first_record, "store unavailable (load)")
            return
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
                return
        pending: dict[DocKey, _Pending] = {}
        for name, docs in wanted.items():
            aggregate = self.model.aggregate(name)
            for target in self.targets.get(name, loaded.targets[name]):
                for doc_id, items in docs.items():
                    key = DocKey(target, doc_id)
                    pending[key] = _Pending(aggregate, key, items, documents.get(key))
        for item in list(pending.values()):
            if not self._prepare(item, report):
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
                for item in pending.values():
                    report.fail(min(item.records), f"targets changed under the batch: {error}")
                return
            conflicted = []
            for key, outcome in outcomes.items():
                if isinstance(outcome, Written):
                    report.documents_written += 1
                    report.documents.add(key)
                    del pending[key]
                elif isinstance(outcome, Conflict):
                    report.conflicts += 1
                    conflicted.append(key)
                elif isinstance(outcome, Rejected):
                    report.rejected.append((pending.pop(key), f"rejected by the store: {outcome.reason}"))
            if conflicted:
                try:
                    report.loads += 1
                    current = self.store.reload(conflicted)
                except (StoreUnavailable, UnknownTarget):
                    continue  # the stale writes conflict again next round and reload then
                for key in conflicted:
                    item = pending[key]
                    item.stored = current.get(key)
                    if not self._prepare(item, report):
                        del pending[key]
        for item in pending.values():
            report.fail(min(item.records), f"document {item.key.target}/{item.key.id} not written after {attempt} attempts")

    def _prepare(self, item: _Pending, report: BatchReport) -> bool:
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


def _logged(into: list, entries) -> None:
    """Add quarantined entries to the report, one warning line each (identities, never contents)."""
    for entry in entries:
        into.append(entry)
        log.warning(
            "record quarantined",
            extra={"table": entry.table, "sequence": entry.position, "event_id": entry.event_id, "reason": entry.summary},
        )


def _entry(raw: Any, ref: RecordRef, reason: str, source: str, summary: Optional[str] = None) -> QuarantineEntry:
    payload = raw_json(raw)
    position = ref.sequence or ref.event_id or "sha256:" + hashlib.sha256(payload.encode()).hexdigest()[:32]
    return QuarantineEntry(ref.table, position, ref.event_id, reason, payload, source=source, summary=summary or reason)


class _NoLookup:
    def item(self, source):
        raise LookupUnavailable("this projector has no lookup configured")

    def query(self, query):
        raise LookupUnavailable("this projector has no lookup configured")


_NO_LOOKUP = _NoLookup()
