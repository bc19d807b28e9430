"""Odd and hostile input to the ``dynafold`` command: what reaches the terminal, odd store URLs, bad limits."""

from __future__ import annotations

from domain.sample import MODEL
from projector.batch import Projector
from projector.cli import main
from projector.quarantine import SQLiteQuarantine
from projector.stores.sqlite import SQLiteStore
from tests.support.records import ARN, order

ESCAPES = "\x1b]0;owned\x07\x1b[2J\r\x9b31m\u202e"


def test_quarantine_list_escapes_control_characters_from_arns_and_event_ids(tmp_path, capsys):
    """Event ids and ARNs come from the record: printed raw they could rewrite the operator's terminal."""
    url = f"sqlite:///{tmp_path}/views.db"
    bad_id = order("c1", "o1", seq=1)
    bad_id["eventID"] = f"ev{ESCAPES}"
    bad_id["dynamodb"]["NewImage"]["total"] = {"S": "ten"}
    bad_arn = order("c1", "o2", seq=2)
    bad_arn["eventSourceARN"] = ARN.format(table=f"orders{ESCAPES}")
    report = Projector(MODEL, SQLiteStore(url), SQLiteQuarantine(url)).project([bad_id, bad_arn])
    assert len(report.quarantined) == 2
    assert main(["quarantine", "--store", url, "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert all(c == "\t" or c.isprintable() for c in line), repr(line)
    assert "\\x1b]0;owned\\x07" in out
    printed = next(line.split("\t")[0] for line in lines if "orders\\x1b" in line)
    assert main(["quarantine", "--store", url, "drop", printed]) == 0, "the printed id names the entry"
    err = capsys.readouterr().err
    assert all(c == "\n" or c.isprintable() for c in err), repr(err)
    assert len(SQLiteQuarantine(url).list()) == 1
