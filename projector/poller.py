"""``dynafold project``: the stream projection for users not on Lambda.

Polls every table's DynamoDB Stream, projects each shard batch exactly as
the Lambda handler does, moves shard checkpoints past what succeeded, and
prints the same counters as the Lambda metrics every few seconds. Ctrl-C
stops after the batch in hand.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional, TextIO

import attrs

from projector.batch import BatchReport, Projector
from projector.streams import StreamReader


@attrs.define
class Totals:
    batches: int = 0
    records: int = 0
    events: int = 0
    written: int = 0
    stale: int = 0
    conflicts: int = 0
    retries: int = 0
    quarantined: int = 0
    failed_batches: int = 0
    unfinished: bool = attrs.field(default=False, repr=False)

    def add(self, report: BatchReport) -> None:
        self.batches += 1
        self.records += report.records
        self.events += report.events
        self.written += report.documents_written
        self.stale += report.stale
        self.conflicts += report.conflicts
        self.retries += report.retries
        self.quarantined += len(report.quarantined)
        self.failed_batches += report.failed_from is not None

    def line(self) -> str:
        return " ".join(f"{name}={value}" for name, value in attrs.asdict(self).items() if name != "unfinished")


def run(
    projector: Projector,
    reader: StreamReader,
    *,
    stop: threading.Event,
    until_idle: bool = False,
    interval_s: float = 1.0,
    stats_every_s: float = 10.0,
    out: Optional[TextIO] = None,
    clock: Callable[[], float] = time.monotonic,
    max_failures: int = 5,
    refresh_every_s: float = 60.0,
) -> Totals:
    """Poll and project until ``stop`` is set (or, with ``until_idle``, until the streams are drained).

    Shards are rediscovered whenever one closes (its children take over its
    keys) and every ``refresh_every_s`` seconds, busy or not.
    """
    totals = Totals()
    reader.refresh()
    last_stats = last_refresh = clock()
    failing = 0
    while not stop.is_set():
        if reader.needs_refresh or clock() - last_refresh >= refresh_every_s:
            reader.refresh()
            last_refresh = clock()
        batches = reader.poll()
        for batch in batches:
            report = projector.project(batch.records, table=batch.table)
            reader.commit(batch, report.failed_from)
            totals.add(report)
            failing = failing + 1 if report.failed_from is not None else 0
        totals.unfinished = failing > 0
        if failing:
            if until_idle and failing >= max_failures:
                break
            stop.wait(min(interval_s * failing, 30.0))
        if out is not None and clock() - last_stats >= stats_every_s:
            print(f"dynafold project: {totals.line()}", file=out, flush=True)
            last_stats = clock()
        if not batches:
            if until_idle and not reader.needs_refresh:
                break
            if not until_idle:
                stop.wait(interval_s)
    return totals
