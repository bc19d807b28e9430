"""The lease on an aggregate's targets: one holder at a time may change them, and the rules every store keeps.

A rebuild (or an abort, or the recovery of a lost target) changes where an
aggregate's readers and writers point. Two at once lose live updates: one
switches writers away from the other's target, then drops it. So each
takes the aggregate's lease first, naming itself (host and pid, or the
Lambda invocation) and saying what it does (``work``: the rebuild's new
target and phase, so a crashed rebuild can be resumed or undone from the
lease alone). A lease runs until ``expires_at`` unless renewed; a holder
that died stops renewing, and once its lease has expired the next taker
replaces it (and learns its ``work``). Until then a taker is refused,
with the holder's name. An expired lease nobody replaced is still its
holder's: a long scan that missed a renewal has lost nothing.

Every step that changes targets names its lease, and the store applies it
only while that lease is the current one, in the same atomic step as the
change (``permit_change``), which is also a compare-and-set on the targets
the step read: a step never overwrites what someone else changed.

The rules are pure functions of the current lease (``taken``, ``renewed``,
``permit_change``); each store reads the current lease, applies a rule and
writes the result atomically its own way: under a lock (memory), in one
``BEGIN IMMEDIATE`` transaction (SQLite), conditioned on the control
document's sequence number (OpenSearch). Times are the caller's clock, in
epoch seconds: clocks of different hosts only move the moment a dead
holder's lease is taken over.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Mapping, Optional

import attrs

from dynafold.projector.errors import ConfigurationError, ProblemFound


def _when(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


@attrs.frozen
class Lease:
    """Who may change an aggregate's targets, until when, doing what."""

    aggregate: str
    id: str
    holder: str
    started_at: float
    expires_at: float
    work: Mapping[str, Any] = attrs.field(factory=dict, converter=dict, eq=False, hash=False)

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def describe(self) -> str:
        return f"{self.holder}, started {_when(self.started_at)}, lease until {_when(self.expires_at)}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "holder": self.holder, "started_at": self.started_at, "expires_at": self.expires_at,
                "work": dict(self.work)}

    @classmethod
    def from_json(cls, aggregate: str, value: Mapping[str, Any]) -> "Lease":
        return cls(aggregate, str(value["id"]), str(value["holder"]), float(value["started_at"]),
                   float(value["expires_at"]), value.get("work") or {})


class LeaseHeld(ConfigurationError):
    """Another holder's lease on the aggregate runs: its targets are being changed (exit 2, naming it)."""

    def __init__(self, lease: Lease, message: str = "") -> None:
        super().__init__(message or f"the targets of {lease.aggregate!r} are being changed by {lease.describe()}: "
                                    "wait for it (replay --rebuild --wait), or, if it died, until its lease expires")
        self.lease = lease


class LeaseLost(LeaseHeld):
    """This holder's lease was taken over (it had expired): it changes nothing more."""

    def __init__(self, lease: Lease, current: Optional[Lease]) -> None:
        taker = f"taken over by {current.describe()}" if current is not None else "released"
        super().__init__(current or lease, f"the lease on {lease.aggregate!r} of {lease.holder} was {taker}: "
                                           "this run stops without changing the targets")


class TargetsChanged(ProblemFound):
    """A compare-and-set on the targets failed: someone changed them since this step read them."""


def taken(current: Optional[Lease], aggregate: str, holder: str, ttl_s: float, *, work: Mapping[str, Any],
          replaces: Optional[str], now: float) -> tuple[Lease, Optional[Lease]]:
    """The lease a take makes while ``current`` is stored, and the lease it replaces (expired, or the one
    ``replaces`` names: its holder is known to be dead); ``LeaseHeld`` while another holder's lease runs."""
    if current is not None and not current.expired(now) and current.id != replaces:
        raise LeaseHeld(current)
    return Lease(aggregate, uuid.uuid4().hex, holder, now, now + ttl_s, work), current


def renewed(current: Optional[Lease], lease: Lease, ttl_s: float, *, work: Optional[Mapping[str, Any]],
            now: float) -> Lease:
    """``lease`` for ``ttl_s`` more seconds (with ``work``, if given); ``LeaseLost`` once it is not current."""
    if current is None or current.id != lease.id:
        raise LeaseLost(lease, current)
    return attrs.evolve(current, expires_at=now + ttl_s, work=current.work if work is None else work)


def permit_change(aggregate: str, targets_now: Any, lease_now: Optional[Lease], *, expected: Any,
                  lease: Optional[Lease]) -> None:
    """Whether a change of targets may go ahead: the targets are still ``expected`` (if given) and ``lease``
    (if given) is still the current lease; ``TargetsChanged`` or ``LeaseLost`` otherwise."""
    if lease is not None and (lease_now is None or lease_now.id != lease.id):
        raise LeaseLost(lease, lease_now)
    if expected is not None and targets_now != expected:
        raise TargetsChanged(f"the targets of {aggregate!r} changed under this step (expected {_shown(expected)}, "
                             f"found {_shown(targets_now)}): nothing was changed")


def _shown(targets: Any) -> str:
    read, write = getattr(targets, "read", None), getattr(targets, "write", ())
    return f"read {read or '-'}, write {', '.join(write) or '-'}" if targets is not None else "none"
