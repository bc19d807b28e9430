"""The central promise, as a hypothesis state machine.

Writers change the five sample tables; Lambda-like deliveries take batches
from each table's stream (per-table order kept, tables interleaved in any
order), redeliver batches, fail part-way and resume from the lowest failed
record, race two projectors on the same documents, and run replay scans
while the streams are live; the ``by_song`` index may lag. Whatever
happens, once every stream is drained (and, if the index lag made a fan-out
miss a lesson, once a replay has run, which is what ``verify --repair``
does), every document equals what the oracle computes from the final
tables; meanwhile no watermark ever goes down and a redelivered batch with
nothing new writes nothing.

Two residual races of the lesson join are known and documented in
ARCHITECTURE.md: a fan-out missed by a lagging index, and a lesson pointed
at a song in the same instant (second, in DynamoDB's timestamps) as a write
to that song, where nothing orders the two records. Both are closed by
``verify --repair``; the machine checks exactly that for those examples.
"""

from __future__ import annotations

import random
from decimal import Decimal

from hypothesis import event, note, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from domain.sample import MODEL
from projector.batch import Backoff, Projector
from projector.quarantine import MemoryQuarantine
from projector.stores.base import Retryable
from projector.stores.memory import MemoryStore
from replay.scan import scan_decoder
from tests.support import oracle
from tests.support.simulation import KEYS, SimulatedLookup, SimulatedTables, typed

CUSTOMERS = ["c1", "c2", "c3"]
ORDERS = ["o1", "o2", "o3"]
PLANS = ["basic", "pro"]
SONGS = ["s1", "s2"]
LESSONS = ["l1", "l2", "l3"]
TABLES = list(KEYS)


class WatermarkViolation(AssertionError):
    pass


