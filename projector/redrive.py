"""Re-driving a quarantined record once the model or the data is fixed."""

from __future__ import annotations

import base64
import datetime as _dt
import json
from typing import Any

from projector.batch import Projector
from projector.quarantine import Quarantine, QuarantineEntry


def restore_raw(text: str) -> Any:
    """The raw record as ``raw_json`` stored it, with bytes and datetimes restored."""

    def hook(value: dict) -> Any:
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return value

    raw = json.loads(text, object_hook=hook)
    stream = raw.get("dynamodb") if isinstance(raw, dict) else None
    created = stream.get("ApproximateCreationDateTime") if isinstance(stream, dict) else None
    if isinstance(created, str):
        try:
            stream["ApproximateCreationDateTime"] = _dt.datetime.fromisoformat(created)
        except ValueError:
            pass
    return raw


def redrive(projector: Projector, quarantine: Quarantine, entry: QuarantineEntry) -> tuple[bool, str]:
    """Project the entry's record again; drop it from the quarantine if that now works."""
    raw = restore_raw(entry.raw)
    table = entry.table if entry.table != "?" else None
    report = projector.project([raw], table=table, source="redrive")
    if report.quarantined:
        return False, f"{entry.id} still fails: {report.quarantined[0].summary}"
    if report.failed_from is not None:
        return False, f"{entry.id} not projected now (transient: {report.failure_reason}); try again later"
    quarantine.drop(entry.id)
    return True, f"{entry.id} projected ({report.documents_written} document(s) written) and removed from the quarantine"
