"""The replay runner: every aggregate rebuilt from table scans.

Each (table, segment) of a parallel scan is processed page by page through
the same ``Projector`` as the stream path. A page's checkpoint (the scan's
``LastEvaluatedKey`` and running counts) is written only after the page's
documents are stored, so ``--resume`` re-processes at most the one page that
was in flight per segment, which the watermarks make harmless. Memory is
bounded by the page size, never by the table size.

Scan rows get the version ``(declared, T_start - 1 s, 0)``; ``T_start`` is
taken before the first page and kept in the checkpoint store, so a resumed
run stamps rows exactly as the crashed one did.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any, Callable, Iterable, Optional, Sequence

import attrs

from dynafold.domain.model import Model
from dynafold.projector.control.checkpoints import Checkpoints
from dynafold.projector.control.quarantine import Quarantine
from dynafold.projector.control.quarantine_entry import raw_json, restore_raw
from dynafold.projector.engine.report import Tally
from dynafold.projector.errors import ProblemFound
from dynafold.projector.intake.records import scan_decoder
from dynafold.projector.retry import REPLAY_PAGES
from dynafold.projector.runtime import REPLAY, build_projector
from dynafold.projector.stores.base import DocumentStore
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.replay.scan import read_ahead, scan_pages


class ReplayFailed(ProblemFound):
    """A page could not be stored after retries; ``--resume`` continues from the last checkpoint."""


@attrs.frozen
class Run:
    """One replay of one aggregate: where it writes and how it stamps rows."""

    aggregate: str
    targets: tuple[str, ...]
    t_start_us: int
    segments: int

    @property
    def prefix(self) -> str:
        return f"replay/{self.aggregate}/{'+'.join(self.targets)}/"

    def key(self, table: str, segment: int) -> str:
        return f"{self.prefix}{table}/{segment}of{self.segments}"


@attrs.define
class SegmentProgress:
    after: Optional[dict] = None
    pages: int = 0
    items: int = 0
    written: int = 0
    conflicts: int = 0
    quarantined: int = 0
    done: bool = False

    def to_json(self) -> str:
        return json.dumps({**attrs.asdict(self), "after": None if self.after is None else raw_json(self.after)})

    @classmethod
    def from_json(cls, text: Optional[str]) -> "SegmentProgress":
        if not text:
            return cls()
        value = json.loads(text)
        after = value.pop("after")
        return cls(after=None if after is None else restore_raw(after), **value)


class Summary(Tally):
    """A replay run's counters, summed over its segments."""

    FIELDS = ("items", "pages", "written", "conflicts", "quarantined")
    seconds = 0.0

    def line(self) -> str:
        rate = self.items / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.items} items in {self.pages} pages, {self.written} document writes, {self.conflicts} conflicts, "
            f"{self.quarantined} quarantined, {self.seconds:.1f}s ({rate:,.0f} items/s)"
        )


def begin(checkpoints: Checkpoints, aggregate: str, targets: Sequence[str], segments: int, *, resume: bool,
          now_us: Callable[[], int]) -> Run:
    """Start a run (taking ``T_start`` from ``now_us``: DynamoDB's clock, see ``dynafold.projector.aws.server_clock``)
    or, with ``resume``, continue the recorded one."""
    probe = Run(aggregate, tuple(targets), 0, segments)
    meta_key = probe.prefix + "run"
    recorded = checkpoints.get(meta_key)
    if resume and recorded:
        meta = json.loads(recorded)
        return Run(aggregate, tuple(targets), int(meta["t_start_us"]), int(meta["segments"]))
    checkpoints.delete_prefix(probe.prefix)
    run = Run(aggregate, tuple(targets), now_us(), segments)
    checkpoints.put(meta_key, json.dumps({"t_start_us": run.t_start_us, "segments": segments}))
    return run


def replay_segment(
    model: Model,
    store: DocumentStore,
    quarantine: Quarantine,
    client: Any,
    checkpoints: Checkpoints,
    run: Run,
    table: str,
    segment: int,
    *,
    lookup_factory: Callable[[], Any],
    page_size: Optional[int] = None,
    page_attempts: int = REPLAY_PAGES.attempts,
    time_left: Callable[[], float] = lambda: float("inf"),
    margin_s: float = 0.0,
    after_page: Callable[[int], None] = lambda page: None,
    should_stop: Callable[[], bool] = lambda: False,
    names: TableNames = IDENTITY,
) -> SegmentProgress:
    """Process one scan segment from its checkpoint until done or out of time."""
    key = run.key(table, segment)
    progress = SegmentProgress.from_json(checkpoints.get(key))
    if progress.done:
        return progress
    projector = build_projector(model, store, quarantine, purpose=REPLAY, lookup_factory=lookup_factory,
                                aggregates=[run.aggregate], targets={run.aggregate: run.targets}, names=names)
    decode = scan_decoder(model.table(table), run.t_start_us, declared=model.declared_attributes(table))
    rng = random.Random()
    pages = read_ahead(scan_pages(client, names.physical(table), segment, run.segments, progress.after, page_size,
                                  first_number=progress.pages))
    for page in pages:
        for _ in attrs.evolve(REPLAY_PAGES, attempts=page_attempts).rounds(rng, time.sleep):
            report = projector.project(page.items, decode=decode, origin="scan")
            if report.failed_from is None:
                break
        else:
            raise ReplayFailed(f"{table} segment {segment} page {page.number}: {report.failure_reason}")
        progress.after = page.next_key
        progress.pages += 1
        progress.items += len(page.items)
        progress.written += report.documents_written
        progress.conflicts += report.conflicts
        progress.quarantined += len(report.quarantined)
        progress.done = page.done
        checkpoints.put(key, progress.to_json())
        after_page(page.number)
        if time_left() < margin_s or should_stop():
            break
    return progress


def table_totals(client: Any, tables: Iterable[str], names: TableNames = IDENTITY) -> dict[str, Optional[int]]:
    totals = {}
    for table in tables:
        try:
            totals[table] = int(client.describe_table(TableName=names.physical(table))["Table"].get("ItemCount") or 0) or None
        except Exception:
            totals[table] = None
    return totals


def read_progress(checkpoints: Checkpoints, run: Run, tables: Iterable[str]) -> dict[str, list[SegmentProgress]]:
    return {
        table: [SegmentProgress.from_json(checkpoints.get(run.key(table, s))) for s in range(run.segments)]
        for table in tables
    }
