"""Undeclared attributes never leave DynamoDB, and no item content reaches a log or a listing.

The quarantine keeps a poison record's identity and declared attributes
only; ``quarantine drop`` leaves no bytes of the entry in the SQLite file;
listings show summaries, never a translator's message; no log line at any
level (opensearch-py, urllib3 and botocore included) carries item contents.
"""

from __future__ import annotations

import gzip
import logging

import pytest

from dynafold.cli import main
from dynafold.cli.output import configure_logging
from dynafold.domain.model import Model
from dynafold.domain.translation import Translator
from dynafold.handlers.stream import make_handler
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores import open_quarantine, open_store
from dynafold.projector.stores.dynamodb import control_table_definition
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.sqlite.quarantine import SQLiteQuarantine
from dynafold.projector.stores.sqlite.store import SQLiteStore
from dynafold.sample import MODEL
from dynafold.testing.sample_writer import SampleWriter
from tests.corpus.bad_records import CORPUS, SECRET
from tests.support.records import customer, lesson, order


def test_quarantine_list_shows_the_summary_not_a_translators_message(tmp_path, capsys):
    """The SQLite quarantine did not keep the summary, so list printed the message, which quotes item contents."""

    def explode(record, lookup):
        raise ValueError(f"cannot handle {record.image['email']}")

    model = Model(MODEL.aggregates.values(), translators=[Translator("customers", explode)])
    url = f"sqlite:///{tmp_path}/views.db"
    report = Projector(model, SQLiteStore(url), SQLiteQuarantine(url)).project([customer("c1", seq=5)])
    assert len(report.quarantined) == 1
    (entry,) = SQLiteQuarantine(url).list()
    assert entry.summary == "record customers, eventID ev-customers-5, seq 100000000000000000005: translator raised ValueError"
    assert "c1@example.com" in entry.reason, "the full reason is kept for show"
    assert main(["quarantine", "--store", url, "list"]) == 0
    out = capsys.readouterr().out
    assert "translator raised ValueError" in out and "c1@example.com" not in out


def file_bytes(directory) -> bytes:
    """Everything in the files under ``directory`` (the SQLite file, its WAL and shared memory)."""
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


def test_quarantine_drop_leaves_no_bytes_of_the_entry_in_the_sqlite_file(tmp_path, capsys):
    """Without secure_delete, a dropped entry stayed readable in freed pages and in the WAL."""
    url = f"sqlite:///{tmp_path}/views.db"
    small, large = customer("c1", seq=1, name="Zebulon Quarantined"), customer("c2", seq=2, name="Yolanda " + "x" * 20_000)
    for raw in (small, large):
        raw["dynamodb"]["NewImage"]["marketing_opt_in"] = {"S": "maybe"}
    store = SQLiteStore(url)
    Projector(MODEL, store, SQLiteQuarantine(url)).project([customer("c9", seq=3), small, large])
    assert b"Zebulon Quarantined" in file_bytes(tmp_path) and b"Yolanda xxxx" in file_bytes(tmp_path)
    for entry in ("customers/100000000000000000001", "customers/100000000000000000002"):
        assert main(["quarantine", "--store", url, "drop", entry]) == 0
    capsys.readouterr()
    assert b"Zebulon Quarantined" not in file_bytes(tmp_path)
    assert b"Yolanda xxxx" not in file_bytes(tmp_path)
    assert store.get("customer", "c9")["name"] == "Ada", "the store's own rows are untouched"


def log_text(record: logging.LogRecord) -> str:
    """All a handler could write of a log record: message, arguments, extra fields, exception."""
    parts = [record.getMessage(), repr(record.args)]
    parts += [repr(value) for name, value in record.__dict__.items() if name not in _PLAIN_RECORD]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


_PLAIN_RECORD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def dynamo_texts(client, table: str) -> str:
    """Every value in a DynamoDB table, binary values decompressed when they are gzip."""
    texts = []
    for item in client.scan(TableName=table)["Items"]:
        for value in item.values():
            data = value.get("B")
            if data is not None:
                texts.append(gzip.decompress(data).decode("utf-8", "replace") if data[:2] == b"\x1f\x8b" else repr(data))
            else:
                texts.append(repr(value))
    return "\n".join(texts)


