"""Progress of a replay: one bar per table on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Mapping, Optional, TextIO


def _eta(done: int, total: Optional[int], rate: float) -> str:
    if not total or rate <= 0 or done >= total:
        return "--"
    seconds = int((total - done) / rate)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """Render per-table item counts with rate and ETA.

    Totals are DynamoDB's approximate ``ItemCount`` (refreshed every few
    hours by DynamoDB), so the bar is a guide, not a promise.
    """

    def __init__(self, totals: Mapping[str, Optional[int]], stream: Optional[TextIO] = None, *,
                 interval_s: float = 5.0, clock=time.monotonic) -> None:
        self.totals = dict(totals)
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = interval_s
        self.clock = clock
        self.started = clock()
        self._last_plain = 0.0
        self._drawn = 0

    def line(self, table: str, done: int) -> str:
        total = self.totals.get(table)
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = done / elapsed
        if total:
            filled = min(20, int(20 * done / total))
            bar = "[" + "#" * filled + "." * (20 - filled) + "]"
            count = f"{done}/{total}"
        else:
            bar, count = "[" + "?" * 20 + "]", str(done)
        return f"{table:<16} {bar} {count} items  {rate:,.0f} items/s  ETA {_eta(done, total, rate)}"

    def update(self, done: Mapping[str, int], *, final: bool = False) -> None:
        if self.tty:
            if self._drawn:
                self.stream.write(f"\x1b[{self._drawn}F")
            for table in self.totals:
                self.stream.write("\x1b[2K" + self.line(table, done.get(table, 0)) + "\n")
            self._drawn = len(self.totals)
            self.stream.flush()
        elif final or self.clock() - self._last_plain >= self.interval:
            self._last_plain = self.clock()
            for table in self.totals:
                print("replay: " + self.line(table, done.get(table, 0)), file=self.stream, flush=True)
