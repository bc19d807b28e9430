"""The promise as a hypothesis state machine, for any model.

Writers change the model's tables in moto (items created, re-created,
moved between parents, re-pointed, deleted; version attributes that go up,
restart at 1 on re-create, or go down as global tables replicate them).
Deliveries take the stream records the way Lambda does: each table's shard
split into lanes by partition key (``ParallelizationFactor``), each lane in
order, batches that fail part-way and resume from their lowest failed
record, lanes rewound and read again (every duplicate comes with the
records after it, as with any reader of a shard), two projectors racing on
the same documents, a replay scanning page by page while all this goes on,
and fan-out indexes that lag behind their table. Whatever happens, once the
streams are drained every document equals what the final tables imply; a
fan-out that a lagging index hid is the one residual the design notes
name, and ``verify --repair`` must then close it.

One module, not several: a hypothesis state machine is one class whose
rules share its state (tables, lanes, projectors, replays), and its
strategies live beside the rules that draw them.
"""

from __future__ import annotations

import random
import zlib
from typing import Any, Optional

from hypothesis import event, note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from dynafold.domain.declarations import ProjectionError
from dynafold.domain.model import Model
from dynafold.handlers.stream import make_handler
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Projector
from dynafold.projector.engine.document_cache import DocumentCache
from dynafold.projector.intake.records import scan_decoder
from dynafold.projector.retry import Backoff
from dynafold.projector.runtime import REPLAY, build_projector
from dynafold.projector.stores.codec import canonical
from dynafold.projector.stores.memory import MemoryCheckpoints, MemoryQuarantine, MemoryStore
from dynafold.projector.table_names import IDENTITY, TableNames
from dynafold.replay.job import ReplayJob
from dynafold.replay.scan import scan_pages
from dynafold.replay.verify import Verifier
from dynafold.testing.drift import inject
from dynafold.testing.dynamo import SimulatedClock, Tables, moto_on, version_after
from dynafold.testing.guarded import GuardedStore
from dynafold.testing.oracle import difference, oracle_documents
from dynafold.testing.patterns import join_churn, join_race, move_and_return
from dynafold.testing.workload import SECRET, Workload

TICKS = [0, 0, 1, 1, 400, 1000, 2500]


class LaggingLookup(DynamoLookup):
    """Consistent reads as they are; index queries answered as of an earlier snapshot while lagging."""

    def __init__(self, machine: "ModelMachine") -> None:
        super().__init__(machine.tables.client, machine.model, names=machine.names)
        self.machine = machine

    def query_page(self, query, start, limit):
        return self._query(query), None

    def _query(self, query):
        current = super()._query(query)
        snapshot = self.machine.index_snapshot
        if snapshot is None:
            return current
        spec = self.machine.model.tables[query.table]
        wanted = dict(query.key)
        lagging = [row for row in snapshot.get(query.table, []) if all(row.get(k) == v for k, v in wanted.items())]
        keys = {tuple(row.get(k) for k in spec.key_attributes) for row in lagging}
        if any(tuple(row.get(k) for k in spec.key_attributes) not in keys for row in current):
            self.machine.missed_fanouts += 1
        return [{k: row[k] for k in (*spec.key_attributes, *wanted) if k in row} for row in lagging]


