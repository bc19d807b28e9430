"""The replay as Lambda steps, driven by the Step Functions state machine.

``state_machine.json`` calls ``handler`` once with ``action: begin`` (which
takes ``T_start`` and lists the segments), then, for every segment in a
Distributed Map, calls it with the segment until it answers ``done: true``.
Each call works until the invocation's remaining time falls under a margin,
flushes, and returns its checkpoint: the state machine, not the function,
carries the position, so a step can run anywhere and be retried.

A rebuild runs from the state machine too: ``rebuild_begin`` creates the
new target and registers it for dual writes, the scan writes into it alone,
``rebuild_finish`` checks it and switches readers and writers (or puts the
targets back; ``rebuild_abort`` does that when the scan failed). An export
replay reads ``export_begin`` (the export's ``manifest-files.json``) and
then ``export_file`` for each data file, again until ``done``.

Configuration: ``DYNAFOLD_STORE``, ``DYNAFOLD_QUARANTINE``, ``DYNAFOLD_MODEL``,
``DYNAFOLD_REPLAY_MARGIN_MS`` (default 20000), ``DYNAFOLD_REPLAY_PAGE_SIZE`` (``projector.config``).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from projector.checkpoints import MemoryCheckpoints
from projector.config import Settings
from projector.runtime import Runtime
from replay.runner import Run, SegmentProgress, replay_segment

DEFAULT_MARGIN_MS = 20_000


def _default_runtime() -> Runtime:
    from projector import logs

    settings = Settings.load()
    logs.configure(settings.log_level)
    return Runtime.open(settings)


def make_handler(runtime_factory: Callable[[], Runtime] = _default_runtime, *, margin_ms: Optional[int] = None,
                 page_size: Optional[int] = None) -> Callable[[dict, Any], dict]:
    state: dict = {}
    settings = Settings.load()
    margin = margin_ms if margin_ms is not None else (settings.replay_margin_ms or DEFAULT_MARGIN_MS)
    size = page_size or settings.replay_page_size

    def handle(event: dict, context: Any = None) -> dict:
        if "runtime" not in state:
            state["runtime"] = runtime_factory()
        runtime = state["runtime"]
        model, store = runtime.model, runtime.store
        aggregate = model.aggregate(event["aggregate"])
        action = event.get("action")
        if action in ACTIONS:
            return ACTIONS[action](runtime, event, _time_left(context), margin / 1000, size)
        if action == "begin":
            store.prepare([aggregate])
            total = int(event.get("total_segments") or 4)
            targets = list(event.get("targets") or store.targets(aggregate.name).write)
            clock = runtime.clock()
            t_start_us = int(clock())
            return {
                "aggregate": aggregate.name,
                "t_start_us": t_start_us,
                "segments": [
                    {"aggregate": aggregate.name, "table": table, "segment": segment, "total_segments": total,
                     "targets": targets, "t_start_us": t_start_us, "checkpoint": None, "done": False}
                    for table in aggregate.replay_tables for segment in range(total)
                ],
            }
        run = Run(aggregate.name, tuple(event["targets"]), int(event["t_start_us"]), int(event["total_segments"]))
        checkpoints = MemoryCheckpoints()
        key = run.key(event["table"], int(event["segment"]))
        if event.get("checkpoint"):
            checkpoints.put(key, event["checkpoint"])
        time_left = _time_left(context)
        progress: SegmentProgress = replay_segment(
            model, store, runtime.quarantine, runtime.dynamodb, checkpoints, run, event["table"],
            int(event["segment"]), lookup_factory=runtime.lookup_factory(), page_size=size,
            time_left=time_left, margin_s=margin / 1000, names=runtime.names,
        )
        return {**event, "checkpoint": progress.to_json(), "done": progress.done,
                "items": progress.items, "pages": progress.pages}

    return handle


def _time_left(context: Any) -> Callable[[], float]:
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        return lambda: context.get_remaining_time_in_millis() / 1000
    return lambda: float("inf")


def _job(runtime: Runtime):
    from replay.job import ReplayJob

    clock = runtime.clock()
    return ReplayJob(runtime.model, runtime.store, runtime.quarantine, runtime.dynamodb, MemoryCheckpoints(),
                     lookup_factory=runtime.lookup_factory(), names=runtime.names, clock=clock)


def rebuild_begin(runtime: Runtime, event: dict, *_) -> dict:
    """A new target, dual-written from now on; the scan that follows writes into it alone."""
    from replay import rebuild

    old, new = rebuild.start(_job(runtime), event["aggregate"])
    return {"old_read": old.read, "old_write": list(old.write), "new": new, "targets": [new],
            "settle_seconds": int(event.get("settle_seconds") or 5)}


def rebuild_finish(runtime: Runtime, event: dict, *_) -> dict:
    """Check the new target and switch to it; ``switched: false`` (targets restored) when the check fails."""
    from projector.stores.base import Targets
    from replay import rebuild
    from replay.runner import Summary

    state = event["rebuild"]
    old, new = Targets(state["old_read"], tuple(state["old_write"])), state["new"]
    try:
        report = rebuild.finish(_job(runtime), event["aggregate"], old, new, rebuild.RebuildReport(old, new, Summary()),
                                sample=int(event.get("sample") or 20), keep_old=bool(event.get("keep_old")),
                                count_tolerance=float(event.get("count_tolerance") or 0.0))
    except rebuild.RebuildAborted as error:
        return {"switched": False, "message": str(error)}
    return {"switched": True, "message": f"readers moved from {old.read} to {new} ({report.documents} documents, "
                                         f"{report.sampled} sampled)"}


def rebuild_abort(runtime: Runtime, event: dict, *_) -> dict:
    """The scan failed: readers never left the old target; drop the new one."""
    from replay import rebuild

    return {"switched": False, "dropped": rebuild.abort(runtime.store, event["aggregate"])}


def export_begin(runtime: Runtime, event: dict, *_) -> dict:
    """Where the export's data files are listed, for the Distributed Map's ItemReader; refuses stale exports."""
    from replay.export import RETENTION_S, ExportError, ExportSource, locate

    source = ExportSource.parse(event["export"])
    export = locate(runtime.client("s3"), source, event.get("export_time"))
    if int(time.time() * 1_000_000) - export.export_time_us > RETENTION_S * 1_000_000:
        raise ExportError("the export is older than the 24 h stream retention: changes since it would be lost")
    if export.manifest is None:
        raise ExportError(f"export s3://{source.bucket}/{source.prefix} has no manifest-files.json to fan out over; "
                          "replay it with dynafold replay --from-export")
    names = runtime.names
    table = export.table if export.table in runtime.model.tables else names.logical(export.table)
    if table not in runtime.model.tables:
        raise ExportError(f"the export is of table {export.table!r}, not one of the model's tables")
    runtime.store.prepare([runtime.model.aggregate(event["aggregate"])])
    targets = list(event.get("targets") or runtime.store.targets(event["aggregate"]).write)
    return {"aggregate": event["aggregate"], "table": table, "bucket": source.bucket, "manifest_key": export.manifest,
            "export_time_us": export.export_time_us, "targets": targets, "files": len(export.data_keys)}


def export_file(runtime: Runtime, event: dict, time_left: Callable[[], float], margin_s: float,
                page_size: Optional[int]) -> dict:
    """Project one data file of an export from ``position`` (lines done) until done or out of time."""
    from domain.records import Origin
    from projector.batch import Projector
    from replay.export import ExportError, rows
    from projector.records import scan_decoder

    model, aggregate = runtime.model, event["aggregate"]
    projector = Projector(model, runtime.store, runtime.quarantine, lookup_factory=runtime.lookup_factory(),
                          aggregates=[aggregate], targets={aggregate: tuple(event["targets"])},
                          names=runtime.names)
    decode = scan_decoder(model.table(event["table"]), int(event["export_time_us"]), Origin.EXPORT)
    position, page, size = int(event.get("position") or 0), [], page_size or 100

    def flush() -> None:
        report = projector.project(page, decode=decode, origin="export")
        if report.failed_from is not None:
            raise ExportError(f"{event['key']}: a page could not be stored ({report.failure_reason})")

    for index, item in enumerate(rows(runtime.client("s3"), event["bucket"], event["key"])):
        if index < position:
            continue
        page.append(item)
        if len(page) >= size:
            flush()
            position, page = index + 1, []
            if time_left() < margin_s:
                return {**event, "position": position, "done": False}
    if page:
        flush()
        position += len(page)
    return {**event, "position": position, "done": True}


ACTIONS = {"rebuild_begin": rebuild_begin, "rebuild_finish": rebuild_finish, "rebuild_abort": rebuild_abort,
           "export_begin": export_begin, "export_file": export_file}


def handler(event: dict, context: Any) -> dict:
    global _default
    if _default is None:
        _default = make_handler()
    return _default(event, context)


_default: Optional[Callable[[dict, Any], dict]] = None
