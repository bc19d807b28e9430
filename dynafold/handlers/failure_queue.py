"""The failure-queue function: a stream range that ran out of retries is projected again, or repaired.

An SQS event source (batch size 1) on the stream functions' on-failure
destination; ``dynafold.replay.failure_queue`` reads the range again while
the stream holds it, and verifies and repairs the table's aggregates when it
does not. A message that fails goes back to SQS (``batchItemFailures``).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from dynafold.handlers.entry import LambdaEntry, time_left
from dynafold.projector.config import Settings
from dynafold.projector.runtime import Runtime
from dynafold.replay.failure_queue import FailedRange, Redriver
from dynafold.replay.verify import Verifier

log = logging.getLogger("dynafold.failure_queue")


def make_handler(redriver_factory: Callable[[], Redriver], *, margin_ms: Optional[int] = None) -> Callable[[dict, Any], dict]:
    """The function's work on the re-driver ``redriver_factory`` builds on first use."""
    margin_s = (margin_ms if margin_ms is not None else Settings.load().failure_queue_margin_ms) / 1000
    state: dict[str, Redriver] = {}

    def handle(event: dict, context: Any = None) -> dict:
        if "redriver" not in state:
            state["redriver"] = redriver_factory()
        failures = []
        for message in event.get("Records") or []:
            try:
                failed = FailedRange.from_message(message["body"])
                outcome = state["redriver"].redrive(failed, time_left=time_left(context), margin_s=margin_s)
                log.info(outcome, extra={"shard": failed.shard_id, "reason": "re-driven"})
            except Exception as error:
                log.error("stream range not re-driven", extra={"error": type(error).__name__, "reason": str(error)[:300]})
                failures.append({"itemIdentifier": message.get("messageId", "")})
        return {"batchItemFailures": failures}

    return handle


def build_redriver(settings: Settings) -> Redriver:
    """The re-driver this container uses: the stream function's projector, streams and a verifier."""
    runtime = Runtime.open(settings)
    projector = runtime.projector(cursors=runtime.checkpoints(runtime.quarantine_url))
    return Redriver(projector, runtime.client("dynamodbstreams"), lambda: Verifier.on(runtime))


handler = LambdaEntry(lambda settings: make_handler(lambda: build_redriver(settings),
                                                   margin_ms=settings.failure_queue_margin_ms))
"""The failure-queue function's handler (``DYNAFOLD_*`` variables)."""
