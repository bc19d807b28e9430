"""``dynafold quarantine list|show|retry|drop`` (list and show open everything read-only)."""

from __future__ import annotations

import json
import sys

from dynafold.cli import flags
from dynafold.projector.errors import EXIT_OK, EXIT_PROBLEM


def quarantine(args) -> int:
    from dynafold.cli.terminal import find_printed, printable

    read_only = args.action in ("list", "show")
    runtime = flags.runtime(args, read_only=read_only, existing=True)
    entries = runtime.quarantine
    if args.action == "list":
        listed = entries.list(args.table)
        for entry in listed:
            print("\t".join(printable(t) for t in (entry.id, entry.event_id or "-", entry.summary or entry.reason)))
        print(f"{len(listed)} quarantined record(s)", file=sys.stderr)
        return EXIT_OK
    entry = entries.get(args.entry) or find_printed(args.entry, entries.list(), lambda e: e.id)
    if entry is None:
        print(f"dynafold: no quarantined record {printable(args.entry)!r}", file=sys.stderr)
        return EXIT_PROBLEM
    if args.action == "show":
        print(json.dumps({
            "id": entry.id, "table": entry.table, "position": entry.position, "event_id": entry.event_id,
            "reason": entry.reason, "quarantined_at": entry.quarantined_at, "origin": entry.origin,
            "raw": json.loads(entry.raw),
        }, indent=2))
        return EXIT_OK
    if args.action == "drop":
        entries.drop(entry.id)
        print(f"dropped {printable(entry.id)}", file=sys.stderr)
        return EXIT_OK
    from dynafold.projector.quarantine_retry import retry_entry

    projector = runtime.projector(cursors=runtime.checkpoints(runtime.quarantine_url))
    ok, message = retry_entry(projector, entries, entry, now_us=runtime.clock())
    print(printable(message), file=sys.stderr)
    return EXIT_OK if ok else EXIT_PROBLEM
