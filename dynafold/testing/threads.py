"""The same promise under real concurrency: one writer thread and one projector thread per table.

Writers change every table at once (on moto's real clock), while one
projector thread per table tails that table's stream and projects what it
finds, as one Lambda per source table does. The threads race for real on
shared documents (optimistic concurrency, not a simulated interleaving).
When the writers stop and the streams are drained, every document must
equal what the final tables imply.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Callable, Mapping, Optional

from hypothesis import HealthCheck, given
from hypothesis import settings as Settings
from hypothesis import strategies as st

from dynafold.domain.model import Model
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Projector
from dynafold.projector.engine.document_cache import DocumentCache
from dynafold.projector.retry import Backoff
from dynafold.projector.runtime import build_projector
from dynafold.projector.stores.codec import canonical
from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.testing.dynamo import Tables, lambda_record, moto_on, version_after
from dynafold.testing.oracle import difference, oracle_documents
from dynafold.testing.workload import Workload


class RealClock:
    """moto's own clock, for runs where threads race in real time."""

    def utcnow(self):
        import datetime as dt

        return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

    def server_time_us(self) -> int:
        return int(time.time()) * 1_000_000


def _operations(data: Any, workload: Workload, table: str, count: int) -> list[tuple[str, dict]]:
    ops = []
    for _ in range(count):
        kind = data.draw(st.sampled_from(["put", "put", "update", "delete"]), label=f"{table} op")
        key = data.draw(workload.key(table), label=f"{table} key")
        if kind == "put":
            ops.append(("put", data.draw(workload.item(table, key))))
        elif kind == "update":
            ops.append(("update", {**data.draw(workload.changes(table)), **key}))
        else:
            ops.append(("delete", key))
    return ops


class _Tail:
    """One projector thread's view of one table's stream: everything after the last record it took."""

    def __init__(self, tables: Tables, table: str) -> None:
        self.tables, self.table = tables, table
        self.arn = tables.client.describe_table(TableName=tables.physical(table))["Table"]["LatestStreamArn"]
        self.after: dict[str, str] = {}

    def read(self) -> list[dict]:
        streams = self.tables.streams
        records = []
        for shard in streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            kwargs = {"StreamArn": self.arn, "ShardId": shard["ShardId"]}
            if shard["ShardId"] in self.after:
                kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self.after[shard["ShardId"]])
            else:
                kwargs["ShardIteratorType"] = "TRIM_HORIZON"
            iterator = streams.get_shard_iterator(**kwargs)["ShardIterator"]
            found = streams.get_records(ShardIterator=iterator, Limit=25).get("Records", [])
            if found:
                self.after[shard["ShardId"]] = found[-1]["dynamodb"]["SequenceNumber"]
                records.extend(lambda_record(r, self.arn) for r in found)
        return records


def _write_all(tables: Tables, table: str, ops: list, mode: str, failures: list) -> None:
    spec = tables.model.tables[table]
    live: dict[tuple, dict] = {}
    try:
        for kind, payload in ops:
            key = tuple(payload[k] for k in spec.key_attributes)
            if kind == "delete":
                tables.delete(table, {k: payload[k] for k in spec.key_attributes})
                live.pop(key, None)
                continue
            item = {**live.get(key, {}), **payload} if kind == "update" else dict(payload)
            item = {k: v for k, v in item.items() if v is not None}
            if spec.version:
                previous = tables.versions.get((table, key))
                version = version_after(mode, previous, key in live, lower=random.random() < 0.3)
                tables.versions[(table, key)] = version
                item[spec.version] = version
            tables.put(table, item)
            live[key] = item
    except BaseException as error:  # surfaced by the caller, never swallowed
        failures.append(error)


def _project_all(tables: Tables, table: str, projector: Projector, writing: threading.Event, failures: list) -> None:
    tail = _Tail(tables, table)
    try:
        while True:
            batch = tail.read()
            while batch:
                report = projector.project(batch, time_left=lambda: float("inf"))
                if report.failed_from is None:
                    break
                batch = batch[report.failed_from:]
            if not batch and not writing.is_set():
                if not tail.read():
                    return
    except BaseException as error:
        failures.append(error)


def _one_memory_store() -> Callable[[], Any]:
    shared = MemoryStore()
    return lambda: shared


def check_threads(model: Model, *, items: Optional[Mapping[str, st.SearchStrategy]] = None,
                  names: TableNames = IDENTITY, examples: int = 3, operations: int = 40,
                  stores: Optional[Callable[[], Callable[[], Any]]] = None) -> None:
    """Raise an ``AssertionError`` if documents projected by racing threads differ from the final tables.

    ``stores()`` is called once per example, on a store nobody has written yet, and returns the
    factory of the handles the projector threads write through (by default one fresh memory store per
    example): SQLite stores on one new file, an OpenSearch store under a new index prefix, or a
    wrapper that injects faults. A store shared between examples would keep the documents of earlier
    examples, which the final tables of this one know nothing about.
    """
    workload = Workload(model, items=items)

    @Settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data(), mode=st.sampled_from(["increment", "restart", "regress"]))
    def run(data, mode):
        plans = {table: _operations(data, workload, table, operations) for table in sorted(model.tables)}
        with moto_on(RealClock()):
            tables = Tables(model, RealClock(), names)
            make = stores() if stores is not None else _one_memory_store()
            store, quarantine = make(), MemoryQuarantine()
            failures: list = []
            writing = threading.Event()
            writing.set()
            projectors = {t: build_projector(model, make(), quarantine, names=names,
                                       backoff=Backoff(base=0.001, cap=0.01, attempts=50),
                                       lookup_factory=lambda: DynamoLookup(tables.client, model, names=names),
                                       cache=DocumentCache())
                          for t in model.tables}
            writers = [threading.Thread(target=_write_all, args=(tables, t, plans[t], mode, failures)) for t in plans]
            readers = [threading.Thread(target=_project_all, args=(tables, t, projectors[t], writing, failures))
                       for t in plans]
            for thread in writers + readers:
                thread.start()
            for thread in writers:
                thread.join()
            writing.clear()
            for thread in readers:
                thread.join()
            assert not failures, failures
            assert not quarantine.list(), [e.summary for e in quarantine.list()]
            expected = oracle_documents(model, tables.final())
            for name in sorted(model.aggregates):
                got = {d.key.id: canonical(d.body) for d in store.stored(store.targets(name).read) if d.body is not None}
                want = {k: canonical(v) for k, v in expected[name].items()}
                assert got == want, difference(name, want, got)

    run()
