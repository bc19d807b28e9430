"""``geo_point``: every form an item may hold a location in reads as one point; what is not one is refused,
naming the attribute (the record is quarantined); OpenSearch indexes the point documents show where it is.
"""

from __future__ import annotations

from decimal import Context, Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynafold.domain.geo import GEOHASH_ALPHABET, MAX_GEOHASH, NotAPoint, geohash_centre, point
from dynafold.domain.kinds import TranslationError, accept, derived_value, geo_point
from dynafold.testing.workload import geo_values

LAT = st.decimals(min_value=-90, max_value=90, places=6)
LON = st.decimals(min_value=-180, max_value=180, places=6)


def _cell(code: str) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """The bounds of a geohash's cell, computed independently of the code under test (by halving floats)."""
    lat, lon, even = [-90.0, 90.0], [-180.0, 180.0], True
    for character in code:
        bits = GEOHASH_ALPHABET.index(character)
        for mask in (16, 8, 4, 2, 1):
            span = lon if even else lat
            middle = (span[0] + span[1]) / 2
            span[0 if bits & mask else 1] = middle
            even = not even
    return Decimal(lat[0]), Decimal(lat[1]), Decimal(lon[0]), Decimal(lon[1])


@given(LAT, LON)
def test_a_map_and_a_lat_lon_string_read_as_the_same_exact_point(lat, lon):
    assert accept(geo_point, {"lat": lat, "lon": lon}, "where") == {"lat": lat, "lon": lon}
    assert accept(geo_point, f"{lat},{lon}", "where") == {"lat": lat, "lon": lon}
    assert accept(geo_point, f" {lat} , {lon} ", "where") == {"lat": lat, "lon": lon}


@given(st.text(GEOHASH_ALPHABET, min_size=1, max_size=MAX_GEOHASH))
def test_a_geohash_reads_as_the_centre_of_its_cell(code):
    lat, lon = geohash_centre(code)
    south, north, west, east = _cell(code)
    with localcontext(Context(prec=60)):
        assert lat == (south + north) / 2 and lon == (west + east) / 2
    assert accept(geo_point, code.upper(), "where") == {"lat": lat, "lon": lon}


@given(st.one_of(st.decimals(allow_nan=False, allow_infinity=False).filter(lambda d: abs(d) > 90), LAT), LON)
def test_a_latitude_off_the_map_is_refused_naming_the_attribute(lat, lon):
    if abs(lat) <= 90:
        lat, lon = lon * 0 + 91, lon  # the map's edge plus one
    with pytest.raises(TranslationError, match=r"attribute 'shop\.where' must be a point .*latitude out of range"):
        accept(geo_point, {"lat": lat, "lon": lon}, "shop.where")


@pytest.mark.parametrize("value, reason", [
    ({"lat": Decimal(0), "lon": Decimal("180.5")}, "longitude out of range"),
    ("95,10", "latitude out of range"),
    ("10,-181", "longitude out of range"),
    ("52.5;13.4", "not a geohash"),
    ("52.5,", 'a "lat,lon" string holds two decimal numbers'),
    ("1e3,5", 'a "lat,lon" string holds two decimal numbers'),
    ("berlin", "not a geohash"),
    ("u33dc0cpke7vu", "not a geohash"),  # 13 characters: longer than OpenSearch reads
    ("", "not a geohash"),
    ({"lat": Decimal(1)}, "exactly the keys lat and lon"),
    ({"lat": Decimal(1), "lon": Decimal(2), "alt": Decimal(3)}, "exactly the keys lat and lon"),
    ({"lat": "52.5", "lon": Decimal(2)}, "numbers, not str"),
])
def test_what_is_not_a_point_is_refused_with_the_reason_and_never_the_value(value, reason):
    with pytest.raises(TranslationError) as refused:
        accept(geo_point, value, "location")
    message = str(refused.value)
    assert message.startswith("attribute 'location' must be a point") and reason in message
    assert "52.5" not in message and "berlin" not in message


@pytest.mark.parametrize("value", [Decimal(5), True, [Decimal(1), Decimal(2)], b"u33"])
def test_other_dynamodb_types_are_kind_mismatches(value):
    with pytest.raises(TranslationError, match="attribute 'location' must be a point"):
        accept(geo_point, value, "location")


def test_a_derive_may_compose_a_point_from_python_numbers_and_is_held_to_the_map():
    assert derived_value(geo_point, {"lat": 52.5, "lon": 13}, "home") == {"lat": 52.5, "lon": 13}
    assert derived_value(geo_point, [{"lat": 1, "lon": 2}, "3,4"], "home") == [
        {"lat": 1, "lon": 2}, {"lat": Decimal(3), "lon": Decimal(4)}]
    for bad, reason in (({"lat": float("nan"), "lon": 0}, "not a finite number"),
                        ({"lat": True, "lon": 0}, "numbers, not bool"), ({"lat": 0, "lon": 200}, "out of range")):
        with pytest.raises(TranslationError, match=f"derived field 'home' must be a point.*{reason}"):
            derived_value(geo_point, bad, "home")


