"""The documents the final tables imply, computed without any dynafold code.

This is the specification of the sample aggregates written as plainly as
possible from table contents: if the engine and this disagree, the engine
is wrong (or the issue's specification changed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def customer_documents(customers: list[dict], orders: list[dict], subscriptions: list[dict]) -> dict[str, dict]:
    docs = {}
    for customer in customers:
        cid = customer["customer_id"]
        mine = [o for o in orders if o["customer_id"] == cid]
        listed = [
            {
                "order_id": o["order_id"],
                "status": o.get("status"),
                "total": o.get("total"),
                "currency": o.get("currency"),
                "placed_at": o.get("placed_at"),
            }
            for o in mine
        ]
        listed.sort(key=lambda o: (o["placed_at"] or "", o["order_id"]), reverse=True)
        standing = [o for o in listed if o["status"] != "cancelled"]
        value = Decimal(0)
        for o in listed:
            if o["status"] in ("paid", "shipped") and o["total"] is not None:
                value += Decimal(o["total"])
        placed = [o["placed_at"] for o in standing if o["placed_at"]]
        docs[cid] = {
            "customer_id": cid,
            "name": customer.get("name"),
            "email": customer.get("email"),
            "country": customer.get("country"),
            "marketing_opt_in": customer.get("marketing_opt_in"),
            "orders": listed,
            "order_count": len(standing),
            "lifetime_value": value,
            "last_order_at": max(placed) if placed else None,
            "active_plans": sorted(
                s["plan_id"] for s in subscriptions if s["customer_id"] == cid and s.get("status") == "active"
            ),
        }
    return docs


def lesson_documents(lessons: list[dict], songs: list[dict]) -> dict[str, dict]:
    by_id = {s["song_id"]: s for s in songs}
    docs = {}
    for lesson in lessons:
        song = by_id.get(lesson.get("song_id"))
        docs[lesson["lesson_id"]] = {
            "lesson_id": lesson["lesson_id"],
            "title": lesson.get("title"),
            "level": lesson.get("level"),
            "instrument": lesson.get("instrument"),
            "song_id": lesson.get("song_id"),
            "song_title": None if song is None else song.get("title"),
            "song_artist": None if song is None else song.get("artist"),
        }
    return docs


def expected(tables: dict[str, list[dict]]) -> dict[str, dict[str, dict]]:
    """Documents per aggregate, from ``{table name: items}``."""
    return {
        "customer": customer_documents(tables["customers"], tables["orders"], tables["subscriptions"]),
        "lesson": lesson_documents(tables["lessons"], tables["songs"]),
    }


def normalized(doc: Any) -> Any:
    """Numbers compared by value (42.50 == 42.5), as a JSON reader compares them."""
    if isinstance(doc, dict):
        return {k: normalized(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [normalized(v) for v in doc]
    if isinstance(doc, (int, Decimal)) and not isinstance(doc, bool):
        return Decimal(doc).normalize() if doc else Decimal(0)
    return doc