@pytest.mark.parametrize("store_url", ["opensearch"], indirect=True)
def test_no_undeclared_value_is_written_printed_or_logged_and_no_item_content_is_logged(
    dynamodb, store_url, tmp_path, caplog, capsys, monkeypatch
):
    """Poison records, projection with join reads, every quarantine command, an OpenSearch projection: at DEBUG,
    with logging configured as the CLI and the Lambda functions configure it."""
    configure_logging("DEBUG")
    monkeypatch.setattr(logging.getLogger("dynafold"), "propagate", True)
    caplog.set_level(logging.DEBUG)
    tracer = logging.getLogger("opensearchpy.trace")
    tracer.addHandler(caplog.handler)
    monkeypatch.setattr(tracer, "level", logging.DEBUG)
    dynamodb.create_table(**control_table_definition("dynafold-control"))
    writer = SampleWriter(dynamodb)
    writer.put("songs", {"song_id": "s1", "title": "Wonderwall", "artist": "Oasis", "royalty_account": f"iban-{SECRET}"})
    writer.put("customers", {"customer_id": "c-bad", "name": "Quentin Leakwood", "email": "q@example.com",
                             "country": "NL", "marketing_opt_in": True, "password_hash": f"pbkdf2${SECRET}"})
    caplog.clear()
    url = f"sqlite:///{tmp_path}/views/views.db"
    names = ("Quentin Leakwood", "Ada", "Chords")
    good = [customer("c1", seq=1, name="Quentin Leakwood"), order("c1", "o1", seq=2), lesson("l1", "s1", seq=3)]
    poison = [raw for _, raw, _ in CORPUS]
    sqlite_projector = Projector(MODEL, SQLiteStore(url), SQLiteQuarantine(url),
                                 lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    assert make_handler(lambda: sqlite_projector, emit=lambda *a: None)({"Records": good + poison}, None) == {
        "batchItemFailures": []}
    dynamo_projector = Projector(MODEL, SQLiteStore(url), open_quarantine("dynamodb://dynafold-control"),
                                 lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    assert not dynamo_projector.project(poison).failed_from
    opensearch = Projector(MODEL, open_store(store_url), MemoryQuarantine(),
                           lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    assert opensearch.project(good).documents_written == 2
    assert opensearch.project([customer("c1", seq=4, name="Ada")]).documents_written == 1

    entries = SQLiteQuarantine(url).list()
    assert len(entries) == len(CORPUS)
    retried = next(e.id for e in entries if "must be BOOL, not S" in e.reason)
    dropped = next(e.id for e in entries if "exactly one type key" in e.reason)
    for quarantine in ([], ["--quarantine", "dynamodb://dynafold-control"]):
        assert main(["quarantine", "--store", url, *quarantine, "list"]) == 0
        for entry in entries:
            assert main(["quarantine", "--store", url, *quarantine, "show", entry.id]) == 0
    assert main(["status", "--store", url]) == 0
    assert main(["quarantine", "--store", url, "retry", retried]) == 0
    assert main(["quarantine", "--store", url, "drop", dropped]) == 0
    assert main(["quarantine", "--store", url, "--quarantine", "dynamodb://dynafold-control", "drop", dropped]) == 0
    assert SQLiteStore(url).get("customer", "c-bad")["name"] == "Quentin Leakwood"

    output = capsys.readouterr()
    assert '"S": "Ada"' in output.out, "show prints declared attributes"
    files = b"".join(p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file())
    for where, text in (("stdout", output.out), ("stderr", output.err), ("files", files.decode("utf-8", "replace")),
                        ("control table", dynamo_texts(dynamodb, "dynafold-control"))):
        assert SECRET not in text, where
    logged = [log_text(record) for record in caplog.records]
    assert any("opensearch" in r.name for r in caplog.records) and any("botocore" in r.name for r in caplog.records)
    for text in logged:
        for content in (SECRET, "@example.com", "Wonderwall", *names):
            assert content not in text, text[:2000]


def test_a_poison_scan_row_keeps_only_declared_attributes_and_can_still_be_re_driven(dynamodb, tmp_path):
    """A scan or export row is an image itself: restricted the same way, and re-driving needs no more."""
    from dynafold.projector.intake.records import scan_decoder
    from dynafold.projector.quarantine_retry import retry_entry

    url = f"sqlite:///{tmp_path}/views.db"
    store, quarantine = SQLiteStore(url), SQLiteQuarantine(url)
    projector = Projector(MODEL, store, quarantine, lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    row = {"customer_id": {"S": "c7"}, "name": {"N": "1"}, "password_hash": {"S": f"pbkdf2${SECRET}"}}
    report = projector.project([row], decode=scan_decoder(MODEL.table("customers"), 1_790_000_000_000_000), origin="scan")
    assert len(report.quarantined) == 1
    (entry,) = quarantine.list()
    assert SECRET not in entry.raw and '"name": {"N": "1"}' in entry.raw and entry.origin == "scan"
    SampleWriter(dynamodb).put("customers", {"customer_id": "c7", "name": "Ada", "email": "a@x.io"})
    ok, message = retry_entry(projector, quarantine, entry)
    assert ok, message
    assert store.get("customer", "c7")["name"] == "Ada" and quarantine.list() == []


def test_join_reads_bring_back_declared_attributes_only():
    """A song's undeclared attribute never leaves DynamoDB through a lesson's join read (a
    ``ProjectionExpression``); a model with a hand-written translator, whose reads are code, still
    gets whole items."""
    from dynafold.domain.source import SourceItem
    from dynafold.testing.dynamo import SimulatedClock, Tables, moto_on

    clock = SimulatedClock()
    with moto_on(clock):
        tables = Tables(MODEL, clock)
        tables.put("songs", {"song_id": "s1", "title": "Yellow", "royalty_account": "IBAN-SECRET"})
        song = SourceItem.of("songs", {"song_id": "s1"})
        assert DynamoLookup(tables.client, MODEL).items([song])[song.id] == {"song_id": "s1", "title": "Yellow"}
        hand = Model(MODEL.aggregates.values(), translators=[Translator("lessons", lambda record, lookup: [])])
        assert DynamoLookup(tables.client, hand).items([song])[song.id]["royalty_account"] == "IBAN-SECRET"


def test_importing_dynafold_leaves_other_libraries_loggers_alone_until_logging_is_configured():
    import subprocess
    import sys

    probe = ("import logging, dynafold, dynafold.projector.runtime, dynafold.handlers.stream, dynafold.cli;"
             "print(sum(len(logging.getLogger(n).filters) for n in ('botocore.endpoint', 'botocore.parsers', "
             "'opensearch', 'opensearchpy.trace')));"
             "from dynafold.cli.output import configure_logging; configure_logging('DEBUG');"
             "print(sum(len(logging.getLogger(n).filters) for n in ('botocore.endpoint', 'botocore.parsers', "
             "'opensearch', 'opensearchpy.trace')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "4"]