class ModelMachine(RuleBasedStateMachine):
    model: Model
    workload: Workload
    names: TableNames = IDENTITY

    @initialize(mode=st.sampled_from(["increment", "restart", "regress"]), lanes=st.integers(1, 3),
                seed=st.integers(0, 2**16), eager=st.sampled_from([0.0, 0.5, 0.9]), drift=st.booleans())
    def setup(self, mode, lanes, seed, eager, drift):
        self.clock = SimulatedClock()
        self._moto = moto_on(self.clock)
        self._moto.__enter__()
        self.tables = Tables(self.model, self.clock, self.names)
        self.store = GuardedStore(MemoryStore(), random.Random(seed + 1), self.model)
        self.quarantine = MemoryQuarantine()
        self.rng = random.Random(seed)
        self.mode, self.lanes, self.eager, self.drift = mode, lanes, eager, drift
        self.cursor = {(t, lane): 0 for t in self.model.tables for lane in range(lanes)}
        self.live: dict[str, dict[tuple, dict]] = {t: {} for t in self.model.tables}
        self.index_snapshot: Optional[dict[str, list[dict]]] = None
        self.missed_fanouts = 0
        self.failed = False
        self.seen: dict[tuple[str, str], tuple] = {}
        self.replays: dict[str, Any] = {}
        self.caches = (DocumentCache(clock=lambda: 0.0), DocumentCache(clock=lambda: 0.0))
        self.store.prepare(list(self.model.aggregates.values()))
        note(f"versions: {mode}; lanes per shard: {lanes}; delivered right after a write: {eager:.0%}")

    def teardown(self):
        if not hasattr(self, "tables"):
            return
        try:
            if not self.failed:  # a step already failed: checking again would report one bug twice
                self.check()
        finally:
            self._moto.__exit__(None, None, None)

    def projector(self, container: int = 0) -> Projector:
        """A projector of one of two warm containers (each remembers the documents it wrote)."""
        return build_projector(self.model, self.store, self.quarantine, lookup_factory=lambda: LaggingLookup(self),
                               backoff=Backoff(base=0, cap=0, attempts=3), sleep=lambda s: None, rng=self.rng,
                               names=self.names, cache=self.caches[container])

    # --- writers ---------------------------------------------------------------------------

    @rule(ms=st.sampled_from(TICKS))
    def tick(self, ms):
        self.clock.tick(ms)

    def _key(self, table: str, item: dict) -> tuple:
        return tuple(item[k] for k in self.model.tables[table].key_attributes)

    def _write(self, table: str, item: dict, exists: bool, lower: bool = False) -> None:
        spec = self.model.tables[table]
        key = self._key(table, item)
        if spec.version:
            previous = self.tables.versions.get((table, key))
            version = version_after(self.mode, previous, exists, lower)
            self.tables.versions[(table, key)] = version
            item = {**item, spec.version: version}
        self.tables.put(table, item)
        self.live[table][key] = item
        self._soon(table)

    def _soon(self, table: str) -> None:
        """A live Lambda delivers a write within moments: with the example's ``eager`` odds, now."""
        if self.eager and self.rng.random() < self.eager:
            for lane in range(self.lanes):
                self._deliver(table, lane, 10)

    @rule(data=st.data())
    def put(self, data):
        table = data.draw(st.sampled_from(sorted(self.model.tables)), label="table")
        key = data.draw(self.workload.key(table), label="key")
        item = data.draw(self.workload.item(table, key), label="item")
        self._write(table, item, self._key(table, item) in self.live[table])

    @precondition(lambda self: any(self.live.values()))
    @rule(data=st.data(), lower=st.booleans())
    def update(self, data, lower):
        table = data.draw(st.sampled_from(sorted(t for t, items in self.live.items() if items)), label="table")
        current = data.draw(st.sampled_from(sorted(self.live[table].values(), key=repr)), label="item")
        changes = data.draw(self.workload.changes(table), label="changes")
        item = {k: v for k, v in {**current, **changes}.items() if v is not None}
        self._write(table, item, True, lower)

    @precondition(lambda self: any(self.live.values()))
    @rule(data=st.data())
    def delete(self, data):
        table = data.draw(st.sampled_from(sorted(t for t, items in self.live.items() if items)), label="table")
        key = data.draw(st.sampled_from(sorted(self.live[table], key=repr)), label="key")
        spec = self.model.tables[table]
        self.tables.delete(table, dict(zip(spec.key_attributes, key)))
        del self.live[table][key]
        self._soon(table)

    @precondition(lambda self: any(self.live.values()))
    @rule(data=st.data())
    def recreate(self, data):
        """Delete an item and create it again at once, as applications re-create items (in one second)."""
        table = data.draw(st.sampled_from(sorted(t for t, items in self.live.items() if items)), label="table")
        key = data.draw(st.sampled_from(sorted(self.live[table], key=repr)), label="key")
        spec = self.model.tables[table]
        named = dict(zip(spec.key_attributes, key))
        self.tables.delete(table, named)
        del self.live[table][key]
        self._soon(table)
        self._write(table, data.draw(self.workload.item(table, named), label="item"), False)

    @rule(data=st.data())
    def pointer_churn(self, data):
        join_churn(self, data)

    @rule(data=st.data())
    def pointer_race(self, data):
        join_race(self, data)

    @rule(data=st.data())
    def parent_churn(self, data):
        move_and_return(self, data)

    @rule(lag=st.booleans())
    def index_lag(self, lag):
        if lag and self.index_snapshot is None:
            self.index_snapshot = {t: [dict(i) for i in items.values()] for t, items in self.live.items()}
        elif not lag:
            self.index_snapshot = None

    # --- deliveries ------------------------------------------------------------------------

    def _lane_records(self, table: str, lane: int) -> list[dict]:
        spec = self.model.tables[table]
        records = self.tables.read_streams()[table]
        return [r for r in records if self._lane_of(r, spec.hash_key) == lane]

    def _lane_of(self, record: dict, hash_key: str) -> int:
        value = record["dynamodb"]["Keys"].get(hash_key, {})
        return zlib.crc32(repr(sorted(value.items())).encode()) % self.lanes

    def _lane(self, data, label: str = "lane") -> tuple[str, int]:
        """A lane with records still to deliver, when there is one (else any lane)."""
        pending = [(t, lane) for (t, lane), cursor in sorted(self.cursor.items())
                   if cursor < len(self._lane_records(t, lane))]
        return data.draw(st.sampled_from(pending or sorted(self.cursor)), label=label)

    def _observable(self) -> tuple:
        return self.tables.writes, None if self.index_snapshot is None else id(self.index_snapshot)

    def _deliver(self, table: str, lane: int, size: int, projector: Optional[Projector] = None) -> int:
        """Deliver the lane's next records through the Lambda handler; returns how many succeeded."""
        start = self.cursor[(table, lane)]
        batch = self._lane_records(table, lane)[start:start + size]
        if not batch:
            return 0
        sequences = [r["dynamodb"]["SequenceNumber"] for r in batch]
        now = self._observable()
        quiet = not self.store.fail_rate and all(self.seen.get((table, s)) == now for s in sequences)
        writes_before = self.store.writes
        handle = make_handler(lambda: projector or self.projector(), emit=lambda *a: None)
        result = handle({"Records": batch}, None)
        self.nothing_quarantined()
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        done = next((i for i, s in enumerate(sequences) if s in failed), len(batch))
        for sequence in sequences[:done]:
            self.seen[(table, sequence)] = now
        self.cursor[(table, lane)] = start + done
        if quiet and done == len(batch):
            assert self.store.writes == writes_before, "a redelivered batch with nothing new wrote documents"
        return done

    @rule(data=st.data(), size=st.integers(1, 8), back=st.sampled_from([0, 0, 0, 1, 2, 3, 8]))
    def deliver(self, data, size, back):
        """The lane's next batch; with ``back``, a reader behind (a retry, a second poller) first re-reads
        the lane from that many records earlier, so duplicates arrive with the records after them."""
        table, lane = self._lane(data)
        if back and self.cursor[(table, lane)]:
            self.cursor[(table, lane)] = max(0, self.cursor[(table, lane)] - back)
            event("records were delivered again")
        self._deliver(table, lane, size)

    @rule(data=st.data(), size=st.integers(2, 8), rate=st.sampled_from([0.3, 0.6, 1.0]))
    def fail_part_way(self, data, size, rate):
        """A batch whose document writes fail now and then (a 503, throttling): it reports the lowest
        record it could not finish, and the lane resumes from there."""
        table, lane = self._lane(data)
        self.store.fail_rate = rate
        try:
            done = self._deliver(table, lane, size)
        finally:
            self.store.fail_rate = 0.0
        if done < size and self.cursor[(table, lane)] < len(self._lane_records(table, lane)):
            event("a batch failed part-way and resumes from its lowest failed record")

    @rule(data=st.data(), size=st.integers(1, 6))
    def race(self, data, size):
        """Two projectors at once: the second's whole batch lands between the first's load and write.
        The same lane twice is two readers of one shard (a retry racing a slow invocation)."""
        first = self._lane(data, "first lane")
        second = self._lane(data, "second lane")
        start = self.cursor[second]

        def interleave():
            self._deliver(*second, size, projector=self.projector(container=1))
            if second == first:
                self.cursor[second] = start

        self.store.before_write = interleave
        try:
            self._deliver(*first, size)
        finally:
            self.store.before_write = None
        if self.store.conflicts:
            event("an optimistic-concurrency conflict was resolved")

    @rule(data=st.data())
    def replay_page(self, data):
        """A replay scanning while streams are live: one page per step, T_start taken when it began."""
        name = data.draw(st.sampled_from(sorted(self.model.aggregates)), label="aggregate")
        run = self.replays.get(name)
        if run is None:
            t_start = self.clock.server_time_us()
            tables = list(self.model.aggregate(name).replay_tables)
            pages = ((table, page) for table in tables
                     for page in scan_pages(self.tables.client, self.names.physical(table), limit=2))
            run = self.replays[name] = (t_start, pages)
            event("a replay ran while the streams were live")
        t_start, pages = run
        step = next(pages, None)
        if step is None:
            del self.replays[name]
            return
        table, page = step
        projector = build_projector(self.model, self.store, self.quarantine, purpose=REPLAY,
                                    lookup_factory=lambda: LaggingLookup(self), aggregates=[name],
                                    backoff=Backoff(base=0, cap=0, attempts=3), sleep=lambda s: None, names=self.names)
        report = projector.project(page.items, decode=scan_decoder(self.model.table(table), t_start), origin="scan")
        self.nothing_quarantined()
        assert report.failed_from is None, report.failure_reason

    # --- the promise -----------------------------------------------------------------------

    def nothing_quarantined(self) -> None:
        """Every write the harness makes fits the model, so a quarantined record is a model bug (a
        ``derive`` value its kind refuses, a route that raises): fail at once, while the steps that led
        here are few, rather than after the streams drain (a quarantined document also makes every later
        step of the example slower to shrink)."""
        entries = self.quarantine.list()
        if entries:
            self.failed = True
            raise AssertionError("the model quarantined a record the harness wrote: " + "; ".join(
                f"{e.table}: {e.reason}" for e in entries[:3]))

    def drain(self) -> None:
        self.index_snapshot = None
        for name in list(self.replays):
            while name in self.replays:
                self.replay_page(_Always(name))
        for _ in range(1000):
            progressed = False
            for table in sorted(self.model.tables):
                for lane in range(self.lanes):
                    while self.cursor[(table, lane)] < len(self._lane_records(table, lane)):
                        assert self._deliver(table, lane, 10) > 0, "a batch fails on a healthy store"
                        progressed = True
            if not progressed:
                return

    def documents(self, store) -> dict[str, dict[str, dict]]:
        return {name: {d.key.id: canonical(d.body) for d in store.stored(store.targets(name).read) if d.body is not None}
                for name in self.model.aggregates}

    def check(self) -> None:
        self.drain()
        try:
            implied = oracle_documents(self.model, self.tables.final())
        except ProjectionError as error:  # the model cannot derive a document the final tables imply
            raise AssertionError(f"the model cannot derive a document of the final tables: {error}") from None
        expected = {name: {k: canonical(v) for k, v in docs.items()} for name, docs in implied.items()}
        if self.missed_fanouts:
            event("a lagging index hid a pointing document from a fan-out; verify --repair closed the gap")
            note(f"{self.missed_fanouts} fan-out(s) missed by a lagging index: repairing, as `verify --repair` does")
            self.repair()
        self.nothing_quarantined()
        got = self.documents(self.store)
        for name in sorted(expected):
            assert got[name] == expected[name], difference(name, expected[name], got[name])
        held = self.store.serialized(self.model.aggregates)
        assert SECRET not in held and "SECRET-" not in held, "an undeclared attribute reached the store"
        assert self.replayed() == expected, "a replay of the final tables differs from what they imply"
        if self.drift:
            self.check_repair(expected)

    def check_repair(self, expected: dict) -> None:
        """Inject drift into the converged documents; verify must find it and repair must undo it."""
        changed = inject(self.model, self.store.inner, self.rng)
        self.clock.tick(1000)
        verifier = self.verifier()
        found = {(name, d.id) for name in sorted(self.model.aggregates) for d in verifier.verify(name).drift}
        assert changed <= found, f"verify missed injected drift: {sorted(changed - found)}"
        for name in sorted(self.model.aggregates):
            for drift in verifier.verify(name).drift:
                verifier.repair(drift)
        got = self.documents(self.store)
        for name in sorted(expected):
            assert got[name] == expected[name], difference(name, expected[name], got[name])
        event("verify found the injected drift and repair undid it")

    def verifier(self) -> Verifier:
        return Verifier(self.model, self.store, self.tables.client,
                        lookup_factory=lambda: DynamoLookup(self.tables.client, self.model, names=self.names),
                        segments=1, names=self.names, clock=self.clock.server_time_us,
                        wait_until=self.clock.wait_until)

    def repair(self) -> None:
        verifier = self.verifier()
        self.clock.tick(1000)
        for name in sorted(self.model.aggregates):
            for drift in verifier.verify(name).drift:
                verifier.repair(drift)

    def replayed(self) -> dict[str, dict[str, dict]]:
        """A replay of the final tables into a fresh store, through the same engine."""
        store = MemoryStore()
        job = ReplayJob(self.model, store, MemoryQuarantine(), self.tables.client, MemoryCheckpoints(),
                        lookup_factory=lambda: DynamoLookup(self.tables.client, self.model, names=self.names),
                        segments=2, names=self.names, clock=self.clock.server_time_us)
        for name in sorted(self.model.aggregates):
            job.run(name)
        return self.documents(store)


class _Always:
    """A ``data`` stand-in that always picks the given aggregate."""

    def __init__(self, name: str) -> None:
        self.name = name

    def draw(self, strategy, label=None):
        return self.name


def machine_for(model: Model, *, workload: Optional[Workload] = None, names: TableNames = IDENTITY) -> type:
    """A state machine class for ``model`` (``run_state_machine_as_test`` runs it; ``.TestCase`` for pytest)."""
    return type(
        f"{type(model).__name__}Machine",
        (ModelMachine,),
        {"model": model, "workload": workload or Workload(model), "names": names},
    )
