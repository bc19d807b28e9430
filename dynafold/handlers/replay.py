"""The replay function: every step of the generated Step Functions state machine (``dynafold.replay.step``).

The state machine names the step in ``action`` (``begin``, a segment when
none, ``rebuild_begin``/``finish``/``abort``, ``export_begin``/``file``);
each step works until the invocation's time falls under
``DYNAFOLD_REPLAY_MARGIN_MS`` and returns where it got to.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from dynafold.handlers.entry import LambdaEntry, time_left
from dynafold.projector.config import Settings
from dynafold.projector.runtime import Runtime
from dynafold.replay.step import ACTIONS


def make_handler(runtime_factory: Callable[[], Runtime], *, margin_ms: Optional[int] = None,
                 page_size: Optional[int] = None) -> Callable[[dict, Any], dict]:
    """The step function's work on the runtime ``runtime_factory`` opens on first use."""
    settings = Settings.load()
    margin_s = (margin_ms if margin_ms is not None else settings.replay_margin_ms) / 1000
    size = page_size or settings.replay_page_size
    state: dict[str, Runtime] = {}

    def handle(event: dict, context: Any = None) -> dict:
        if "runtime" not in state:
            state["runtime"] = runtime_factory()
        action = event.get("action") or "segment"
        if action not in ACTIONS:
            raise ValueError(f"unknown replay step action {action!r}; one of {sorted(ACTIONS)}")
        return ACTIONS[action](state["runtime"], event, time_left(context), margin_s, size)

    return handle


handler = LambdaEntry(lambda settings: make_handler(lambda: Runtime.open(settings), margin_ms=settings.replay_margin_ms,
                                                   page_size=settings.replay_page_size))
"""The replay function's handler (``DYNAFOLD_*`` variables)."""
