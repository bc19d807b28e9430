"""Zero-downtime rebuild: a new physical target, dual-written, scanned, checked, switched; one at a time.

0. Take the aggregate's lease (``replay.targets.Held``): a second rebuild of
   the aggregate is refused, naming the running one (or waits for it). A
   rebuild whose holder died (the lease expired, or its process on this host
   is gone) is undone first; ``resume`` continues it instead. Targets the
   control record names but the store lost are recreated.
1. Record the new target in the lease, create it (its name carries the
   aggregate's schema version) and register it as an extra write target, a
   compare-and-set under the lease: live projectors now write both.
2. Wait ``settle_s`` for projectors' target caches, then take ``T_start``.
3. Replay every source table into the new target only.
4. Check: visible documents against the root items the table holds now,
   and a sample of documents re-derived from consistent reads.
5. Switch the read target and the write targets to the new one in one
   atomic compare-and-set under the lease; drop the old target (unless
   ``keep_old``, which keeps it as a ``kept`` target).

A failed check puts the targets back as they were and drops the new target:
readers never leave the old version. The phase (starting, scanning,
switched) is kept in the lease's work, so ``--rebuild --resume`` finishes
whatever a crash interrupted, the scan or the retirement of the old target,
and ``--abort`` undoes it.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Callable, Optional

import attrs

from dynafold.domain.aggregate import Aggregate
from dynafold.projector.errors import ConfigurationError, ProblemFound
from dynafold.projector.intake.dynamodb_json import decode_map
from dynafold.projector.stores.base import DocKey, Targets, UnknownTarget, default_target
from dynafold.projector.stores.codec import canonical
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.replay.check import rederive
from dynafold.replay.job import ReplayJob
from dynafold.replay.runner import Summary
from dynafold.replay.targets import LEASE_TTL_S, RENEW_EVERY_S, Held, RebuildState, restore_missing, retire, sweep, undo

log = logging.getLogger("dynafold.replay")


class RebuildAborted(ProblemFound):
    """The new target failed its checks; readers stay on the old one."""


@attrs.define
class RebuildReport:
    old: Targets
    new: str
    summary: Summary
    documents: int = 0
    roots: int = 0
    sampled: int = 0
    sample_mismatches: list = attrs.field(factory=list)
    lagging: list = attrs.field(factory=list)  # differing sampled ids that read the same in the old read target


def count_roots(client, aggregate, names: TableNames = IDENTITY) -> int:
    """The root items the table holds now (for an entity, only the items it matches)."""
    conditions = aggregate.root.conditions
    kwargs = {"TableName": names.physical(aggregate.root.table.name), "ConsistentRead": True}
    if conditions:
        kwargs["ProjectionExpression"] = ", ".join(f"#c{i}" for i in range(len(conditions)))
        kwargs["ExpressionAttributeNames"] = {f"#c{i}": c.attribute for i, c in enumerate(conditions)}
    else:
        kwargs["Select"] = "COUNT"
    total = 0
    while True:
        page = client.scan(**kwargs)
        if conditions:
            total += sum(1 for row in page.get("Items", []) if aggregate.root.matches(decode_map(row)))
        else:
            total += page["Count"]
        if not page.get("LastEvaluatedKey"):
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


class NothingToResume(ConfigurationError):
    """``--rebuild --resume`` with no interrupted rebuild of the aggregate to continue."""


def rebuild(
    job: ReplayJob,
    aggregate_name: str,
    *,
    resume: bool = False,
    wait: bool = False,
    settle_s: float = 2.0,
    keep_old: bool = False,
    sample: int = 20,
    count_tolerance: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: Optional[random.Random] = None,
    lease_ttl_s: float = LEASE_TTL_S,
    renew_every_s: float = RENEW_EVERY_S,
) -> RebuildReport:
    """Rebuild one aggregate under its lease; ``resume`` continues the interrupted rebuild the lease names."""
    aggregate = job.model.aggregate(aggregate_name)
    job.store.prepare([aggregate])
    with Held(job.store, aggregate_name, wait=wait, ttl_s=lease_ttl_s, renew_every_s=renew_every_s,
              sleep=sleep) as held:
        interrupted = held.interrupted()
        if resume:
            if interrupted is None:
                raise NothingToResume(f"no interrupted rebuild of {aggregate_name!r} is recorded to resume "
                                      "(none ran, or it finished or was aborted): start one with replay --rebuild")
            state = attrs.evolve(interrupted, keep_old=interrupted.keep_old or keep_old)
            held.record(state)
            if state.phase == "switched":
                retire(job.store, state, held)
                return RebuildReport(state.old, state.new, Summary())
            if state.phase == "starting":
                state = _begin(job, aggregate, state, held)
        else:
            if interrupted is not None:
                dropped = undo(job.store, aggregate_name, interrupted, held)
                log.warning("an interrupted rebuild was undone before this one", extra={
                    "aggregate": aggregate_name, "reason": f"its holder gave up or died; dropped {dropped or 'nothing'}"})
            state = start(job, aggregate, held, keep_old=keep_old)
            sleep(settle_s)
        summary = job.run(aggregate_name, resume=resume, targets=(state.new,))
        return finish(job, aggregate_name, state, RebuildReport(state.old, state.new, summary), held, sample=sample,
                      count_tolerance=count_tolerance, rng=rng, sleep=sleep)


def start(job: ReplayJob, aggregate: Aggregate, held: Held, *, keep_old: bool = False) -> RebuildState:
    """Recreate lost targets, record and create the new target, and register it as an extra write target
    (live projectors dual-write from now)."""
    store = job.store
    restore_missing(store, aggregate, held)
    old = store.targets(aggregate.name)
    used = {old.read, *old.write, *old.kept} | store.physical(aggregate.name)
    new = default_target(aggregate)
    stamp = int(time.time())
    while new in used:
        new, stamp = f"{default_target(aggregate)}_r{stamp}", stamp + 1
    state = RebuildState(old, new, "starting", keep_old)
    held.record(state)  # before the target exists: a crash from here on leaves a record to resume or undo
    return _begin(job, aggregate, state, held)


def _begin(job: ReplayJob, aggregate: Aggregate, state: RebuildState, held: Held) -> RebuildState:
    store = job.store
    if state.new not in store.physical(aggregate.name):
        store.create_target(aggregate, state.new)
    if state.new not in store.targets(aggregate.name).write:
        store.set_targets(aggregate.name, state.scanning, expected=state.old, lease=held.renew())
    state = attrs.evolve(state, phase="scanning")
    held.record(state)
    return state


def finish(job: ReplayJob, aggregate_name: str, state: RebuildState, report: RebuildReport, held: Held, *,
           sample: int = 20, count_tolerance: float = 0.0, rng: Optional[random.Random] = None,
           sleep: Callable[[float], None] = time.sleep) -> RebuildReport:
    """Check the scanned target; switch readers and writers to it, or put the targets back and drop it."""
    try:
        _check(job, job.model.aggregate(aggregate_name), state, report, sample, count_tolerance,
               rng or random.Random(), sleep)
    except RebuildAborted:
        undo(job.store, aggregate_name, state, held)
        raise
    left = tuple(sorted({state.old.read, *state.old.write} - {state.new, None})) if state.keep_old else ()
    switched = Targets(state.new, (state.new,), (*state.old.kept, *left))
    job.store.set_targets(aggregate_name, switched, expected=state.scanning, lease=held.renew())
    state = attrs.evolve(state, phase="switched")
    held.record(state)
    retire(job.store, state, held)
    return report


def abort(store, aggregate_name: str, *, wait: bool = False, held: Optional[Held] = None) -> list[str]:
    """Undo an unfinished rebuild (the one the lease names, or finish one that had switched), then drop every
    target of the aggregate nothing names; the targets dropped. ``held``: a lease already held."""
    if held is None:
        with Held(store, aggregate_name, wait=wait) as taken:
            return abort(store, aggregate_name, held=taken)
    interrupted = held.interrupted() or _recorded(held)
    dropped = undo(store, aggregate_name, interrupted, held) if interrupted is not None else []
    return sorted({*dropped, *sweep(store, aggregate_name, held)})


def _recorded(held: Held) -> Optional[RebuildState]:
    work = held.lease.work.get("rebuild") if held.lease is not None else None
    return RebuildState.from_json(work) if work else None


CHECK_WAITS_S = (0.5, 1.0, 2.0, 4.0)
"""Waits before each further look of a check that failed under live writes. An update on its way through
the stream makes a sampled document differ from a fresh derivation, and the count differ from the table's,
for as long as the projection lags (1 of 6 rebuilds at 20 writes/s was refused for it): the check looks
again, 7.5 s in all, before it refuses the rebuild, and then says whether the readers' target shows the
same lag."""


def _check(job: ReplayJob, aggregate: Aggregate, state: RebuildState, report: RebuildReport, sample: int,
           tolerance: float, rng: random.Random, sleep: Callable[[float], None]) -> None:
    """Visible documents against root items, and a sample against fresh derivations; ``RebuildAborted`` if
    they still disagree after looking again. A sampled document that still differs but is the same in the
    old read target (``report.lagging``) points at the live projection's lag, which both targets share:
    the message says so, and that the rebuild may be run again once the stream has caught up."""
    chosen = job.store.sample(state.new, sample, rng.getrandbits(31))
    report.documents, report.sampled = chosen.visible, len(chosen.documents)
    differing = [stored.key for stored in chosen.documents]
    counted: Optional[str] = None
    for wait in (None, *CHECK_WAITS_S):
        if wait is not None:
            sleep(wait)
            if counted is not None:
                report.documents = job.store.sample(state.new, 0, 0).visible
        counted = _count_problem(job, aggregate, report, tolerance)
        differing = [key for key in differing if not _agrees(job, aggregate, key)]
        if counted is None and not differing:
            return
    report.sample_mismatches = [key.id for key in differing]
    report.lagging = [key.id for key in differing if _same_in(job.store, key, state.old.read)]
    problems = [problem for problem in (counted,) if problem is not None]
    if report.sample_mismatches:
        problems.append(f"{len(report.sample_mismatches)} of {report.sampled} sampled documents differ from a "
                        f"fresh derivation: {report.sample_mismatches[:5]}")
    if report.lagging:
        problems.append(f"{len(report.lagging)} of them read the same in the readers' target {state.old.read}: the "
                        "live projection is behind its stream; run the rebuild again once it has caught up")
    if problems:
        looks = len(CHECK_WAITS_S) + 1
        raise RebuildAborted(f"rebuild of {aggregate.name!r} into {state.new!r} aborted after {looks} looks over "
                             f"{sum(CHECK_WAITS_S):g} s: " + "; ".join(problems))


def _count_problem(job: ReplayJob, aggregate: Aggregate, report: RebuildReport, tolerance: float) -> Optional[str]:
    report.roots = count_roots(job.client, aggregate, job.names)
    allowed = int(report.roots * tolerance)
    quarantined = report.summary.quarantined  # a quarantined root row has no document, and is listed for a retry
    if report.documents - report.roots > allowed or report.roots - report.documents > allowed + quarantined:
        return (f"{report.documents} visible documents but {report.roots} root items ({aggregate.root.describe()}) "
                f"(tolerance {allowed}, {quarantined} records quarantined by the scan)")
    return None


def _agrees(job: ReplayJob, aggregate: Aggregate, key: DocKey) -> bool:
    """Whether the document, as stored now, is what consistent reads of its items derive now."""
    stored = job.store.reload([key]).get(key)
    if stored is None:
        return False
    expected = rederive(job.model, job.client, aggregate, stored, job.clock(), job.names)
    return canonical(expected) == canonical(stored.body)


def _same_in(store, key: DocKey, other: Optional[str]) -> bool:
    """Whether the document is the same in target ``other`` (the old read target) as in its own."""
    if other is None or other == key.target:
        return False
    try:
        found = store.reload([key, DocKey(other, key.id)])
    except UnknownTarget:
        return False
    mine, theirs = found.get(key), found.get(DocKey(other, key.id))
    return mine is not None and theirs is not None and canonical(mine.body) == canonical(theirs.body)
