"""``dynafold verify`` (read-only unless ``--repair``) and ``dynafold sweep``."""

from __future__ import annotations

import sys

from dynafold.cli import flags
from dynafold.projector.errors import EXIT_OK, EXIT_PROBLEM


def verify(args) -> int:
    from dynafold.projector.stores.codec import dumps
    from dynafold.replay.verify import Verifier

    runtime = flags.runtime(args, existing=True)  # OpenSearch reads refresh: just-written documents are no drift
    names = flags.aggregates(runtime, args.aggregate)
    verifier = Verifier.on(runtime, segments=args.segments, workers=args.threads, sample=args.sample)
    drifted = 0
    results = []
    for name in names:
        report = verifier.verify(name)
        if report.missing:
            drifted += 1
            results.append({"aggregate": name, "missing": report.missing})
            if args.format == "text":
                print(f"{name}: the store lacks {', '.join(report.missing)}, which its control record names "
                      f"(deleted?); nothing compared: recover with `dynafold replay --aggregate {name}`")
            continue
        repaired = [verifier.repair(d) for d in report.drift] if args.repair else []
        drifted += len(report.drift)
        results.append({"aggregate": name, "compared": report.compared, "transient": report.transient,
                        "unprojectable": report.unprojectable,
                        "drift": [d.to_json() for d in report.drift], "repaired": sum(repaired)})
        if args.format == "text":
            print(f"{name}: {report.compared} documents compared, {len(report.drift)} drifted"
                  + (f", {sum(repaired)} repaired" if args.repair else "")
                  + (f"; {report.unprojectable} table item(s) the model cannot project, so in no document "
                     "(see `dynafold quarantine list`)" if report.unprojectable else ""))
            for drift in report.drift:
                print(f"  {drift.kind:<10} {drift.id}")
                for field in drift.fields:
                    print(f"      {field.path}: expected {dumps(field.expected)}, found {dumps(field.actual)}")
    if args.format == "json":
        print(dumps({"aggregates": results, "drift": drifted}))
    return EXIT_PROBLEM if drifted else EXIT_OK


def sweep(args) -> int:
    from dynafold.replay.sweep import parse_duration
    from dynafold.replay.sweep import sweep as purge

    runtime = flags.runtime(args, existing=True)
    report = purge(runtime.model, runtime.store, older_than_s=parse_duration(args.older_than), force=args.force)
    print(f"sweep: {report.examined} documents examined, {report.rewritten} rewritten without old tombstones, "
          f"{report.deleted} tombstone documents deleted, {report.skipped} changed meanwhile (left for next time)",
          file=sys.stderr)
    return EXIT_OK