@given(geo_values())
def test_every_location_the_harness_writes_is_a_point(value):
    found = point(value)
    assert set(found) == {"lat", "lon"} and -90 <= found["lat"] <= 90 and -180 <= found["lon"] <= 180


def test_not_a_point_names_no_value():
    with pytest.raises(NotAPoint) as refused:
        point("48.1,200.25")
    assert "200.25" not in str(refused.value)


def test_opensearch_indexes_the_point_a_document_shows(opensearch_node_url):
    """The document's point, whatever form the item held, is where a geo query on the real node finds it."""
    from opensearchpy import OpenSearch

    from dynafold.projector.stores import open_store

    store = open_store(opensearch_node_url)
    client: OpenSearch = store.client
    index = store.prefix + "geo-probe"
    try:
        client.indices.create(index=index, body={"mappings": {"properties": {"at": {"type": "geo_point"}}}})
        values = {"map": {"lat": Decimal("52.520008"), "lon": Decimal("13.404954")}, "text": "-33.8688,151.2093",
                  "hash": "u33dc0cpke7v", "pole": "90,-180"}
        for name, value in values.items():
            client.index(index=index, id=name, body={"at": accept(geo_point, value, "at")}, refresh=True)
        for name, value in values.items():
            shown = accept(geo_point, value, "at")
            lat, lon = float(shown["lat"]), float(shown["lon"])
            box = {"top_left": {"lat": min(lat + 1e-5, 90), "lon": max(lon - 1e-5, -180)},
                   "bottom_right": {"lat": max(lat - 1e-5, -90), "lon": min(lon + 1e-5, 180)}}
            hits = client.search(index=index, body={"query": {"geo_bounding_box": {"at": box}}})["hits"]["hits"]
            assert name in [hit["_id"] for hit in hits], name
    finally:
        client.indices.delete(index=index, ignore=404)
        store.close()


@pytest.mark.parametrize("table, keys, image, reason", [
    ("shops", {"shop_id": {"S": "sh1"}}, {"location": {"S": "95,10"}}, "attribute 'location' must be a point"),
    ("visits", {"shop_id": {"S": "sh1"}, "visit_id": {"S": "v1"}}, {"where": {"M": {"lat": {"N": "1"}}}},
     "attribute 'where' must be a point"),
    ("cities", {"city_id": {"S": "ber"}}, {"centre": {"S": "not-a-hash"}}, "attribute 'cities.centre' must be a point"),
    ("cities", {"city_id": {"S": "ber"}}, {"lat": {"N": "52.5"}, "lon": {"N": "200"}},
     "derived field 'location' must be a point"),
])
def test_a_malformed_location_quarantines_its_record_naming_the_field(aws, table, keys, image, reason):
    """At the root, in a child, in a joined item, in a derived field: the record is quarantined, the batch goes on."""
    import boto3

    from dynafold.handlers.stream import make_handler
    from dynafold.projector.aws.lookup import DynamoLookup
    from dynafold.projector.aws.provision import create_tables
    from dynafold.projector.engine.batch import Projector
    from dynafold.projector.stores.memory import MemoryQuarantine, MemoryStore
    from tests.models import places
    from tests.support.records import record

    client = boto3.client("dynamodb", region_name="us-east-1")
    create_tables(client, places.MODEL)
    quarantine, store = MemoryQuarantine(), MemoryStore()
    handle = make_handler(lambda: Projector(places.MODEL, store, quarantine,
                                            lookup_factory=lambda: DynamoLookup(client, places.MODEL)),
                          emit=lambda *a: None)
    good = record("shops", {"shop_id": {"S": "sh2"}}, {"shop_id": {"S": "sh2"}, "location": {"S": "u33"}}, seq=1)
    bad = record(table, keys, {**keys, **image}, seq=2)
    joined = record("shops", {"shop_id": {"S": "sh3"}}, {"shop_id": {"S": "sh3"}, "city_id": {"S": "ber"}}, seq=3)
    assert handle({"Records": [good, bad, joined]}, None) == {"batchItemFailures": []}
    (entry,) = quarantine.list()
    assert reason in entry.reason and "95" not in entry.reason and "200" not in entry.reason, entry.reason
    assert store.get("shop", "sh2")["location"] == accept(geo_point, "u33", "location")
    assert store.get("shop", "sh3")["city"] is None
