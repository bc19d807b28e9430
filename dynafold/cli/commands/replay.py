"""``dynafold replay``: scans (resumable, parallel), rebuilds with an atomic switch, exports, abort."""

from __future__ import annotations

import sys

from dynafold.cli import flags
from dynafold.projector.errors import EXIT_OK


def replay(args) -> int:
    from dynafold.replay.job import ReplayConfig, ReplayJob
    from dynafold.replay.rebuild import abort, rebuild

    runtime = flags.runtime(args, existing=args.abort)
    names = flags.aggregates(runtime, args.aggregate)
    checkpoints_url = runtime.checkpoints_url(args.checkpoints)
    if args.abort:
        for name in names:
            dropped = abort(runtime.store, name, wait=args.wait)
            runtime.checkpoints(checkpoints_url).delete_prefix(f"rebuild/{name}")  # where earlier versions kept it
            print(f"replay: {name}: {'aborted, dropped ' + ', '.join(dropped) if dropped else 'no rebuild in progress'}",
                  file=sys.stderr)
        return EXIT_OK
    if args.from_export:
        return _from_exports(args, runtime, names)
    processes = None
    if args.workers > 1 and not runtime.store.url.startswith("memory://"):
        processes = ReplayConfig(runtime.settings, checkpoints_url, args.page_size)
    show_progress = not args.no_progress
    job = ReplayJob(runtime.model, runtime.store, runtime.quarantine, runtime.dynamodb,
                    runtime.checkpoints(checkpoints_url), lookup_factory=runtime.lookup_factory(),
                    segments=args.segments, workers=args.workers, page_size=args.page_size,
                    progress=sys.stderr if show_progress else None, processes=processes, names=runtime.names,
                    clock=runtime.clock())
    from dynafold.cli.output import bars_with_logs

    with bars_with_logs():
        for name in names:
            if args.rebuild:
                report = rebuild(job, name, resume=args.resume, wait=args.wait, settle_s=args.settle,
                                 keep_old=args.keep_old, sample=args.check_count, count_tolerance=args.count_tolerance)
                print(f"replay: {name}: rebuilt into {report.new} ({report.documents} documents, "
                      f"{report.roots} root items, {report.sampled} sampled, "
                      f"0 mismatches); readers switched from {report.old.read}", file=sys.stderr)
                summary = report.summary
            else:
                summary = job.run(name, resume=args.resume)
            print(f"replay: {name}: {summary.line()}", file=sys.stderr)
    return EXIT_OK


def _from_exports(args, runtime, names) -> int:
    from dynafold.replay.export import ExportSource, locate, replay_export

    s3 = runtime.client("s3")
    projector = runtime.projector(aggregates=names, cache_capacity=0)
    for text in args.from_export:
        source = ExportSource.parse(text)
        export = locate(s3, source, args.export_time)
        counts = replay_export(projector, s3, source, export, page_size=args.page_size or 100)
        print(f"replay: export of {export.table}: {counts['items']} items from {counts['files']} file(s), "
              f"{counts['written']} document writes, {counts['quarantined']} quarantined", file=sys.stderr)
    return EXIT_OK
