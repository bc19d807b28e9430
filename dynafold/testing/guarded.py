"""A store wrapper that checks, on every write, that no watermark ever goes down.

The one slot that may disappear or start over is a join slot whose pointing
item left it (a gated ``forget``): either the pointer no longer points there
(the slot is hidden), or the pointing item's own slot moved forward in the
same write (it left and came back, and its new read starts the slot again).

It also lets the harness fail document writes (``fail_rate``: that share
of them come back ``Retryable``, drawn from a seeded ``rng``) and run
another projector between a load and the write that follows it
(``before_write``), which is how two Lambdas race on one document.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Optional

from dynafold.projector.stores.base import Conflict, DocumentStore, Retryable, Written
from dynafold.projector.stores.codec import dumps


class WatermarkViolation(AssertionError):
    pass


def _hidden(model: Any, entry: Any, after: Any) -> bool:
    """True when no pointing item of the document points through this join slot any more."""
    via = entry.slot.via
    if via is None or model is None:
        return False
    for aggregate in model.aggregates.values():
        for join in aggregate.join_roles:
            if join.name != entry.slot.role:
                continue
            member = after.entries.get(f"{join.owner}|{via.id}")
            if member is None or member.data is None:
                continue
            if join.target_of({**dict(via.key), **member.data}) == entry.slot.source:
                return False
    return True


def _restarted(model: Any, entry: Any, before: Any, after: Any) -> bool:
    via = entry.slot.via
    if via is None:
        return False
    if after.entries.get(entry.slot.key) is None and _hidden(model, entry, after):
        return True
    return any(e.slot.source == via and e.slot.via is None and
               (key not in before.entries or before.entries[key].version < e.version)
               for key, e in after.entries.items())


class GuardedStore:
    def __init__(self, inner: DocumentStore, rng: random.Random, model: Any = None) -> None:
        self.inner = inner
        self.model = model
        self.rng = rng
        self.writes = 0
        self.conflicts = 0
        self.fail_rate = 0.0
        self.before_write: Optional[Callable[[], Any]] = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, writes):
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook()
        current = self.inner.reload([w.key for w in writes])
        for w in writes:
            old = current.get(w.key)
            if old is None or old.token != w.expected:
                continue
            for key, entry in old.state.entries.items():
                new = w.state.entries.get(key)
                if (new is None or new.version < entry.version) and _restarted(self.model, entry, old.state, w.state):
                    continue
                if new is None or new.version < entry.version:
                    raise WatermarkViolation(f"write to {w.key} lowers the watermark of {key}")
        failing = {w.key for w in writes if self.fail_rate and self.rng.random() < self.fail_rate}
        outcomes = dict(self.inner.write([w for w in writes if w.key not in failing]))
        for key in failing:
            outcomes[key] = Retryable("injected 503")
        self.writes += sum(1 for o in outcomes.values() if isinstance(o, Written))
        self.conflicts += sum(1 for o in outcomes.values() if isinstance(o, Conflict))
        return outcomes

    def serialized(self, aggregates) -> str:
        """Everything the store holds for ``aggregates`` (states and bodies), as text."""
        parts = []
        for name in aggregates:
            targets = self.inner.targets(name)
            for target in {targets.read, *targets.write} - {None}:
                for doc in self.inner.stored(target):
                    parts.append(dumps({"id": doc.key.id, "state": doc.state.to_json(), "body": doc.body}))
        return "\n".join(parts)
