"""JSON log lines, one object per line, as CloudWatch Logs Insights reads them.

The lines are Powertools' structured logs (``level``, ``location``,
``message``, ``timestamp``, ``service`` and, in Lambda, ``cold_start``,
``function_request_id``, ``function_name``), so they read like every other
Powertools function's. Only the fields named in ``SAFE_FIELDS`` are copied
from a log call's ``extra``: record identities, counts and reasons. Item
contents are never passed to a logger, a field not on this list is dropped
rather than risk writing personal data or secrets, and an exception is
reduced to its class name (a traceback can quote values).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Optional

from dynafold.projector.config import setting
from dynafold.projector.observability import log_guard

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
    "settled",
    "retries",
    "quarantined",
    "failed_from",
    "lag_ms",
    "duration_ms",
    "shard",
    "segment",
    "items",
    "store",  # a store URL without user info or query (``redacted``)
    "request_bytes",
    "pack_bytes",
    "target",
    "fields",  # names of a model's fields (a target that cannot hold them), never their values
)
DEFAULT_SERVICE = "dynafold"
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_formatter: Optional[Any] = None
_cold = setting("AWS_LAMBDA_INITIALIZATION_TYPE") != "provisioned-concurrency"


def service_name() -> str:
    """The ``service`` key of log lines and the service dimension of metrics (Powertools' variable)."""
    return setting("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE


class SafeFields(logging.Filter):
    """Keeps only the allowlisted extra fields of a record; an exception becomes its class name."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name in [k for k in record.__dict__ if k not in _STANDARD and k not in SAFE_FIELDS]:
            del record.__dict__[name]
        if record.exc_info and record.exc_info[0] is not None:
            record.__dict__.setdefault("error", record.exc_info[0].__name__)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def configure(level: str = "INFO", stream=None) -> None:
    """Route the ``dynafold`` loggers to Powertools JSON lines on ``stream`` (stdout by default)."""
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    global _formatter
    log_guard.install()
    logger = logging.getLogger("dynafold")
    for handler in list(logger.handlers):
        if getattr(handler, "_dynafold", False):
            logger.removeHandler(handler)
    _formatter = LambdaPowertoolsFormatter(json_default=str, service=service_name())
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(_formatter)
    handler.addFilter(SafeFields())
    handler._dynafold = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def invocation(context: Any) -> None:
    """Name the Lambda invocation on every following line: request id, function, cold start."""
    global _cold
    request_id = getattr(context, "aws_request_id", None)
    if _formatter is None or request_id is None:
        return
    cold, _cold = _cold, False
    _formatter.append_keys(cold_start=cold, function_request_id=request_id,
                           function_name=getattr(context, "function_name", None))
