"""Zero-downtime rebuild: a new physical target, dual-written, scanned, checked, switched.

1. Create the new target (its name carries the aggregate's schema version)
   and register it as an extra write target: live projectors now write both.
2. Wait ``settle_s`` for projectors' target caches, then take ``T_start``.
3. Replay every source table into the new target only.
4. Check: visible documents against the root items the table holds now,
   and a sample of documents re-derived from consistent reads.
5. Switch the read target and the write targets to the new one in one
   atomic step; drop the old target (unless ``keep_old``).

A failed check puts the targets back as they were and drops the new target:
readers never leave the old version. The phase (scanning, switched) is kept
in the checkpoint store, so ``--rebuild --resume`` finishes whatever a crash
interrupted, the scan or the retirement of the old target.
"""

from __future__ import annotations

import json
import random
import time
from typing import Callable, Optional

import attrs

from dynafold.projector.errors import ProblemFound
from dynafold.projector.intake.dynamodb_json import decode_map
from dynafold.projector.stores.base import Targets, default_target
from dynafold.projector.stores.codec import canonical
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.replay.check import rederive
from dynafold.replay.job import ReplayJob
from dynafold.replay.runner import Summary


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


def _state_key(aggregate_name: str) -> str:
    return f"rebuild/{aggregate_name}"


def _record(job: ReplayJob, aggregate_name: str, old: Targets, new: str, phase: str) -> None:
    job.checkpoints.put(_state_key(aggregate_name), json.dumps(
        {"old_read": old.read, "old_write": list(old.write), "new": new, "phase": phase}))


def _recorded(job: ReplayJob, aggregate_name: str) -> Optional[dict]:
    text = job.checkpoints.get(_state_key(aggregate_name))
    return None if text is None else json.loads(text)


def _retire(job: ReplayJob, aggregate_name: str, old: Targets, new: str, keep_old: bool) -> None:
    if not keep_old:
        for target in sorted({old.read, *old.write} - {new, None}):
            job.store.drop_target(target)
    job.checkpoints.delete_prefix(_state_key(aggregate_name))


def rebuild(
    job: ReplayJob,
    aggregate_name: str,
    *,
    resume: bool = False,
    settle_s: float = 2.0,
    keep_old: bool = False,
    sample: int = 20,
    count_tolerance: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    rng: Optional[random.Random] = None,
) -> RebuildReport:
    """Rebuild one aggregate; the phase is recorded in the checkpoint store so ``resume`` can finish any step."""
    recorded = _recorded(job, aggregate_name) if resume else None
    if recorded is not None:
        old = Targets(recorded["old_read"], tuple(recorded["old_write"]))
        new = recorded["new"]
        job.store.prepare([job.model.aggregate(aggregate_name)])
        if recorded["phase"] == "switched":
            _retire(job, aggregate_name, old, new, keep_old)
            return RebuildReport(old, new, Summary())
    else:
        old, new = start(job, aggregate_name)
        sleep(settle_s)
    summary = job.run(aggregate_name, resume=recorded is not None, targets=(new,))
    return finish(job, aggregate_name, old, new, RebuildReport(old, new, summary), sample=sample,
                  count_tolerance=count_tolerance, keep_old=keep_old, rng=rng)


def start(job: ReplayJob, aggregate_name: str) -> tuple[Targets, str]:
    """Create the new target and register it as an extra write target (live projectors dual-write from now)."""
    store = job.store
    aggregate = job.model.aggregate(aggregate_name)
    store.prepare([aggregate])
    old = store.targets(aggregate_name)
    new = default_target(aggregate)
    if new in {old.read, *old.write}:
        new = f"{new}_r{int(time.time())}"
    store.create_target(aggregate, new)
    _record(job, aggregate_name, old, new, "scanning")
    store.set_targets(aggregate_name, Targets(old.read, (*old.write, new)))
    return old, new


def finish(job: ReplayJob, aggregate_name: str, old: Targets, new: str, report: RebuildReport, *, sample: int = 20,
           count_tolerance: float = 0.0, keep_old: bool = False, rng: Optional[random.Random] = None) -> RebuildReport:
    """Check the scanned target; switch readers and writers to it, or put the targets back and drop it."""
    try:
        _check(job, job.model.aggregate(aggregate_name), new, report, sample, count_tolerance, rng or random.Random())
    except RebuildAborted:
        abort(job.store, aggregate_name)
        job.checkpoints.delete_prefix(_state_key(aggregate_name))
        raise
    job.store.set_targets(aggregate_name, Targets(new, (new,)))
    _record(job, aggregate_name, old, new, "switched")
    _retire(job, aggregate_name, old, new, keep_old)
    return report


def abort(store, aggregate_name: str) -> Optional[str]:
    """Undo an unfinished rebuild: readers and writers back on the read target, new target dropped."""
    targets = store.targets(aggregate_name)
    extra = [t for t in targets.write if t != targets.read]
    if not extra:
        return None
    store.set_targets(aggregate_name, Targets(targets.read, tuple(t for t in targets.write if t not in extra)))
    for target in extra:
        store.drop_target(target)
    return ", ".join(extra)


def _check(job: ReplayJob, aggregate, target: str, report: RebuildReport, sample: int, tolerance: float,
           rng: random.Random) -> None:
    chosen: list = []
    for stored in job.store.stored(target):
        if stored.body is None:
            continue
        report.documents += 1
        if len(chosen) < sample:
            chosen.append(stored)
        else:
            slot = rng.randrange(report.documents)
            if slot < sample:
                chosen[slot] = stored
    report.roots = count_roots(job.client, aggregate, job.names)
    allowed = int(report.roots * tolerance)
    quarantined = report.summary.quarantined  # a quarantined root row has no document, and is listed for a retry
    problems = []
    if report.documents - report.roots > allowed or report.roots - report.documents > allowed + quarantined:
        problems.append(
            f"{report.documents} visible documents but {report.roots} root items ({aggregate.root.describe()}) "
            f"(tolerance {allowed}, {quarantined} records quarantined by the scan)"
        )
    report.sampled = len(chosen)
    for stored in chosen:
        expected = rederive(job.model, job.client, aggregate, stored, job.clock(), job.names)
        if canonical(expected) != canonical(stored.body):
            again = job.store.reload([stored.key]).get(stored.key)
            if again is None or canonical(rederive(job.model, job.client, aggregate, again, job.clock(),
                                                   job.names)) != canonical(again.body):
                report.sample_mismatches.append(stored.key.id)
    if report.sample_mismatches:
        problems.append(f"{len(report.sample_mismatches)} of {report.sampled} sampled documents differ from a "
                        f"fresh derivation: {report.sample_mismatches[:5]}")
    if problems:
        raise RebuildAborted(f"rebuild of {aggregate.name!r} into {target!r} aborted: " + "; ".join(problems))
