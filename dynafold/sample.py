"""The sample domain: customers with their orders and subscriptions, and lessons
searchable by the title of their song. The demo runs it; copy it to model your own."""

from decimal import Context, Decimal

from dynafold import Aggregate, Children, Join, Model, Table
from dynafold.kinds import boolean, datetime, decimal, integer, keyword, keywords, objects, text

customers = Table("customers", "customer_id", version="version")
orders = Table("orders", "customer_id", "order_id")
subscriptions = Table("subscriptions", "customer_id", "plan_id")
songs = Table("songs", "song_id", version="version")
lessons = Table("lessons", "lesson_id", indexes={"by_song": "song_id"})

ORDER = dict(order_id=keyword, status=keyword, total=decimal, currency=keyword, placed_at=datetime)
PAID = frozenset({"paid", "shipped"})
EXACT = Context(prec=400, Emax=999_999, Emin=-999_999)  # any sum of DynamoDB numbers stays exact


def derive_customer(customer) -> dict:
    listed = [{name: getattr(o, name) for name in ORDER} for o in customer.orders]
    listed.sort(key=lambda o: (o["placed_at"] or "", o["order_id"]), reverse=True)
    standing = [o for o in listed if o["status"] != "cancelled"]
    value = Decimal(0)
    for order in listed:
        if order["status"] in PAID and order["total"] is not None:
            value = EXACT.add(value, order["total"])
    placed = [o["placed_at"] for o in standing if o["placed_at"] is not None]
    return {
        "orders": listed,
        "order_count": len(standing),
        "lifetime_value": value,
        "last_order_at": max(placed) if placed else None,
        "active_plans": sorted(s.plan_id for s in customer.subscriptions if s.status == "active"),
    }


CUSTOMER = Aggregate(
    "customer",
    root=customers,
    fields=dict(customer_id=keyword, name=text, email=text, country=keyword, marketing_opt_in=boolean),
    children={
        "orders": Children(orders, parent="customer_id", fields=ORDER),
        "subscriptions": Children(subscriptions, parent="customer_id", fields=dict(plan_id=keyword, status=keyword)),
    },
    derive=derive_customer,
    derived=dict(orders=objects(**ORDER), order_count=integer, lifetime_value=decimal, last_order_at=datetime,
                 active_plans=keywords),
    time_field="last_order_at",
)

LESSON = Aggregate(
    "lesson",
    root=lessons,
    fields=dict(lesson_id=keyword, title=text, level=keyword, instrument=keyword, song_id=keyword),
    joins={"song": Join(songs, on="song_id", index="by_song", fields=dict(title=text, artist=text))},
    derive=lambda lesson: {
        "song_title": lesson.song.title if lesson.song else None,
        "song_artist": lesson.song.artist if lesson.song else None,
    },
    derived=dict(song_title=text, song_artist=text),
)

MODEL = Model([CUSTOMER, LESSON])

__all__ = ["MODEL", "CUSTOMER", "LESSON"]
