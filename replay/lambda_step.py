"""The replay as Lambda steps, driven by the Step Functions state machine.

``state_machine.json`` calls ``handler`` once with ``action: begin`` (which
takes ``T_start`` and lists the segments), then, for every segment in a Map
state, calls it with the segment until it answers ``done: true``. Each call
works until the invocation's remaining time falls under a margin, flushes,
and returns its checkpoint: the state machine, not the function, carries
the position, so a step can run anywhere and be retried.

Configuration: ``DYNAFOLD_STORE``, ``DYNAFOLD_QUARANTINE``, ``DYNAFOLD_MODEL``,
``DYNAFOLD_REPLAY_MARGIN_MS`` (default 20000), ``DYNAFOLD_REPLAY_PAGE_SIZE``.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from projector.checkpoints import MemoryCheckpoints
from projector.server_clock import server_time_us
from projector.table_names import IDENTITY
from replay.runner import Run, SegmentProgress, replay_segment

_runtime: Optional[dict] = None


def _default_runtime() -> dict:
    from projector import aws

    from projector import logs
    from projector.config import load_model, quarantine_url, store_url, table_names
    from projector.lookup import DynamoLookup
    from projector.quarantine import open_quarantine
    from projector.server_clock import server_time_us
    from projector.stores import open_store

    logs.configure(os.environ.get("DYNAFOLD_LOG_LEVEL", "INFO"))
    model = load_model()
    names = table_names(model)
    store = open_store(store_url())
    client = aws.client("dynamodb")
    return {
        "model": model,
        "store": store,
        "quarantine": open_quarantine(quarantine_url(store.url)),
        "client": client,
        "lookup_factory": lambda: DynamoLookup(client, model, names=names),
        "names": names,
        "clock": lambda: server_time_us(client),
    }


def make_handler(runtime_factory: Callable[[], dict] = _default_runtime, *, margin_ms: Optional[int] = None,
                 page_size: Optional[int] = None) -> Callable[[dict, Any], dict]:
    state: dict = {}
    margin = margin_ms if margin_ms is not None else int(os.environ.get("DYNAFOLD_REPLAY_MARGIN_MS", "20000"))
    size = page_size or (int(os.environ["DYNAFOLD_REPLAY_PAGE_SIZE"]) if os.environ.get("DYNAFOLD_REPLAY_PAGE_SIZE") else None)

    def handle(event: dict, context: Any = None) -> dict:
        if "runtime" not in state:
            state["runtime"] = runtime_factory()
        runtime = state["runtime"]
        model, store = runtime["model"], runtime["store"]
        aggregate = model.aggregate(event["aggregate"])
        if event.get("action") == "begin":
            store.prepare([aggregate])
            total = int(event.get("total_segments") or 4)
            targets = list(event.get("targets") or store.targets(aggregate.name).write)
            clock = runtime.get("clock") or (lambda: server_time_us(runtime["client"]))
            t_start_us = int(clock())
            return {
                "aggregate": aggregate.name,
                "t_start_us": t_start_us,
                "segments": [
                    {"aggregate": aggregate.name, "table": table, "segment": segment, "total_segments": total,
                     "targets": targets, "t_start_us": t_start_us, "checkpoint": None, "done": False}
                    for table in aggregate.replay_tables for segment in range(total)
                ],
            }
        run = Run(aggregate.name, tuple(event["targets"]), int(event["t_start_us"]), int(event["total_segments"]))
        checkpoints = MemoryCheckpoints()
        key = run.key(event["table"], int(event["segment"]))
        if event.get("checkpoint"):
            checkpoints.put(key, event["checkpoint"])
        if context is not None and hasattr(context, "get_remaining_time_in_millis"):
            time_left = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
        else:
            time_left = lambda: float("inf")  # noqa: E731
        progress: SegmentProgress = replay_segment(
            model, store, runtime["quarantine"], runtime["client"], checkpoints, run, event["table"],
            int(event["segment"]), lookup_factory=runtime["lookup_factory"], page_size=size,
            time_left=time_left, margin_s=margin / 1000, names=runtime.get("names") or IDENTITY,
        )
        return {**event, "checkpoint": progress.to_json(), "done": progress.done,
                "items": progress.items, "pages": progress.pages}

    return handle


def handler(event: dict, context: Any) -> dict:
    global _default
    if _default is None:
        _default = make_handler()
    return _default(event, context)


_default: Optional[Callable[[dict, Any], dict]] = None
