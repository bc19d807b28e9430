"""What every dynafold Lambda does around its own work, written once.

A container's first invocation configures JSON logging at the Lambda's log
level (``AWS_LAMBDA_LOG_LEVEL``, ``DYNAFOLD_LOG_LEVEL``,
``POWERTOOLS_LOG_LEVEL``: ``projector.config``), builds the function's work
from the settings once, and takes what the cold start loaded out of every
later garbage collection. Every invocation names itself on the log lines
(request id, function, cold start) and hands the work the event and the
context, whose remaining time the work turns into ``time_left``. The three
handlers are this entry around three works: ``stream``, ``replay`` and
``failure_queue``.
"""

from __future__ import annotations

import gc
from typing import Any, Callable

from dynafold.projector.config import Settings
from dynafold.projector.observability import logs

Work = Callable[[dict, Any], dict]
TimeLeft = Callable[[], float]


def time_left(context: Any) -> TimeLeft:
    """Seconds the invocation has left (unbounded without a Lambda context: tests, local runs)."""
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        return lambda: context.get_remaining_time_in_millis() / 1000
    return lambda: float("inf")


class LambdaEntry:
    """A Lambda handler: ``build(settings)`` makes the work on the container's first invocation."""

    def __init__(self, build: Callable[[Settings], Work], *, configure_logs: bool = True) -> None:
        self._build = build
        self._configure_logs = configure_logs
        self._work: Work | None = None

    def __call__(self, event: dict, context: Any) -> dict:
        if self._work is None:
            settings = Settings.load()
            if self._configure_logs:
                logs.configure(settings.lambda_log_level)
            self._work = self._build(settings)
            tune_gc()
        logs.invocation(context)
        return self._work(event, context)


def tune_gc() -> None:
    """Fewer cyclic collections: a batch allocates hundreds of thousands of short-lived, acyclic
    objects, and the default thresholds spend a quarter of the batch's CPU collecting them. What
    the cold start loaded (modules, the model) is frozen out of every later collection."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
