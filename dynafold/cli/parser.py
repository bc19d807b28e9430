"""The ``dynafold`` command line: every subcommand, option, type and forbidden combination.

Conventions, the same on every subcommand: options are accepted after the
subcommand and after a nested action (``quarantine list --store X``); a
list option may be repeated or given comma-separated; a count must be a
positive whole number and ``--sample`` is always a fraction. A renamed
option keeps its old spelling as an alias. Errors of usage exit 2 (see
``dynafold.projector.errors`` for every exit code).

One module, not several: the grammar is one tree of parsers whose
forbidden combinations (``validate``) refer to options of several
subcommands; split, each half would import the other.
"""

from __future__ import annotations

import argparse
from typing import Optional, Sequence

EXIT_CODES = ("Exit codes: 0 ok; 1 problem found (records failed, drift, a failed check); 2 usage, configuration, "
              "missing table or access denied; 3 store or AWS unavailable (retry later); 70 internal error; "
              "130 interrupted")
DEFAULT_SEGMENTS = 4
DEFAULT_SETTLE_S = 2.0
DEFAULT_CHECK_COUNT = 20


def _number(text: str, kind: type, what: str, low: float, high: float, *, low_open: bool = False):
    """``text`` as ``kind``, within [low, high] (``low_open``: above ``low``), else an argparse error
    saying ``what`` was expected (NaN and infinities never pass)."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not ((low < value) if low_open else (low <= value)) or not value <= high:
        raise argparse.ArgumentTypeError(f"{value} is not {what}")
    return value


def positive_int(text: str) -> int:
    return _number(text, int, "a positive whole number", 1, float("inf"))


def non_negative_int(text: str) -> int:
    return _number(text, int, "a whole number, 0 or more", 0, float("inf"))


def search_limit(text: str) -> int:
    """A search limit: 1 to 10,000 (OpenSearch's result window), the same on every store."""
    return _number(text, int, "a whole number between 1 and 10000", 1, 10_000)


def segments(text: str) -> int:
    """Scan segments per table: 1 to 1,000,000 (DynamoDB's limit)."""
    return _number(text, int, "a positive whole number up to DynamoDB's 1000000 segments", 1, 1_000_000)


def positive_number(text: str) -> float:
    return _number(text, float, "a positive number", 0, float("inf"), low_open=True)


def fraction(text: str) -> float:
    return _number(text, float, "a fraction in (0, 1]", 0, 1, low_open=True)


def share(text: str) -> float:
    """A tolerance: a fraction in [0, 1]."""
    return _number(text, float, "a number between 0 and 1", 0, 1)


def stream_batch(text: str) -> int:
    """Records per ``GetRecords`` call: 1 to 1,000 (DynamoDB Streams' limit)."""
    return _number(text, int, "a whole number between 1 and 1000 (DynamoDB Streams' GetRecords limit)", 1, 1000)


def index_prefix(text: str) -> str:
    """An OpenSearch store URL's ``prefix=``, checked as the store checks it."""
    from dynafold.projector.stores.opensearch.layout import Names

    try:
        return Names(text).prefix
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def seconds(text: str) -> float:
    return _number(text, float, "a finite number of seconds (0 or more)", 0, 1e12)


class Extend(argparse.Action):
    """A list option: repeated, comma-separated, or both (``--tables a,b --tables c``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest, None) or [])
        items.extend(part.strip() for part in str(values).split(",") if part.strip())
        setattr(namespace, self.dest, list(dict.fromkeys(items)))  # a name given twice is done once


def _common(parser: argparse.ArgumentParser, *names: str, leaf: bool = True) -> None:
    """Shared options; on a nested action they default to 'not given' so they never undo the
    same option typed before the action."""
    quiet = {"default": argparse.SUPPRESS} if leaf else {}
    options = {
        "store": (("--store",), dict(metavar="URL", help="document store: sqlite:///views.db, "
                  "opensearch+https://host:443, memory:// (default: $DYNAFOLD_STORE, else sqlite:///dynafold.db)")),
        "model": (("--model",), dict(metavar="MODULE:ATTR", help="the model, e.g. myapp.views:MODEL "
                  "(default: $DYNAFOLD_MODEL; required)")),
        "table-names": (("--table-names",), dict(metavar="LOGICAL=PHYSICAL,...", help="deployed table names "
                        "(default: $DYNAFOLD_TABLES, else the model's names)")),
        "quarantine": (("--quarantine",), dict(metavar="URL", help="quarantine: sqlite:///file.db, "
                       "dynamodb://control-table, memory:// (default: $DYNAFOLD_QUARANTINE, else the SQLite store's file)")),
        "checkpoints": (("--checkpoints",), dict(metavar="URL", help="checkpoints (default: the SQLite store's file, "
                        "else sqlite:///dynafold-checkpoints.db)")),
    }
    for name in names:
        flags, kwargs = options[name]
        parser.add_argument(*flags, **kwargs, **quiet)
    parser.add_argument("--log-level", metavar="LEVEL", type=str.upper,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="DEBUG, INFO, WARNING or ERROR (default: $DYNAFOLD_LOG_LEVEL, else WARNING)", **quiet)


def _command(commands, name: str, summary: str, description: str, *shared: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=summary, description=description, epilog=EXIT_CODES)
    _common(parser, *shared, leaf=False)
    return parser


def build_parser() -> argparse.ArgumentParser:
    from dynafold import __version__

    parser = argparse.ArgumentParser(
        prog="dynafold", description="Aggregate views of DynamoDB tables in OpenSearch or SQLite, converging "
        "whatever the delivery order.", epilog=EXIT_CODES)
    parser.add_argument("--version", action="version", version=f"dynafold {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="the sample model end to end on moto and SQLite (no AWS needed)",
                               description="Writers and a projector race on in-process moto tables; the documents "
                               "land in an SQLite file and are checked against the final tables.", epilog=EXIT_CODES)
    demo.add_argument("--db", metavar="FILE", default="dynafold-demo.db",
                      help="SQLite file for the documents; an earlier demo file is replaced, any other file is "
                      "refused (default: %(default)s)")
    demo.add_argument("--customers", metavar="N", type=positive_int, default=40, help="customers (default: %(default)s)")
    demo.add_argument("--seed", metavar="N", type=int, default=7, help="random seed (default: %(default)s)")

    project = _command(commands, "project", "poll the tables' streams and project them (Ctrl-C stops)",
                       "Read DynamoDB Streams of the model's tables and keep the documents current; positions are "
                       "checkpointed, so a later run continues where this one stopped.",
                       "store", "model", "table-names", "quarantine", "checkpoints")
    project.add_argument("--tables", metavar="TABLE", action=Extend, help="only these tables (repeat or "
                         "comma-separate; default: every table of the model)")
    project.add_argument("--batch-size", metavar="N", type=stream_batch, default=100,
                         help="records per GetRecords call (default: %(default)s)")
    project.add_argument("--interval", metavar="SECONDS", type=seconds, default=1.0,
                         help="pause between polls of idle streams (default: %(default)s)")
    project.add_argument("--stats-every", metavar="SECONDS", type=seconds, default=10.0,
                         help="pause between counter lines (default: %(default)s)")
    project.add_argument("--until-idle", action="store_true", help="stop once every stream is drained")

    dump = _command(commands, "dump", "print an aggregate's documents, one JSON object per line",
                    "Read-only: prints every visible document through the read target, sorted by id. On OpenSearch "
                    "it shows what the index has refreshed (within its refresh interval).", "store", "model")
    dump.add_argument("--aggregate", metavar="NAME", required=True, help="aggregate name, e.g. customer")

    search = _command(commands, "search", "full-text search over an aggregate's text fields",
                      "Read-only: documents in which every word occurs, best match first.", "store", "model")
    search.add_argument("--aggregate", metavar="NAME", required=True, help="aggregate name, e.g. lesson")
    search.add_argument("--limit", metavar="N", type=search_limit, default=10,
                        help="at most N documents, 1 to 10000 (default: %(default)s)")
    search.add_argument("query", nargs="+", metavar="WORD", help="words that must all occur, e.g. wonderwall")

    _replay_parser(commands)

    verify = _command(commands, "verify", "compare the documents with the tables; --repair fixes drift",
                      "Scan the tables, derive every document as a replay would, and compare. Read-only unless "
                      "--repair, which writes through the projector's conditional writes.",
                      "store", "model", "table-names", "quarantine")
    verify.add_argument("--aggregate", metavar="NAME", action=Extend, help="only these aggregates (default: all)")
    verify.add_argument("--sample", metavar="FRACTION", type=fraction, default=1.0,
                        help="fraction of documents compared, 0 < F <= 1 (default: %(default)s)")
    verify.add_argument("--repair", action="store_true", help="write the expected documents")
    verify.add_argument("--format", choices=["text", "json"], default="text", help="report format (default: %(default)s)")
    verify.add_argument("--segments", metavar="N", type=segments, default=DEFAULT_SEGMENTS,
                        help="parallel scan segments per table (default: %(default)s)")
    verify.add_argument("--threads", "--workers", dest="threads", metavar="N", type=positive_int, default=2,
                        help="scan threads (--workers is the old spelling) (default: %(default)s)")

    sweep = _command(commands, "sweep", "purge tombstones older than a horizon",
                     "Tombstones remember deletes so late stream records cannot resurrect items; once older than "
                     "the stream's 24 h retention they can go.", "store", "model")
    sweep.add_argument("--older-than", metavar="DURATION", default="48h", help="horizon, e.g. 48h or 3d (default: %(default)s)")
    sweep.add_argument("--force", action="store_true", help="allow a horizon shorter than the 24 h stream retention")

    status = _command(commands, "status", "one view of health: targets, counts, checkpoints, quarantine",
                      "Read-only. Per aggregate: read and write targets, documents and tombstones, the newest change "
                      "the documents reflect; then checkpoints and quarantined records by reason.",
                      "store", "model", "quarantine", "checkpoints")
    status.add_argument("--format", choices=["text", "json"], default="text", help="report format (default: %(default)s)")

    _quarantine_parser(commands)
    _deploy_parser(commands)
    _dashboards_parser(commands)
    _plan_parser(commands)
    return parser


def _replay_parser(commands) -> None:
    replay = _command(commands, "replay", "rebuild aggregates from table scans or exports",
                      "Scan the tables in parallel segments and write every document through the conditional-write "
                      "path; resumable. --rebuild writes a new target and switches readers atomically.",
                      "store", "model", "table-names", "quarantine", "checkpoints")
    replay.add_argument("--aggregate", metavar="NAME", action=Extend, help="only these aggregates (default: all)")
    replay.add_argument("--segments", metavar="N", type=segments, default=DEFAULT_SEGMENTS,
                        help="parallel scan segments per table (default: %(default)s)")
    replay.add_argument("--workers", metavar="N", type=positive_int, default=1,
                        help="worker processes sharing the checkpoints (default: %(default)s)")
    replay.add_argument("--page-size", metavar="N", type=positive_int, help="items per scan page (default: 1 MB pages)")
    replay.add_argument("--resume", action="store_true", help="continue the last run from its checkpoints")
    replay.add_argument("--rebuild", action="store_true", help="into a new target, then switch readers atomically")
    replay.add_argument("--abort", action="store_true", help="undo an unfinished --rebuild (readers never left the old "
                        "target) and drop every target of the aggregate nothing names")
    replay.add_argument("--wait", action="store_true", help="with --rebuild or --abort: wait for a rebuild of the "
                        "aggregate that is running instead of refusing (exit 2, naming it)")
    replay.add_argument("--keep-old", action="store_true", help="with --rebuild: keep the old target after the switch")
    replay.add_argument("--settle", metavar="SECONDS", type=seconds,
                        help=f"with --rebuild: pause between registering the new target and T_start (default: {DEFAULT_SETTLE_S})")
    replay.add_argument("--check-count", "--sample", dest="check_count", metavar="N", type=positive_int,
                        help=f"with --rebuild: documents re-derived for the check (--sample is the old spelling) "
                        f"(default: {DEFAULT_CHECK_COUNT})")
    replay.add_argument("--count-tolerance", metavar="FRACTION", type=share,
                        help="with --rebuild: allowed document-count drift from live writes (default: 0)")
    replay.add_argument("--from-export", metavar="[TABLE=]s3://BUCKET/PREFIX", action=Extend,
                        help="replay from DynamoDB exports instead of scanning (repeat or comma-separate)")
    replay.add_argument("--export-time", metavar="ISO8601", help="with --from-export: export time when there is no manifest")
    replay.add_argument("--no-progress", action="store_true", help="no progress bars")


def _quarantine_parser(commands) -> None:
    quarantine = _command(commands, "quarantine", "inspect, re-drive or drop quarantined records",
                          "Records that cannot be projected are kept whole (undeclared attributes removed) with the "
                          "reason; after a fix, retry projects the item as it is now.",
                          "store", "model", "table-names", "quarantine")
    actions = quarantine.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per quarantined record", epilog=EXIT_CODES,
                                 description="Read-only: entry id, event id and reason, one per line.")
    _common(listing, "store", "model", "table-names", "quarantine")
    listing.add_argument("--table", metavar="TABLE", help="only this source table")
    for name, text in (
        ("show", "the entry: the record's identity, reason and declared attributes (read-only)"),
        ("retry", "project the item again as it is now; removed from the quarantine if that works"),
        ("drop", "delete the entry for good"),
    ):
        action = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".", epilog=EXIT_CODES)
        _common(action, "store", "model", "table-names", "quarantine")
        action.add_argument("entry", help="entry id as `list` prints it (table/position)")


def _deploy_parser(commands) -> None:
    from dynafold.deploy.template import DEFAULT_ARCH, DEFAULT_PACKAGE

    deploy = commands.add_parser("deploy", help="deployment files generated from a model",
                                 description="A SAM template, its parameter values and the Lambda package, from the model.", epilog=EXIT_CODES)
    actions = deploy.add_subparsers(dest="action", metavar="ACTION", required=True)
    template = actions.add_parser("template", help="a SAM template for the model", epilog=EXIT_CODES,
                                  description="One stream function per source table, least-privilege IAM, replay "
                                  "state machine, re-drive, alarms and a dashboard.")
    _common(template)
    template.add_argument("--model", metavar="MODULE:ATTR", required=True, help="the model, e.g. myapp.views:MODEL")
    template.add_argument("--out", metavar="FILE", required=True, help="file to write, e.g. template.yaml")
    template.add_argument("--store-service", choices=["es", "aoss"], default="es",
                          help="OpenSearch Service domain (es) or Serverless (aoss) (default: %(default)s)")
    template.add_argument("--code-uri", metavar="ZIP", default=DEFAULT_PACKAGE,
                          help="the zip `deploy package --out` wrote, from the current directory (the template names "
                          "it from its own directory), or an s3:// URI (default: %(default)s)")
    package = actions.add_parser("package", help="the Lambda zip: the installed dynafold, its locked dependencies, "
                                 "your model's package and your requirements", epilog=EXIT_CODES,
                                 description="Installs the engine's hash-pinned lock and your requirements (resolved by "
                                 "pip for Lambda's CPython 3.13 and architecture, constrained by the lock) and adds "
                                 "dynafold and the model's package; the zip's bytes depend on its files only.")
    _common(package)
    package.add_argument("--model", metavar="MODULE:ATTR", required=True,
                         help="the model, e.g. myapp.views:MODEL; its package goes into the zip")
    package.add_argument("--requirements", metavar="FILE", help="your model's own requirements (pip's format)")
    package.add_argument("--out", metavar="ZIP", default=DEFAULT_PACKAGE,
                         help="the zip to write; the template's --code-uri (default: %(default)s)")
    package.add_argument("--arch", choices=["arm64", "x86_64"], default=DEFAULT_ARCH,
                         help="Lambda architecture, as the template's Architecture parameter (default: %(default)s)")
    package.add_argument("--lock", metavar="FILE", help="the engine's lock (default: the one shipped with dynafold, "
                         "which its tests ran)")
    lock = actions.add_parser("lock", help="re-resolve the engine's lock from the installed dynafold's requirements",
                              epilog=EXIT_CODES, description="pip resolves dynafold's runtime requirements for "
                              "CPython 3.13 on both Lambda architectures and writes every wheel's SHA-256.")
    _common(lock)
    lock.add_argument("--out", metavar="FILE", required=True, help="the lock to write (for deploy package --lock)")
    values = actions.add_parser("parameters", help="a stack's parameter values, read from this region's tables",
                                description="Stream ARNs of the deployed tables (NEW_AND_OLD_IMAGES checked) as "
                                "Key=Value lines for sam deploy --parameter-overrides.", epilog=EXIT_CODES)
    _common(values, "table-names")
    values.add_argument("--model", metavar="MODULE:ATTR", required=True, help="the model")
    values.add_argument("--store-url", metavar="URL", required=True, help="the store URL the functions use")
    values.add_argument("--domain-arn", metavar="ARN", required=True, help="ARN of the OpenSearch Service domain")
    values.add_argument("--out", metavar="FILE", required=True, help="file of Key=Value lines")


def _dashboards_parser(commands) -> None:
    dashboards = commands.add_parser("dashboards", help="OpenSearch Dashboards saved objects generated from a model",
                                     description="Index patterns, starter visualizations and dashboards for the "
                                     "model's aggregates, as a file Dashboards imports.", epilog=EXIT_CODES)
    actions = dashboards.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write the saved objects as NDJSON", epilog=EXIT_CODES,
                                description="Per aggregate: an index pattern on its alias (time field, number and "
                                "date formats, the engine's bookkeeping filtered out), a count over time, the top "
                                "values of its keyword fields, a map of each location, and a dashboard of them. "
                                "Import in Dashboards: Management, Saved objects, Import.")
    _common(export)
    export.add_argument("--model", metavar="MODULE:ATTR", required=True, help="the model, e.g. myapp.views:MODEL")
    export.add_argument("--out", metavar="FILE", required=True, help="file to write, e.g. dashboards.ndjson")
    export.add_argument("--prefix", metavar="PREFIX", type=index_prefix, default="",
                        help="the prefix= of the OpenSearch store URL, if it has one (default: none)")


def _plan_parser(commands) -> None:
    from dynafold.deploy.capacity import Limits, Measured

    plan = commands.add_parser(
        "plan-rebuild", help="time and cost of rebuilding a large table in AWS (nothing is called)",
        description="The generated state machine's rebuild of ITEMS items: segments, throughput, the limit that "
        "sets it, time and cost. The per-item figures depend on the model: measure yours with "
        "`python -m benchmarks.rebuild` and give them here.", epilog=EXIT_CODES)
    _common(plan)
    plan.add_argument("--items", metavar="N", type=positive_int, required=True, help="items the rebuild scans")
    plan.add_argument("--item-bytes", metavar="B", type=positive_number, required=True,
                      help="average item size as DynamoDB counts it")
    plan.add_argument("--segments", metavar="N", type=positive_int,
                      help="scan segments (one Lambda each; default: the fewest that reach the slowest shared limit)")
    plan.add_argument("--memory-mb", metavar="MB", type=positive_int, default=3008,
                      help="the replay function's memory (default: %(default)s, the template's)")
    plan.add_argument("--arch", choices=["arm64", "x86_64"], default="arm64", help="(default: %(default)s)")
    figures = (("--cpu-us-per-item", "cpu_us_per_item", Measured, "the segment worker's CPU per item"),
               ("--domain-cpu-us-per-item", "domain_cpu_us_per_item", Measured,
                "the domain's CPU per item, one copy"),
               ("--sent-per-read-byte", "sent_bytes_per_read_byte", Measured, "bytes sent to the domain per byte read"),
               ("--measured-item-bytes", "item_bytes", Measured, "the item size the CPU figures were measured at"),
               ("--scan-mb-per-s", "scan_mb_per_s_per_segment", Limits, "one segment's scan rate"),
               ("--table-read-units", "table_read_units_per_s", Limits, "the table's read units per second"))
    for flag, name, holder, text in figures:
        plan.add_argument(flag, metavar="X", type=positive_number, default=getattr(holder(), name),
                          help=f"{text} (default: %(default)s)")
    plan.add_argument("--data-nodes", metavar="N", type=positive_int, default=Limits().data_nodes,
                      help="the domain's data nodes (default: %(default)s)")
    plan.add_argument("--vcpus-per-node", metavar="N", type=positive_int, default=Limits().vcpus_per_node,
                      help="vCPUs of one data node (default: %(default)s)")
    plan.add_argument("--replicas", metavar="N", type=non_negative_int, default=Limits().replicas,
                      help="replicas of each shard, each indexing every document again (default: %(default)s)")
    plan.add_argument("--format", choices=["text", "json"], default="text")
    plan.add_argument("--node-mb-per-s", metavar="X", help=argparse.SUPPRESS)  # the model before CPU figures


def validate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """Refuse combinations that cannot mean anything (exit 2, with the subcommand's usage), then fill
    the defaults they hid."""
    if args.command == "replay":
        parser = _subcommand(parser, "replay")
        given = (("--keep-old", args.keep_old or None), ("--settle", args.settle), ("--check-count", args.check_count),
                 ("--count-tolerance", args.count_tolerance))
        rebuild_only = [flag for flag, value in given if value is not None]
        if args.abort and (args.rebuild or args.resume or args.from_export):
            parser.error("replay --abort undoes an unfinished rebuild: it takes no --rebuild, --resume or --from-export")
        if rebuild_only and not args.rebuild:
            parser.error(f"replay {' '.join(rebuild_only)} only applies with --rebuild")
        if args.from_export and (args.rebuild or args.resume):
            parser.error("replay --from-export reads an export once: it takes no --rebuild or --resume")
        if args.export_time and not args.from_export:
            parser.error("replay --export-time only applies with --from-export")
        if args.wait and not (args.rebuild or args.abort):
            parser.error("replay --wait only applies with --rebuild or --abort")
        args.settle = DEFAULT_SETTLE_S if args.settle is None else args.settle
        args.check_count = DEFAULT_CHECK_COUNT if args.check_count is None else args.check_count
        args.count_tolerance = 0.0 if args.count_tolerance is None else args.count_tolerance
    if args.command == "plan-rebuild" and args.node_mb_per_s is not None:
        _subcommand(parser, "plan-rebuild").error(
            "plan-rebuild --node-mb-per-s is gone: the domain is now sized by CPU, measured; give "
            "--domain-cpu-us-per-item, --vcpus-per-node and --replicas instead")
    return args


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return action.choices[name]
    return parser


def parse(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The parsed command line; an option no parser knows is refused with the usage of the subcommand it
    was given to (argparse's own top-level refusal shows the top-level usage, which lists no option)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _leaf(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    return validate(parser, args)


def _leaf(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (nested) subcommand ``args`` were parsed for."""
    for dest in ("command", "action"):
        name = getattr(args, dest, None)
        chosen = next((action.choices[name] for action in parser._actions
                       if isinstance(action, argparse._SubParsersAction) and name in action.choices), None)
        if chosen is None:
            return parser
        parser = chosen
    return parser
