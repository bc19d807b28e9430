"""The failure queue's consumer on moto: a failed range is re-read exactly and projected, or, once the stream
no longer holds it, the aggregates it fed are verified and repaired."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from dynafold.handlers.failure_queue import make_handler
from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.replay.failure_queue import FailedRange, Redriver, affected_aggregates
from dynafold.replay.verify import Verifier
from dynafold.sample import MODEL
from tests.support import oracle


def put(client, table: str, **item) -> None:
    client.put_item(TableName=table, Item={k: {"S": v} for k, v in item.items()})


def raw_records(client, streams, table: str) -> tuple[str, str, list[dict]]:
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    (shard,) = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return arn, shard["ShardId"], streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]


def failure_message(arn: str, shard: str, first: dict, last: dict, message_id: str = "m1") -> dict:
    """What Lambda's on-failure destination puts in SQS for a DynamoDB stream batch (metadata only)."""
    body = {
        "requestContext": {"requestId": "r1", "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 101},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "version": "1.0",
        "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": first["dynamodb"]["SequenceNumber"],
                               "endSequenceNumber": last["dynamodb"]["SequenceNumber"], "batchSize": 3,
                               "streamArn": arn},
    }
    return {"messageId": message_id, "body": json.dumps(body)}


@pytest.fixture
def setup(dynamodb, streams):
    store = open_store("memory://")
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))
    verifier = lambda: Verifier(MODEL, store, dynamodb, lookup_factory=lambda: DynamoLookup(dynamodb, MODEL))  # noqa: E731
    return dynamodb, streams, store, projector, verifier


def test_a_failed_range_still_in_the_stream_is_read_exactly_and_projected(setup):
    dynamodb, streams, store, projector, verifier = setup
    put(dynamodb, "customers", customer_id="c1", name="Ada")
    for n in range(1, 7):
        put(dynamodb, "orders", customer_id="c1", order_id=f"o{n}", status="paid")
    arn, shard, customers = raw_records(dynamodb, streams, "customers")
    handle = make_handler(lambda: Redriver(projector, streams, verifier))
    assert handle({"Records": [failure_message(arn, shard, customers[0], customers[-1])]}, None) == {"batchItemFailures": []}
    arn, shard, orders = raw_records(dynamodb, streams, "orders")
    assert handle({"Records": [failure_message(arn, shard, orders[1], orders[3])]}, None) == {"batchItemFailures": []}
    (document,) = store.documents("customer")
    assert [o["order_id"] for o in document["orders"]] == ["o4", "o3", "o2"], "exactly the range, no more"
    assert handle({"Records": [failure_message(arn, shard, orders[1], orders[3])]}, None) == {"batchItemFailures": []}
    assert list(store.documents("customer")) == [document], "a second re-drive changes nothing"


class TrimmedStreams:
    """DynamoDB Streams after 24 h: the range is past the trim horizon (moto never trims)."""

    def get_shard_iterator(self, **kwargs):
        raise ClientError({"Error": {"Code": "TrimmedDataAccessException", "Message": "beyond the trim horizon"}},
                          "GetShardIterator")


def test_a_range_the_stream_no_longer_holds_is_repaired_from_the_tables(setup):
    dynamodb, streams, store, projector, verifier = setup
    put(dynamodb, "customers", customer_id="c1", name="Ada")
    put(dynamodb, "orders", customer_id="c1", order_id="o1", status="paid")
    put(dynamodb, "songs", song_id="s1", title="Wonderwall", artist="Oasis")
    arn, shard, orders = raw_records(dynamodb, streams, "orders")
    handle = make_handler(lambda: Redriver(projector, TrimmedStreams(), verifier))
    assert handle({"Records": [failure_message(arn, shard, orders[0], orders[-1])]}, None) == {"batchItemFailures": []}
    tables = {t: [oracle_item(i) for i in dynamodb.scan(TableName=t)["Items"]] for t in MODEL.tables}
    expected = oracle.expected(tables)["customer"]
    assert oracle.normalized({d["customer_id"]: d for d in store.documents("customer")}) == oracle.normalized(expected)
    assert list(store.documents("lesson")) == [], "only the aggregates the orders table feeds are repaired"


def oracle_item(item: dict) -> dict:
    from boto3.dynamodb.types import TypeDeserializer

    return {k: TypeDeserializer().deserialize(v) for k, v in item.items()}


def test_a_message_that_names_no_stream_range_is_returned_to_the_queue(setup):
    dynamodb, streams, store, projector, verifier = setup
    handle = make_handler(lambda: Redriver(projector, streams, verifier))
    result = handle({"Records": [{"messageId": "junk", "body": json.dumps({"hello": 1})}]}, None)
    assert result == {"batchItemFailures": [{"itemIdentifier": "junk"}]}
    with pytest.raises(ValueError):
        FailedRange.from_message(json.dumps({"DDBStreamBatchInfo": {"streamArn": "x", "shardId": "s",
                                                                   "startSequenceNumber": "1", "endSequenceNumber": "z"}}))


def test_the_aggregates_a_table_feeds_are_its_member_and_join_roles():
    assert affected_aggregates(MODEL, "orders") == ["customer"]
    assert affected_aggregates(MODEL, "songs") == ["lesson"]
    assert affected_aggregates(MODEL, "lessons") == ["lesson"]


def test_the_stream_redrive_client_reads_from_a_sequence_number_on_moto(dynamodb, streams):
    put(dynamodb, "songs", song_id="s1", title="A")
    put(dynamodb, "songs", song_id="s2", title="B")
    arn, shard, records = raw_records(dynamodb, streams, "songs")
    iterator = boto3.client("dynamodbstreams", region_name="us-east-1").get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=records[1]["dynamodb"]["SequenceNumber"])["ShardIterator"]
    (record,) = streams.get_records(ShardIterator=iterator)["Records"]
    assert record["dynamodb"]["Keys"]["song_id"] == {"S": "s2"}
