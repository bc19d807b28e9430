"""Changing an aggregate's targets safely: under its lease, from what the store really holds.

Every operator step that changes where an aggregate's readers and writers
point (a rebuild, an abort, the recovery of a lost target) runs while
holding the aggregate's lease (``stores.lease``): ``Held`` takes it
(waiting for it with ``wait``), renews it on a thread while the step runs,
and gives it up at the end. A step that raises leaves the lease expired
rather than gone, with what the step was doing in its ``work``, so
``--resume`` and ``--abort`` can take it over at once and know what to
finish or undo. A holder on this host whose process is gone is known dead
and replaced at once; one elsewhere, once its lease has expired.

``restore_missing`` recreates (empty) a target the control record names
but the store lost, which is how a deleted index is recovered: a replay
fills it again. ``undo`` takes a rebuild back to before it started;
``sweep`` drops every target of the aggregate that nothing names (a
rebuild's start killed before it recorded its target, an index a write of
an earlier version auto-created).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any, Callable, Mapping, Optional

import attrs

from dynafold.domain.aggregate import Aggregate
from dynafold.projector.stores.base import DocumentStore, Targets, UnknownTarget
from dynafold.projector.stores.lease import Lease, LeaseHeld, LeaseLost

log = logging.getLogger("dynafold.replay")

LEASE_TTL_S = 60.0
"""How long a lease runs unrenewed: how long a dead holder elsewhere keeps others waiting."""
RENEW_EVERY_S = 15.0


def this_process() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def holder_name(process: Mapping[str, Any]) -> str:
    return f"host {process['host']}, pid {process['pid']}"


def _dead_here(lease: Lease) -> bool:
    """Whether the lease's holder was a process of this host that is gone (so no need to wait its expiry)."""
    process = lease.work.get("process") or {}
    if process.get("host") != socket.gethostname() or not isinstance(process.get("pid"), int):
        return False
    if process["pid"] == os.getpid():
        return False
    try:
        os.kill(process["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


@attrs.frozen
class RebuildState:
    """What a rebuild is doing, kept in its lease's ``work``: the targets it started from, its new target,
    and its phase (``starting``: the new target may not exist yet; ``scanning``: it is written; ``switched``:
    readers moved, the old targets may still need dropping)."""

    old: Targets
    new: str
    phase: str
    keep_old: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"old_read": self.old.read, "old_write": list(self.old.write), "old_kept": list(self.old.kept),
                "new": self.new, "phase": self.phase, "keep_old": self.keep_old}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "RebuildState":
        old = Targets(value["old_read"], tuple(value["old_write"]), tuple(value.get("old_kept") or ()))
        return cls(old, value["new"], value.get("phase", "scanning"), bool(value.get("keep_old")))

    @property
    def scanning(self) -> Targets:
        """The targets while the new one is scanned: the old ones, the new one written too."""
        return Targets(self.old.read, (*self.old.write, self.new), self.old.kept)


class Held:
    """The aggregate's lease, taken on entering (``previous``: the lease it replaced, if any) and renewed on a
    thread; released on a clean exit, left expired (its work kept) when the step raised.

    A step of the Step Functions rebuild continues a lease an earlier step took (``lease``: checked, not
    taken) and, with ``keep``, leaves it held on a clean exit for the next step."""

    def __init__(self, store: DocumentStore, aggregate: str, *, holder: Optional[str] = None,
                 process: Optional[Mapping[str, Any]] = None, wait: bool = False, ttl_s: float = LEASE_TTL_S,
                 renew_every_s: float = RENEW_EVERY_S, sleep: Callable[[float], None] = time.sleep,
                 lease: Optional[Lease] = None, keep: bool = False) -> None:
        self.store = store
        self.aggregate = aggregate
        self.process = dict(process) if process is not None else this_process()
        self.holder = holder or holder_name(self.process)
        self.wait = wait
        self.ttl_s = ttl_s
        self.renew_every_s = renew_every_s
        self.sleep = sleep
        self.keep = keep
        self.lease: Optional[Lease] = lease
        self.previous: Optional[Lease] = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._lost: Optional[LeaseLost] = None
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "Held":
        if self.lease is not None:
            self.renew()
        while self.lease is None:
            current = self.store.lease(self.aggregate)
            replaces = current.id if current is not None and _dead_here(current) else None
            try:
                self.lease, self.previous = self.store.take_lease(
                    self.aggregate, self.holder, self.ttl_s, work={"process": self.process}, replaces=replaces)
            except LeaseHeld as held:
                if not self.wait:
                    raise
                log.warning("waiting for the lease", extra={"aggregate": self.aggregate, "reason": held.lease.describe()})
                self.sleep(min(5.0, max(0.5, held.lease.expires_at - time.time())))
        if self.renew_every_s > 0:
            self._thread = threading.Thread(target=self._renewing, name=f"lease-{self.aggregate}", daemon=True)
            self._thread.start()
        return self

    def _renewing(self) -> None:
        while not self._stop.wait(self.renew_every_s):
            try:
                self.renew()
            except LeaseLost:
                return
            except Exception as error:  # a store that did not answer: the next round tries again, before expiry
                log.warning("lease not renewed", extra={"aggregate": self.aggregate, "error": type(error).__name__})

    def renew(self, work: Optional[Mapping[str, Any]] = None) -> Lease:
        """Renew now (with ``work`` merged into the lease's, if given); ``LeaseLost`` once someone took it."""
        with self._lock:
            if self._lost is not None:
                raise self._lost
            assert self.lease is not None
            merged = None if work is None else {**self.lease.work, **work}
            try:
                self.lease = self.store.renew_lease(self.lease, self.ttl_s, work=merged)
            except LeaseLost as lost:
                self._lost = lost
                raise
            return self.lease

    def record(self, state: Optional[RebuildState]) -> Lease:
        """Keep the rebuild's state in the lease, or none (checking that it is still held)."""
        return self.renew({"rebuild": None if state is None else state.to_json()})

    def interrupted(self) -> Optional[RebuildState]:
        """The rebuild the lease this one replaced was doing, if any (its holder died or gave up)."""
        work = self.previous.work.get("rebuild") if self.previous is not None else None
        return RebuildState.from_json(work) if work else None

    def __exit__(self, kind, error, tb) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.lease is None or self._lost is not None:
            return
        try:
            if kind is None and not self.keep:
                self.store.release_lease(self.lease)
            elif kind is not None:  # expired now, its work kept: --resume or --abort takes it over without waiting
                self.store.renew_lease(self.lease, 0)
        except Exception as failure:  # the step's own outcome matters more; an unrenewed lease expires anyway
            log.warning("lease not given up", extra={"aggregate": self.aggregate, "error": type(failure).__name__})


def missing(store: DocumentStore, aggregate: str, targets: Optional[Targets] = None) -> list[str]:
    """The targets the aggregate's control record names (read and write) that the store does not hold (none
    while it has no control record: nothing is named yet)."""
    try:
        targets = targets or store.targets(aggregate)
    except UnknownTarget:
        return []
    return sorted({t for t in (targets.read, *targets.write) if t is not None} - store.physical(aggregate))


def restore_missing(store: DocumentStore, aggregate: Aggregate, held: Held) -> list[str]:
    """Recreate, empty, every target the control record names that the store lost (deleted by hand, or a
    snapshot restored without it), and point the read alias at the read target again; what was recreated."""
    targets = store.targets(aggregate.name)
    lost = missing(store, aggregate.name, targets)
    for target in lost:
        store.create_target(aggregate, target)
    if lost:
        store.set_targets(aggregate.name, targets, expected=targets, lease=held.renew())
        log.warning("lost targets recreated (a replay fills them)", extra={"aggregate": aggregate.name,
                                                                            "reason": ", ".join(lost)})
    return lost


def undo(store: DocumentStore, aggregate: str, state: RebuildState, held: Held) -> list[str]:
    """Take an unfinished rebuild back (its new target out of the write targets, then dropped), or finish one
    that had already switched (its old targets retired); the targets dropped."""
    if state.phase == "switched":
        return retire(store, state, held)
    targets = store.targets(aggregate)
    if state.new in targets.write and targets.read != state.new:
        without = Targets(targets.read, tuple(t for t in targets.write if t != state.new), targets.kept)
        store.set_targets(aggregate, without, expected=targets, lease=held.renew())
    return _done(store, [] if targets.read == state.new else [state.new], held)


def retire(store: DocumentStore, state: RebuildState, held: Held) -> list[str]:
    """After a switch: drop the old targets (unless the rebuild keeps them)."""
    return _done(store, [] if state.keep_old else sorted({state.old.read, *state.old.write} - {state.new, None}), held)


def _done(store: DocumentStore, dropped: list[str], held: Held) -> list[str]:
    """Drop ``dropped`` (each drop checked against the lease), then record that no rebuild is left to finish."""
    for target in dropped:
        held.renew()
        store.drop_target(target)
    held.record(None)
    return dropped


def sweep(store: DocumentStore, aggregate: str, held: Held) -> list[str]:
    """Drop what no live rebuild uses (the lease is held): write targets beside the read target that a dead
    rebuild left, and every target of the aggregate nothing names (read, write or kept); the targets dropped."""
    targets = store.targets(aggregate)
    writing = (targets.read,) if targets.read is not None else targets.write
    if writing != targets.write:
        store.set_targets(aggregate, Targets(targets.read, writing, targets.kept), expected=targets,
                          lease=held.renew())
    dropped = sorted(store.physical(aggregate) - {*writing, *targets.kept})
    for target in dropped:
        held.renew()
        store.drop_target(target)
    return dropped
