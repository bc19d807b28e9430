"""Progress of a replay: one ``tqdm`` bar per table on a terminal, plain lines otherwise.

Totals are DynamoDB's approximate ``ItemCount`` (refreshed every few hours
by DynamoDB), so a bar is a guide, not a promise. Log lines printed while
the bars draw go through ``tqdm.write`` (the CLI's ``bars_with_logs``), so
they land above the bars instead of inside one.
"""

from __future__ import annotations

import sys
import time
from typing import Mapping, Optional, TextIO


class Progress:
    def __init__(self, totals: Mapping[str, Optional[int]], stream: Optional[TextIO] = None, *,
                 interval_s: float = 5.0, clock=time.monotonic) -> None:
        self.totals = dict(totals)
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = interval_s
        self.clock = clock
        self.started = clock()
        self._last_plain = float("-inf")
        self._bars: dict = {}
        if self.tty:
            from tqdm import tqdm

            width = max([len(t) for t in self.totals] or [8])
            self._bars = {table: tqdm(total=total, desc=table.ljust(width), unit=" items", file=self.stream,
                                      position=index, leave=True, mininterval=interval_s / 10, dynamic_ncols=True)
                          for index, (table, total) in enumerate(self.totals.items())}

    def line(self, table: str, done: int) -> str:
        """The plain-text line of a table (logs, pipes, CI)."""
        total = self.totals.get(table)
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = done / elapsed
        count = f"{done}/{total}" if total else str(done)
        eta = "--"
        if total and rate > 0 and done < total:
            seconds = int((total - done) / rate)
            eta = f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
        return f"{table:<16} {count} items  {rate:,.0f} items/s  ETA {eta}"

    def update(self, done: Mapping[str, int], *, final: bool = False) -> None:
        if self.tty:
            for table, bar in self._bars.items():
                bar.update(max(0, done.get(table, 0) - bar.n))
                if final:
                    bar.close()
        elif final or self.clock() - self._last_plain >= self.interval:
            self._last_plain = self.clock()
            for table in self.totals:
                print("replay: " + self.line(table, done.get(table, 0)), file=self.stream, flush=True)
