"""Real items in moto tables, their real stream records, the Lambda handler, the oracle."""

from __future__ import annotations

import random

import pytest

from dynafold.handlers.stream import make_handler
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.sample import MODEL
from dynafold.testing.sample_writer import SampleWriter
from tests.support import oracle, workload
from tests.support.lambda_events import event, stream_records

TABLES = ("customers", "orders", "subscriptions", "songs", "lessons")


def final_tables(writer: SampleWriter) -> dict[str, list[dict]]:
    return {table: writer.scan(table) for table in TABLES}


def deliver_interleaved(handle, per_table: dict[str, list[dict]], rng: random.Random) -> int:
    """Deliver each table's records in order, in random batches, tables interleaved, with whole-batch redelivery."""
    positions = {t: 0 for t in per_table}
    deliveries = 0
    while any(positions[t] < len(per_table[t]) for t in per_table):
        table = rng.choice([t for t in per_table if positions[t] < len(per_table[t])])
        start = positions[table]
        batch = per_table[table][start : start + rng.randint(1, 12)]
        result = handle(event(batch), None)
        assert result == {"batchItemFailures": []}
        deliveries += 1
        if rng.random() < 0.3:
            assert handle(event(batch), None) == {"batchItemFailures": []}
        positions[table] += len(batch)
    return deliveries


def project_and_check(store_url: str, dynamodb, streams, seed: int, operations: int = 160) -> None:
    rng = random.Random(seed)
    writer = SampleWriter(dynamodb)
    workload.run(writer, rng, operations)
    store = open_store(store_url)
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    emitted = []
    handle = make_handler(lambda: projector, emit=lambda values, dims: emitted.append(values))
    per_table = {t: stream_records(dynamodb, streams, t) for t in TABLES}
    deliver_interleaved(handle, per_table, rng)
    expected = oracle.expected(final_tables(writer))
    for aggregate in ("customer", "lesson"):
        got = {doc[f"{aggregate}_id"]: doc for doc in store.documents(aggregate)}
        assert oracle.normalized(got) == oracle.normalized(expected[aggregate]), aggregate
    assert not projector.quarantine.list()
    assert emitted and all(m["FailedRecords"] == 0 for m in emitted)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_stream_records_through_the_lambda_handler_match_the_oracle_on_memory(dynamodb, streams, seed):
    project_and_check("memory://", dynamodb, streams, seed)


def test_stream_records_through_the_lambda_handler_match_the_oracle_on_sqlite(dynamodb, streams, tmp_path):
    project_and_check(f"sqlite:///{tmp_path}/views.db", dynamodb, streams, seed=7)


def test_password_hash_never_reaches_a_document_or_a_log_line(dynamodb, streams, tmp_path, capsys):
    from dynafold.projector.observability import logs

    logs.configure("DEBUG")
    project_and_check(f"sqlite:///{tmp_path}/views.db", dynamodb, streams, seed=11, operations=60)
    raw = b"".join(path.read_bytes() for path in tmp_path.glob("views.db*"))
    assert b"@example.com" in raw, "the read sees the projected documents (WAL included)"
    assert b"pbkdf2$secret$" not in raw and b"password_hash" not in raw
    out = capsys.readouterr()
    assert "batch projected" in out.out
    assert "pbkdf2" not in out.out + out.err and "password_hash" not in out.out + out.err
