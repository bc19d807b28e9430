"""What one batch did, in counts: the metrics, the logs and the tests read these."""

from __future__ import annotations

from typing import Any, Mapping, Optional

import attrs


@attrs.define
class BatchReport:
    records: int = 0
    events: int = 0
    stale: int = 0
    documents_written: int = 0
    conflicts: int = 0
    retries: int = 0
    loads: int = 0
    writes: int = 0
    quarantined: list = attrs.field(factory=list)
    failed_from: Optional[int] = None
    failure_reason: str = ""
    oldest_created_us: Optional[int] = None
    documents: set = attrs.field(factory=set)
    rejected: list = attrs.field(factory=list)
    fan_out_pages: int = 0
    settled: int = 0  # join slots read again after the load (dynafold.domain.fold.settle)

    def counts(self) -> dict[str, int]:
        """The batch's counters by the names every sum uses (``Tally``, logs)."""
        return {"batches": 1, "records": self.records, "events": self.events, "written": self.documents_written,
                "stale": self.stale, "conflicts": self.conflicts, "retries": self.retries,
                "quarantined": len(self.quarantined), "failed_batches": int(self.failed_from is not None)}

    def retried(self) -> None:
        """One more attempt after a failed one (``Backoff.rounds``' ``on_retry``)."""
        self.retries += 1

    def fail(self, index: int, reason: str) -> None:
        """Record ``index`` (and, for the caller, every record after it) as not done."""
        if self.failed_from is None or index < self.failed_from:
            self.failed_from = index
            self.failure_reason = reason


class Tally:
    """Counters summed over batches, segments or runs: the one way counts are added up and printed."""

    FIELDS: tuple[str, ...] = ()

    def __init__(self, **values: Any) -> None:
        for name in self.FIELDS:
            setattr(self, name, 0)
        for name, value in values.items():
            setattr(self, name, value)

    def add(self, counts: Mapping[str, Any]) -> None:
        """Add the counters of ``counts`` this tally keeps (others are ignored)."""
        for name in self.FIELDS:
            if name in counts:
                setattr(self, name, getattr(self, name) + counts[name])

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def line(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.as_dict().items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.line()})"
