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