class GuardedStore:
    """The memory store, checking on every write that no watermark goes down."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.writes = 0
        self.failing: set = set()
        self.before_write = None

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def write(self, writes):
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook()
        current = self.inner.reload([w.key for w in writes])
        for w in writes:
            old = current.get(w.key)
            if old is None:
                continue
            for sid, entry in old.state.entries.items():
                new = w.state.entries.get(sid)
                if new is None or new.version < entry.version:
                    if old.token == w.expected:
                        raise WatermarkViolation(f"write to {w.key} lowers the watermark of {sid}")
        outcomes = dict(self.inner.write([w for w in writes if w.key.id not in self.failing]))
        for w in writes:
            if w.key.id in self.failing:
                outcomes[w.key] = Retryable("injected 503")
        self.writes += sum(1 for o in outcomes.values() if type(o).__name__ == "Written")
        return outcomes


class Convergence(RuleBasedStateMachine):
    model = MODEL

    @initialize(seed=st.integers(0, 2**16))
    def setup(self, seed):
        self.tables = SimulatedTables()
        self.store = GuardedStore()
        self.quarantine = MemoryQuarantine()
        self.rng = random.Random(seed)
        self.cursor = {t: 0 for t in TABLES}
        self.delivered: list[tuple[str, list, tuple]] = []
        self.replays = 0
        self.store.prepare(list(self.model.aggregates.values()))

    def projector(self) -> Projector:
        return Projector(
            self.model, self.store, self.quarantine,
            lookup_factory=lambda: SimulatedLookup(self.tables),
            backoff=Backoff(base=0, cap=0, attempts=3), sleep=lambda s: None, rng=self.rng,
        )

    # --- writers -------------------------------------------------------------------------

    @rule(ms=st.sampled_from([0, 0, 1, 1000]))
    def clock(self, ms):
        self.tables.tick(ms)

    @rule(cid=st.sampled_from(CUSTOMERS), name=st.sampled_from(["Ada", "Grace"]), opt=st.booleans())
    def put_customer(self, cid, name, opt):
        self.tables.put("customers", {"customer_id": cid, "name": name, "email": f"{cid}@x.io", "country": "NL",
                                      "marketing_opt_in": opt, "password_hash": "secret", "created_at": "2026"})

    @rule(cid=st.sampled_from(CUSTOMERS))
    def delete_customer(self, cid):
        self.tables.delete("customers", (cid,))

    @rule(cid=st.sampled_from(CUSTOMERS), oid=st.sampled_from(ORDERS),
          status=st.sampled_from(["placed", "paid", "shipped", "cancelled"]),
          cents=st.integers(1, 10**6), day=st.sampled_from([None, "2026-11-01", "2026-11-02"]))
    def put_order(self, cid, oid, status, cents, day):
        self.tables.put("orders", {"customer_id": cid, "order_id": oid, "status": status, "total": Decimal(cents) / 100,
                                   "currency": "EUR", "placed_at": day, "items": [{"sku": "x"}]})

    @rule(cid=st.sampled_from(CUSTOMERS), oid=st.sampled_from(ORDERS))
    def delete_order(self, cid, oid):
        self.tables.delete("orders", (cid, oid))

    @rule(cid=st.sampled_from(CUSTOMERS), plan=st.sampled_from(PLANS), status=st.sampled_from(["active", "cancelled"]))
    def put_subscription(self, cid, plan, status):
        self.tables.put("subscriptions", {"customer_id": cid, "plan_id": plan, "status": status, "started_at": "2026"})

    @rule(cid=st.sampled_from(CUSTOMERS), plan=st.sampled_from(PLANS))
    def delete_subscription(self, cid, plan):
        self.tables.delete("subscriptions", (cid, plan))

    @rule(sid=st.sampled_from(SONGS), title=st.sampled_from(["Wonderwall", "Jolene", "Blackbird"]))
    def put_song(self, sid, title):
        self.tables.put("songs", {"song_id": sid, "title": title, "artist": "Someone"})

    @rule(sid=st.sampled_from(SONGS))
    def delete_song(self, sid):
        self.tables.delete("songs", (sid,))

    @rule(lid=st.sampled_from(LESSONS), sid=st.sampled_from(SONGS + [None]), level=st.sampled_from(["1", Decimal(2)]))
    def put_lesson(self, lid, sid, level):
        self.tables.put("lessons", {"lesson_id": lid, "song_id": sid, "title": f"Lesson {lid}", "level": level,
                                    "instrument": "guitar"})

    @rule(lid=st.sampled_from(LESSONS))
    def delete_lesson(self, lid):
        self.tables.delete("lessons", (lid,))

    @rule(lag=st.booleans())
    def index_lag(self, lag):
        self.tables.index_lag = lag
        if not lag:
            self.tables.catch_up_index()

    # --- deliveries ----------------------------------------------------------------------

    def _next_batch(self, table, size):
        start = self.cursor[table]
        return start, self.tables.streams[table][start : start + size]

    def _deliver(self, table, start, batch, projector=None):
        report = (projector or self.projector()).project(batch)
        assert not report.quarantined, report.quarantined
        done = len(batch) if report.failed_from is None else report.failed_from
        self.cursor[table] = start + done
        if done:
            self.delivered.append((table, batch[:done], self.tables.observable))
        return report

    @rule(table=st.sampled_from(TABLES), size=st.integers(1, 6))
    def deliver(self, table, size):
        start, batch = self._next_batch(table, size)
        if batch:
            report = self._deliver(table, start, batch)
            assert report.failed_from is None

    @precondition(lambda self: self.delivered)
    @rule(data=st.data())
    def redeliver(self, data):
        table, batch, seen_then = data.draw(st.sampled_from(self.delivered))
        before = self.store.writes
        report = self.projector().project(batch)
        assert report.failed_from is None
        if seen_then == self.tables.observable:
            assert self.store.writes == before, "a redelivered batch with nothing new wrote documents"

    @rule(table=st.sampled_from(TABLES), size=st.integers(2, 6), data=st.data())
    def fail_part_way(self, table, size, data):
        start, batch = self._next_batch(table, size)
        if not batch:
            return
        ids = sorted({i for t in (CUSTOMERS, LESSONS) for i in t})
        self.store.failing = set(data.draw(st.lists(st.sampled_from(ids), max_size=2)))
        try:
            report = self._deliver(table, start, batch)
        finally:
            self.store.failing = set()
        if report.failed_from is not None:
            event("batch failed part-way and resumes from its lowest failed record")

    @rule(first=st.sampled_from(TABLES), second=st.sampled_from(TABLES), size=st.integers(1, 6))
    def race_two_projectors(self, first, second, size):
        """The second projector's whole batch lands between the first one's load and write."""
        start1, batch1 = self._next_batch(first, size)
        if not batch1:
            return
        if second == first:
            start2, batch2 = start1, batch1
        else:
            start2, batch2 = self._next_batch(second, size)
        other = self.projector()

        def interleave():
            if batch2:
                self._deliver(second, start2, batch2, other)

        self.store.before_write = interleave
        report = self._deliver(first, start1, batch1)
        self.store.before_write = None
        assert report.failed_from is None
        if report.conflicts:
            event("optimistic-concurrency conflict resolved")

    @rule(data=st.data())
    def replay_scan(self, data):
        """A scan while streams are live: rows read at different moments, as a real scan does."""
        self.replays += 1
        t_start = self.tables.now_us()
        projector = self.projector()
        for table in ("customers", "orders", "subscriptions", "lessons"):
            keys = list(self.tables.items[table])
            decode = scan_decoder(self.model.table(table), t_start)
            while keys:
                page, keys = keys[:2], keys[2:]
                if data.draw(st.booleans(), label="writes during the scan"):
                    self.put_order(CUSTOMERS[0], ORDERS[0], "paid", 100, None)
                rows = [typed(self.tables.items[table][k]) for k in page if k in self.tables.items[table]]
                report = projector.project(rows, decode=decode, source="scan")
                assert report.failed_from is None and not report.quarantined

    # --- the promise ---------------------------------------------------------------------

    def drain(self):
        for table in TABLES:
            while self.cursor[table] < len(self.tables.streams[table]):
                start, batch = self._next_batch(table, 10)
                report = self._deliver(table, start, batch)
                assert report.failed_from is None

    def _check(self, aggregates) -> None:
        expected = oracle.expected(self.tables.final())
        for aggregate in aggregates:
            got = {d.key.id: d.body for d in self.store.stored(self.store.targets(aggregate).read) if d.body is not None}
            assert oracle.normalized(got) == oracle.normalized(expected[aggregate]), aggregate

    def teardown(self):
        if not hasattr(self, "tables"):
            return
        self.tables.index_lag = False
        self.tables.catch_up_index()
        self.drain()
        self._check(["customer"])
        missed, ties = self.tables.missed_fanouts, self.tables.join_ties
        if missed or ties:
            event("residual join race (lagging index or same-instant re-point); repaired by replay")
            note(f"{missed} fan-out(s) missed by the lagging index, {ties} lesson write(s) at the instant of a "
                 "write to their song: repairing with a replay, as `verify --repair` does")
            self.tables.tick(2000)
            self.replay_scan(_NoWrites())
        self._check(["customer", "lesson"])
        assert not self.quarantine.list()


class _NoWrites:
    def draw(self, strategy, label=None):
        return False


TestConvergence = Convergence.TestCase
TestConvergence.settings = settings(stateful_step_count=40)


def test_a_lagging_index_can_hide_a_lesson_from_a_fan_out_and_a_replay_closes_the_gap():
    """The residual race of the design notes, step by step.

    The lesson's own join reads the song consistently, so a rename written
    before the lesson record is processed is always seen. Only this order
    escapes it: the join reads the old title, then the song is renamed and
    its fan-out query runs while the index has not indexed the new lesson.
    ``verify --repair`` (a replay of the affected items) closes it.
    """
    tables = SimulatedTables()
    store = MemoryStore()
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: SimulatedLookup(tables))
    tables.put("songs", {"song_id": "s1", "title": "Old", "artist": "A"})
    tables.index_lag = True
    tables.tick(1000)
    tables.put("lessons", {"lesson_id": "l1", "song_id": "s1", "title": "L"})
    projector.project(tables.streams["songs"] + tables.streams["lessons"])
    tables.tick(1000)
    tables.put("songs", {"song_id": "s1", "title": "New", "artist": "A"})
    projector.project(tables.streams["songs"][1:])
    assert tables.missed_fanouts >= 1
    assert store.get("lesson", "l1")["song_title"] == "Old"
    tables.index_lag = False
    tables.catch_up_index()
    tables.tick(2000)
    t_start = tables.now_us()
    projector.project([typed(row) for row in tables.rows("lessons")], decode=scan_decoder(MODEL.table("lessons"), t_start))
    assert store.get("lesson", "l1")["song_title"] == "New"


def test_a_lesson_re_created_in_the_instant_its_song_is_deleted_shows_no_song():
    """The shrunk counterexample the thorough run found, kept as a regression test.

    The song slice (from a fan-out while the first l1 existed) has the same
    timestamp as the re-created lesson; the lesson's join found no song, so
    the slice is left over from before the delete and must not be shown.
    """
    tables = SimulatedTables()
    store = MemoryStore()
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: SimulatedLookup(tables))
    tables.put("songs", {"song_id": "s1", "title": "Wonderwall", "artist": "Someone"})
    projector.project(tables.streams["songs"][:1])
    tables.put("lessons", {"lesson_id": "l1", "song_id": "s1", "title": "L", "level": "1"})
    projector.project(tables.streams["songs"][:1])
    tables.delete("songs", ("s1",))
    tables.delete("lessons", ("l1",))
    projector.project(tables.streams["songs"][1:])
    tables.put("lessons", {"lesson_id": "l1", "song_id": "s1", "title": "L", "level": "1"})
    projector.project(tables.streams["lessons"])
    assert tables.join_ties >= 1
    assert store.get("lesson", "l1")["song_title"] is None
    projector.project([typed(row) for row in tables.rows("lessons")], decode=scan_decoder(MODEL.table("lessons"), tables.now_us()))
    assert store.get("lesson", "l1")["song_title"] is None
