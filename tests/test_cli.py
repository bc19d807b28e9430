"""The ``dynafold`` command: help everywhere, meaningful exit codes, project/dump/search/quarantine."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from decimal import Decimal

import pytest

from dynafold.cli import build_parser, main
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores.sqlite.quarantine import SQLiteQuarantine
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.sample import MODEL
from dynafold.testing.sample_writer import SampleWriter
from tests.support import oracle, workload
from tests.support.records import customer, order

SUBCOMMANDS = [["demo"], ["project"], ["dump"], ["search"], ["replay"], ["verify"], ["sweep"], ["quarantine"], ["quarantine", "list"], ["quarantine", "show"],
               ["quarantine", "retry"], ["quarantine", "drop"]]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(words, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*words, "--help"])
    assert exit_.value.code == 0
    assert "usage: dynafold" in capsys.readouterr().out


def test_the_console_script_is_installed():
    result = subprocess.run(["dynafold", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "Exit codes" in result.stdout


def test_an_unknown_store_scheme_is_a_usage_error(capsys):
    assert main(["dump", "--store", "postgres://x", "--aggregate", "customer"]) == 2
    assert "unknown store URL scheme 'postgres'" in capsys.readouterr().err


def test_an_unknown_aggregate_is_a_usage_error(tmp_path, capsys):
    assert main(["dump", "--store", f"sqlite:///{tmp_path}/v.db", "--aggregate", "invoice"]) == 2
    assert "unknown aggregate 'invoice'" in capsys.readouterr().err


def test_project_until_idle_then_dump_and_search(dynamodb, streams, tmp_path, capsys):
    writer = SampleWriter(dynamodb)
    workload.run(writer, random.Random(5), 120)
    writer.put("songs", {"song_id": "s-ww", "title": "Wonderwall", "artist": "Oasis"})
    writer.put("lessons", {"lesson_id": "l-ww", "song_id": "s-ww", "title": "Strumming", "level": "beginner", "instrument": "guitar"})
    url = f"sqlite:///{tmp_path}/views.db"
    assert main(["project", "--store", url, "--until-idle", "--batch-size", "7", "--interval", "0"]) == 0
    err = capsys.readouterr().err
    assert "failed_batches=0" in err and "quarantined=0" in err
    assert main(["dump", "--store", url, "--aggregate", "customer"]) == 0
    lines = capsys.readouterr().out.splitlines()
    docs = [json.loads(line, parse_float=Decimal) for line in lines]
    assert all(list(d)[0] == "_id" and d.pop("_id") == d["customer_id"] for d in docs), "the id first"
    assert [d["customer_id"] for d in docs] == sorted(d["customer_id"] for d in docs)
    expected = oracle.expected({t: writer.scan(t) for t in ("customers", "orders", "subscriptions", "songs", "lessons")})
    assert oracle.normalized({d["customer_id"]: d for d in docs}) == oracle.normalized(expected["customer"])
    assert main(["search", "--store", url, "--aggregate", "lesson", "wonderwall"]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [h["lesson_id"] for h in hits] == ["l-ww"]
    assert "dynafold" not in hits[0]
    writer.update("songs", {"song_id": "s-ww"}, {"title": "Champagne Supernova"})
    assert main(["project", "--store", url, "--until-idle", "--interval", "0"]) == 0
    capsys.readouterr()
    assert main(["search", "--store", url, "--aggregate", "lesson", "supernova"]) == 0
    assert [json.loads(line)["lesson_id"] for line in capsys.readouterr().out.splitlines()] == ["l-ww"]


def test_quarantine_list_show_retry_drop(dynamodb, tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/views.db"
    writer = SampleWriter(dynamodb)
    dynamodb.put_item(TableName="orders", Item={"customer_id": {"S": "c1"}, "order_id": {"S": "o1"},
                                                "total": {"S": "ten euros"}, "currency": {"S": "EUR"}})
    bad = order("c1", "o1", seq=1)
    bad["dynamodb"]["NewImage"]["total"] = {"S": "ten euros"}
    worse = customer("c2", seq=2)
    worse["dynamodb"]["ApproximateCreationDateTime"] = 1_790_000_000_000
    Projector(MODEL, SQLiteStore(url), SQLiteQuarantine(url)).project([bad, worse, customer("c1", seq=3)])
    assert main(["quarantine", "--store", url, "list"]) == 0
    out = capsys.readouterr().out
    assert "orders/100000000000000000001" in out and "must be N, not S" in out
    assert "customers/100000000000000000002" in out and "milliseconds" in out
    assert main(["quarantine", "--store", url, "show", "orders/100000000000000000001"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["raw"]["dynamodb"]["NewImage"]["total"] == {"S": "ten euros"}
    assert main(["quarantine", "--store", url, "retry", "orders/100000000000000000001"]) == 1
    assert "still fails" in capsys.readouterr().err
    assert [e.id for e in SQLiteQuarantine(url).list()] == ["customers/100000000000000000002", "orders/100000000000000000001"]
    writer.put("orders", {"customer_id": "c1", "order_id": "o1", "status": "paid", "total": Decimal("10.00"), "currency": "EUR"})
    assert main(["quarantine", "--store", url, "retry", "orders/100000000000000000001"]) == 0
    assert "removed from the quarantine" in capsys.readouterr().err
    assert SQLiteStore(url).get("customer", "c1")["orders"][0]["total"] == 10
    assert main(["quarantine", "--store", url, "retry", "customers/100000000000000000002"]) == 1
    assert "milliseconds" in capsys.readouterr().err, "a record malformed in itself stays quarantined"
    assert main(["quarantine", "--store", url, "drop", "customers/100000000000000000002"]) == 0
    assert main(["quarantine", "--store", url, "show", "customers/100000000000000000002"]) == 1
    capsys.readouterr()
    assert main(["quarantine", "--store", url, "list"]) == 0
    assert capsys.readouterr().out == ""


def test_a_retried_old_entry_never_brings_back_an_item_deleted_and_swept_since(dynamodb, tmp_path):
    """Review finding: re-drive re-applied the record's historical image after the sweep had
    dropped the tombstone that made it stale, resurrecting a deleted order."""
    from dynafold.projector.aws.lookup import DynamoLookup
    from dynafold.projector.control.quarantine_entry import QuarantineEntry, raw_json
    from dynafold.projector.quarantine_retry import retry_entry
    from dynafold.replay.sweep import sweep

    url = f"sqlite:///{tmp_path}/views.db"
    store, quarantine = SQLiteStore(url), SQLiteQuarantine(url)
    projector = Projector(MODEL, store, quarantine, lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    day = 86_400
    old = order("c1", "o9", seq=1, created=1_790_000_000)
    quarantine.put([QuarantineEntry("orders", "100000000000000000001", "ev-orders-1", "once bad", raw_json(old))])
    projector.project([customer("c1", seq=2, created=1_790_000_000 + 10),
                       order("c1", "o9", seq=3, created=1_790_000_000 + 20, remove=True)])
    sweep(MODEL, store, older_than_s=2 * day, now_us=(1_790_000_000 + 3 * day) * 1_000_000)
    ok, message = retry_entry(projector, quarantine, quarantine.get("orders/100000000000000000001"))
    assert ok and "no longer exists" in message
    assert store.get("customer", "c1")["orders"] == []


def test_a_quarantined_scan_row_can_be_re_driven(dynamodb, tmp_path):
    """Review finding: scan and export entries were decoded as stream records and could never be re-driven."""
    from dynafold.projector.aws.lookup import DynamoLookup
    from dynafold.projector.control.quarantine_entry import QuarantineEntry, raw_json
    from dynafold.projector.quarantine_retry import retry_entry

    url = f"sqlite:///{tmp_path}/views.db"
    store, quarantine = SQLiteStore(url), SQLiteQuarantine(url)
    projector = Projector(MODEL, store, quarantine, lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    SampleWriter(dynamodb).put("customers", {"customer_id": "c7", "name": "Ada", "email": "a@x.io"})
    row = {"customer_id": {"S": "c7"}, "name": {"N": "1"}}
    quarantine.put([QuarantineEntry("customers", "key:c7", "", "attribute 'name' must be S", raw_json(row), origin="scan")])
    ok, message = retry_entry(projector, quarantine, quarantine.get("customers/key:c7"))
    assert ok, message
    assert store.get("customer", "c7")["name"] == "Ada" and quarantine.list() == []


def test_a_quarantined_record_read_by_dynafold_project_can_be_re_driven(dynamodb, tmp_path):
    """Review finding: GetRecords records carry no eventSourceARN, so an entry `dynafold project`
    quarantined could never be retried ('eventSourceARN is missing')."""
    from dynafold.projector.aws.lookup import DynamoLookup
    from dynafold.projector.quarantine_retry import retry_entry

    url = f"sqlite:///{tmp_path}/views.db"
    store, quarantine = SQLiteStore(url), SQLiteQuarantine(url)
    projector = Projector(MODEL, store, quarantine, lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    bad = customer("c8", seq=3)
    bad["dynamodb"]["NewImage"]["name"] = {"N": "1"}
    del bad["eventSourceARN"]
    assert len(projector.project([bad], table="customers").quarantined) == 1
    SampleWriter(dynamodb).put("customers", {"customer_id": "c8", "name": "Ada", "email": "a@x.io"})
    (entry,) = quarantine.list()
    ok, message = retry_entry(projector, quarantine, entry)
    assert ok, message
    assert store.get("customer", "c8")["name"] == "Ada" and quarantine.list() == []


def test_demo_runs_and_checks_itself(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    result = subprocess.run(
        [sys.executable, "-m", "dynafold", "demo", "--db", str(tmp_path / "demo.db"), "--customers", "12"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "documents equal what the final tables imply" in result.stdout
    assert "0 record(s) quarantined" in result.stdout
    assert "pbkdf2" not in result.stdout


def test_project_over_http_stops_cleanly_on_ctrl_c_and_resumes_from_its_checkpoints(dynamodb_endpoint, tmp_path):
    import signal
    import sqlite3
    import time

    import boto3

    from dynafold.projector.aws.provision import create_tables

    env = dict(os.environ, PYTHONPATH=os.getcwd())
    client = boto3.client("dynamodb")
    create_tables(client, MODEL)
    writer = SampleWriter(client)
    for i in range(5):
        writer.put("customers", {"customer_id": f"c{i}", "name": "N", "email": "e"})
    url = f"sqlite:///{tmp_path}/views.db"
    process = subprocess.Popen([sys.executable, "-m", "dynafold", "project", "--store", url, "--interval", "0.1",
                                "--stats-every", "0.2"], env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(f"{tmp_path}/views.db") as db:
                if db.execute('SELECT count(*) FROM "doc_customer_v1" WHERE body IS NOT NULL').fetchone()[0] == 5:
                    break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err  # interrupted, as everywhere; the work done is checkpointed
    assert "Ctrl-C stops" in err and "records=5" in err and "interrupted" in err
    writer.put("customers", {"customer_id": "c9", "name": "N", "email": "e"})
    again = subprocess.run([sys.executable, "-m", "dynafold", "project", "--store", url, "--until-idle",
                            "--interval", "0"], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert "records=1 " in again.stderr, "the second run starts after the first one's checkpoints"
