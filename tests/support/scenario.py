"""Step-by-step scenarios on moto with a controlled clock, for tests that pin one exact race."""

from __future__ import annotations

from typing import Any, Optional

from dynafold.domain.model import Model
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Backoff, Projector
from dynafold.projector.intake.records import scan_decoder
from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.replay.verify import Verifier
from dynafold.testing.dynamo import SimulatedClock, Tables, moto_on


class Scenario:
    def __init__(self, model: Model, names: TableNames = IDENTITY, lookup=None) -> None:
        self.model = model
        self.names = names
        self.clock = SimulatedClock()
        self._moto = moto_on(self.clock)
        self._lookup = lookup

    def __enter__(self) -> "Scenario":
        self._moto.__enter__()
        self.tables = Tables(self.model, self.clock, self.names)
        self.store = MemoryStore()
        self.quarantine = MemoryQuarantine()
        self.delivered: dict[str, int] = {t: 0 for t in self.model.tables}
        return self

    def __exit__(self, *exc: Any) -> None:
        self._moto.__exit__(*exc)

    def lookup(self):
        if self._lookup is not None:
            return self._lookup(self)
        return DynamoLookup(self.tables.client, self.model, names=self.names)

    def projector(self) -> Projector:
        return Projector(self.model, self.store, self.quarantine, lookup_factory=self.lookup, names=self.names,
                         backoff=Backoff(base=0, cap=0, attempts=3), sleep=lambda s: None)

    def tick(self, ms: int) -> None:
        self.clock.tick(ms)

    def put(self, table: str, item: dict) -> None:
        self.tables.put(table, item)

    def delete(self, table: str, **key: Any) -> None:
        self.tables.delete(table, key)

    def records(self, table: str) -> list[dict]:
        return list(self.tables.read_streams()[table])

    def deliver(self, table: str, records: Optional[list] = None):
        """Project ``records`` of ``table`` (by default all not delivered yet) as one batch."""
        if records is None:
            everything = self.records(table)
            records, self.delivered[table] = everything[self.delivered[table]:], len(everything)
        report = self.projector().project(records)
        assert report.failed_from is None and not report.quarantined, (report.failure_reason, report.quarantined)
        return report

    def scan(self, aggregate: str, t_start_us: int) -> None:
        """A replay of one aggregate with ``T_start`` as given."""
        projector = Projector(self.model, self.store, self.quarantine, lookup_factory=self.lookup, names=self.names,
                              aggregates=[aggregate])
        for table in self.model.aggregate(aggregate).replay_tables:
            rows = self.tables.client.scan(TableName=self.names.physical(table), ConsistentRead=True)["Items"]
            projector.project(rows, decode=scan_decoder(self.model.table(table), t_start_us), origin="scan")

    def doc(self, aggregate: str, doc_id: str) -> Optional[dict]:
        return self.store.get(aggregate, doc_id)

    def verifier(self) -> Verifier:
        return Verifier(self.model, self.store, self.tables.client, lookup_factory=self.lookup, segments=1,
                        names=self.names, clock=self.clock.server_time_us, wait_until=self.clock.wait_until)

    def repair(self) -> list:
        self.tick(1000)
        verifier = self.verifier()
        drifts = [d for name in sorted(self.model.aggregates) for d in verifier.verify(name).drift]
        for drift in drifts:
            verifier.repair(drift)
        return drifts
