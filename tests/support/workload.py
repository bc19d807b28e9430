"""A random workload over the five sample tables, written through ``SampleWriter``."""

from __future__ import annotations

import random
from decimal import Decimal

from dynafold.testing.sample_writer import SampleWriter

STATUSES = ("placed", "paid", "shipped", "cancelled")


def run(writer: SampleWriter, rng: random.Random, operations: int, *, customers: int = 6, songs: int = 4, lessons: int = 8) -> None:
    live: dict[str, set] = {t: set() for t in ("customers", "orders", "subscriptions", "songs", "lessons")}
    for _ in range(operations):
        table = rng.choice(list(live))
        if table == "customers":
            cid = f"c{rng.randrange(customers)}"
            if cid in live[table] and rng.random() < 0.25:
                writer.delete(table, {"customer_id": cid})
                live[table].discard(cid)
            elif cid in live[table] and rng.random() < 0.5:
                writer.update(table, {"customer_id": cid}, {"country": rng.choice(["NL", "DE", "FR"])})
            else:
                writer.put(table, {
                    "customer_id": cid, "name": f"Name {rng.randrange(100)}", "email": f"{cid}@example.com",
                    "country": rng.choice(["NL", "DE", "FR"]), "marketing_opt_in": rng.random() < 0.5,
                    "password_hash": "pbkdf2$secret$" + cid, "created_at": "2026-01-01T00:00:00Z",
                })
                live[table].add(cid)
        elif table == "orders":
            key = (f"c{rng.randrange(customers)}", f"o{rng.randrange(10)}")
            if key in live[table] and rng.random() < 0.2:
                writer.delete(table, {"customer_id": key[0], "order_id": key[1]})
                live[table].discard(key)
            else:
                writer.put(table, {
                    "customer_id": key[0], "order_id": key[1], "status": rng.choice(STATUSES),
                    "total": Decimal(rng.randrange(1, 100000)) / 100, "currency": "EUR",
                    "placed_at": f"2026-0{rng.randrange(1, 10)}-1{rng.randrange(10)}T10:00:00Z",
                    "items": [{"sku": "s1", "qty": Decimal(1)}],
                })
                live[table].add(key)
        elif table == "subscriptions":
            key = (f"c{rng.randrange(customers)}", rng.choice(["basic", "pro", "team"]))
            if key in live[table] and rng.random() < 0.3:
                writer.delete(table, {"customer_id": key[0], "plan_id": key[1]})
                live[table].discard(key)
            else:
                writer.put(table, {"customer_id": key[0], "plan_id": key[1], "status": rng.choice(["active", "cancelled"]),
                                   "started_at": "2026-02-01"})
                live[table].add(key)
        elif table == "songs":
            sid = f"s{rng.randrange(songs)}"
            if sid in live[table] and rng.random() < 0.2:
                writer.delete(table, {"song_id": sid})
                live[table].discard(sid)
            elif sid in live[table]:
                writer.update(table, {"song_id": sid}, {"title": f"Title {rng.randrange(1000)}"})
            else:
                writer.put(table, {"song_id": sid, "title": f"Title {rng.randrange(1000)}", "artist": f"Artist {rng.randrange(9)}"})
                live[table].add(sid)
        else:
            lid = f"l{rng.randrange(lessons)}"
            if lid in live[table] and rng.random() < 0.2:
                writer.delete(table, {"lesson_id": lid})
                live[table].discard(lid)
            else:
                writer.put(table, {"lesson_id": lid, "song_id": f"s{rng.randrange(songs)}", "title": f"Lesson {lid}",
                                   "level": rng.choice(["beginner", "advanced"]), "instrument": "guitar"})
                live[table].add(lid)
