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
``DYNAFOLD_REPLAY_MARGIN_MS`` (default 20000), ``DYNAFOLD_REPLAY_PAGE_SIZE``.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Optional

from projector.checkpoints import MemoryCheckpoints
from projector.server_clock import server_time_us
from projector.table_names import IDENTITY
from replay.runner import Run, SegmentProgress, replay_segment

_runtime: Optional[dict] = None


def _default_runtime() -> dict:
    from projector import aws

    from projector import logs
    from projector.config import load_model, quarantine_url, store_url, table_names
    from projector.lookup import DynamoLookup
    from projector.quarantine import open_quarantine
    from projector.server_clock import server_time_us
    from projector.stores import open_store

    logs.configure(os.environ.get("DYNAFOLD_LOG_LEVEL", "INFO"))
    model = load_model()
    names = table_names(model)
    store = open_store(store_url())
    client = aws.client("dynamodb")
    return {
        "model": model,
        "store": store,
        "quarantine": open_quarantine(quarantine_url(store.url)),
        "client": client,
        "s3": aws.client("s3"),
        "lookup_factory": lambda: DynamoLookup(client, model, names=names),
        "names": names,
        "clock": lambda: server_time_us(client),
    }


def make_handler(runtime_factory: Callable[[], dict] = _default_runtime, *, margin_ms: Optional[int] = None,
                 page_size: Optional[int] = None) -> Callable[[dict, Any], dict]:
    state: dict = {}
    margin = margin_ms if margin_ms is not None else int(os.environ.get("DYNAFOLD_REPLAY_MARGIN_MS", "20000"))
    size = page_size or (int(os.environ["DYNAFOLD_REPLAY_PAGE_SIZE"]) if os.environ.get("DYNAFOLD_REPLAY_PAGE_SIZE") else None)

    def handle(event: dict, context: Any = None) -> dict:
        if "runtime" not in state:
            state["runtime"] = runtime_factory()
        runtime = state["runtime"]
        model, store = runtime["model"], runtime["store"]
        aggregate = model.aggregate(event["aggregate"])
        action = event.get("action")
        if action in ACTIONS:
            return ACTIONS[action](runtime, event, _time_left(context), margin / 1000, size)
        if action == "begin":
            store.prepare([aggregate])
            total = int(event.get("total_segments") or 4)
            targets = list(event.get("targets") or store.targets(aggregate.name).write)
            clock = runtime.get("clock") or (lambda: server_time_us(runtime["client"]))
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
            model, store, runtime["quarantine"], runtime["client"], checkpoints, run, event["table"],
            int(event["segment"]), lookup_factory=runtime["lookup_factory"], page_size=size,
            time_left=time_left, margin_s=margin / 1000, names=runtime.get("names") or IDENTITY,
        )
        return {**event, "checkpoint": progress.to_json(), "done": progress.done,
                "items": progress.items, "pages": progress.pages}

    return handle


def _time_left(context: Any) -> Callable[[], float]:
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        return lambda: context.get_remaining_time_in_millis() / 1000
    return lambda: float("inf")


def _job(runtime: dict):
    from replay.job import ReplayJob

    clock = runtime.get("clock") or (lambda: server_time_us(runtime["client"]))
    return ReplayJob(runtime["model"], runtime["store"], runtime["quarantine"], runtime["client"], MemoryCheckpoints(),
                     lookup_factory=runtime["lookup_factory"], names=runtime.get("names") or IDENTITY, clock=clock)


def rebuild_begin(runtime: dict, event: dict, *_) -> dict:
    """A new target, dual-written from now on; the scan that follows writes into it alone."""
    from replay import rebuild

    old, new = rebuild.start(_job(runtime), event["aggregate"])
    return {"old_read": old.read, "old_write": list(old.write), "new": new, "targets": [new],
            "settle_seconds": int(event.get("settle_seconds") or 5)}


def rebuild_finish(runtime: dict, event: dict, *_) -> dict:
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


def rebuild_abort(runtime: dict, event: dict, *_) -> dict:
    """The scan failed: readers never left the old target; drop the new one."""
    from replay import rebuild

    return {"switched": False, "dropped": rebuild.abort(runtime["store"], event["aggregate"])}


def export_begin(runtime: dict, event: dict, *_) -> dict:
    """Where the export's data files are listed, for the Distributed Map's ItemReader; refuses stale exports."""
    from replay.export import RETENTION_S, ExportError, ExportSource, locate

    source = ExportSource.parse(event["export"])
    export = locate(runtime["s3"], source, event.get("export_time"))
    if int(time.time() * 1_000_000) - export.export_time_us > RETENTION_S * 1_000_000:
        raise ExportError("the export is older than the 24 h stream retention: changes since it would be lost")
    if export.manifest is None:
        raise ExportError(f"export s3://{source.bucket}/{source.prefix} has no manifest-files.json to fan out over; "
                          "replay it with dynafold replay --from-export")
    names = runtime.get("names") or IDENTITY
    table = export.table if export.table in runtime["model"].tables else names.logical(export.table)
    if table not in runtime["model"].tables:
        raise ExportError(f"the export is of table {export.table!r}, not one of the model's tables")
    runtime["store"].prepare([runtime["model"].aggregate(event["aggregate"])])
    targets = list(event.get("targets") or runtime["store"].targets(event["aggregate"]).write)
    return {"aggregate": event["aggregate"], "table": table, "bucket": source.bucket, "manifest_key": export.manifest,
            "export_time_us": export.export_time_us, "targets": targets, "files": len(export.data_keys)}


def export_file(runtime: dict, event: dict, time_left: Callable[[], float], margin_s: float,
                page_size: Optional[int]) -> dict:
    """Project one data file of an export from ``position`` (lines done) until done or out of time."""
    from domain.records import Origin
    from projector.batch import Projector
    from replay.export import ExportError, rows
    from replay.scan import scan_decoder

    model, aggregate = runtime["model"], event["aggregate"]
    projector = Projector(model, runtime["store"], runtime["quarantine"], lookup_factory=runtime["lookup_factory"],
                          aggregates=[aggregate], targets={aggregate: tuple(event["targets"])},
                          names=runtime.get("names") or IDENTITY)
    decode = scan_decoder(model.table(event["table"]), int(event["export_time_us"]), Origin.EXPORT)
    position, page, size = int(event.get("position") or 0), [], page_size or 100

    def flush() -> None:
        report = projector.project(page, decode=decode, source="export")
        if report.failed_from is not None:
            raise ExportError(f"{event['key']}: a page could not be stored ({report.failure_reason})")

    for index, item in enumerate(rows(runtime["s3"], event["bucket"], event["key"])):
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
