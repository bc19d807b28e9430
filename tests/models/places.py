"""Places on a map: a location at the root, in a child, through a join, and composed by ``derive``.

- ``shop``: a shop (root, with its ``location`` and the date it opened: the time field), its
  visits (children, each with where and when it happened) and its city (a join on ``cities``,
  whose ``centre`` is a location of the joined item). No ``derive``: children and the join show
  as objects.
- ``city``: a city whose location is kept as two numbers, ``lat`` and ``lon``; ``derive``
  composes them into one ``geo_point`` (``point``: none while either is missing). Numbers out of
  range make a point the engine refuses (the records are quarantined), so ``ITEMS`` writes cities
  with coordinates on the map for the harness, whose oracle expects every document to exist.
"""

from decimal import Decimal

from hypothesis import strategies as st

from dynafold import Aggregate, Children, Join, Model, Table
from dynafold.kinds import datetime, decimal, geo_point, keyword, point, text
from dynafold.testing.workload import geo_values

shops = Table("shops", "shop_id", indexes={"by_city": "city_id"})
cities = Table("cities", "city_id")
visits = Table("visits", "shop_id", "visit_id")

SHOP = Aggregate(
    "shop",
    root=shops,
    fields=dict(shop_id=keyword, name=text, category=keyword, location=geo_point, opened_at=datetime,
                revenue=decimal),
    joins={"city": Join(cities, on="city_id", index="by_city", fields=dict(name=text, centre=geo_point))},
    children={"visits": Children(visits, parent="shop_id",
                                 fields=dict(visit_id=keyword, at=datetime, where=geo_point, spent=decimal))},
    time_field="opened_at",
)

CITY = Aggregate(
    "city",
    root=cities,
    fields=dict(city_id=keyword, name=text, lat=decimal, lon=decimal),
    derive=lambda city: {"location": point(city.lat, city.lon)},
    derived=dict(location=geo_point),
)

MODEL = Model([SHOP, CITY])

_DEGREES = st.integers(-90_000, 90_000).map(lambda n: Decimal(n).scaleb(-3))
ITEMS = {
    "cities": st.fixed_dictionaries({}, optional={"name": st.sampled_from(["Berlin", "São Paulo", "Zürich"]),
                                                  "lat": _DEGREES, "lon": _DEGREES, "centre": geo_values()}),
}
