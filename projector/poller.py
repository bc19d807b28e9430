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

from dynafold.projector.aws.streams import StreamReader
from dynafold.projector.engine.batch import Projector
from dynafold.projector.engine.report import Tally


class Totals(Tally):
    """What ``dynafold project`` did so far; ``unfinished`` while records keep failing."""

    FIELDS = ("batches", "records", "events", "written", "stale", "conflicts", "retries", "quarantined",
              "failed_batches")
    unfinished = False


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
            totals.add(report.counts())
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
