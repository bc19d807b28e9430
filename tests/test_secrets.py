"""Undeclared attributes never leave DynamoDB, and no item content reaches a log or a listing.

The quarantine keeps a poison record's identity and declared attributes
only; ``quarantine drop`` leaves no bytes of the entry in the SQLite file;
listings show summaries, never a translator's message; no log line at any
level (opensearch-py, urllib3 and botocore included) carries item contents.
"""

from __future__ import annotations

from domain.model import Model
from domain.sample import MODEL
from domain.translation import Translator
from projector.batch import Projector
from projector.cli import main
from projector.quarantine import SQLiteQuarantine
from projector.stores.sqlite import SQLiteStore
from tests.support.records import customer


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
