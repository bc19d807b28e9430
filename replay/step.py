"""The replay as Lambda steps, driven by the Step Functions state machine.

``state_machine.json`` calls the replay function (``dynafold.handlers.replay``) once with ``action: begin`` (which
takes ``T_start`` and lists the segments), then, for every segment in a
Distributed Map, calls it with the segment until it answers ``done: true``.
Each call works until the invocation's remaining time falls under a margin,
flushes, and returns its checkpoint: the state machine, not the function,
carries the position, so a step can run anywhere and be retried.

A rebuild runs from the state machine too, under the aggregate's lease
like any other (``replay.targets``), held by the execution from step to
step: ``rebuild_begin`` takes it (refused, naming the holder, while another
rebuild runs), creates the new target and registers it for dual writes,
the scan writes into it alone (each segment step renews the lease),
``rebuild_finish`` checks it and switches readers and writers (or puts the
targets back; ``rebuild_abort`` does that when the scan failed) and gives
the lease up. A plain replay's ``begin`` recreates targets the store lost,
as the command does. An export replay reads ``export_begin`` (the export's
``manifest-files.json``) and then ``export_file`` for each data file, again
until ``done``.

Each action is ``action(runtime, event, time_left, margin_s, page_size) -> dict``.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from dynafold.projector.runtime import REPLAY, Runtime
from dynafold.projector.stores.lease import Lease, LeaseLost
from dynafold.projector.stores.memory import MemoryCheckpoints
from dynafold.replay.runner import Run, SegmentProgress, replay_segment
from dynafold.replay.targets import Held, RebuildState, missing, restore_missing

STEP_LEASE_TTL_S = 20 * 60.0
"""The lease of a Step Functions rebuild runs this long from each step that renews it: a step runs at most
15 minutes (Lambda's limit), so a live execution always renews in time."""


def _held(runtime: Runtime, event: dict, lease: Optional[Lease] = None, keep: bool = False) -> Held:
    """The aggregate's lease as this execution holds it (``lease``: taken by an earlier step)."""
    execution = str(event.get("execution") or "an unnamed execution")
    return Held(runtime.store, event["aggregate"], holder=f"Step Functions execution {execution}",
                process={"execution": execution}, ttl_s=STEP_LEASE_TTL_S, renew_every_s=0, lease=lease, keep=keep)


def _lease(event: dict, state: Optional[dict]) -> Optional[Lease]:
    return Lease.from_json(event["aggregate"], state["lease"]) if state and state.get("lease") else None


def begin(runtime: Runtime, event: dict, *_: Any) -> dict:
    """``T_start`` from DynamoDB's clock, and every (table, segment) of the aggregate for the Distributed Map
    (a plain replay first recreates targets the store lost)."""
    aggregate = runtime.model.aggregate(event["aggregate"])
    runtime.store.prepare([aggregate])
    if not event.get("targets") and missing(runtime.store, aggregate.name):
        with _held(runtime, event) as held:
            restore_missing(runtime.store, aggregate, held)
    total = int(event.get("total_segments") or 4)
    targets = list(event.get("targets") or runtime.store.targets(aggregate.name).write)
    t_start_us = int(runtime.clock()())
    segments = [
        {"aggregate": aggregate.name, "table": table, "segment": segment, "total_segments": total,
         "targets": targets, "t_start_us": t_start_us, "checkpoint": None, "done": False, "lease": event.get("lease")}
        for table in aggregate.replay_tables for segment in range(total)
    ]
    # every (table, segment) at once: total_segments is the one knob of a rebuild's speed (dynafold plan-rebuild)
    return {"aggregate": aggregate.name, "t_start_us": t_start_us, "segments": segments,
            "max_concurrency": len(segments)}


def segment(runtime: Runtime, event: dict, time_left: Callable[[], float], margin_s: float,
            page_size: Optional[int]) -> dict:
    """One segment's scan from the checkpoint the state machine carries, until done or out of time; a
    rebuild's segment renews the execution's lease first (``LeaseLost`` if another rebuild took it over)."""
    aggregate = runtime.model.aggregate(event["aggregate"])
    lease = _lease(event, event)
    if lease is not None:
        runtime.store.renew_lease(lease, STEP_LEASE_TTL_S)
    run = Run(aggregate.name, tuple(event["targets"]), int(event["t_start_us"]), int(event["total_segments"]))
    checkpoints = MemoryCheckpoints()
    key = run.key(event["table"], int(event["segment"]))
    if event.get("checkpoint"):
        checkpoints.put(key, event["checkpoint"])
    progress: SegmentProgress = replay_segment(
        runtime.model, runtime.store, runtime.quarantine, runtime.dynamodb, checkpoints, run, event["table"],
        int(event["segment"]), lookup_factory=runtime.lookup_factory(), page_size=page_size,
        time_left=time_left, margin_s=margin_s, names=runtime.names,
    )
    return {**event, "checkpoint": progress.to_json(), "done": progress.done,
            "items": progress.items, "pages": progress.pages}


def _job(runtime: Runtime):
    from dynafold.replay.job import ReplayJob

    clock = runtime.clock()
    return ReplayJob(runtime.model, runtime.store, runtime.quarantine, runtime.dynamodb, MemoryCheckpoints(),
                     lookup_factory=runtime.lookup_factory(), names=runtime.names, clock=clock)


def rebuild_begin(runtime: Runtime, event: dict, *_) -> dict:
    """Take the lease (kept for the next steps), undo a rebuild whose holder died, and start: a new target,
    dual-written from now on; the scan that follows writes into it alone."""
    from dynafold.replay import rebuild

    aggregate = runtime.model.aggregate(event["aggregate"])
    runtime.store.prepare([aggregate])
    with _held(runtime, event, keep=True) as held:
        interrupted = held.interrupted()
        if interrupted is not None:
            rebuild.undo(runtime.store, aggregate.name, interrupted, held)
        state = rebuild.start(_job(runtime), aggregate, held, keep_old=bool(event.get("keep_old")))
        return {**state.to_json(), "targets": [state.new], "lease": held.lease.to_json(),
                "settle_seconds": int(event.get("settle_seconds") or 5)}


def rebuild_finish(runtime: Runtime, event: dict, *_) -> dict:
    """Check the new target and switch to it; ``switched: false`` (targets restored) when the check fails.
    Either way the lease is given up."""
    from dynafold.replay import rebuild
    from dynafold.replay.runner import Summary

    state = RebuildState.from_json(event["rebuild"])
    with _held(runtime, event, lease=_lease(event, event["rebuild"])) as held:
        try:
            report = rebuild.finish(_job(runtime), event["aggregate"], state,
                                    rebuild.RebuildReport(state.old, state.new, Summary()), held,
                                    sample=int(event.get("sample") or 20),
                                    count_tolerance=float(event.get("count_tolerance") or 0.0))
        except rebuild.RebuildAborted as error:
            return {"switched": False, "message": str(error)}
    return {"switched": True, "message": f"readers moved from {state.old.read} to {state.new} ({report.documents} "
                                         f"documents, {report.sampled} sampled)"}


def rebuild_abort(runtime: Runtime, event: dict, *_) -> dict:
    """The scan failed: readers never left the old target; drop the new one (unless another rebuild has
    taken the lease over since: then nothing here is this execution's to change)."""
    from dynafold.replay import rebuild

    try:
        with _held(runtime, event, lease=_lease(event, event.get("rebuild"))) as held:
            dropped = rebuild.abort(runtime.store, event["aggregate"], held=held)
    except LeaseLost as lost:
        return {"switched": False, "dropped": [], "message": str(lost)}
    return {"switched": False, "dropped": dropped}


def export_begin(runtime: Runtime, event: dict, *_) -> dict:
    """Where the export's data files are listed, for the Distributed Map's ItemReader; refuses stale exports."""
    from dynafold.replay.export import RETENTION_S, ExportError, ExportSource, locate

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
    from dynafold.domain.records import Origin
    from dynafold.projector.intake.records import scan_decoder
    from dynafold.replay.export import ExportError, rows

    model, aggregate = runtime.model, event["aggregate"]
    projector = runtime.projector(purpose=REPLAY, aggregates=[aggregate], targets={aggregate: tuple(event["targets"])})
    decode = scan_decoder(model.table(event["table"]), int(event["export_time_us"]), Origin.EXPORT,
                          model.declared_attributes(event["table"]))
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


ACTIONS = {"begin": begin, "segment": segment, "rebuild_begin": rebuild_begin, "rebuild_finish": rebuild_finish,
           "rebuild_abort": rebuild_abort, "export_begin": export_begin, "export_file": export_file}
"""What each ``action`` of the state machine runs (a segment when the event names none)."""
