"""The sweep: purge tombstones older than a horizon.

A tombstone (the watermark of a removed item) must outlive every record
that could still arrive about that item, so the horizon must be longer than
the stream retention (24 h); ``sweep`` refuses a shorter one unless forced.
A document loses its old tombstone entries; a tombstone document (no live
root) is deleted only when nothing is left in it at all: no live slice and
no tombstone still inside the horizon. Every change
is conditional on the document's token: a document that changed meanwhile
is left for the next sweep.
"""

from __future__ import annotations

import time
from typing import Optional

import attrs

from dynafold.domain.model import Model
from dynafold.projector.errors import ConfigurationError
from dynafold.projector.stores.base import DocumentStore, DocumentWrite, Written

RETENTION_S = 24 * 3600


class HorizonTooShort(ConfigurationError, ValueError):
    pass


@attrs.define
class SweepReport:
    examined: int = 0
    rewritten: int = 0
    deleted: int = 0
    skipped: int = 0


def sweep(model: Model, store: DocumentStore, *, older_than_s: float, force: bool = False,
          aggregates: Optional[list[str]] = None, now_us: Optional[int] = None) -> SweepReport:
    if older_than_s < RETENTION_S and not force:
        raise HorizonTooShort(
            f"a horizon of {older_than_s / 3600:g} h is shorter than the 24 h stream retention: a late record "
            "could resurrect a deleted item; pass --force if the streams are known to be drained"
        )
    now_us = now_us if now_us is not None else int(time.time() * 1_000_000)
    cutoff = now_us - int(older_than_s * 1_000_000)
    report = SweepReport()
    for name in aggregates or sorted(model.aggregates):
        aggregate = model.aggregate(name)
        targets = store.targets(name)
        for target in sorted({t for t in (targets.read, *targets.write) if t}):
            for stored in store.stored(target):
                report.examined += 1
                swept = stored.state.without_tombstones_before(cutoff)
                if swept is stored.state:
                    continue
                if stored.body is None and len(swept) == 0:
                    if store.delete(stored.key, stored.token):
                        report.deleted += 1
                    else:
                        report.skipped += 1
                    continue
                write = DocumentWrite(stored.key, stored.token, swept, aggregate.document(stored.key.id, swept))
                if isinstance(store.write([write]).get(stored.key), Written):
                    report.rewritten += 1
                else:
                    report.skipped += 1
    return report


def parse_duration(text: str) -> float:
    """``48h``, ``2d``, ``90m``, ``3600s`` or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError:
        raise ConfigurationError(f"cannot read duration {text!r}: use e.g. 48h, 2d, 90m") from None
    if not 0 <= seconds < float("inf"):
        raise ConfigurationError(f"duration {text!r} must be a finite, non-negative time: use e.g. 48h, 2d, 90m")
    return seconds
