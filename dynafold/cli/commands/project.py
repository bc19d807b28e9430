"""``dynafold project``: poll the streams until Ctrl-C (exit 130) or, with ``--until-idle``, drained."""

from __future__ import annotations

import signal
import sys
import threading

from dynafold.cli import flags
from dynafold.projector.config import redact
from dynafold.projector.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_PROBLEM


def project(args) -> int:
    from dynafold.projector import poller
    from dynafold.projector.aws.streams import StreamReader

    runtime = flags.runtime(args)
    tables = args.tables or sorted(runtime.model.tables)
    for table in tables:
        runtime.model.table(table)
    checkpoints_url = runtime.checkpoints_url(args.checkpoints)
    projector = runtime.projector(cursors=runtime.checkpoints(runtime.quarantine_url))
    reader = StreamReader(runtime.dynamodb, runtime.client("dynamodbstreams"),
                          [runtime.names.physical(table) for table in tables], runtime.checkpoints(checkpoints_url),
                          limit=args.batch_size)
    stop, interrupted = threading.Event(), threading.Event()

    def on_interrupt(*_) -> None:
        interrupted.set()
        stop.set()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        print(f"dynafold project: {', '.join(tables)} -> {redact(runtime.store.url)} (Ctrl-C stops)", file=sys.stderr)
        totals = poller.run(projector, reader, stop=stop, until_idle=args.until_idle, interval_s=args.interval,
                            stats_every_s=args.stats_every, out=sys.stderr)
    finally:
        signal.signal(signal.SIGINT, previous)
    print(f"dynafold project: {totals.line()}", file=sys.stderr)
    if interrupted.is_set():
        print("dynafold project: interrupted; positions are checkpointed, run again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_PROBLEM if totals.unfinished else EXIT_OK
