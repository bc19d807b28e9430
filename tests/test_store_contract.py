"""The store contract, run on every store: memory, SQLite, OpenSearch (osmem, a real node, a live cluster).

Each case states one promise of ``projector.stores.base`` that the
projector's convergence depends on: conditional writes with one winner per
race, per-item outcomes, tombstones hidden from readers, exact numbers,
atomic target switches, and a projector that converges or reports records
failed (never loses them) when the store throttles, resets connections or
loses answers. ``node`` is the real OpenSearch node of the session
(``DYNAFOLD_REAL_NODES=1``, see ``tests.servers``); the live cluster runs when
``OPENSEARCH_URL`` is set (``https://…`` or ``opensearch+https://…``). Both
use a unique index prefix that is deleted afterwards.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import pytest

from domain.sample import CUSTOMER, MODEL
from domain.aggregate import ROOT
from domain.events import Slot
from domain.source import SourceItem, SourceVersion
from domain.state import AggregateState, Entry
from projector.batch import Backoff, Projector
from projector.quarantine import MemoryQuarantine
from projector.stores import open_store
from projector.stores.base import (
    Conflict,
    DocKey,
    DocumentStore,
    DocumentWrite,
    Targets,
    UnknownTarget,
    Written,
)
from projector.stores.memory import MemoryStore
from tests.support.faults import FaultyStore, ResettingProxy

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
V1, V2 = "customer_v1", "customer_v2"
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/{}/stream/2026-01-01T00:00:00.000"


# Lambda-shaped stream records of the sample tables


def _ddb(value: Any) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, Decimal)):
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    raise TypeError(type(value).__name__)


def stream_record(table: str, seq: int, keys: dict, image: Optional[dict]) -> dict:
    """One Lambda stream record: an INSERT/MODIFY with ``image``, or a REMOVE when ``image`` is None."""
    stream = {
        "ApproximateCreationDateTime": T0 + seq,
        "Keys": {k: _ddb(v) for k, v in keys.items()},
        "SequenceNumber": f"{seq:021d}",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if image is None:
        stream["OldImage"] = {k: _ddb(v) for k, v in keys.items()}
        if table == "customers":
            stream["OldImage"]["version"] = _ddb(seq)
    else:
        stream["NewImage"] = {k: _ddb(v) for k, v in {**keys, **image}.items()}
    return {
        "eventID": f"{table}-{seq}",
        "eventName": "REMOVE" if image is None else "INSERT",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": ARN.format(table),
        "awsRegion": "us-east-1",
        "dynamodb": stream,
    }


def customer_record(seq: int, cid: str, name: str) -> dict:
    image = {"name": name, "email": f"{cid}@example.com", "country": "NL", "marketing_opt_in": True, "version": seq}
    return stream_record("customers", seq, {"customer_id": cid}, image)


def order_record(seq: int, cid: str, oid: str, total: Decimal, status: str = "paid") -> dict:
    image = {"status": status, "total": total, "currency": "EUR", "placed_at": f"2026-02-{seq % 28 + 1:02d}T10:00:00Z"}
    return stream_record("orders", seq, {"customer_id": cid, "order_id": oid}, image)


def workload(customers: int = 12, orders: int = 3, seed: int = 1) -> list[dict]:
    """Customers with orders, some changed twice, one removed: in stream order."""
    rng = random.Random(seed)
    records, seq = [], 1
    for c in range(customers):
        records.append(customer_record(seq, f"c{c:03d}", f"Customer {c} {rng.choice(['Ada', 'Grace', 'Alan'])}"))
        seq += 1
        for o in range(orders):
            records.append(order_record(seq, f"c{c:03d}", f"o{o}", Decimal(rng.randrange(1, 99999)) / 100))
            seq += 1
    records.append(customer_record(seq, "c001", "Renamed Customer"))
    records.append(stream_record("customers", seq + 1, {"customer_id": "c002"}, None))
    return records


def reference(records: list[dict]) -> list[dict]:
    """The customer documents a fault-free projection of ``records`` produces."""
    store = MemoryStore()
    report = Projector(MODEL, store, MemoryQuarantine()).project(records)
    assert report.failed_from is None
    return list(store.documents("customer"))


def projector(store: DocumentStore, *, attempts: int = 4, sleep: Callable[[float], None] = lambda s: None) -> Projector:
    return Projector(MODEL, store, MemoryQuarantine(), backoff=Backoff(attempts=attempts), sleep=sleep, rng=random.Random(7))


def deliver(p: Projector, records: list[dict], rounds: int = 40) -> int:
    """Deliver like Lambda: redeliver from the first failed record until the batch succeeds."""
    for round_ in range(rounds):
        report = p.project(records)
        assert not report.quarantined
        if report.failed_from is None:
            return round_ + 1
        records = records[report.failed_from :]
    raise AssertionError(f"not converged after {rounds} deliveries")


# documents written directly through the port


def customer_doc(cid: str, name: str, version: int = 1, **data: Any) -> tuple[AggregateState, dict]:
    item = SourceItem.of("customers", {"customer_id": cid})
    slot = Slot(ROOT, item)
    entry = Entry(slot, SourceVersion.streamed(T0 * 1_000_000, version, version), {"customer_id": cid, "name": name, **data})
    state = AggregateState({slot.key: entry})
    return state, CUSTOMER.document(cid, state)


def put(store: DocumentStore, key: DocKey, name: str, expected: Any = None, version: int = 1):
    state, body = customer_doc(key.id, name, version)
    return store.write([DocumentWrite(key, expected, state, body)])[key]


def tombstone(store: DocumentStore, key: DocKey, expected: Any, version: int = 2):
    state, _ = customer_doc(key.id, "gone", version)
    return store.write([DocumentWrite(key, expected, state, None)])[key]


def names(docs) -> dict[str, str]:
    return {d["customer_id"]: d["name"] for d in docs}


# backends


class PortFaults:
    """Faults of a store without a network: injected at the port by ``FaultyStore``."""

    def __init__(self, store: DocumentStore, rng: random.Random) -> None:
        self.store = FaultyStore(store, rng, faulty_calls=("write",))

    def storm(self, on: bool) -> None:
        self.store.retryable_item = 1.0 if on else 0.0

    def cut_writes(self) -> None:
        self.store.fail_call = 1.0

    def lose_write_answers(self, times: Optional[int] = None) -> None:
        self.store.lose_response = 1.0
        self.store.max_faults = None if times is None else sum(self.store.injected.values()) + times

    def heal(self) -> None:
        self.store.heal()
        self.store.max_faults = None


class NetworkFaults:
    """Faults of OpenSearch: 429s from a real index block, resets from a real TCP proxy."""

    def __init__(self, backend: "Backend", rng: random.Random) -> None:
        self.backend = backend
        parts = urlsplit(backend.url.replace("opensearch+", ""))
        if "aws_region=" in parts.query:
            pytest.skip("SigV4 signs the host name, so requests cannot go through a local fault proxy")
        self.proxy = ResettingProxy((parts.hostname, parts.port or (443 if parts.scheme == "https" else 9200)))
        backend.closers.append(self.proxy.close)
        userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        proxied = f"{parts.scheme}://{userinfo}127.0.0.1:{self.proxy.port}?{parts.query}"
        if parts.scheme == "https":  # the certificate names the cluster, not the local proxy
            proxied += "&verify_certs=false"
        self._plan: Optional[tuple[str, Optional[int]]] = None
        self.store = FaultyStore(backend.open("opensearch+" + proxied), rng, on_write=self._on_write)

    def _on_write(self, writes) -> None:
        if self._plan is not None:
            mode, times = self._plan
            self.proxy.arm(mode, times)
            if times is not None:
                self._plan = None

    def storm(self, on: bool) -> None:
        self.backend.admin.client.indices.put_settings(
            index=self.backend.admin.prefix + V1, body={"index.blocks.read_only_allow_delete": True if on else None}
        )

    def cut_writes(self) -> None:
        self._plan = ("reset", None)

    def lose_write_answers(self, times: Optional[int] = None) -> None:
        self._plan = ("lose", times)

    def heal(self) -> None:
        self._plan = None
        self.proxy.arm("pass")


class Backend:
    """One store under contract: clients of the same stored data, and ways to make it fail."""

    def __init__(self, name: str, url: str, *, shared: Optional[DocumentStore] = None) -> None:
        self.name = name
        self.url = url
        self.shared = shared
        self.closers: list[Callable[[], None]] = []
        self.admin = self.open()

    @property
    def networked(self) -> bool:
        return self.url.startswith("opensearch+")

    def open(self, url: Optional[str] = None) -> DocumentStore:
        if self.shared is not None:
            return self.shared
        store = open_store(url or self.url)
        self.closers.append(store.close)
        return store

    def prepared(self) -> DocumentStore:
        store = self.open()
        store.prepare(list(MODEL.aggregates.values()))
        return store

    def faults(self, store: DocumentStore, seed: int = 0):
        rng = random.Random(seed)
        return NetworkFaults(self, rng) if self.networked else PortFaults(store, rng)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


@pytest.fixture(params=["memory", "sqlite", "osmem", "node", "live"])
def backend(request, tmp_path):
    kind = request.param
    if kind == "memory":
        b = Backend(kind, "memory://", shared=MemoryStore())
    elif kind == "sqlite":
        b = Backend(kind, f"sqlite:///{tmp_path}/views.db")
    elif kind == "osmem":
        osmem_url = request.getfixturevalue("osmem_url")
        b = Backend(kind, osmem_url.replace("http://", "opensearch+http://") + "?prefix=contract-")
    else:  # the fixture deletes the prefix's indices after every client here is closed
        b = Backend(kind, request.getfixturevalue("opensearch_node_url" if kind == "node" else "live_opensearch_url"))
    yield b
    b.close()


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment, each on its own thread."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


# the contract


def test_prepare_is_idempotent_and_concurrent_preparers_all_succeed(backend):
    a, b = backend.open(), backend.open()
    aggregates = list(MODEL.aggregates.values())
    in_parallel(lambda: a.prepare(aggregates), lambda: b.prepare(aggregates))
    a.prepare(aggregates)
    for store in (a, b):
        assert store.targets("customer") == Targets(V1, (V1,))
        assert store.targets("lesson") == Targets("lesson_v1", ("lesson_v1",))
    assert isinstance(put(a, DocKey(V1, "c1"), "Ada"), Written)
    assert b.get("customer", "c1")["name"] == "Ada"


def test_load_names_the_write_targets_and_refuses_unknown_aggregates(backend):
    store = backend.prepared()
    put(store, DocKey(V1, "c1"), "Ada")
    loaded = store.load({"customer": ["c1", "missing"], "lesson": []})
    assert loaded.targets == {"customer": (V1,), "lesson": ("lesson_v1",)}
    assert set(loaded.documents) == {DocKey(V1, "c1")}
    assert loaded.documents[DocKey(V1, "c1")].body["name"] == "Ada"
    with pytest.raises(UnknownTarget):
        store.load({"nope": ["x"]})


def test_two_creators_of_the_same_new_document_exactly_one_wins(backend):
    backend.prepared()
    a, b = backend.open(), backend.open()
    key = DocKey(V1, "c1")
    outcomes = in_parallel(lambda: put(a, key, "Ada"), lambda: put(b, key, "Grace"))
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Written"]
    winner = "Ada" if isinstance(outcomes[0], Written) else "Grace"
    assert a.get("customer", "c1")["name"] == winner


def test_two_writers_with_the_same_token_exactly_one_wins(backend):
    store = backend.prepared()
    key = DocKey(V1, "c1")
    put(store, key, "Ada")
    a, b = backend.open(), backend.open()
    token = a.load({"customer": ["c1"]}).documents[key].token
    outcomes = in_parallel(lambda: put(a, key, "Grace", token, 2), lambda: put(b, key, "Alan", token, 2))
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Written"]
    (won,) = [o for o in outcomes if isinstance(o, Written)]
    current = store.reload([key])[key]
    assert current.token == won.token
    assert current.body["name"] == ("Grace" if outcomes[0] == won else "Alan")


def test_a_stale_token_is_a_conflict_and_leaves_the_document_unchanged(backend):
    store = backend.prepared()
    key = DocKey(V1, "c1")
    first = put(store, key, "Ada")
    second = put(store, key, "Grace", first.token, 2)
    assert isinstance(second, Written) and second.token != first.token
    assert put(store, key, "Alan", first.token, 3) == Conflict()
    current = store.reload([key])[key]
    assert current.token == second.token
    assert current.body["name"] == "Grace"
    assert current.state == customer_doc("c1", "Grace", 2)[0]


def test_one_write_call_reports_an_outcome_per_document(backend):
    store = backend.prepared()
    keys = {n: DocKey(V1, n) for n in ("a", "b", "c", "d")}
    tokens = {n: put(store, keys[n], f"Old {n}").token for n in ("a", "b", "c")}
    stale = put(store, keys["b"], "Newer b", tokens["b"], 2)
    writes = []
    for name, expected in (("a", tokens["a"]), ("b", tokens["b"]), ("c", None), ("d", None)):
        state, body = customer_doc(name, f"New {name}", 3)
        writes.append(DocumentWrite(keys[name], expected, state, body))
    outcomes = store.write(writes)
    assert isinstance(outcomes[keys["a"]], Written) and isinstance(outcomes[keys["d"]], Written)
    assert outcomes[keys["b"]] == Conflict() and outcomes[keys["c"]] == Conflict()
    assert names(store.documents("customer")) == {"a": "New a", "b": "Newer b", "c": "Old c", "d": "New d"}
    assert store.reload([keys["b"]])[keys["b"]].token == stale.token


def test_tombstone_documents_are_hidden_from_readers_but_stored(backend):
    store = backend.prepared()
    visible, hidden, born_dead = DocKey(V1, "c1"), DocKey(V1, "c2"), DocKey(V1, "c3")
    put(store, visible, "Ada Lovelace")
    token = put(store, hidden, "Grace Lovelace").token
    assert tombstone(store, hidden, token) == Written(store.reload([hidden])[hidden].token)
    tombstone(store, born_dead, None)
    assert store.get("customer", "c1")["name"] == "Ada Lovelace"
    assert store.get("customer", "c2") is None and store.get("customer", "c3") is None
    assert names(store.documents("customer")) == {"c1": "Ada Lovelace"}
    assert names(store.search("customer", "lovelace")) == {"c1": "Ada Lovelace"}
    stored = {d.key.id: d for d in store.stored(V1)}
    assert sorted(stored) == ["c1", "c2", "c3"]
    assert stored["c2"].body is None and stored["c3"].body is None
    assert stored["c2"].state == customer_doc("c2", "gone", 2)[0]


def test_exact_numbers_round_trip_in_state_and_body(backend):
    store = backend.prepared()
    big, money = Decimal("12345678901234567890123456789012345678"), Decimal("42.50")
    state, _ = customer_doc("c1", "Ada", total=big, price=money)
    body = {**CUSTOMER.document("c1", state), "lifetime_value": big}
    precise = Decimal("1234567.890123456789012345")  # more digits than a double holds
    body["orders"] = [{"order_id": "o1", "status": "paid", "total": money, "currency": "EUR", "placed_at": None},
                      {"order_id": "o2", "status": "paid", "total": precise, "currency": "EUR", "placed_at": None}]
    key = DocKey(V1, "c1")
    assert isinstance(store.write([DocumentWrite(key, None, state, body)])[key], Written)
    for read in (
        store.load({"customer": ["c1"]}).documents[key],
        store.reload([key])[key],
        next(iter(store.stored(V1))),
    ):
        (entry,) = read.state
        assert entry.data["total"] == big and str(entry.data["price"]) == "42.50"
        assert read.body["lifetime_value"] == big and str(read.body["orders"][0]["total"]) == "42.50"
        assert read.body["orders"][1]["total"] == precise
    for doc in (store.get("customer", "c1"), next(iter(store.documents("customer"))), store.search("customer", "ada")[0]):
        assert doc["lifetime_value"] == big and str(doc["orders"][0]["total"]) == "42.50"
        assert doc["orders"][1]["total"] == precise


def test_search_finds_documents_by_a_word_of_a_text_field_and_never_tombstones(backend):
    store = backend.prepared()
    for cid, name in (("c1", "Ada Lovelace"), ("c2", "Grace Hopper"), ("c3", "Ada Hopper")):
        put(store, DocKey(V1, cid), name)
    token = put(store, DocKey(V1, "c4"), "Ada Byron").token
    tombstone(store, DocKey(V1, "c4"), token)
    assert set(names(store.search("customer", "ada"))) == {"c1", "c3"}
    assert set(names(store.search("customer", "HOPPER ada"))) == {"c3"}
    assert set(names(store.search("customer", "byron"))) == set()
    assert store.search("customer", "  ") == []
    assert len(store.search("customer", "ada", limit=1)) == 1


def test_documents_are_sorted_by_id(backend):
    store = backend.prepared()
    ids = [f"c{n:03d}" for n in random.Random(3).sample(range(200), 40)]
    for cid in ids:
        put(store, DocKey(V1, cid), f"Name {cid}")
    assert [d["customer_id"] for d in store.documents("customer")] == sorted(ids)
    assert [d.key.id for d in store.stored(V1)] == sorted(ids)


def test_readers_follow_a_target_switch_atomically(backend):
    store = backend.prepared()
    store.create_target(CUSTOMER, V2)
    for cid in ("c1", "c2"):
        put(store, DocKey(V1, cid), "Old")
    for cid in ("c1", "c2", "c3"):
        put(store, DocKey(V2, cid), "New")
    old, new = {"c1": "Old", "c2": "Old"}, {"c1": "New", "c2": "New", "c3": "New"}
    reader, seen, done = backend.open(), [], threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(names(reader.documents("customer")))
        seen.append(names(reader.documents("customer")))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for switch in range(7):
            target = V2 if switch % 2 == 0 else V1
            store.set_targets("customer", Targets(target, (target,)))
    finally:
        done.set()
        thread.join()
    assert [s for s in seen if s not in (old, new)] == []
    assert seen[-1] == new
    assert store.targets("customer") == Targets(V2, (V2,))
    assert store.get("customer", "c3")["name"] == "New"
    assert set(names(store.search("customer", "new"))) == {"c1", "c2", "c3"}
    with pytest.raises(UnknownTarget):
        store.set_targets("customer", Targets("customer_v9", ("customer_v9",)))


def test_a_projector_dual_writes_when_a_second_write_target_is_registered(backend):
    store = backend.prepared()
    records = workload(customers=6)
    running = projector(backend.open())
    running.project(records[:4])
    store.create_target(CUSTOMER, V2)
    store.set_targets("customer", Targets(V1, (V1, V2)))
    assert running.project(records).failed_from is None
    v1 = {d.key.id: d.state for d in store.stored(V1)}
    v2 = {d.key.id: d.state for d in store.stored(V2)}
    assert v1 == v2 and len(v1) == 6
    assert list(store.documents("customer")) == reference(records)
    store.set_targets("customer", Targets(V2, (V2,)))
    assert list(store.documents("customer")) == reference(records)


def test_redelivering_a_projected_batch_writes_nothing(backend):
    counted = FaultyStore(backend.prepared(), random.Random(0))
    p = projector(counted)
    records = workload()
    first = p.project(records)
    assert first.failed_from is None and first.documents_written == 12
    writes = counted.calls["write"]
    again = p.project(records)
    assert again.failed_from is None and again.documents_written == 0
    assert counted.calls["write"] == writes
    assert list(counted.documents("customer")) == reference(records)


def test_a_429_storm_that_outlasts_the_retries_fails_the_batch_and_redelivery_converges(backend):
    store = backend.prepared()
    faults = backend.faults(store)
    p = projector(faults.store, attempts=3)
    records = workload()
    faults.storm(True)
    try:
        report = p.project(records)
    finally:
        faults.storm(False)
    assert report.failed_from == 0 and report.documents_written == 0
    assert list(store.stored(V1)) == []
    assert deliver(p, records[report.failed_from :]) == 1
    assert list(store.documents("customer")) == reference(records)


def test_a_429_storm_that_ends_during_the_backoff_converges_in_the_same_batch(backend):
    store = backend.prepared()
    faults = backend.faults(store)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 2:
            faults.storm(False)

    p = projector(faults.store, attempts=5, sleep=sleep)
    records = workload()
    faults.storm(True)
    report = p.project(records)
    assert report.failed_from is None and report.retries == 2
    assert list(store.documents("customer")) == reference(records)


def test_a_connection_reset_mid_batch_fails_the_batch_and_redelivery_converges(backend):
    store = backend.prepared()
    faults = backend.faults(store)
    p = projector(faults.store, attempts=3)
    records = workload()
    faults.cut_writes()
    report = p.project(records)
    assert report.failed_from == 0 and report.documents_written == 0
    assert list(store.stored(V1)) == []
    faults.heal()
    assert deliver(p, records[report.failed_from :]) == 1
    assert list(store.documents("customer")) == reference(records)


def test_lost_write_answers_are_harmless(backend):
    store = backend.prepared()
    faults = backend.faults(store)
    p = projector(faults.store, attempts=3)
    records = workload()
    faults.lose_write_answers(times=1)
    report = p.project(records)
    assert report.failed_from is None and report.conflicts == 12 and report.documents_written == 0
    assert list(store.documents("customer")) == reference(records)
    faults.lose_write_answers()
    changed = [customer_record(1000, "c003", "Changed Again")]
    report = p.project(changed)
    assert report.failed_from == 0
    faults.heal()
    again = p.project(changed)
    assert again.failed_from is None and again.documents_written == 0
    assert store.get("customer", "c003")["name"] == "Changed Again"


def test_writers_racing_the_projector_only_cost_retries(backend):
    faulty = FaultyStore(backend.prepared(), random.Random(11), conflict_item=0.5)
    p = projector(faulty, attempts=8)
    records = workload()
    deliver(p, records)
    assert faulty.injected["conflict_item"] > 0
    assert list(faulty.documents("customer")) == reference(records)


def test_random_faults_of_every_kind_never_lose_a_record(backend):
    faulty = FaultyStore(
        backend.prepared(),
        random.Random(5),
        fail_call=0.15,
        lose_response=0.15,
        retryable_item=0.2,
        conflict_item=0.2,
    )
    p = projector(faulty, attempts=3)
    records = workload(customers=10, orders=4, seed=9)
    for start in range(0, len(records), 6):
        deliver(p, records[start : start + 6])
    assert set(faulty.injected) == {"fail_call", "lose_response", "retryable_item", "conflict_item"}
    assert list(faulty.documents("customer")) == reference(records)


def test_sqlite_paging_seeks_instead_of_rescanning(tmp_path):
    """Review finding: every chunk re-scanned the index from the start (quadratic)."""
    from domain.sample import CUSTOMER as CUSTOMER_FOR_PAGING
    from projector.stores.sqlite import SQLiteStore

    store = SQLiteStore(f"sqlite:///{tmp_path}/v.db")
    store.prepare([CUSTOMER_FOR_PAGING])
    target = store.targets("customer").read
    from domain.state import AggregateState
    from projector.stores.base import DocKey as Key, DocumentWrite as Write

    store.write([Write(Key(target, f"c{i:05d}"), None, AggregateState(), None) for i in range(1200)])
    conn = store._connections.get()
    plans = []
    conn.set_trace_callback(lambda sql: plans.append(sql) if "ORDER BY id" in sql else None)
    list(store.stored(target))
    plan = conn.execute(f'EXPLAIN QUERY PLAN SELECT id FROM "doc_{target}" WHERE id > ? ORDER BY id LIMIT 500', ("a",)).fetchall()
    assert any("SEARCH" in str(row) for row in plan), plan
    assert len(plans) == 4 and all(" OR " not in sql for sql in plans)
    assert len(list(store.stored(target))) == 1200
