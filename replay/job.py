"""A replay job: every (table, segment) of an aggregate, in parallel, with progress.

``workers`` threads, or processes when the store can be opened by URL from
another process (``ReplayConfig``): processes share the checkpoint store and
nothing else, the same contract the Step Functions Map uses in AWS.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Any, Callable, Optional, Sequence, TextIO

import attrs

from dynafold.domain.model import Model
from dynafold.projector.aws.server_clock import server_time_us
from dynafold.projector.config import Settings
from dynafold.projector.control.checkpoints import Checkpoints
from dynafold.projector.control.quarantine import Quarantine
from dynafold.projector.errors import EXIT_INTERRUPTED, EXIT_UNAVAILABLE, EXIT_USAGE, Unavailable, classify
from dynafold.projector.stores.base import DocumentStore
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.replay.progress import Progress
from dynafold.replay.runner import (
    ReplayFailed,
    Run,
    SegmentProgress,
    Summary,
    begin,
    read_progress,
    replay_segment,
    table_totals,
)
from dynafold.replay.targets import Held, missing, restore_missing


@attrs.frozen
class ReplayConfig:
    """What a worker process needs to wire itself (``dynafold.projector.runtime``): the settings as given,
    credentials in the store URL included (``Settings`` never shows them in a repr)."""

    settings: Settings
    checkpoints_url: str
    page_size: Optional[int] = None


def exit_with_parent(parent: int) -> None:
    """Worker-process initializer: a worker whose parent was killed (SIGKILL, OOM) exits too, instead of
    waiting forever for tasks no one will send; the checkpoints hold its place for ``--resume``."""
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _process_task(config: ReplayConfig, run: Run, table: str, segment: int) -> SegmentProgress:
    from dynafold.projector.runtime import Runtime

    runtime = Runtime.open(config.settings)
    try:
        return replay_segment(
            runtime.model, runtime.store, runtime.quarantine, runtime.dynamodb,
            runtime.checkpoints(config.checkpoints_url), run, table, segment,
            lookup_factory=runtime.lookup_factory(), page_size=config.page_size, names=runtime.names,
        )
    finally:
        runtime.store.close()


class ReplayJob:
    def __init__(
        self,
        model: Model,
        store: DocumentStore,
        quarantine: Quarantine,
        client: Any,
        checkpoints: Checkpoints,
        *,
        lookup_factory: Callable[[], Any],
        segments: int = 4,
        workers: int = 1,
        page_size: Optional[int] = None,
        progress: Optional[TextIO] = None,
        processes: Optional[ReplayConfig] = None,
        after_page: Callable[[int], None] = lambda page: None,
        names: TableNames = IDENTITY,
        clock: Optional[Callable[[], int]] = None,
    ) -> None:
        """``clock`` gives ``T_start`` in microseconds; by default DynamoDB's own (``server_time_us``)."""
        self.model = model
        self.store = store
        self.quarantine = quarantine
        self.client = client
        self.checkpoints = checkpoints
        self.lookup_factory = lookup_factory
        self.segments = segments
        self.workers = max(1, workers)
        self.page_size = page_size
        self.progress_stream = progress
        self.processes = processes
        self.after_page = after_page
        self.names = names
        self.clock = clock or (lambda: server_time_us(client))
        self._stop = threading.Event()

    def run(self, aggregate: str, *, resume: bool = False, targets: Optional[Sequence[str]] = None,
            t_start_us: Optional[int] = None) -> Summary:
        """Replay ``aggregate`` into ``targets`` (a rebuild's new one), or into its write targets, recreating
        first, empty, any the store lost (a deleted index): the replay fills them again."""
        definition = self.model.aggregate(aggregate)
        self.store.prepare([definition])
        if targets is None and missing(self.store, aggregate):
            with Held(self.store, aggregate) as held:
                restore_missing(self.store, definition, held)
        targets = tuple(targets or self.store.targets(aggregate).write)
        now = (lambda: t_start_us) if t_start_us is not None else self.clock
        run = begin(self.checkpoints, aggregate, targets, self.segments, resume=resume, now_us=now)
        tables = definition.replay_tables
        tasks = [(table, segment) for table in tables for segment in range(run.segments)]
        started = time.monotonic()
        board = Progress(table_totals(self.client, tables, self.names), self.progress_stream) if self.progress_stream else None
        stop = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(board, run, tables, stop), daemon=True) if board else None
        if watcher:
            watcher.start()
        try:
            self._execute(run, tasks)
        finally:
            stop.set()
            if watcher:
                watcher.join()
        summary = Summary()
        for segments in read_progress(self.checkpoints, run, tables).values():
            for progress in segments:
                summary.add(attrs.asdict(progress, recurse=False))
        summary.seconds = time.monotonic() - started
        return summary

    def _execute(self, run: Run, tasks: list[tuple[str, int]]) -> None:
        if self.processes is not None and self.workers > 1:
            pool: Any = ProcessPoolExecutor(max_workers=self.workers, initializer=exit_with_parent,
                                            initargs=(os.getpid(),))
            submit = lambda table, segment: pool.submit(_process_task, self.processes, run, table, segment)  # noqa: E731
        else:
            pool = ThreadPoolExecutor(max_workers=self.workers)
            submit = lambda table, segment: pool.submit(self._thread_task, run, table, segment)  # noqa: E731
        self._stop.clear()
        futures = {submit(table, segment): (table, segment) for table, segment in tasks}
        failures: list[tuple[str, BaseException]] = []
        try:
            for future in as_completed(futures):
                error = future.exception()
                if error is not None and not isinstance(error, Exception):
                    raise error  # an interrupt or a kill: stop, the checkpoints hold the position
                if error is not None:
                    table, segment = futures[future]
                    failures.append((f"{table} segment {segment}", error))
        except BaseException:
            self._stop.set()  # running segments stop after the page in hand; queued ones never start
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if failures:
            raise segment_failure(failures)

    def _thread_task(self, run: Run, table: str, segment: int) -> SegmentProgress:
        return replay_segment(
            self.model, self.store, self.quarantine, self.client, self.checkpoints, run, table, segment,
            lookup_factory=self.lookup_factory, page_size=self.page_size, after_page=self.after_page,
            should_stop=self._stop.is_set, names=self.names,
        )

    def _watch(self, board: Progress, run: Run, tables, stop: threading.Event) -> None:
        while True:
            finished = stop.wait(0.5)
            done = {t: sum(p.items for p in segs) for t, segs in read_progress(self.checkpoints, run, tables).items()}
            board.update(done, final=finished)
            if finished:
                return


def segment_failure(failures: Sequence[tuple[str, BaseException]]) -> Exception:
    """What failed segments mean: a configuration error (a missing table, access denied) is raised as
    itself, since resuming cannot help; otherwise the run failed part-way and ``--resume`` continues it."""
    for _, error in failures:
        code, _message = classify(error)
        if code == EXIT_USAGE:
            return error
    lines = "; ".join(sorted(f"{where}: {classify(error)[1] or f'{type(error).__name__}: {error}'}" for where, error in failures))
    if all(classify(error)[0] == EXIT_UNAVAILABLE for _, error in failures):
        return Unavailable(f"{lines} (run again with --resume to continue)")
    return ReplayFailed(f"{lines} (run again with --resume to continue)")
