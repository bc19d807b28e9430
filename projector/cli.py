"""The ``dynafold`` command.

Exit codes: 0 success; 1 the command ran and found a problem (records left
failed, drift found); 2 usage or configuration error; 3 a store or AWS could
not be reached; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Optional, Sequence

from projector.config import ConfigurationError, load_model, quarantine_url, redact, store_url

EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, EXIT_UNAVAILABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        help="document store URL: sqlite:///views.db, opensearch+https://host:443, memory:// "
        "(default: $DYNAFOLD_STORE, else sqlite:///dynafold.db)",
    )


def _limit(text: str) -> int:
    """A search limit: 1 to 10,000 (OpenSearch's result window), the same on every store."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 10000")
    return value


def _model_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="module:attribute of the model (default: $DYNAFOLD_MODEL, else the sample)")
    parser.add_argument("--table-names", help="logical=physical table names, comma-separated (default: $DYNAFOLD_TABLES)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dynafold",
        description="Aggregate views of DynamoDB tables, converging under any delivery order.",
        epilog="Exit codes: 0 ok, 1 problem found, 2 usage/configuration error, 3 store or AWS unreachable, 130 interrupted.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="run the sample domain end to end on moto and SQLite (no AWS needed)")
    demo.add_argument("--db", default="dynafold-demo.db", help="SQLite file for the documents (recreated; default: %(default)s)")
    demo.add_argument("--customers", type=int, default=40, help="customers in the workload (default: %(default)s)")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the workload (default: %(default)s)")

    project = commands.add_parser("project", help="poll the tables' DynamoDB Streams and project them (Ctrl-C stops)")
    _store_arg(project)
    _model_arg(project)
    project.add_argument("--tables", help="comma-separated source tables (default: every table of the model)")
    project.add_argument("--checkpoints", help="checkpoint URL (default: the SQLite store's file, else sqlite:///dynafold-checkpoints.db)")
    project.add_argument("--quarantine", help="quarantine URL (default: $DYNAFOLD_QUARANTINE, else the SQLite store's file)")
    project.add_argument("--batch-size", type=int, default=100, help="records per GetRecords call (default: %(default)s)")
    project.add_argument("--interval", type=float, default=1.0, help="seconds between polls of idle streams (default: %(default)s)")
    project.add_argument("--stats-every", type=float, default=10.0, help="seconds between counter lines (default: %(default)s)")
    project.add_argument("--until-idle", action="store_true", help="stop once every stream is drained")

    dump = commands.add_parser("dump", help="print every visible document of an aggregate, one JSON object per line")
    _store_arg(dump)
    _model_arg(dump)
    dump.add_argument("--aggregate", required=True, help="aggregate name, e.g. customer")

    search = commands.add_parser("search", help="full-text search over an aggregate's text fields")
    _store_arg(search)
    _model_arg(search)
    search.add_argument("--aggregate", required=True, help="aggregate name, e.g. lesson")
    search.add_argument("--limit", type=_limit, default=10, help="at most this many documents, 1 to 10000 (default: %(default)s)")
    search.add_argument("query", help="words that must all occur, e.g. 'wonderwall'")

    replay = commands.add_parser(
        "replay", help="rebuild aggregates from table scans (or exports): parallel, resumable, zero downtime with --rebuild"
    )
    _store_arg(replay)
    _model_arg(replay)
    replay.add_argument("--aggregate", help="only this aggregate (default: every aggregate of the model)")
    replay.add_argument("--segments", type=int, default=4, help="parallel scan segments per table (default: %(default)s)")
    replay.add_argument("--workers", type=int, default=1, help="worker processes sharing the checkpoints (default: %(default)s)")
    replay.add_argument("--page-size", type=int, help="items per scan page (default: DynamoDB's 1 MB pages)")
    replay.add_argument("--resume", action="store_true", help="continue the last run from its checkpoints")
    replay.add_argument("--checkpoints", help="checkpoint URL (default: the SQLite store's file, else sqlite:///dynafold-checkpoints.db)")
    replay.add_argument("--quarantine", help="quarantine URL (default: $DYNAFOLD_QUARANTINE, else the SQLite store's file)")
    replay.add_argument("--rebuild", action="store_true", help="into a new physical target, then switch readers atomically")
    replay.add_argument("--abort", action="store_true", help="undo an unfinished --rebuild (readers never left the old target)")
    replay.add_argument("--keep-old", action="store_true", help="with --rebuild: keep the old target after the switch")
    replay.add_argument("--settle", type=float, default=2.0, help="with --rebuild: seconds between registering the new target and T_start (default: %(default)s)")
    replay.add_argument("--sample", type=int, default=20, help="with --rebuild: documents re-derived for the check (default: %(default)s)")
    replay.add_argument("--count-tolerance", type=float, default=0.0, help="with --rebuild: allowed fraction of document-count drift from live writes (default: %(default)s)")
    replay.add_argument("--from-export", action="append", metavar="[TABLE=]s3://BUCKET/PREFIX",
                        help="replay from a DynamoDB export instead of scanning (repeat per table)")
    replay.add_argument("--export-time", help="export time (ISO 8601) when the export has no manifest")
    replay.add_argument("--no-progress", action="store_true", help="no progress output")

    verify = commands.add_parser("verify", help="compare the views with the tables; --repair fixes the drift")
    _store_arg(verify)
    _model_arg(verify)
    verify.add_argument("--aggregate", help="only this aggregate (default: every aggregate)")
    verify.add_argument("--sample", type=float, default=1.0, help="fraction of documents compared, 0 < F <= 1 (default: %(default)s)")
    verify.add_argument("--repair", action="store_true", help="write the expected documents through the conditional-write path")
    verify.add_argument("--format", choices=["text", "json"], default="text", help="report format (default: %(default)s)")
    verify.add_argument("--segments", type=int, default=4, help="parallel scan segments per table (default: %(default)s)")
    verify.add_argument("--workers", type=int, default=2, help="scan threads (default: %(default)s)")

    sweep = commands.add_parser("sweep", help="purge tombstones older than a horizon (longer than stream retention)")
    _store_arg(sweep)
    _model_arg(sweep)
    sweep.add_argument("--older-than", default="48h", help="horizon, e.g. 48h or 3d (default: %(default)s)")
    sweep.add_argument("--force", action="store_true", help="allow a horizon shorter than the 24 h stream retention")

    quarantine = commands.add_parser("quarantine", help="inspect, re-drive or drop quarantined records")
    _store_arg(quarantine)
    _model_arg(quarantine)
    quarantine.add_argument("--quarantine", help="quarantine URL (default: $DYNAFOLD_QUARANTINE, else the store's file)")
    actions = quarantine.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per quarantined record")
    listing.add_argument("--table", help="only this source table")
    for name, text in (
        ("show", "the full entry, with the record's identity and declared attributes"),
        ("retry", "project the record again (after a fix); removed from the quarantine if it now succeeds"),
        ("drop", "delete the entry for good"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("entry", help="entry id as `list` prints it (table/position)")

    deploy = commands.add_parser("deploy", help="deployment files generated from a model (deploy/)")
    deploy_actions = deploy.add_subparsers(dest="action", metavar="ACTION", required=True)
    template = deploy_actions.add_parser("template", help="a SAM template: one stream function per source table, "
                                                          "least-privilege IAM, replay, re-drive, alarms")
    template.add_argument("--model", required=True, help="module:attribute of the model, e.g. myapp.views:MODEL")
    template.add_argument("--out", required=True, help="file to write, e.g. template.yaml")
    template.add_argument("--store-service", choices=["es", "aoss"], default="es",
                          help="OpenSearch Service domain (es) or Serverless (aoss) (default: %(default)s)")
    values = deploy_actions.add_parser("parameters", help="a stack's parameter values, read from this region's "
                                                          "tables (stream ARNs; NEW_AND_OLD_IMAGES checked)")
    values.add_argument("--model", required=True, help="module:attribute of the model")
    values.add_argument("--table-names", help="logical=physical table names, comma-separated (default: $DYNAFOLD_TABLES)")
    values.add_argument("--store-url", required=True, help="the store URL the functions use")
    values.add_argument("--domain-arn", required=True, help="ARN of the OpenSearch Service domain")
    values.add_argument("--out", required=True, help="file of Key=Value lines for sam deploy --parameter-overrides")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigurationError as error:
        print(f"dynafold: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:
        from projector.stores.base import StoreUnavailable, UnknownTarget

        if isinstance(error, (StoreUnavailable,)):
            print(f"dynafold: store unavailable: {error}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        if isinstance(error, (UnknownTarget, KeyError, ValueError)):
            print(f"dynafold: {error}", file=sys.stderr)
            return EXIT_USAGE
        if _is_aws_unreachable(error):
            print(f"dynafold: AWS unreachable: {type(error).__name__}: {error}", file=sys.stderr)
            return EXIT_UNAVAILABLE
        raise


def _is_aws_unreachable(error: Exception) -> bool:
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        return False
    return isinstance(error, (BotoCoreError, ClientError))


def _open(args, read_only: bool = False):
    from projector.config import table_names
    from projector.stores import open_store

    model = load_model(args.model)
    args.names = table_names(model, args.table_names)
    store = open_store(store_url(args.store), read_only=read_only)  # readers work on files nobody may write
    return model, store


def _checkpoints_url(args, store) -> str:
    """Checkpoints go where the flag says, else into the SQLite store's own file, else a local file."""
    if args.checkpoints:
        return args.checkpoints
    return store.url if store.url.startswith("sqlite:///") else "sqlite:///dynafold-checkpoints.db"


def cmd_dump(args) -> int:
    from projector.stores.codec import dumps

    model, store = _open(args, read_only=True)
    model.aggregate(args.aggregate)
    for document in store.documents(args.aggregate):
        sys.stdout.write(dumps(document) + "\n")
    return EXIT_OK


def cmd_search(args) -> int:
    from projector.stores.codec import dumps

    model, store = _open(args, read_only=True)
    model.aggregate(args.aggregate)
    for document in store.search(args.aggregate, args.query, limit=args.limit):
        sys.stdout.write(dumps(document) + "\n")
    return EXIT_OK


def _projector(model, store, quarantine_flag: Optional[str], names):
    from projector import aws

    from projector.batch import Projector
    from projector.checkpoints import open_checkpoints
    from projector.lookup import DynamoLookup
    from projector.quarantine import open_quarantine

    from projector.document_cache import DocumentCache

    location = quarantine_url(store.url, quarantine_flag)
    client = aws.client("dynamodb")
    projector = Projector(model, store, open_quarantine(location),
                          lookup_factory=lambda: DynamoLookup(client, model, names=names), names=names,
                          cursors=open_checkpoints(location), cache=DocumentCache())
    return projector, client


def cmd_project(args) -> int:
    from projector import aws

    from projector import poller
    from projector.checkpoints import open_checkpoints
    from projector.streams import StreamReader

    model, store = _open(args)
    projector, client = _projector(model, store, args.quarantine, args.names)
    tables = args.tables.split(",") if args.tables else sorted(model.tables)
    for table in tables:
        model.table(table)
    checkpoints_url = _checkpoints_url(args, store)
    physical = [args.names.physical(table) for table in tables]
    reader = StreamReader(client, aws.client("dynamodbstreams"), physical, open_checkpoints(checkpoints_url),
                          limit=args.batch_size)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        print(f"dynafold project: {', '.join(tables)} -> {redact(store.url)} (Ctrl-C stops)", file=sys.stderr)
        totals = poller.run(
            projector, reader, stop=stop, until_idle=args.until_idle, interval_s=args.interval,
            stats_every_s=args.stats_every, out=sys.stderr,
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    print(f"dynafold project: {totals.line()}", file=sys.stderr)
    return EXIT_PROBLEM if totals.unfinished else EXIT_OK


def cmd_quarantine(args) -> int:
    from projector.quarantine import open_quarantine
    from projector.terminal import find_printed, printable

    read_only = args.action in ("list", "show")
    model, store = _open(args, read_only)
    quarantine = open_quarantine(quarantine_url(store.url, args.quarantine), read_only=read_only)
    if args.action == "list":
        entries = quarantine.list(args.table)
        for entry in entries:
            print("\t".join(printable(t) for t in (entry.id, entry.event_id or "-", entry.summary or entry.reason)))
        print(f"{len(entries)} quarantined record(s)", file=sys.stderr)
        return EXIT_OK
    entry = quarantine.get(args.entry) or find_printed(args.entry, quarantine.list(), lambda e: e.id)
    if entry is None:
        print(f"dynafold: no quarantined record {args.entry!r}", file=sys.stderr)
        return EXIT_PROBLEM
    if args.action == "show":
        print(json.dumps({
            "id": entry.id, "table": entry.table, "position": entry.position, "event_id": entry.event_id,
            "reason": entry.reason, "quarantined_at": entry.quarantined_at, "source": entry.source,
            "raw": json.loads(entry.raw),
        }, indent=2))
        return EXIT_OK
    if args.action == "drop":
        quarantine.drop(entry.id)
        print(f"dropped {printable(entry.id)}", file=sys.stderr)
        return EXIT_OK
    from projector.redrive import redrive
    from projector.server_clock import server_time_us

    projector, client = _projector(model, store, args.quarantine, args.names)
    ok, message = redrive(projector, quarantine, entry, now_us=lambda: server_time_us(client))
    print(printable(message), file=sys.stderr)
    return EXIT_OK if ok else EXIT_PROBLEM


def cmd_replay(args) -> int:
    from projector import aws

    from projector.checkpoints import open_checkpoints
    from projector.lookup import DynamoLookup
    from projector.quarantine import open_quarantine
    from replay.job import ReplayConfig, ReplayJob
    from replay.rebuild import RebuildAborted, abort, rebuild
    from replay.runner import ReplayFailed

    model, store = _open(args)
    names = [model.aggregate(args.aggregate).name] if args.aggregate else sorted(model.aggregates)
    checkpoints_url = _checkpoints_url(args, store)
    if args.abort:
        for name in names:
            dropped = abort(store, name)
            open_checkpoints(checkpoints_url).delete_prefix(f"rebuild/{name}")
            print(f"replay: {name}: {'aborted, dropped ' + dropped if dropped else 'no rebuild in progress'}", file=sys.stderr)
        return EXIT_OK
    quarantine_location = quarantine_url(store.url, args.quarantine)
    client = aws.client("dynamodb")
    if args.from_export:
        return _replay_exports(args, model, store, open_quarantine(quarantine_location), client, names)
    processes = None
    if args.workers > 1 and not store.url.startswith("memory://"):
        model_spec = args.model or os.environ.get("DYNAFOLD_MODEL") or "domain.sample:MODEL"
        processes = ReplayConfig(model_spec, store_url(args.store),  # as given: store.url holds no credentials
                                 quarantine_location, checkpoints_url, args.page_size, args.names.to_text())
    job = ReplayJob(
        model, store, open_quarantine(quarantine_location), client, open_checkpoints(checkpoints_url),
        lookup_factory=lambda: DynamoLookup(client, model, names=args.names), segments=args.segments,
        workers=args.workers, page_size=args.page_size, progress=None if args.no_progress else sys.stderr,
        processes=processes, names=args.names,
    )
    try:
        for name in names:
            if args.rebuild:
                report = rebuild(job, name, resume=args.resume, settle_s=args.settle, keep_old=args.keep_old,
                                 sample=args.sample, count_tolerance=args.count_tolerance)
                print(f"replay: {name}: rebuilt into {report.new} ({report.documents} documents, "
                      f"{report.roots} root items, {report.sampled} sampled, "
                      f"0 mismatches); readers switched from {report.old.read}", file=sys.stderr)
                summary = report.summary
            else:
                summary = job.run(name, resume=args.resume)
            print(f"replay: {name}: {summary.line()}", file=sys.stderr)
    except RebuildAborted as error:
        print(f"dynafold: {error}", file=sys.stderr)
        return EXIT_PROBLEM
    except ReplayFailed as error:
        print(f"dynafold: replay failed: {error}", file=sys.stderr)
        return EXIT_PROBLEM
    return EXIT_OK


def _replay_exports(args, model, store, quarantine, client, names) -> int:
    from projector import aws

    from projector.batch import Projector
    from projector.lookup import DynamoLookup
    from replay.export import ExportError, ExportSource, locate, replay_export

    s3 = aws.client("s3")
    projector = Projector(model, store, quarantine, lookup_factory=lambda: DynamoLookup(client, model, names=args.names),
                          aggregates=names, names=args.names)
    try:
        for text in args.from_export:
            source = ExportSource.parse(text)
            export = locate(s3, source, args.export_time)
            counts = replay_export(projector, s3, source, export, page_size=args.page_size or 100)
            print(f"replay: export of {export.table}: {counts['items']} items from {counts['files']} file(s), "
                  f"{counts['written']} document writes, {counts['quarantined']} quarantined", file=sys.stderr)
    except ExportError as error:
        print(f"dynafold: {error}", file=sys.stderr)
        return EXIT_PROBLEM
    return EXIT_OK


def cmd_verify(args) -> int:
    if not 0 < args.sample <= 1:
        print("dynafold: --sample must be in (0, 1]", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _verify(args)
    except Exception as error:  # verify promises 2 for every error, whatever its cause
        print(f"dynafold: verify failed: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_USAGE


def _verify(args) -> int:
    from projector import aws

    from projector.lookup import DynamoLookup
    from projector.stores.codec import dumps
    from replay.verify import Verifier

    model, store = _open(args)
    names = [model.aggregate(args.aggregate).name] if args.aggregate else sorted(model.aggregates)
    client = aws.client("dynamodb")
    verifier = Verifier(model, store, client, lookup_factory=lambda: DynamoLookup(client, model, names=args.names),
                        segments=args.segments, workers=args.workers, sample=args.sample, names=args.names)
    drifted = 0
    results = []
    for name in names:
        report = verifier.verify(name)
        repaired = [verifier.repair(d) for d in report.drift] if args.repair else []
        drifted += len(report.drift)
        results.append({"aggregate": name, "compared": report.compared, "transient": report.transient,
                        "drift": [d.to_json() for d in report.drift], "repaired": sum(repaired)})
        if args.format == "text":
            print(f"{name}: {report.compared} documents compared, {len(report.drift)} drifted"
                  + (f", {sum(repaired)} repaired" if args.repair else ""))
            for drift in report.drift:
                print(f"  {drift.kind:<10} {drift.id}")
                for field in drift.fields:
                    print(f"      {field.path}: expected {dumps(field.expected)}, found {dumps(field.actual)}")
    if args.format == "json":
        print(dumps({"aggregates": results, "drift": drifted}))
    return EXIT_PROBLEM if drifted else EXIT_OK


def cmd_sweep(args) -> int:
    from replay.sweep import HorizonTooShort, parse_duration, sweep

    model, store = _open(args)
    try:
        report = sweep(model, store, older_than_s=parse_duration(args.older_than), force=args.force)
    except HorizonTooShort as error:
        print(f"dynafold: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"sweep: {report.examined} documents examined, {report.rewritten} rewritten without old tombstones, "
          f"{report.deleted} tombstone documents deleted, {report.skipped} changed meanwhile (left for next time)",
          file=sys.stderr)
    return EXIT_OK


def cmd_deploy(args) -> int:
    from deploy.template import DeployError, write

    try:
        if args.action == "parameters":
            return _deploy_parameters(args)
        write(args.model, args.out, store_service=args.store_service)
    except DeployError as error:
        print(f"dynafold: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"dynafold deploy: wrote {args.out} for {args.model}", file=sys.stderr)
    return EXIT_OK


def _deploy_parameters(args) -> int:
    from deploy.packaging import importable_model
    from deploy.parameters import overrides, stack_parameters
    from projector import aws
    from projector.config import table_names

    model = importable_model(args.model)
    values = stack_parameters(model, aws.client("dynamodb"), table_names(model, args.table_names), args.store_url,
                              args.domain_arn)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(overrides(values))
    print(f"dynafold deploy: wrote {len(values)} parameters to {args.out}", file=sys.stderr)
    return EXIT_OK


def cmd_demo(args) -> int:
    from projector.demo import run_demo

    return run_demo(db=args.db, customers=args.customers, seed=args.seed)


COMMANDS = {
    "demo": cmd_demo,
    "project": cmd_project,
    "dump": cmd_dump,
    "search": cmd_search,
    "quarantine": cmd_quarantine,
    "replay": cmd_replay,
    "verify": cmd_verify,
    "sweep": cmd_sweep,
    "deploy": cmd_deploy,
}

if __name__ == "__main__":
    sys.exit(main())
