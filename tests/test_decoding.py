"""Stream records in both shapes, every DynamoDB type, and malformed records named clearly."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from dynafold.domain.source import SourceVersion
from dynafold.projector.intake.dynamodb_json import DecodeError, decode_map, decode_value
from dynafold.projector.intake.records import MalformedRecord, created_at_us, decode_stream_record, table_from_arn
from dynafold.sample import MODEL
from tests.support.records import customer, lesson, order


@pytest.mark.parametrize(
    "typed, value",
    [
        ({"S": "héllo"}, "héllo"),
        ({"N": "42.50"}, Decimal("42.50")),
        ({"N": "-1E-130"}, Decimal("-1E-130")),
        ({"N": "9.9999999999999999999999999999999999999E+125"}, Decimal("9.9999999999999999999999999999999999999E+125")),
        ({"N": "12345678901234567890123456789012345678"}, Decimal("12345678901234567890123456789012345678")),
        ({"B": base64.b64encode(b"\x00\xff").decode()}, b"\x00\xff"),
        ({"B": b"\x00\xff"}, b"\x00\xff"),
        ({"SS": ["a", "b"]}, frozenset({"a", "b"})),
        ({"NS": ["1", "2.5"]}, frozenset({Decimal(1), Decimal("2.5")})),
        ({"BS": ["AA==", "AQ=="]}, frozenset({b"\x00", b"\x01"})),
        ({"M": {"a": {"L": [{"NULL": True}, {"BOOL": False}]}}}, {"a": [None, False]}),
        ({"NULL": True}, None),
        ({"BOOL": True}, True),
    ],
)
def test_every_dynamodb_type_decodes(typed, value):
    decoded = decode_value(typed)
    assert decoded == value and type(decoded) is type(value)


@pytest.mark.parametrize(
    "typed, reason",
    [
        ({"N": "NaN"}, "not a number"),
        ({"N": "Infinity"}, "not a number"),
        ({"N": "1e999"}, "outside DynamoDB's range"),
        ({"N": "123456789012345678901234567890123456789"}, "more than 38 significant digits"),
        ({"N": 42}, "must be a string"),
        ({"B": "not base64!"}, "not valid base64"),
        ({"S": "\ud800"}, "not valid UTF-8"),
        ({"SS": []}, "non-empty list"),
        ({"SS": ["a", "a"]}, "duplicates"),
        ({"BOOL": "true"}, "true or false"),
        ({"X": "1"}, "unknown attribute type"),
        ({"S": "a", "N": "1"}, "exactly one type key"),
    ],
)
def test_values_dynamodb_would_refuse_are_decode_errors(typed, reason):
    with pytest.raises(DecodeError, match=reason):
        decode_value(typed, ("attr",))


def test_deep_nesting_and_huge_items_are_refused():
    deep = {"S": "x"}
    for _ in range(40):
        deep = {"M": {"a": deep}}
    with pytest.raises(DecodeError, match="nesting deeper"):
        decode_value(deep)
    with pytest.raises(DecodeError, match="400 KB"):
        decode_map({"a": {"S": "x" * 300_000}, "b": {"S": "y" * 200_000}})


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**30, max_value=10**30))
def test_numbers_round_trip_exactly_through_boto3_serialization(value):
    typed = TypeSerializer().serialize(value)
    assert decode_value(typed) == value


def test_lambda_and_getrecords_shapes_decode_to_the_same_record():
    lam = customer("c1", version=3, seq=5, created=1_790_000_000.5)
    boto = {k: v for k, v in lam.items() if k != "eventSourceARN"}
    boto["dynamodb"] = dict(lam["dynamodb"], ApproximateCreationDateTime=dt.datetime.fromtimestamp(1_790_000_000.5, dt.timezone.utc))
    a = decode_stream_record(lam, MODEL)
    b = decode_stream_record(boto, MODEL, "customers")
    assert a == b
    assert a.version == SourceVersion.streamed(1_790_000_000_500_000, 100000000000000000005, 3)
    assert a.image["name"] == "Ada"


def test_remove_on_a_versioned_table_takes_its_version_from_the_old_image():
    rec = decode_stream_record(customer("c1", version=4, remove=True), MODEL)
    assert rec.removed and rec.version.declared == 4 and not rec.expired


def test_stream_order_outranks_the_version_attribute_which_writers_may_lower():
    """PynamoDB and DynamoDBMapper restart at version 1 when an item is re-created; global tables can
    replicate a lower version after a higher one. Only the stream position orders two records."""
    before = decode_stream_record(customer("c1", version=9, seq=5), MODEL)
    recreated = decode_stream_record(customer("c1", version=1, seq=6), MODEL)
    same_second_lower = decode_stream_record(customer("c1", version=2, seq=7, created=1_790_000_000), MODEL)
    assert before.version < recreated.version < same_second_lower.version


def test_a_modify_keeps_its_old_image_so_an_item_can_leave_a_document():
    rec = decode_stream_record(lesson("l1", "s2", old_song="s1"), MODEL)
    assert rec.image["song_id"] == "s2" and rec.old_image["song_id"] == "s1"


def test_physical_table_names_map_to_the_models_logical_ones():
    from dynafold.projector.table_names import TableNames

    names = TableNames.parse("orders=prod-orders", MODEL.tables)
    raw = order("c1", "o1")
    raw["eventSourceARN"] = raw["eventSourceARN"].replace("table/orders/", "table/prod-orders/")
    rec = decode_stream_record(raw, MODEL, names=names)
    assert rec.table == "orders" and rec.ref.table == "orders"
    with pytest.raises(MalformedRecord, match="'prod-orders' is not part of the model"):
        decode_stream_record(raw, MODEL)
    with pytest.raises(MalformedRecord, match="'orders' is not part of the model"):
        decode_stream_record(order("c1", "o1"), MODEL, names=names)


def test_ttl_removal_is_told_apart_from_a_user_delete():
    assert decode_stream_record(customer("c1", remove=True, ttl=True), MODEL).expired
    assert not decode_stream_record(customer("c1", remove=True), MODEL).expired


def test_replication_attributes_of_legacy_global_tables_are_stripped():
    raw = order("c1", "o1")
    raw["dynamodb"]["NewImage"]["aws:rep:updatetime"] = {"N": "1790000000.1"}
    raw["dynamodb"]["NewImage"]["aws:rep:updateregion"] = {"S": "eu-west-1"}
    assert not any(k.startswith("aws:rep:") for k in decode_stream_record(raw, MODEL).image)


def test_table_comes_from_the_event_source_arn():
    assert table_from_arn("arn:aws:dynamodb:eu-west-1:1:table/my-table/stream/2026") == "my-table"
    assert table_from_arn("arn:aws:kinesis:eu-west-1:1:stream/x") is None


def test_creation_time_in_both_shapes():
    assert created_at_us(1_790_000_000) == 1_790_000_000_000_000
    assert created_at_us(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)) == 1_767_225_600_000_000


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda r: r.pop("dynamodb"), "no 'dynamodb' object"),
        (lambda r: r.update(eventName="UPSERT"), "unknown eventName"),
        (lambda r: r.update(eventSourceARN="arn:aws:dynamodb:us-east-1:1:table/nope/stream/x"), "table 'nope' is not part of the model"),
        (lambda r: r["dynamodb"].pop("Keys"), "item must be an object"),
        (lambda r: r["dynamodb"]["Keys"].pop("order_id"), "lacks key attribute 'order_id'"),
        (lambda r: r["dynamodb"].pop("NewImage"), "without NewImage"),
        (lambda r: r["dynamodb"].update(SequenceNumber="12x"), "SequenceNumber"),
        (lambda r: r["dynamodb"]["NewImage"].update(total={"N": "NaN"}), "NewImage.total: N value is not a number"),
        (lambda r: r["dynamodb"]["NewImage"].update(order_id={"S": "other"}), "NewImage key differs"),
    ],
)
def test_malformed_records_name_the_record_and_the_reason(mutate, reason):
    raw = order("c1", "o1", seq=9)
    mutate(raw)
    with pytest.raises(MalformedRecord) as caught:
        decode_stream_record(raw, MODEL)
    message = str(caught.value)
    assert reason in message
    if "dynamodb" in raw and reason != "SequenceNumber":
        assert "seq 100000000000000000009" in message
    assert "eventID ev-orders-9" in message
