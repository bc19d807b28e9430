"""``dynafold demo``: the whole product on one machine, with no AWS account.

moto plays DynamoDB (in this process), the five sample tables get streams,
four writer threads run a realistic workload at the same time (orders that
arrive before their customer, a song renamed while lessons are written, a
lesson moved to another song, deletes), and a projector thread projects the
streams into a SQLite file while they write. Then it shows documents, a
search, and checks every document against the final tables.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from decimal import Decimal
from typing import Any

SONGS = [
    ("wonderwall", "Wonderwall", "Oasis"),
    ("blackbird", "Blackbird", "The Beatles"),
    ("hallelujah", "Hallelujah", "Leonard Cohen"),
    ("jolene", "Jolene", "Dolly Parton"),
    ("wish", "Wish You Were Here", "Pink Floyd"),
    ("redemption", "Redemption Song", "Bob Marley"),
]
NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth",
         "Margaret Hamilton", "Ken Thompson", "Frances Allen", "John McCarthy", "Radia Perlman", "Tony Hoare"]
COUNTRIES = ["NL", "DE", "FR", "GB", "US", "JP"]


def _customers(writer, rng: random.Random, count: int) -> None:
    for i in range(count):
        name = f"{rng.choice(NAMES)} {i}"
        writer.put("customers", {
            "customer_id": f"c{i:03d}", "name": name, "email": f"user{i}@example.com",
            "country": rng.choice(COUNTRIES), "marketing_opt_in": rng.random() < 0.4,
            "password_hash": f"pbkdf2_sha256$600000${rng.getrandbits(64):x}", "created_at": "2026-11-01T09:00:00Z",
        })
        if i % 7 == 3:
            writer.update("customers", {"customer_id": f"c{i:03d}"}, {"country": rng.choice(COUNTRIES)})
    for i in range(0, count, 13):
        writer.delete("customers", {"customer_id": f"c{i:03d}"})


def _orders(writer, rng: random.Random, count: int) -> None:
    for n in range(count * 3):
        cid = f"c{rng.randrange(count):03d}"
        oid = f"o{n:04d}"
        order = {
            "customer_id": cid, "order_id": oid, "status": "placed",
            "total": Decimal(rng.randrange(500, 50000)) / 100, "currency": "EUR",
            "placed_at": f"2026-11-{rng.randrange(1, 28):02d}T{rng.randrange(24):02d}:00:00Z",
            "items": [{"sku": f"sku-{rng.randrange(100)}", "qty": Decimal(rng.randrange(1, 4))}],
        }
        writer.put("orders", order)
        for status in ("paid", "shipped")[: rng.randrange(3)]:
            writer.update("orders", {"customer_id": cid, "order_id": oid}, {"status": status})
        if rng.random() < 0.1:
            writer.update("orders", {"customer_id": cid, "order_id": oid}, {"status": "cancelled"})
        if rng.random() < 0.03:
            writer.delete("orders", {"customer_id": cid, "order_id": oid})


def _subscriptions(writer, rng: random.Random, count: int) -> None:
    for i in range(count):
        cid = f"c{i:03d}"
        for plan in rng.sample(["basic", "pro", "team"], rng.randrange(3)):
            writer.put("subscriptions", {"customer_id": cid, "plan_id": plan, "status": "active", "started_at": "2026-11-02"})
            if rng.random() < 0.25:
                writer.update("subscriptions", {"customer_id": cid, "plan_id": plan}, {"status": "cancelled"})


def _catalogue(writer, rng: random.Random, count: int) -> None:
    for song_id, title, artist in SONGS:
        writer.put("songs", {"song_id": song_id, "title": title, "artist": artist})
    for n in range(count):
        song_id = SONGS[n % len(SONGS)][0]
        writer.put("lessons", {
            "lesson_id": f"l{n:03d}", "song_id": song_id, "title": f"{rng.choice(['Strumming', 'Fingerpicking', 'Chords of'])} {SONGS[n % len(SONGS)][1]}",
            "level": rng.choice(["beginner", "intermediate", "advanced"]), "instrument": rng.choice(["guitar", "piano", "ukulele"]),
        })
        if n == count // 2:
            writer.update("songs", {"song_id": "hallelujah"}, {"title": "Hallelujah (Live at Glastonbury)"})
    writer.update("lessons", {"lesson_id": "l001"}, {"song_id": "jolene"})
    writer.delete("songs", {"song_id": "redemption"})


def _print_document(title: str, doc: dict[str, Any], out) -> None:
    print(f"  {title}", file=out)
    for key, value in doc.items():
        if key == "orders":
            print(f"    {'orders':<16} {len(value)} order(s)", file=out)
            for order in value[:3]:
                print(f"      - {order['order_id']} {order['status']:<9} {order['total']} {order['currency']} {order['placed_at']}", file=out)
            if len(value) > 3:
                print(f"      … {len(value) - 3} more", file=out)
        else:
            print(f"    {key:<16} {value}", file=out)


DEMO_MARKER = "dynafold_demo"


def _replace_earlier_demo(db: str) -> None:
    """Remove an earlier demo's file; refuse any other file rather than delete someone's data."""
    import sqlite3

    from dynafold.projector.errors import ConfigurationError

    if not os.path.exists(db):
        return
    try:
        conn = sqlite3.connect(f"file:{os.path.abspath(db)}?mode=ro", uri=True)
        try:
            marked = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (DEMO_MARKER,)).fetchone() is not None
        finally:
            conn.close()
    except sqlite3.Error:
        marked = False
    if not marked:
        raise ConfigurationError(f"{db} exists and is not a file an earlier demo wrote; choose another --db "
                                 "(the demo replaces only its own files)")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)


def _mark_as_demo(db: str) -> None:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {DEMO_MARKER} (written_by TEXT)")
        conn.commit()
    finally:
        conn.close()


def run_demo(db: str = "dynafold-demo.db", customers: int = 40, seed: int = 7, out=None) -> int:
    from dynafold.projector.errors import require_extra

    require_extra("dynafold demo", "testing", ("moto", "hypothesis"))  # exit 2 naming the extra, before any change
    out = out or sys.stdout
    for name, value in (("AWS_ACCESS_KEY_ID", "demo"), ("AWS_SECRET_ACCESS_KEY", "demo"), ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ[name] = value
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    _replace_earlier_demo(db)

    import boto3
    from moto import mock_aws

    from dynafold.projector import poller
    from dynafold.projector.aws.provision import create_tables
    from dynafold.projector.aws.streams import StreamReader
    from dynafold.projector.config import Settings
    from dynafold.projector.runtime import Runtime
    from dynafold.projector.stores.sqlite.checkpoints import SQLiteCheckpoints
    from dynafold.projector.stores.sqlite.quarantine import SQLiteQuarantine
    from dynafold.projector.stores.sqlite.store import SQLiteStore
    from dynafold.replay.expected import replayed_documents
    from dynafold.sample import MODEL
    from dynafold.testing.sample_writer import SampleWriter

    started = time.monotonic()
    url = f"sqlite:///{db}"
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        create_tables(client, MODEL)
        writer = SampleWriter(client)
        store = SQLiteStore(url)
        _mark_as_demo(db)
        runtime = Runtime(Settings(model="dynafold.sample:MODEL", store=url), MODEL, store,
                          quarantine=SQLiteQuarantine(url), clients={"dynamodb": client})
        projector = runtime.projector()
        reader = StreamReader(client, streams, sorted(MODEL.tables), SQLiteCheckpoints(url), limit=50)
        print(f"dynafold demo: moto DynamoDB in-process, 5 tables with streams, documents in {url}", file=out)

        writers = [
            threading.Thread(target=fn, args=(writer, random.Random(seed * 10 + i), customers), name=fn.__name__)
            for i, fn in enumerate((_customers, _orders, _subscriptions, _catalogue))
        ]
        stop = threading.Event()
        live = threading.Thread(target=poller.run, args=(projector, reader), kwargs={"stop": stop, "interval_s": 0.05})
        live.start()
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        stop.set()
        live.join()
        totals = poller.run(projector, reader, stop=threading.Event(), until_idle=True)
        print(
            f"workload: 4 writer threads wrote while the projector ran; drained the streams "
            f"({totals.records} records in the final drain)", file=out,
        )
        expected = replayed_documents(MODEL, client)

    customers_docs = list(store.documents("customer"))
    lessons_docs = list(store.documents("lesson"))
    print(f"\ncustomer documents: {len(customers_docs)}   lesson documents: {len(lessons_docs)}\n", file=out)
    busiest = sorted(customers_docs, key=lambda d: (-d["order_count"], d["customer_id"]))[:2]
    for doc in busiest:
        _print_document(f"customer {doc['customer_id']}", doc, out)
    for lesson_id in ("l001", "l002"):
        doc = store.get("lesson", lesson_id)
        if doc:
            _print_document(f"lesson {lesson_id}", doc, out)
    for aggregate, query in (("lesson", "hallel"), ("customer", "grace hoper")):  # as typed: half a word, a typo
        hits = store.search(aggregate, query, limit=5)
        print(f"\n  search {aggregate} {query!r}: {len(hits)} hit(s)", file=out)
        for hit in hits:
            label = hit.get("song_title") if aggregate == "lesson" else hit.get("email")
            print(f"    {hit[aggregate + '_id']}: {hit['name' if aggregate == 'customer' else 'title']} ({label})", file=out)

    mismatches = 0
    for aggregate, docs in expected.items():
        stored = {d[f"{aggregate}_id"]: d for d in store.documents(aggregate)}
        from dynafold.projector.stores.codec import canonical

        mismatches += sum(1 for k in set(docs) | set(stored) if canonical(docs.get(k)) != canonical(stored.get(k)))
    total = sum(len(d) for d in expected.values())
    quarantined = len(SQLiteQuarantine(url).list())
    print(
        f"\ncheck: {total - mismatches}/{total} documents equal what the final tables imply; "
        f"{quarantined} record(s) quarantined; {time.monotonic() - started:.1f}s",
        file=out,
    )
    print(f"try: dynafold search --model dynafold.sample:MODEL --store {url} --aggregate lesson wonderwal", file=out)
    return 0 if mismatches == 0 else 1
