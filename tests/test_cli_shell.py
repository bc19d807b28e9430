"""The command line as one shell: one exit code per kind of failure, options where users type them,
impossible combinations refused, read commands that write nothing, logging and configuration.

Each test names the defect of the 'One shell' issue it pins down.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import time

import pytest

from dynafold.cli import build_parser, main
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.sqlite.quarantine import SQLiteQuarantine
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.sample import MODEL
from tests.support.records import customer, order

ALL_LEAVES = [["demo"], ["project"], ["dump"], ["search"], ["status"], ["replay"], ["verify"], ["sweep"],
              ["quarantine", "list"], ["quarantine", "show"], ["quarantine", "retry"], ["quarantine", "drop"],
              ["deploy", "template"], ["deploy", "parameters"], ["deploy", "package"], ["deploy", "lock"],
              ["dashboards", "export"], ["plan-rebuild"]]


# exit codes: the same condition, the same code, whatever the command


@pytest.fixture
def unreachable_aws(monkeypatch):
    """An endpoint where nothing listens, tried once, quickly."""
    for name, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x"), ("AWS_DEFAULT_REGION", "us-east-1"),
                        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("DYNAFOLD_AWS_MAX_ATTEMPTS", "1"),
                        ("DYNAFOLD_AWS_CONNECT_TIMEOUT_S", "0.5")):
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("command", [["project", "--until-idle"], ["replay", "--no-progress"], ["verify"]],
                         ids=lambda c: c[0])
def test_aws_unreachable_exits_3_from_every_command(command, unreachable_aws, tmp_path, capsys):
    SQLiteStore(f"sqlite:///{tmp_path}/v.db")
    assert main([*command, "--store", f"sqlite:///{tmp_path}/v.db"]) == 3
    assert "unreachable" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["project", "--until-idle"], ["replay", "--no-progress"], ["verify"]],
                         ids=lambda c: c[0])
def test_a_missing_table_exits_2_and_says_not_found_from_every_command(command, aws, tmp_path, capsys):
    SQLiteStore(f"sqlite:///{tmp_path}/v.db")
    assert main([*command, "--store", f"sqlite:///{tmp_path}/v.db"]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "ResourceNotFoundException" in err
    assert re.search(r"[Tt]able:? '?(customers|lessons|orders|songs|subscriptions)'? ", err), f"not named: {err}"
    assert "--resume" not in err and "unreachable" not in err


def test_access_denied_is_a_configuration_error_not_unreachable():
    from botocore.exceptions import ClientError

    from dynafold.projector.errors import classify

    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Scan")
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Scan")
    assert classify(denied)[0] == 2 and "access denied" in classify(denied)[1]
    assert classify(throttled)[0] == 3


def test_a_bug_exits_70_with_its_traceback_not_2(monkeypatch, capsys):
    from dynafold.cli import commands

    def broken(args):
        return {}["no such key"]

    monkeypatch.setitem(commands.COMMANDS, "dump", broken)
    assert main(["dump", "--store", "memory://", "--aggregate", "customer"]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError" in err and "internal error" in err


def test_an_unknown_aggregate_stays_a_usage_error(capsys):
    assert main(["dump", "--store", "memory://", "--aggregate", "invoice"]) == 2
    assert "unknown aggregate 'invoice'" in capsys.readouterr().err


# options where users type them; help; version


@pytest.mark.parametrize("order_", ["after", "before"])
def test_quarantine_options_are_accepted_after_and_before_the_action(order_, tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/v.db"
    SQLiteStore(url)
    SQLiteQuarantine(url)
    words = ["quarantine", "list", "--store", url] if order_ == "after" else ["quarantine", "--store", url, "list"]
    assert main(words) == 0
    assert "0 quarantined record(s)" in capsys.readouterr().err


def _leaf_parsers():
    import argparse

    def walk(parser, words):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield words, parser
        for sub in subs:
            for name, child in sub.choices.items():
                yield from walk(child, [*words, name])

    return dict((" ".join(words), parser) for words, parser in walk(build_parser(), []))


def test_every_subcommand_is_covered():
    assert sorted(_leaf_parsers()) == sorted(" ".join(words) for words in ALL_LEAVES)


@pytest.mark.parametrize("words", ALL_LEAVES, ids=" ".join)
def test_every_subcommand_has_a_description_and_named_metavars(words, capsys):
    parser = _leaf_parsers()[" ".join(words)]
    assert parser.description, f"dynafold {' '.join(words)} has no description"
    unnamed = [a.option_strings[0] for a in parser._actions
               if a.option_strings and a.nargs != 0 and a.metavar is None and a.choices is None]
    assert unnamed == [], f"generated metavars in dynafold {' '.join(words)}"
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*words, "--help"])
    assert exit_.value.code == 0 and parser.description.split()[0] in capsys.readouterr().out


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert re.match(r"dynafold \d", capsys.readouterr().out)


# one meaning per name


def test_sample_is_a_fraction_and_counts_and_threads_have_their_own_names():
    parse = build_parser().parse_args
    assert parse(["verify", "--sample", "0.5"]).sample == 0.5
    with pytest.raises(SystemExit):
        parse(["verify", "--sample", "20"])
    assert parse(["replay", "--rebuild", "--check-count", "7"]).check_count == 7
    assert parse(["replay", "--rebuild", "--sample", "7"]).check_count == 7, "the old spelling stays an alias"
    assert parse(["verify", "--threads", "3"]).threads == 3
    assert parse(["verify", "--workers", "3"]).threads == 3, "the old spelling stays an alias"


def test_list_options_accept_repetition_and_commas_alike():
    parse = build_parser().parse_args
    assert parse(["project", "--tables", "orders,customers", "--tables", "songs"]).tables == ["orders", "customers", "songs"]
    exports = parse(["replay", "--from-export", "s3://b/one", "--from-export", "orders=s3://b/two"]).from_export
    assert exports == ["s3://b/one", "orders=s3://b/two"]
    assert parse(["replay", "--aggregate", "customer,lesson"]).aggregate == ["customer", "lesson"]
    assert parse(["replay", "--aggregate", "customer,lesson", "--aggregate", "lesson"]).aggregate == \
        ["customer", "lesson"], "a name given twice is replayed once"


@pytest.mark.parametrize("words, complaint", [
    (["replay", "--abort", "--rebuild"], "--abort"),
    (["replay", "--abort", "--resume"], "--abort"),
    (["replay", "--keep-old"], "only applies with --rebuild"),
    (["replay", "--settle", "0"], "only applies with --rebuild"),
    (["replay", "--check-count", "3"], "only applies with --rebuild"),
    (["replay", "--from-export", "s3://b/p", "--rebuild"], "--from-export"),
    (["replay", "--export-time", "2026-01-01T00:00:00Z"], "--export-time"),
    (["replay", "--segments", "0"], "positive"),
    (["verify", "--segments", "0"], "positive"),
    (["replay", "--workers", "-1"], "positive"),
    (["project", "--batch-size", "0"], "between 1 and 1000"),
    (["project", "--batch-size", "1001"], "GetRecords limit"),
])
def test_impossible_combinations_are_usage_errors(words, complaint, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(words)
    assert exit_.value.code == 2
    assert complaint in capsys.readouterr().err


# read commands write nothing


@pytest.mark.parametrize("words", [["dump", "--aggregate", "customer"], ["search", "--aggregate", "customer", "x"],
                                   ["status"], ["quarantine", "list"]], ids=lambda w: w[0] + (w[1] if w[0] == "quarantine" else ""))
def test_read_commands_create_no_file_or_directory(words, tmp_path, capsys):
    where = tmp_path / "nonexistent" / "dir"
    assert main([*words, "--store", f"sqlite:///{where}/x.db"]) == 2
    assert "no SQLite file" in capsys.readouterr().err
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("words", [["sweep"], ["verify"], ["replay", "--abort"], ["quarantine", "drop", "t/1"],
                                   ["quarantine", "retry", "t/1"]], ids=" ".join)
def test_commands_that_change_existing_views_create_no_file_at_a_mistyped_path(words, tmp_path, capsys):
    where = tmp_path / "typo"
    assert main([*words, "--store", f"sqlite:///{where}/views.db"]) == 2
    assert "no SQLite file" in capsys.readouterr().err
    assert not where.exists()


def test_dump_and_search_never_refresh_an_opensearch_index(osmem_url, monkeypatch, capsys):
    from opensearchpy.client.indices import IndicesClient

    from dynafold.projector.stores import open_store

    url = osmem_url.replace("http://", "opensearch+http://") + "?prefix=ro-"
    store = open_store(url)
    projector = Projector(MODEL, store, MemoryQuarantine())
    assert projector.project([customer("c1", name="Ada")]).failed_from is None
    refreshed = []
    monkeypatch.setattr(IndicesClient, "refresh", lambda self, *a, **k: refreshed.append(k) or {})
    assert main(["dump", "--store", url, "--aggregate", "customer"]) == 0
    assert main(["search", "--store", url, "--aggregate", "customer", "c1@example.com"]) == 0
    out = capsys.readouterr().out
    assert '"customer_id":"c1"' in out.replace(" ", "")
    assert refreshed == []


# logging, configuration, model


def test_cli_log_lines_are_formatted_and_carry_only_allowlisted_fields(capsys):
    main(["dump", "--store", "memory://", "--aggregate", "customer"])
    capsys.readouterr()
    logging.getLogger("dynafold.projector").warning(
        "record quarantined", extra={"table": "orders", "reason": "bad total", "email": "ada@example.com"})
    err = capsys.readouterr().err
    assert err.strip() == "dynafold: WARNING: record quarantined (table=orders, reason=bad total)"


def test_only_the_configuration_module_reads_the_environment():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    readers = []
    for package in ("domain", "projector", "replay", "deploy", "dynafold"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                        isinstance(node.value, ast.Name) and node.value.id == "os":
                    readers.append(f"{path.relative_to(root)}:{node.lineno}")
    allowed = {"projector/config.py", "dynafold/cli/demo.py", "dynafold/testing/dynamo.py"}  # moto's fake credentials
    assert {r.split(":")[0] for r in readers} <= allowed, readers


def test_every_variable_is_documented_in_the_readme():
    from pathlib import Path

    from dynafold.projector.config import VARIABLES

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert [v.name for v in VARIABLES if f"`{v.name}`" not in readme] == []


def test_no_model_is_a_usage_error_never_the_sample(monkeypatch, capsys):
    monkeypatch.delenv("DYNAFOLD_MODEL")
    assert main(["dump", "--store", "memory://", "--aggregate", "customer"]) == 2
    assert "no model" in capsys.readouterr().err


def test_demo_refuses_to_delete_a_file_it_did_not_write(tmp_path, capsys):
    precious = tmp_path / "precious.db"
    precious.write_bytes(b"someone's data")
    assert main(["demo", "--db", str(precious), "--customers", "3"]) == 2
    assert "not a file an earlier demo wrote" in capsys.readouterr().err
    assert precious.read_bytes() == b"someone's data"


def test_progress_bars_and_warnings_do_not_garble_each_other(capsys):
    from dynafold.cli.output import bars_with_logs, configure_logging
    from dynafold.replay.progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    configure_logging("WARNING")
    terminal = Terminal()
    with bars_with_logs():
        handler = logging.getLogger("dynafold").handlers[-1]
        handler.stream = terminal  # where tqdm.write prints the line
        board = Progress({"orders": 10}, terminal, interval_s=0)
        board.update({"orders": 3})
        logging.getLogger("dynafold.projector").warning("record quarantined", extra={"table": "orders"})
        board.update({"orders": 10}, final=True)
    lines = terminal.getvalue().replace("\r", "\n").split("\n")
    assert "dynafold: WARNING: record quarantined (table=orders)" in lines, terminal.getvalue()


# status


def test_status_reports_targets_counts_checkpoints_and_quarantine(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/v.db"
    store, quarantine = SQLiteStore(url), SQLiteQuarantine(url)
    projector = Projector(MODEL, store, quarantine)
    report = projector.project([customer("c1", seq=1), customer("c2", name="Bob", seq=2),
                                order("c1", "o1", total="9.50", seq=3),
                                {"eventName": "INSERT", "eventID": "bad", "dynamodb": {"SequenceNumber": "4"}}])
    assert report.failed_from is None and len(report.quarantined) == 1
    projector.project([customer("c2", seq=5, created=1_790_000_001, remove=True)])  # a tombstone document
    from dynafold.projector.stores.sqlite.checkpoints import SQLiteCheckpoints

    SQLiteCheckpoints(url).put("stream/customers/shard-1", "42")
    assert main(["status", "--store", url, "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    customer_status = status["aggregates"]["customer"]
    assert customer_status["read"] == "customer_v1" and customer_status["write"] == ["customer_v1"]
    assert customer_status["documents"] == 1 and customer_status["tombstones"] == 1
    assert customer_status["newest_change"]["at"].startswith("20")
    assert status["checkpoints"]["entries"] == {"stream/customers/shard-1": "42"}
    assert status["quarantine"]["total"] == 1 and sum(status["quarantine"]["by_reason"].values()) == 1
    (reason,) = status["quarantine"]["by_reason"]
    assert "eventSourceARN is missing" in reason and "eventID" not in reason, "grouped by cause, not by record"
    assert main(["status", "--store", url]) == 0
    text = capsys.readouterr().out
    assert "customer: read customer_v1" in text and "1 documents, 1 tombstones" in text
    assert customer_status["differences"] == {} and "differs" not in text


def test_status_says_when_a_target_the_control_document_names_is_gone(osmem_url, tmp_path, capsys):
    from dynafold.projector.stores import open_store

    url = osmem_url.replace("http://", "opensearch+http://") + "?prefix=gone-"
    store = open_store(url)
    store.prepare(list(MODEL.aggregates.values()))
    store.drop_target("lesson_v1")
    assert main(["status", "--store", url, "--format", "json", "--quarantine", f"sqlite:///{tmp_path}/q.db"]) == 1
    lesson = json.loads(capsys.readouterr().out)["aggregates"]["lesson"]
    assert lesson["missing"] == ["lesson_v1"] and lesson["differences"] == {}, "a lost target is lost, not different"
    assert "recover with `dynafold replay --aggregate lesson`" in lesson["note"]


def test_status_counts_one_cause_once_whether_a_stream_or_a_scan_quarantined_it(dynamodb, tmp_path, capsys):
    """Review finding: a scan entry's name (``seq key:{"customer_id": {"S": …}}``) holds ``": "``, and the
    reason was cut inside it, so one cause showed as two groups, one of them ``customers: {"S"``."""
    from dynafold.projector.aws.lookup import DynamoLookup
    from dynafold.projector.stores.memory import MemoryCheckpoints
    from dynafold.replay.job import ReplayJob

    url = f"sqlite:///{tmp_path}/v.db"
    store, quarantine = SQLiteStore(url), SQLiteQuarantine(url)
    poisoned = customer("p1", seq=1)
    poisoned["dynamodb"]["NewImage"]["name"] = {"N": "1"}
    assert len(Projector(MODEL, store, quarantine).project([poisoned]).quarantined) == 1
    dynamodb.put_item(TableName="customers", Item={"customer_id": {"S": "p2"}, "name": {"N": "1"}})
    job = ReplayJob(MODEL, store, quarantine, dynamodb, MemoryCheckpoints(),
                    lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    assert job.run("customer").quarantined == 1
    assert main(["status", "--store", url, "--format", "json"]) == 0
    by_reason = json.loads(capsys.readouterr().out)["quarantine"]["by_reason"]
    assert len(by_reason) == 1 and list(by_reason.values()) == [2], by_reason
    (reason,) = by_reason
    assert reason.startswith("customers: ") and "name" in reason and '{"S"' not in reason


def test_status_shows_the_newest_stream_change_not_a_replays_stamp(dynamodb, tmp_path, capsys):
    """After a rebuild every slot holds the scan's stamp (T_start - 1 s), which status showed as the newest
    change reflected: a view a day behind its stream looked current."""
    from dynafold.projector.aws.lookup import DynamoLookup
    from dynafold.projector.stores.memory import MemoryCheckpoints
    from dynafold.replay.job import ReplayJob
    from dynafold.replay.rebuild import rebuild

    url = f"sqlite:///{tmp_path}/v.db"
    store, quarantine = SQLiteStore(url), SQLiteQuarantine(url)
    streamed_at = 1_700_000_000  # 2023-11-14T22:13:20Z
    Projector(MODEL, store, quarantine).project([customer("c1", seq=1, created=streamed_at)])
    dynamodb.put_item(TableName="customers", Item={"customer_id": {"S": "c1"}, "name": {"S": "Ada"}})
    dynamodb.put_item(TableName="customers", Item={"customer_id": {"S": "c2"}, "name": {"S": "Grace"}})
    job = ReplayJob(MODEL, store, quarantine, dynamodb, MemoryCheckpoints(),
                    lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    rebuild(job, "customer", settle_s=0)
    assert main(["status", "--store", url, "--format", "json"]) == 0
    newest = json.loads(capsys.readouterr().out)["aggregates"]["customer"]["newest_change"]
    assert newest is None, "the rebuilt target holds no stream record's version"
    later = int(time.time()) + 5  # newer than the rebuild's reads, so it lands
    Projector(MODEL, store, quarantine).project([customer("c2", seq=2, created=later, name="Grace Hopper")])
    assert main(["status", "--store", url, "--format", "json"]) == 0
    newest = json.loads(capsys.readouterr().out)["aggregates"]["customer"]["newest_change"]
    assert newest["at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(later))


def test_verify_compares_documents_not_tombstones(dynamodb, tmp_path, capsys):
    """verify said '1,000 documents compared' where status said 989: it counted tombstone documents too."""
    from dynafold.testing.sample_writer import SampleWriter

    url = f"sqlite:///{tmp_path}/v.db"
    writer = SampleWriter(dynamodb)
    for i in range(5):
        writer.put("customers", {"customer_id": f"c{i}", "name": f"C{i}", "email": f"c{i}@x.io"})
    assert main(["replay", "--store", url, "--aggregate", "customer", "--no-progress"]) == 0
    later = int(time.time()) + 5  # newer than the replay's reads
    Projector(MODEL, SQLiteStore(url), SQLiteQuarantine(url)).project(
        [customer("c3", seq=10, remove=True, created=later), customer("c4", seq=11, remove=True, created=later)])
    dynamodb.delete_item(TableName="customers", Key={"customer_id": {"S": "c3"}})
    dynamodb.delete_item(TableName="customers", Key={"customer_id": {"S": "c4"}})
    capsys.readouterr()
    assert main(["status", "--store", url, "--format", "json"]) == 0
    counted = json.loads(capsys.readouterr().out)["aggregates"]["customer"]
    assert (counted["documents"], counted["tombstones"]) == (3, 2)
    assert main(["verify", "--store", url, "--aggregate", "customer"]) == 0
    assert "customer: 3 documents compared, 0 drifted" in capsys.readouterr().out


def test_verify_takes_quarantine_and_a_usage_error_shows_its_own_usage(tmp_path, capsys):
    """verify refused --quarantine (every other command that reads the quarantine's URL takes it) and, like
    every subcommand, answered an unknown option with the top-level usage."""
    args = build_parser().parse_args(["verify", "--quarantine", f"sqlite:///{tmp_path}/q.db"])
    assert args.quarantine == f"sqlite:///{tmp_path}/q.db"
    for words, usage in ((["verify", "--bogus"], "usage: dynafold verify"),
                         (["status", "--bogus"], "usage: dynafold status"),
                         (["quarantine", "list", "--bogus"], "usage: dynafold quarantine list")):
        with pytest.raises(SystemExit) as exit_:
            main(words)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(usage) and "unrecognized arguments: --bogus" in err, err


def test_python_dash_m_dynafold_is_the_command():
    result = subprocess.run([sys.executable, "-m", "dynafold", "--version"], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=os.getcwd()))
    assert result.returncode == 0 and result.stdout.startswith("dynafold ")


# review findings: ordinary failures are never reported as bugs (exit 70)


def test_a_closed_pipe_ends_the_command_quietly(monkeypatch, capsys):
    class ClosedPipe(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    store = "memory://"
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    monkeypatch.setattr("dynafold.cli._quiet_stdout", lambda: None)
    from dynafold.cli import commands

    def dump_something(args):
        sys.stdout.write("{}\n")
        return 0

    monkeypatch.setitem(commands.COMMANDS, "dump", dump_something)
    assert main(["dump", "--store", store, "--aggregate", "customer"]) == 0
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("words, variable, complaint", [
    (["deploy", "template", "--model", "dynafold.sample:MODEL", "--out", "/nonexistent/dir/t.yaml"], None, "cannot use"),
    (["dashboards", "export", "--model", "dynafold.sample:MODEL", "--out", "/nonexistent/d.ndjson"], None, "cannot use"),
    (["dump", "--store", "memory://", "--aggregate", "customer"], ("DYNAFOLD_LOG_LEVEL", "bogus"), "log level"),
    (["verify", "--store", "memory://"], ("DYNAFOLD_AWS_MAX_ATTEMPTS", "abc"), "DYNAFOLD_AWS_MAX_ATTEMPTS"),
    (["verify", "--store", "memory://"], ("DYNAFOLD_AWS_READ_TIMEOUT_S", "-1"), "must be a positive number"),
    (["sweep", "--store", "memory://", "--older-than", "nan"], None, "finite"),
    (["sweep", "--store", "memory://", "--older-than", "1e400h"], None, "finite"),
    (["dump", "--store", "memory://", "--aggregate", "customer", "--model", ":MODEL"], None, "cannot load model"),
], ids=["unwritable-out", "unwritable-export", "log-level", "max-attempts", "read-timeout", "nan-horizon", "huge-horizon", "empty-module"])
def test_configuration_problems_exit_2_never_70(words, variable, complaint, monkeypatch, capsys):
    if variable:
        monkeypatch.setenv(*variable)
    assert main(words) == 2
    err = capsys.readouterr().err
    assert complaint in err and "Traceback" not in err


def test_a_model_module_that_fails_to_import_is_a_configuration_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "broken_views.py").write_text("raise RuntimeError('the database of plans is not reachable')\n")
    (tmp_path / "typo_views.py").write_text("MODEL = (\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for spec in ("broken_views:MODEL", "typo_views:MODEL"):
        assert main(["dump", "--store", "memory://", "--aggregate", "customer", "--model", spec]) == 2
        err = capsys.readouterr().err
        assert f"cannot load model '{spec}'" in err and "Traceback" not in err


@pytest.mark.parametrize("words", [["replay", "--rebuild", "--settle", "inf"], ["project", "--interval", "nan"],
                                   ["replay", "--segments", "2000000"], ["verify", "--segments", "1000001"]],
                         ids=" ".join)
def test_unbounded_values_are_usage_errors(words):
    with pytest.raises(SystemExit) as exit_:
        main(words)
    assert exit_.value.code == 2


def test_a_replay_usage_error_shows_the_replay_usage(capsys):
    with pytest.raises(SystemExit):
        main(["replay", "--keep-old"])
    assert capsys.readouterr().err.startswith("usage: dynafold replay")


def test_read_commands_refuse_an_sqlite_file_that_is_not_a_views_file(tmp_path, capsys):
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE invoices (id TEXT)")
    for words in (["dump", "--aggregate", "customer"], ["status"], ["search", "--aggregate", "customer", "x"]):
        assert main([*words, "--store", f"sqlite:///{other}"]) == 2
        err = capsys.readouterr().err
        assert "is not a dynafold views file" in err and "Traceback" not in err


def test_search_takes_several_words(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/v.db"
    projector = Projector(MODEL, SQLiteStore(url), MemoryQuarantine())
    projector.project([customer("c1", name="Ada Lovelace"), customer("c2", name="Ada Byron", seq=2)])
    assert main(["search", "--store", url, "--aggregate", "customer", "ada", "lovelace"]) == 0
    found = [json.loads(line)["customer_id"] for line in capsys.readouterr().out.splitlines()]
    assert found == ["c1"]


def test_search_finds_what_people_type_and_refuses_a_query_no_search_box_needs(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/v.db"
    projector = Projector(MODEL, SQLiteStore(url), MemoryQuarantine())
    projector.project([customer("c1", name="Ada Müller"), customer("c2", name="Grace Hopper", seq=2)])
    assert main(["search", "--store", url, "--aggregate", "customer", "muller", "ad"]) == 0
    assert [json.loads(line)["customer_id"] for line in capsys.readouterr().out.splitlines()] == ["c1"]
    assert main(["search", "--store", url, "--aggregate", "customer", "Hoper"]) == 0  # five letters: one typo
    assert [json.loads(line)["customer_id"] for line in capsys.readouterr().out.splitlines()] == ["c2"]
    assert main(["search", "--store", url, "--aggregate", "customer", *["ada"] * 33]) == 2
    err = capsys.readouterr().err
    assert "search query has 33 words; at most 32 are allowed" in err and "Traceback" not in err


def test_deploy_parameters_runs_without_table_names(dynamodb, tmp_path):
    out = tmp_path / "params.txt"
    assert main(["deploy", "parameters", "--model", "dynafold.sample:MODEL", "--store-url", "opensearch+https://h:443",
                 "--domain-arn", "arn:aws:es:us-east-1:123456789012:domain/views", "--out", str(out)]) == 0
    values = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
    assert values and all(":table/" in v and "/stream/" in v for k, v in values.items() if k.endswith("StreamArn"))
    assert any(k.endswith("StreamArn") for k in values), values


def test_verify_quarantines_nothing_and_says_nothing_was_quarantined(dynamodb, tmp_path, capsys):
    """Review finding: read-only verify logged 'record quarantined' for its private replay."""
    dynamodb.put_item(TableName="customers", Item={"customer_id": {"S": "poison"}, "name": {"N": "1"}})
    url = f"sqlite:///{tmp_path}/v.db"
    SQLiteStore(url).prepare(MODEL.aggregates.values())
    main(["verify", "--store", url, "--aggregate", "customer"])
    err = capsys.readouterr().err
    assert "record quarantined" not in err
    assert SQLiteQuarantine(url).list() == []
