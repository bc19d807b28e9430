"""What the command prints besides its results: log lines on stderr, progress bars beside them.

Log lines carry the message and the allowlisted fields of ``dynafold.projector.observability.logs``
(record identities, counts, reasons), never item contents or a traceback.
While progress bars draw, ``tqdm``'s logging redirect writes each line above
the bars, so a warning never lands in the middle of one.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Iterator, Optional

from dynafold.cli.terminal import printable
from dynafold.projector.observability import log_guard
from dynafold.projector.observability.logs import SAFE_FIELDS


class TextFormatter(logging.Formatter):
    """``dynafold: WARNING: record quarantined (table=orders, reason=...)``; every character a terminal would
    act on (ESC, BEL, CR from an event id or a table name) shown escaped (``terminal.printable``)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = ", ".join(f"{name}={record.__dict__[name]}" for name in SAFE_FIELDS
                           if record.__dict__.get(name) not in (None, "", [], ()))
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
        text = f"dynafold: {record.levelname}: {record.getMessage()}"
        if exc:
            fields = ", ".join(filter(None, (fields, f"error={exc}")))
        return printable(f"{text} ({fields})" if fields else text)

    def formatException(self, ei) -> str:  # a traceback can quote item values
        return ei[0].__name__ if ei and ei[0] else ""


def configure_logging(level: Optional[str]) -> None:
    """Route every ``dynafold.*`` logger to stderr as text, at ``level`` (default WARNING), and keep
    request bodies out of the libraries' own loggers (``log_guard``)."""
    log_guard.install()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter())
    handler._dynafold = True  # type: ignore[attr-defined]
    logger = logging.getLogger("dynafold")
    for old in [h for h in logger.handlers if getattr(h, "_dynafold", False)]:
        logger.removeHandler(old)
    logger.addHandler(handler)
    logger.setLevel(level or "WARNING")
    logger.propagate = False


@contextlib.contextmanager
def bars_with_logs() -> Iterator[None]:
    """Log lines go through ``tqdm.write`` while progress bars may be drawing."""
    from tqdm.contrib.logging import logging_redirect_tqdm

    with logging_redirect_tqdm(loggers=[logging.getLogger("dynafold")]):
        yield
