"""Items for the dashboards tests: the sample's customers with orders dated relative to now, and places on a map.

Dates spread over the last 120 days (so ``now-30d`` selects some and not
others), names repeat (so ``terms`` on ``name.keyword`` has counts above
one), some customers are deleted (so the target holds tombstones), and
locations come in every form an item may hold one.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from dynafold.domain.geo import point
from dynafold.testing.sample_writer import SampleWriter

NAMES = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Müller")
STATUSES = ("placed", "paid", "shipped", "cancelled")
CITIES = {"ber": ("Berlin", "52.52,13.405"), "par": ("Paris", "u09tvw0f6szy"), "syd": ("Sydney", "-33.8688,151.2093"),
          "sao": ("São Paulo", {"lat": Decimal("-23.5505"), "lon": Decimal("-46.6333")})}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_sample(writer: SampleWriter, now: datetime, rng: random.Random, customers: int = 60) -> None:
    for n in range(customers):
        cid = f"c{n:03d}"
        writer.put("customers", {"customer_id": cid, "name": rng.choice(NAMES), "email": f"{cid}@example.com",
                                 "country": rng.choice(["NL", "DE", "FR"]), "marketing_opt_in": rng.random() < 0.5})
        for o in range(rng.randrange(0, 5)):
            placed = now - timedelta(days=rng.uniform(0, 120))
            writer.put("orders", {"customer_id": cid, "order_id": f"o{o}", "status": rng.choice(STATUSES),
                                  "total": Decimal(rng.randrange(1, 100_000)) / 100, "currency": "EUR",
                                  "placed_at": iso(placed)})
        if rng.random() < 0.5:
            writer.put("subscriptions", {"customer_id": cid, "plan_id": rng.choice(["basic", "pro"]),
                                         "status": rng.choice(["active", "cancelled"])})
    for n in range(0, customers, 7):  # tombstones: the alias hides them, the index keeps them
        writer.delete("customers", {"customer_id": f"c{n:03d}"})
    for n in range(8):
        writer.put("songs", {"song_id": f"s{n}", "title": rng.choice(["Hello", "Wonderwall", "Hallelujah"]),
                             "artist": rng.choice(["Adele", "Oasis"])})
        writer.put("lessons", {"lesson_id": f"l{n}", "title": f"Lesson {n}", "level": rng.choice(["1", "2"]),
                               "instrument": rng.choice(["guitar", "piano"]), "song_id": f"s{n}"})


def _typed(item: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in item.items() if value is not None}


def write_places(client: Any, now: datetime, rng: random.Random, shops: int = 40) -> dict[str, Any]:
    """Shops, their visits and cities; returns the points each document should show, by path, for the checks."""
    points: dict[str, list] = {"location": [], "visits.where": [], "city.centre": [], "city location": []}
    for code, (name, centre) in CITIES.items():
        lat_lon = point(centre) if not isinstance(centre, str) or "," in centre else None
        item = {"city_id": code, "name": name, "centre": centre}
        if lat_lon is not None:
            item.update(lat=lat_lon["lat"], lon=lat_lon["lon"])
            points["city location"].append(lat_lon)
        client.put_item(TableName="cities", Item=_typed(item))
    for n in range(shops):
        city = rng.choice(sorted(CITIES))
        lat = Decimal(rng.randrange(-60_000, 70_000)) / 1000
        lon = Decimal(rng.randrange(-170_000, 170_000)) / 1000
        form = n % 3
        location = {"lat": lat, "lon": lon} if form == 0 else f"{lat},{lon}" if form == 1 else None
        item = {"shop_id": f"sh{n:02d}", "name": f"Shop {n}", "category": rng.choice(["food", "books", "music"]),
                "location": location, "opened_at": iso(now - timedelta(days=rng.uniform(0, 400))),
                "revenue": Decimal(rng.randrange(0, 1_000_000)) / 100, "city_id": city}
        client.put_item(TableName="shops", Item=_typed(item))
        if location is not None:
            points["location"].append(point(location))
        points["city.centre"].append(point(CITIES[city][1]))
        for v in range(rng.randrange(0, 3)):
            where = f"{Decimal(rng.randrange(-80_000, 80_000)) / 1000},{Decimal(rng.randrange(-170_000, 170_000)) / 1000}"
            client.put_item(TableName="visits", Item=_typed({
                "shop_id": f"sh{n:02d}", "visit_id": f"v{v}", "at": iso(now - timedelta(days=rng.uniform(0, 60))),
                "where": where, "spent": Decimal(rng.randrange(1, 10_000)) / 100}))
            points["visits.where"].append((f"sh{n:02d}", point(where)))
    return points
