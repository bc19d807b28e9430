"""What one batch did, in counts: the metrics, the logs and the tests read these."""

from __future__ import annotations

from typing import Optional

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

    def fail(self, index: int, reason: str) -> None:
        """Record ``index`` (and, for the caller, every record after it) as not done."""
        if self.failed_from is None or index < self.failed_from:
            self.failed_from = index
            self.failure_reason = reason
