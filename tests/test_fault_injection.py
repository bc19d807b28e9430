"""Faults everywhere at once: the documents still match the oracle, nothing is lost or wrongly quarantined.

The store fails 20% of its calls (timeouts and resets before or after the
work, 429/5xx items), the fan-out lookups are throttled, and the handler is
killed mid-batch now and then. Delivery follows Lambda's rules: a batch
whose invocation died is redelivered whole; a batch that reports failures
is redelivered from the lowest failed record.
"""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError

from dynafold.handlers.stream import make_handler
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Backoff, Projector
from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.sample import MODEL
from dynafold.testing.sample_writer import SampleWriter
from dynafold.testing.store_contract.faults import FaultyStore
from tests.support import oracle, workload
from tests.support.lambda_events import event, stream_records

TABLES = ("customers", "orders", "subscriptions", "songs", "lessons")


class Killed(BaseException):
    """The Lambda runtime killing the invocation: nothing in the handler catches it."""


class ThrottlingClient:
    """A DynamoDB client whose reads are throttled at random."""

    def __init__(self, inner, rng: random.Random, rate: float) -> None:
        self.inner, self.rng, self.rate, self.throttled = inner, rng, rate, 0

    def _maybe(self, operation: str):
        if self.rng.random() < self.rate:
            self.throttled += 1
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, operation)

    def batch_get_item(self, **kwargs):
        self._maybe("BatchGetItem")
        return self.inner.batch_get_item(**kwargs)

    def query(self, **kwargs):
        self._maybe("Query")
        return self.inner.query(**kwargs)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_documents_converge_through_store_faults_throttled_lookups_and_killed_invocations(dynamodb, streams, tmp_path, kind, seed):
    rng = random.Random(seed)
    writer = SampleWriter(dynamodb)
    workload.run(writer, rng, 200)
    inner = open_store("memory://" if kind == "memory" else f"sqlite:///{tmp_path}/v.db")
    store = FaultyStore(inner, random.Random(seed), fail_call=0.1, lose_response=0.05, retryable_item=0.05, sleep=lambda s: None)
    client = ThrottlingClient(dynamodb, random.Random(seed + 1), rate=0.2)
    quarantine = MemoryQuarantine()
    kills = 0

    def maybe_kill(writes):
        nonlocal kills
        if rng.random() < 0.05:
            kills += 1
            raise Killed()

    store.on_write = maybe_kill
    projector = Projector(MODEL, store, quarantine, lookup_factory=lambda: DynamoLookup(client, MODEL, sleep=lambda s: None),
                          backoff=Backoff(base=0, cap=0, attempts=4), sleep=lambda s: None, rng=random.Random(seed))
    handle = make_handler(lambda: projector, emit=lambda *a: None)
    invocations = failed_batches = 0
    for table in TABLES:
        records = stream_records(dynamodb, streams, table)
        position = 0
        while position < len(records):
            batch = records[position : position + rng.randint(1, 15)]
            invocations += 1
            assert invocations < 5_000
            try:
                result = handle(event(batch), None)
            except Killed:
                continue
            failures = [f["itemIdentifier"] for f in result["batchItemFailures"]]
            if failures:
                failed_batches += 1
                sequences = [r["dynamodb"]["SequenceNumber"] for r in batch]
                assert failures == sequences[sequences.index(failures[0]):], "the lowest failed record and all after it"
                position += sequences.index(failures[0])
            else:
                position += len(batch)
    assert kills > 0 and failed_batches > 0 and client.throttled > 0 and sum(store.injected.values()) > 0
    assert not quarantine.list(), "transient failures are never quarantined"
    expected = oracle.expected({t: writer.scan(t) for t in TABLES})
    for aggregate in ("customer", "lesson"):
        got = {d.key.id: d.body for d in inner.stored(inner.targets(aggregate).read) if d.body is not None}
        assert oracle.normalized(got) == oracle.normalized(expected[aggregate])


def test_a_throttled_join_lookup_fails_the_record_for_redelivery_instead_of_reading_as_absent(dynamodb):
    """Review finding: a throttled BatchGetItem left 'absent' in the lookup cache, so the lesson was
    projected as if its song did not exist, and no redelivery could repair it."""
    from dynafold.projector.stores.memory import MemoryStore
    from tests.support.records import record

    writer = SampleWriter(dynamodb)
    writer.put("songs", {"song_id": "s1", "title": "Jolene", "artist": "Dolly Parton"})
    keys = {"lesson_id": {"S": "l1"}}
    lesson = record("lessons", keys, {**keys, "song_id": {"S": "s1"}, "title": {"S": "L"}}, seq=5)
    client = ThrottlingClient(dynamodb, random.Random(0), rate=1.0)
    store = MemoryStore()
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: DynamoLookup(client, MODEL, sleep=lambda s: None))
    report = projector.project([lesson])
    assert report.failed_from == 0 and not report.quarantined
    assert store.get("lesson", "l1") is None
    client.rate = 0.0
    assert projector.project([lesson]).failed_from is None
    assert store.get("lesson", "l1")["song_title"] == "Jolene"
