"""The stream Lambda: one function per source table, all sharing this handler.

``handler(event, context)`` projects one batch of DynamoDB stream records
and returns ``{"batchItemFailures": [...]}`` (ReportBatchItemFailures): the
lowest failed record and every record after it, which Lambda redelivers.
Poison records are quarantined and count as processed. Near the end of the
invocation's time the handler stops and reports what it did not finish,
rather than being killed mid-write. A failure it can name the records of
(a store down, a projector that cannot be built at a cold start) comes back
as ``batchItemFailures``; it raises only when the failed record has no
sequence number to report.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

from dynafold.handlers.entry import LambdaEntry, time_left
from dynafold.projector.config import Settings
from dynafold.projector.engine.batch import Projector
from dynafold.projector.engine.report import BatchReport
from dynafold.projector.errors import ConfigurationError
from dynafold.projector.intake.records import table_from_arn
from dynafold.projector.observability import metrics

log = logging.getLogger("dynafold.lambda")


def build_projector(settings: Optional[Settings] = None) -> Projector:
    """The projector this container uses, wired from ``DYNAFOLD_*`` variables (``dynafold.projector.runtime``)."""
    from dynafold.projector.runtime import Runtime

    runtime = Runtime.open(settings or Settings.load())
    return runtime.projector(cursors=runtime.checkpoints(runtime.quarantine_url))


class UnnamedFailure(RuntimeError):
    """The lowest failed record has no sequence number to report: the whole invocation must fail."""


def _sequence(record: Any) -> Optional[str]:
    stream = record.get("dynamodb") if isinstance(record, dict) else None
    sequence = stream.get("SequenceNumber") if isinstance(stream, dict) else None
    return sequence if isinstance(sequence, str) and sequence else None


def failures(records: list, report: BatchReport) -> list[dict[str, str]]:
    """Lambda's batch item failures: the lowest failed record and all after it.

    When that record has no sequence number Lambda could redeliver from (a
    malformed record the quarantine could not take), reporting the ones after
    it would let Lambda move past it: the invocation fails instead, so Lambda
    retries (and bisects) the batch and nothing is skipped.
    """
    if report.failed_from is None:
        return []
    if _sequence(records[report.failed_from]) is None:
        raise UnnamedFailure(
            f"record {report.failed_from} of the batch failed ({report.failure_reason}) and has no sequence number "
            "to report; failing the invocation so Lambda retries the batch"
        )
    return [{"itemIdentifier": s} for s in map(_sequence, records[report.failed_from:]) if s is not None]


def failed_batch(records: list, error: Exception) -> BatchReport:
    """Every record failed: the projector could not be built (a cold start meeting a locked or
    unreachable store; the next invocation builds again) or raised. Redelivery is harmless."""
    from dynafold.projector.stores.base import StoreUnavailable, UnknownTarget

    if isinstance(error, (StoreUnavailable, UnknownTarget, ConfigurationError)):  # messages built without item contents
        reason = f"{type(error).__name__}: {error}"
    else:
        reason = f"unexpected {type(error).__name__}"
    log.error("batch not projected", extra={"records": len(records), "reason": reason})
    report = BatchReport(records=len(records))
    if records:
        report.fail(0, reason)
    return report


def make_handler(
    projector_factory: Callable[[], Projector] = build_projector,
    *,
    margin_ms: Optional[int] = None,
    emit: Callable[[dict, dict], None] = metrics.emit,
) -> Callable[[dict, Any], dict]:
    state: dict[str, Projector] = {}
    margin = margin_ms if margin_ms is not None else Settings.load().stream_margin_ms

    def handle(event: dict, context: Any = None) -> dict:
        records = event.get("Records") or []
        started = time.monotonic()
        try:
            if "projector" not in state:
                state["projector"] = projector_factory()
            report = state["projector"].project(records, time_left=time_left(context), margin_s=margin / 1000)
        except Exception as error:  # raising would make Lambda retry the batch without the bookkeeping
            report = failed_batch(records, error)
        duration_ms = (time.monotonic() - started) * 1000
        physical = next((t for t in (table_from_arn(r.get("eventSourceARN")) for r in records if isinstance(r, dict)) if t), "?")
        built = state.get("projector")
        table = (built.names.logical(physical) if built is not None else None) or physical  # the model's names
        result = {"batchItemFailures": failures(records, report)}
        log.info(
            "batch projected",
            extra={
                "table": table,
                "records": report.records,
                "events": report.events,
                "stale": report.stale,
                "written": report.documents_written,
                "conflicts": report.conflicts,
                "settled": report.settled,
                "retries": report.retries,
                "quarantined": len(report.quarantined),
                "failed_from": report.failed_from,
                "reason": report.failure_reason or None,
                "duration_ms": round(duration_ms, 1),
                "documents": sorted(f"{k.target}/{k.id}" for k in report.documents)[:50],
            },
        )
        emit(metrics.batch_metrics(report, duration_ms), {"table": table})
        return result

    return handle


handler = LambdaEntry(lambda settings: make_handler(lambda: build_projector(settings),
                                                   margin_ms=settings.stream_margin_ms))
"""The stream function's handler: one function per source table, configured by ``DYNAFOLD_*`` variables."""
