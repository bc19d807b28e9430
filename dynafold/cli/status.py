"""``dynafold status``: one read-only view of health for an operator.

Per aggregate: where readers and writers point (and a target the control
record names but the store lacks, which makes status exit 1; and who holds
the lease to change them, while a rebuild runs), how many documents and
tombstone documents the read target holds, how a target differs from the
one the model makes now (a field that changed kind or was added, an older
release's mappings: what ``dynafold replay --rebuild`` would change), and
the newest change the documents reflect: the newest stream record's time,
never a replay's read, which is stamped with the replay's own start (its
age is a lower bound of the projection lag while writes continue; the exact
lag is the stream functions' ``ProjectionLag`` metric, which only the
stream side can know). Then every checkpoint (stream positions, replay
segments, fan-out cursors) and the quarantined records counted by table
and reason.
"""

from __future__ import annotations

import collections
import time
from typing import Any, Optional

from dynafold.cli.terminal import printable
from dynafold.domain.records import RecordRef
from dynafold.projector.control.quarantine_entry import QuarantineEntry
from dynafold.projector.errors import ConfigurationError
from dynafold.projector.runtime import Runtime
from dynafold.projector.stores.base import UnknownTarget
from dynafold.replay.targets import missing


def collect(runtime: Runtime, *, checkpoints_url: Optional[str] = None, now_s: Optional[float] = None) -> dict[str, Any]:
    now_s = time.time() if now_s is None else now_s
    return {
        "store": runtime.store.url,
        "aggregates": {name: _aggregate(runtime, name, now_s) for name in sorted(runtime.model.aggregates)},
        "checkpoints": _checkpoints(runtime, checkpoints_url),
        "quarantine": _quarantine(runtime),
    }


def _aggregate(runtime: Runtime, name: str, now_s: float) -> dict[str, Any]:
    try:
        targets = runtime.store.targets(name)
    except UnknownTarget:
        return {"read": None, "write": [], "documents": 0, "tombstones": 0, "newest_change": None,
                "note": "no targets yet: run the projector or `dynafold replay` once"}
    lost = missing(runtime.store, name, targets)
    lease = runtime.store.lease(name)
    documents = tombstones = 0
    newest_us = 0
    for stored in runtime.store.stored(targets.read) if targets.read and targets.read not in lost else ():
        if stored.body is None:
            tombstones += 1
        else:
            documents += 1
        for entry in stored.state:
            if entry.version.sequence or entry.version.via_sequence:  # a stream record's; never a replay's read
                newest_us = max(newest_us, entry.version.created_at_us)
    newest = None
    if newest_us:
        newest = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(newest_us / 1e6)),
                  "age_s": round(max(0.0, now_s - newest_us / 1e6), 1)}
    aggregate = runtime.model.aggregate(name)
    differences = {target: found for target in dict.fromkeys(t for t in (targets.read, *targets.write) if t)
                   if target not in lost and (found := runtime.store.differences(aggregate, target))}
    report = {"read": targets.read, "write": list(targets.write), "documents": documents, "tombstones": tombstones,
              "newest_change": newest, "differences": differences}
    if targets.kept:
        report["kept"] = list(targets.kept)
    if lease is not None:
        report["lease"] = ("expired: " if lease.expired(now_s) else "") + lease.describe()
    notes = []
    if lost:
        report["missing"] = lost
        notes.append(f"the store lacks {', '.join(lost)}, which the control record names (deleted?): "
                     f"recover with `dynafold replay --aggregate {name}`")
    if differences:
        notes.append(f"{', '.join(differences)} made from an older model: "
                     f"`dynafold replay --rebuild --aggregate {name}` makes a target from this one")
    if notes:
        report["note"] = "; ".join(notes)
    return report


def problems(report: dict[str, Any]) -> list[str]:
    """The aggregates whose targets the store lacks: status exits 1 for them."""
    return [name for name, aggregate in report["aggregates"].items() if aggregate.get("missing")]


def _checkpoints(runtime: Runtime, url: Optional[str]) -> dict[str, Any]:
    location = runtime.checkpoints_url(url)
    try:
        items = runtime.checkpoints(location).items()
    except ConfigurationError as error:  # a read-only open of a file that does not exist yet
        return {"url": location, "entries": {}, "note": str(error)}
    return {"url": location, "entries": dict(items)}


def _quarantine(runtime: Runtime) -> dict[str, Any]:
    try:
        entries = runtime.quarantine.list()
    except ConfigurationError as error:
        return {"url": runtime.quarantine_url, "total": 0, "by_reason": {}, "note": str(error)}
    counts = collections.Counter(f"{entry.table}: {_reason_kind(entry)}" for entry in entries)
    return {"url": runtime.quarantine_url, "total": len(entries), "by_reason": dict(sorted(counts.items()))}


def _reason_kind(entry: QuarantineEntry) -> str:
    """A reason without its particulars: the record's name (``record T, eventID E, seq S: ``, where a
    scan row's S is its key as JSON, colons and all) and a document's name dropped, then the text up
    to the next colon or parenthesis."""
    reason = entry.reason
    for position in (entry.position, ""):
        name = f"{RecordRef(entry.table, entry.event_id, position)}: "
        if reason.startswith(name):
            reason = reason[len(name):]
            break
    else:
        if reason.startswith("record ") and ": " in reason:
            reason = reason.split(": ", 1)[1]
    if reason.startswith("document ") and ": " in reason:
        reason = reason.split(": ", 1)[1]
    for mark in (":", " ("):
        reason = reason.split(mark, 1)[0]
    return reason.strip()[:80] or "unknown"


def render(report: dict[str, Any]) -> str:
    """The report as text for a terminal: names, keys and reasons come from records, so every character a
    terminal would act on is shown escaped (``terminal.printable``)."""
    return "\n".join(printable(line) for line in _lines(report))


def _lines(report: dict[str, Any]) -> list[str]:
    lines = [f"store: {report['store']}"]
    for name, a in report["aggregates"].items():
        newest = a["newest_change"]
        lines.append(f"  {name}: read {a['read'] or '-'}, write {', '.join(a['write']) or '-'}; "
                     f"{a['documents']} documents, {a['tombstones']} tombstones; newest change "
                     + (f"{newest['at']} ({newest['age_s']} s ago)" if newest else "none")
                     + (f"  [{a['note']}]" if a.get("note") else ""))
        if a.get("kept"):
            lines.append(f"    kept: {', '.join(a['kept'])}")
        if a.get("lease"):
            lines.append(f"    targets changing under the lease of {a['lease']}")
        for target, found in a.get("differences", {}).items():
            lines += [f"    {target} differs from the model:"] + [f"      {line}" for line in found]
    checkpoints = report["checkpoints"]
    lines.append(f"checkpoints: {checkpoints['url']} ({len(checkpoints['entries'])})"
                 + (f"  [{checkpoints['note']}]" if checkpoints.get("note") else ""))
    lines += [f"  {key} = {value}" for key, value in checkpoints["entries"].items()]
    quarantine = report["quarantine"]
    lines.append(f"quarantine: {quarantine['url']} ({quarantine['total']} records)"
                 + (f"  [{quarantine['note']}]" if quarantine.get("note") else ""))
    lines += [f"  {count:>6}  {reason}" for reason, count in quarantine["by_reason"].items()]
    return lines
