"""Poison records: what the quarantine keeps of them, and how a refused document finds its culprits.

A record that can never be projected is written to the quarantine before
the shard moves past it (``entry``), and one warning line names it (never
its contents). A document the store refuses, or the aggregate cannot
derive, is retried record by record, so only the records whose own change
is refused are quarantined and the innocent ones are applied.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Optional

from dynafold.domain.records import RecordRef
from dynafold.projector.control.quarantine import Quarantine
from dynafold.projector.control.quarantine_entry import QuarantineEntry, raw_json
from dynafold.projector.engine.conditional_write import ConditionalWriter
from dynafold.projector.engine.report import BatchReport
from dynafold.projector.intake.records import record_ref
from dynafold.projector.stores.base import StoreUnusable

log = logging.getLogger("dynafold.projector")


def entry(raw: Any, ref: RecordRef, reason: str, origin: str, summary: Optional[str] = None) -> QuarantineEntry:
    payload = raw_json(raw)
    position = ref.sequence or ref.event_id or "sha256:" + hashlib.sha256(payload.encode()).hexdigest()[:32]
    return QuarantineEntry(ref.table, position, ref.event_id, reason, payload, origin=origin, summary=summary or reason)


def logged(into: list, entries, durable: bool = True) -> None:
    """Add quarantined entries to the report, one warning line each (identities, never contents); a
    scratch quarantine (verify's private replay) keeps nothing, so its lines say so, at INFO."""
    for item in entries:
        into.append(item)
        log.log(
            logging.WARNING if durable else logging.INFO,
            "record quarantined" if durable else "record would be quarantined (scratch replay; nothing kept)",
            extra={"table": item.table, "sequence": item.position, "event_id": item.event_id, "reason": item.summary},
        )


def keep(quarantine: Quarantine, entries: dict[int, QuarantineEntry], report: BatchReport) -> None:
    """Put entries in the quarantine, or fail their records: the quarantine must hold them first."""
    if not entries:
        return
    try:
        quarantine.put(entries.values())
    except StoreUnusable:
        raise  # a full or read-only quarantine: someone must act, so the batch stops here (exit 2)
    except Exception as error:
        report.fail(min(entries), f"quarantine unavailable: {type(error).__name__}")
        return
    logged(report.quarantined, entries.values(), getattr(quarantine, "durable", True))


def quarantine_rejected(writer: ConditionalWriter, quarantine: Quarantine, raws, records, report: BatchReport,
                        origin: str) -> None:
    """Find, record by record, which records make the store refuse a document; quarantine those only.

    The store refused a whole document (a value its mapping rejects) or the
    aggregate could not derive it. The other records that touched it are
    innocent: they are applied one at a time, so only the records whose own
    change is refused are quarantined. A round trip per record, on this rare
    path only.
    """
    entries = {}
    for item, _ in report.rejected:
        for index in sorted(item.records):
            reason = writer.apply_alone(item, index, report)
            if reason is not None:
                ref = records[index].ref if records[index] is not None else record_ref(raws[index])
                entries[index] = entry(raws[index], ref, f"{ref}: document {item.key.target}/{item.key.id}: {reason}",
                                       origin)
    keep(quarantine, entries, report)
