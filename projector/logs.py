"""JSON log lines, one object per line, as CloudWatch Logs Insights reads them.

Only the fields named in ``SAFE_FIELDS`` are copied from a log call's
``extra``: record identities, counts and reasons. Item contents are never
passed to a logger, and a field not on this list is dropped rather than
risk writing personal data or secrets.
"""

from __future__ import annotations

import json
import logging
import sys
import time

SAFE_FIELDS = (
    "table",
    "sequence",
    "event_id",
    "reason",
    "aggregate",
    "documents",
    "attempt",
    "error",
    "records",
    "events",
    "stale",
    "written",
    "conflicts",
    "retries",
    "quarantined",
    "failed_from",
    "lag_ms",
    "duration_ms",
    "shard",
    "segment",
    "items",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in SAFE_FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        request_id = getattr(record, "aws_request_id", None)
        if request_id:
            line["aws_request_id"] = request_id
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


def configure(level: str = "INFO", stream=None) -> None:
    """Route the ``dynafold`` loggers to JSON lines on ``stream`` (stdout by default)."""
    logger = logging.getLogger("dynafold")
    for handler in list(logger.handlers):
        if getattr(handler, "_dynafold", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler._dynafold = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False
