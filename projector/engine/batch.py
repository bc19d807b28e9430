"""The batch projector: one batch of records in, documents conditionally written.

Per batch: decode every record, translate it into events for every
aggregate (prefetching the batch's join reads), quarantine the poison
records, and hand the events to the conditional write (``write_loop``): one
load and one write for the whole batch when nothing races. Fan-outs that
fit one page ride in that write; larger ones follow page by page
(``fanout``), keeping their place across deliveries. Whatever cannot be
finished marks its record failed; the caller reports it and every record
after it for redelivery, which the watermarks make harmless.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from dynafold.domain.aggregate import Aggregate
from dynafold.domain.events import DomainEvent, Slot
from dynafold.domain.kinds import TranslationError
from dynafold.domain.lookup import Lookup, LookupUnavailable
from dynafold.domain.model import Model
from dynafold.domain.records import SourceRecord
from dynafold.domain.translation import TablePlan
from dynafold.projector.control.checkpoints import Checkpoints
from dynafold.projector.control.quarantine import Quarantine
from dynafold.projector.control.quarantine_entry import QuarantineEntry
from dynafold.projector.control.sanitize import SanitizingQuarantine
from dynafold.projector.engine import poison
from dynafold.projector.engine.conditional_write import ConditionalWriter
from dynafold.projector.engine.document_cache import DocumentCache
from dynafold.projector.engine.fanout import DEFAULT_PAGE_SIZE, FanOut, FanOuts
from dynafold.projector.engine.report import BatchReport
from dynafold.projector.intake.records import MalformedRecord, decode_stream_record, record_ref
from dynafold.projector.retry import Backoff
from dynafold.projector.stores.base import DocumentStore
from dynafold.projector.table_names import IDENTITY, TableNames

__all__ = ["Backoff", "BatchReport", "Projector"]

Decoder = Callable[[Any], SourceRecord]


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
        cursors: Optional[Checkpoints] = None,
        fan_out_page: int = DEFAULT_PAGE_SIZE,
        cache: Optional[DocumentCache] = None,
    ) -> None:
        """``aggregates`` limits projection to those aggregates (a replay of one aggregate);
        ``targets`` writes an aggregate to those targets only instead of its write targets
        (a rebuild scans into the new target alone while live projectors dual-write);
        ``names`` maps the model's logical tables to the deployed ones; ``cursors`` keeps the
        place of a fan-out larger than ``fan_out_page`` pointing items across deliveries; ``cache``
        lets a long-lived projector skip loading documents it wrote itself."""
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
        self.writer = ConditionalWriter(model, store, backoff=backoff, sleep=lambda s: self.sleep(s), rng=self.rng,
                                        targets=self.targets, cache=cache, read_now=self._read_now)
        self.fan_outs = FanOuts(self.writer, cursors, fan_out_page)
        store.prepare([model.aggregate(name) for name in sorted(chosen)])

    def project(
        self,
        raws: Sequence[Any],
        *,
        decode: Optional[Decoder] = None,
        table: Optional[str] = None,
        time_left: Callable[[], float] = lambda: float("inf"),
        margin_s: float = 0.0,
        origin: str = "stream",
    ) -> BatchReport:
        """Project one batch of raw records (in shard order)."""
        decode = decode or (lambda raw: decode_stream_record(raw, self.model, table, self.names))
        report = BatchReport(records=len(raws))
        records: list[Optional[SourceRecord]] = []
        poisoned: dict[int, QuarantineEntry] = {}
        for index, raw in enumerate(raws):
            try:
                records.append(decode(raw))
            except MalformedRecord as error:
                records.append(None)
                poisoned[index] = poison.entry(raw, error.ref, str(error), origin)
            except Exception as error:  # a shape no check foresaw: still one record, never the batch
                records.append(None)
                ref = record_ref(raw, table)
                poisoned[index] = poison.entry(raw, ref, f"{ref}: undecodable record ({type(error).__name__})", origin)
        created = [r.version.created_at_us for r in records if r is not None and r.origin.value == "stream"]
        report.oldest_created_us = min(created) if created else None
        lookup = self.lookup_factory()
        routed, fan_outs = self._translate(raws, records, poisoned, report, origin, time_left, margin_s, lookup)
        poison.keep(self.quarantine, poisoned, report)
        small, larger = self.fan_outs.first_pages(fan_outs, lookup, report)
        report.events += len(small)
        routed.extend(small)
        if routed:
            self.writer.write(routed, report, time_left, margin_s)
        if larger:
            self.fan_outs.finish(larger, lookup, report, time_left, margin_s)
        if report.rejected:
            poison.quarantine_rejected(self.writer, self.quarantine, raws, records, report, origin)
        return report

    def _read_now(self, wanted: Sequence[tuple[Aggregate, Slot]]) -> dict[tuple[str, str], Optional[Mapping[str, Any]]]:
        """The slices of the joined items of the slots as they are now (a fresh lookup: no cached read),
        by (aggregate name, slot key); one lookup for the whole write round.

        A joined item whose value no longer translates is left out: its own record is quarantined,
        and the slot keeps what the fold decided."""
        images = self.lookup_factory().items({slot.source.id: slot.source for _, slot in wanted}.values())
        slices = {}
        for aggregate, slot in wanted:
            join, image = aggregate.join(slot.role), images.get(slot.source.id)
            try:
                slices[(aggregate.name, slot.key)] = join.slice(image) if join.accepts(image) else None
            except TranslationError:
                continue
        return slices

    def _translation(self, table: str):
        """The table's translator: a hand-written one if the model has it, else the engine's plan."""
        return self.model.translators.get(table) or self.model.plan(table)

    def _translate(self, raws, records, poisoned, report, origin, time_left, margin_s,
                   lookup) -> tuple[list[tuple[int, DomainEvent]], list[FanOut]]:
        """The events of each record for the aggregates this projector serves, and its fan-outs."""
        needs = []
        for record in records:
            if record is not None:
                try:
                    translation = self._translation(record.table)
                    needs.extend(translation.needs(record, fan_out=False) if isinstance(translation, TablePlan)
                                 else translation.needs(record))
                except Exception:
                    pass  # translate() below meets the same problem and quarantines the record
        if needs and hasattr(lookup, "prefetch"):
            try:
                lookup.prefetch(needs)
            except LookupUnavailable:
                pass  # each record retries its own lookups and fails alone below
        routed, fan_outs = [], []
        for index, record in enumerate(records):
            if record is None:
                continue
            if time_left() < margin_s:
                report.fail(index, "time budget exhausted before translation")
                break
            try:
                translation = self._translation(record.table)
                if isinstance(translation, TablePlan):
                    produced = translation.translate(record, lookup, fan_out=False)
                    joins = [j for j in translation.fan_outs(record) if j.aggregate in self._aggregates]
                else:
                    produced, joins = translation.translate(record, lookup), []
                mine = [(index, event) for event in produced if event.aggregate in self._aggregates]
            except LookupUnavailable as error:
                report.fail(index, str(error))
                break
            except Exception as error:  # a poison record, whatever the translator raised
                if isinstance(error, TranslationError):
                    poisoned[index] = poison.entry(raws[index], record.ref, f"{record.ref}: {error}", origin)
                else:  # its message may quote item contents: keep it in the quarantine, not in logs
                    poisoned[index] = poison.entry(
                        raws[index], record.ref, f"{record.ref}: translator raised {type(error).__name__}: {error}",
                        origin, summary=f"{record.ref}: translator raised {type(error).__name__}",
                    )
                continue
            report.events += len(mine)
            routed.extend(mine)
            fan_outs.extend(FanOut(index, record, join, translation) for join in joins)
        return routed, fan_outs


class _NoLookup:
    def item(self, source):
        raise LookupUnavailable("this projector has no lookup configured")

    def items(self, sources):
        raise LookupUnavailable("this projector has no lookup configured")

    def query(self, query):
        raise LookupUnavailable("this projector has no lookup configured")


_NO_LOOKUP = _NoLookup()
