"""Retrying a quarantined record once the model or the data is fixed (`dynafold quarantine retry`).

A quarantine entry can be days old, older than the tombstones that would
make its image stale, so its image is never applied as it is (and the
quarantine keeps only its declared attributes: ``sanitize``). The record
names the item and where it was: re-driving reads the item as it is now (a
consistent read, stamped like a scan row on DynamoDB's clock) and projects
that, its presence or its absence, with the quarantined record's images as
the places the item may have left (a quarantined move or delete would
otherwise leave the item in its old document for good). The attempt runs
against a scratch quarantine, so a record that still fails leaves exactly
one entry behind: the original one.
"""

from __future__ import annotations

import time
from typing import Callable, Optional

import attrs

from dynafold.domain.lookup import LookupUnavailable
from dynafold.domain.records import Origin, SourceRecord
from dynafold.domain.source import SourceVersion
from dynafold.projector.control.quarantine import Quarantine
from dynafold.projector.control.quarantine_entry import QuarantineEntry, restore_raw
from dynafold.projector.control.sanitize import without_note
from dynafold.projector.engine.batch import Projector
from dynafold.projector.intake.records import MalformedRecord, decode_stream_record, scan_decoder, scanned_record
from dynafold.projector.runtime import build_projector
from dynafold.projector.stores.memory import MemoryQuarantine


def _physical(raw, entry: QuarantineEntry, projector: Projector) -> Optional[str]:
    """The table a stream record came from when the record cannot say: GetRecords (``dynafold
    project``) has no ``eventSourceARN``, so the entry's table is the only name there is."""
    if isinstance(raw, dict) and raw.get("eventSourceARN"):
        return None
    return projector.names.physical(entry.table) if entry.table in projector.model.tables else entry.table


def retry_entry(projector: Projector, quarantine: Quarantine, entry: QuarantineEntry,
            now_us: Optional[Callable[[], int]] = None) -> tuple[bool, str]:
    """Project the entry's item as it is now; drop the entry from the quarantine if that works.

    ``now_us`` gives the server time before the read (DynamoDB's clock; the caller's client knows it).
    """
    clock = now_us or (lambda: int(time.time() * 1_000_000) - 60_000_000)
    model = projector.model
    raw = without_note(restore_raw(entry.raw))
    table = entry.table if entry.table in model.tables else None
    t_read = clock()
    try:
        if entry.origin in ("scan", "export") and table is not None:
            record = scan_decoder(model.table(table), t_read, declared=model.declared_attributes(table))(raw)
        else:
            record = decode_stream_record(raw, model, _physical(raw, entry, projector), projector.names)
    except MalformedRecord as error:
        return False, f"{entry.id} still fails: {error}"
    try:
        image = projector.lookup_factory().item(record.item)
    except LookupUnavailable as error:
        return False, f"{entry.id} not projected now (transient: {error}); try again later"
    spec = model.table(record.table)
    left = tuple(i for i in (record.old_image, record.image) if i is not None)
    if image is None:
        current = SourceRecord(record.ref, record.item, SourceVersion.scanned(t_read), None, Origin.SCAN, left=left)
    else:
        current = attrs.evolve(scanned_record(spec, image, t_read, Origin.SCAN, record.ref.sequence), left=left)
    trial = build_projector(model, projector.store, MemoryQuarantine(), lookup_factory=projector.lookup_factory,
                            backoff=projector.backoff, sleep=projector.sleep, rng=projector.rng, names=projector.names)
    report = trial.project([current], decode=lambda row: row, origin="redrive")
    if report.quarantined:
        return False, f"{entry.id} still fails: {report.quarantined[0].summary}"
    if report.failed_from is not None:
        return False, f"{entry.id} not projected now (transient: {report.failure_reason}); try again later"
    quarantine.drop(entry.id)
    state = "as it is now" if image is not None else "as deleted (it no longer exists)"
    return True, (f"{entry.id} projected from the item {state} ({report.documents_written} document(s) written) "
                  "and removed from the quarantine")
