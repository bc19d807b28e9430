"""Fan-outs of any size: a joined item's change reaches its pointing documents page by page.

A song in 50,000 lessons is one stream record and 50,000 documents. The
index query is read one page (``page_size`` pointing items) at a time, and
each page is loaded, folded and written before the next is read, so memory
and request sizes stay bounded whatever the fan-out. After each page the
position in the query is kept in the cursor store (the checkpoints: the
control table in AWS, the SQLite file locally). When the invocation's time
budget runs low, the record is reported failed; Lambda delivers it again and
the fan-out resumes where it stopped. Pages already written are harmless to
write again (the watermarks), so a cursor only saves work, never decides
correctness. A small fan-out (one page) is folded into the batch's own
write, so the common case still costs two store round trips per batch.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

import attrs

from dynafold.domain.lookup import LookupUnavailable
from dynafold.domain.records import SourceRecord
from dynafold.domain.roles import JoinRole
from dynafold.domain.translation import TablePlan
from dynafold.projector.control.checkpoints import Checkpoints
from dynafold.projector.control.quarantine_entry import raw_json, restore_raw
from dynafold.projector.engine.conditional_write import ConditionalWriter
from dynafold.projector.engine.report import BatchReport

DEFAULT_PAGE_SIZE = 1000


@attrs.define
class FanOut:
    """One record's fan-out through one join, and how far it has got."""

    index: int
    record: SourceRecord
    join: JoinRole
    plan: TablePlan
    rows: list = attrs.field(factory=list)
    next_key: Optional[dict] = None
    resumed: bool = False

    @property
    def cursor_key(self) -> str:
        position = self.record.ref.sequence or self.record.item.id
        return f"fanout/{self.record.table}/{position}/{self.join.aggregate}/{self.join.name}/"


class FanOuts:
    def __init__(self, writer: ConditionalWriter, cursors: Optional[Checkpoints], page_size: int = DEFAULT_PAGE_SIZE):
        self.writer = writer
        self.cursors = cursors
        self.page_size = page_size

    def first_pages(self, fan_outs: list[FanOut], lookup: Any, report: BatchReport) -> tuple[list, list[FanOut]]:
        """Read each fan-out's first page (or resume at its cursor). Returns the events of the fan-outs
        that fit in one page, for the batch's own write, and the fan-outs that need more pages."""
        events, larger = [], []
        for fan_out in fan_outs:
            if report.failed_from is not None and fan_out.index >= report.failed_from:
                break
            start = self._cursor(fan_out)
            fan_out.resumed = start is not None
            try:
                fan_out.rows, fan_out.next_key = _page(lookup, fan_out, start, self.page_size)
            except LookupUnavailable as error:
                report.fail(fan_out.index, str(error))
                break
            if fan_out.next_key is None and not fan_out.resumed:
                events.extend((fan_out.index, event) for event in self._events(fan_out, lookup))
            else:
                larger.append(fan_out)
        return events, larger

    def finish(self, fan_outs: list[FanOut], lookup: Any, report: BatchReport, time_left: Callable[[], float],
               margin_s: float) -> None:
        """Write the larger fan-outs page by page, keeping their place, until done or out of time."""
        for fan_out in fan_outs:
            while True:
                if report.failed_from is not None and fan_out.index >= report.failed_from:
                    return
                if time_left() < margin_s:
                    report.fail(fan_out.index, f"fan-out through {fan_out.join.name!r} continues in the next delivery")
                    return
                routed = [(fan_out.index, event) for event in self._events(fan_out, lookup)]
                report.events += len(routed)
                report.fan_out_pages += 1
                self.writer.write(routed, report, time_left, margin_s)
                if report.failed_from is not None and report.failed_from <= fan_out.index:
                    return
                if fan_out.next_key is None:
                    self._forget(fan_out)
                    break
                self._keep(fan_out)
                try:
                    fan_out.rows, fan_out.next_key = _page(lookup, fan_out, fan_out.next_key, self.page_size)
                except LookupUnavailable as error:
                    report.fail(fan_out.index, str(error))
                    return

    def _events(self, fan_out: FanOut, lookup: Any) -> list:
        return fan_out.plan.fan_out_events(fan_out.join, fan_out.record, fan_out.rows, lookup)

    def _cursor(self, fan_out: FanOut) -> Optional[dict]:
        text = self.cursors.get(fan_out.cursor_key) if self.cursors is not None else None
        return None if not text else restore_raw(json.loads(text)["next"])

    def _keep(self, fan_out: FanOut) -> None:
        if self.cursors is not None:
            self.cursors.put(fan_out.cursor_key, json.dumps({"next": raw_json(fan_out.next_key)}))

    def _forget(self, fan_out: FanOut) -> None:
        if self.cursors is not None:
            self.cursors.delete_prefix(fan_out.cursor_key)


def _page(lookup: Any, fan_out: FanOut, start: Optional[dict], limit: int) -> tuple[list, Optional[dict]]:
    query = fan_out.join.query(fan_out.record.item)
    if hasattr(lookup, "query_page"):
        return lookup.query_page(query, start, limit)
    return lookup.query(query), None
