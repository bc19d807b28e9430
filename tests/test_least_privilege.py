"""The stream functions' least-privilege policies allow every read the engine makes in them.

The settling read (``dynafold.domain.fold.settle``) is made by whichever projector folds the document. For a
fan-out that is the joined table's own stream function, whose policy (``dynafold.deploy.iam.reads``) once
allowed only the pointing table and its index: the AccessDeniedException escaped ``project`` and
every retry of the batch met it again. Found by review; this test failed before both fixes (the
grant, and a failed settling read failing only its documents' records instead of the batch).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from dynafold.deploy.iam import reads
from dynafold.handlers.stream import make_handler
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Backoff, Projector
from dynafold.sample import MODEL
from tests.support.scenario import Scenario


class _LeastPrivilegeClient:
    """The DynamoDB client of one stream function: BatchGetItem and Query only where its IAM policy
    (``dynafold.deploy.iam.reads``) grants them, AccessDeniedException elsewhere, as IAM answers."""

    def __init__(self, inner, model, table: str) -> None:
        tables, queries = reads(model, table)
        self.inner, self.tables, self.queries = inner, set(tables), set(queries)
        self.denied: list = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def _deny(self, operation: str, what) -> None:
        self.denied.append((operation, what))
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": f"not authorized on {what}"}},
                          operation)

    def batch_get_item(self, RequestItems, **kwargs):
        for table in RequestItems:
            if table not in self.tables:
                self._deny("BatchGetItem", table)
        return self.inner.batch_get_item(RequestItems=RequestItems, **kwargs)

    def query(self, **kwargs):
        if (kwargs["TableName"], kwargs.get("IndexName")) not in self.queries:
            self._deny("Query", (kwargs["TableName"], kwargs.get("IndexName")))
        return self.inner.query(**kwargs)


def _renamed_in_the_lessons_second(s: Scenario) -> list[dict]:
    """A lesson is written pointing at s1 and s1 is renamed in the same second: the rename's records,
    undelivered. The lesson's join read is stamped with that second and the rename's fan-out beats it,
    so the songs function settles the slot by reading s1."""
    s.put("songs", {"song_id": "s1", "title": "Wonderwall"})
    s.deliver("songs")
    s.tick(1000)
    s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
    s.deliver("lessons")
    s.put("songs", {"song_id": "s1", "title": "Yellow"})
    return s.records("songs")[s.delivered["songs"]:]


def _songs_function(s: Scenario, client: _LeastPrivilegeClient) -> Projector:
    return Projector(MODEL, s.store, s.quarantine, lookup_factory=lambda: DynamoLookup(client, MODEL),
                     backoff=Backoff(base=0, cap=0, attempts=3), sleep=lambda _: None)


def test_a_songs_rename_in_the_second_its_lesson_was_written_projects_under_the_songs_functions_iam_policy():
    """A common flow, where the songs function's settling read must be allowed by its policy."""
    with Scenario(MODEL) as s:
        pending = _renamed_in_the_lessons_second(s)
        client = _LeastPrivilegeClient(s.tables.client, MODEL, "songs")
        songs_function = _songs_function(s, client)
        handle = make_handler(lambda: songs_function, margin_ms=0, emit=lambda *_: None)
        retries = [handle({"Records": pending})["batchItemFailures"] for _ in range(3)]  # Lambda retrying
        assert retries == [[], [], []], f"every retry fails the batch; denied: {client.denied}"
        assert s.doc("lesson", "l1")["song_title"] == "Yellow"


def test_a_settling_read_the_policy_refuses_fails_only_its_documents_records():
    """Defence in depth: a read refused for good (a policy edited by hand) fails the records of the
    documents that needed it, named by the error code, and never raises out of the batch."""
    with Scenario(MODEL) as s:
        pending = _renamed_in_the_lessons_second(s)
        client = _LeastPrivilegeClient(s.tables.client, MODEL, "songs")
        client.tables.discard("songs")
        report = _songs_function(s, client).project(pending)
        assert report.failed_from == 0 and "AccessDeniedException" in report.failure_reason
        assert "not authorized" not in report.failure_reason, "the code, never the message"


def test_a_join_read_the_policy_refuses_fails_the_records_and_quarantines_none():
    """Access denied on the joined table is the environment's doing, not the record's: the lessons wait
    for redelivery (and the failure queue), named by the error code; none is kept as a poison record."""
    with Scenario(MODEL) as s:
        s.put("songs", {"song_id": "s1", "title": "Wonderwall"})
        s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
        client = _LeastPrivilegeClient(s.tables.client, MODEL, "lessons")
        client.tables.discard("songs")
        lessons_function = Projector(MODEL, s.store, s.quarantine, lookup_factory=lambda: DynamoLookup(client, MODEL),
                                     backoff=Backoff(base=0, cap=0, attempts=3), sleep=lambda _: None)
        report = lessons_function.project(s.records("lessons"))
        assert report.failed_from == 0 and "AccessDeniedException" in report.failure_reason
        assert not report.quarantined and not s.quarantine.list()
