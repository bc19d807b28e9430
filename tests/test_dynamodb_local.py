"""DynamoDB Local as a second DynamoDB: streams, parallel scans, the GSI fan-out and TTL, beside moto.

The HTTP tests that run ``dynafold project`` and ``dynafold replay`` in
subprocesses are parametrized over both (``dynamodb_endpoint``: moto's server
and DynamoDB Local); these run what moto covers in-process (stream records
through the Lambda handler, replays from parallel scans, verify) against
DynamoDB Local, each test with a database of its own (its own access key).

Where moto 5 and DynamoDB Local 3.3.1 disagree (seen here):

- Stream ARNs and records: DynamoDB Local names region ``ddblocal`` and
  account ``000000000000`` in ``LatestStreamArn``, and ``awsRegion:
  ddblocal`` in every record, whatever region the client signs for; moto
  uses the client's region and its fake account. Neither matters here: the
  table comes from the ARN's ``table/<name>`` part.
- TTL: DynamoDB Local deletes an expired item within about a second and
  writes a stream record whose ``eventName`` is ``UNKNOWN_TO_SDK_VERSION``
  (its Java SDK's placeholder for an enum it cannot name) with no
  ``userIdentity``; real DynamoDB sends ``REMOVE`` with the service principal
  ``dynamodb.amazonaws.com``. The decoder refuses the unknown event name, so
  such a record is quarantined, never mistaken for an update. moto does not
  expire items at all.
- Table names: DynamoDB Local enforces the 3-character minimum; moto accepts
  shorter names.
- Binary keys: moto (5.2.1 to 5.2.5) writes a binary key in a stream
  record's ``Keys`` base64-encoded once more than in its images; DynamoDB
  Local writes the same bytes in both, as DynamoDB does. The test kit takes
  moto's key from the image (``dynafold.testing.dynamo.moto_binary_keys``).
- Both split a parallel scan (``Segment``/``TotalSegments``) into disjoint
  segments that together hold every item, both refuse ``ConsistentRead`` on
  a GSI query, and both keep sequence numbers increasing per shard (DynamoDB
  Local's start at ``000000000000000000001``).
- Credentials: DynamoDB Local keeps one database per access key and region
  (also with ``-inMemory``, where its documentation says ``-sharedDb`` is
  required); moto's server shares one account for every key.
"""

from __future__ import annotations

import time

import boto3
import pytest

from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.aws.provision import create_tables
from dynafold.projector.intake.records import MalformedRecord, decode_stream_record
from dynafold.projector.stores import open_store
from dynafold.replay.verify import Verifier
from dynafold.sample import MODEL
from dynafold.testing.sample_writer import SampleWriter
from tests.support.lambda_events import stream_records
from tests.test_end_to_end import project_and_check
from tests.test_replay import assert_matches_oracle, fill, job_for


@pytest.fixture
def local(dynamodb_local_env):
    """(dynamodb, dynamodbstreams) clients of DynamoDB Local, with the sample tables created."""
    dynamodb = boto3.client("dynamodb")
    create_tables(dynamodb, MODEL)
    return dynamodb, boto3.client("dynamodbstreams")


@pytest.mark.parametrize("store_url", ["sqlite", "node"], indirect=True)
def test_stream_records_from_dynamodb_local_through_the_lambda_handler_match_the_oracle(local, store_url):
    dynamodb, streams = local
    project_and_check(store_url, dynamodb, streams, seed=5)


def test_a_replay_from_parallel_scans_of_dynamodb_local_matches_the_oracle_and_verifies_clean(local):
    dynamodb, _ = local
    writer = fill(dynamodb)
    segments = [
        dynamodb.scan(TableName="orders", Segment=s, TotalSegments=3, ConsistentRead=True)["Count"] for s in range(3)
    ]
    assert sum(segments) == len(writer.scan("orders")) and sum(1 for n in segments if n) > 1
    store = open_store("memory://")
    job = job_for(store, dynamodb, segments=3, workers=3, page_size=7)
    for aggregate in ("customer", "lesson"):
        summary = job.run(aggregate)
        assert summary.items > 0 and summary.quarantined == 0
    assert_matches_oracle(store, writer)
    verifier = Verifier(MODEL, store, dynamodb, lookup_factory=lambda: DynamoLookup(dynamodb, MODEL), segments=2)
    assert [verifier.verify(a).drift for a in ("customer", "lesson")] == [[], []]


def test_a_ttl_deletion_on_dynamodb_local_is_refused_by_the_decoder_not_taken_for_an_update(local):
    dynamodb, streams = local
    dynamodb.update_time_to_live(TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    SampleWriter(dynamodb).put("orders", {"customer_id": "c1", "order_id": "o1", "status": "paid",
                                          "expires": int(time.time()) - 60})
    deadline = time.monotonic() + 30
    while dynamodb.scan(TableName="orders")["Count"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert dynamodb.scan(TableName="orders")["Count"] == 0, "DynamoDB Local expires items"
    insert, expiry = stream_records(dynamodb, streams, "orders")
    assert decode_stream_record(insert, MODEL).image["status"] == "paid"
    assert expiry["eventName"] == "UNKNOWN_TO_SDK_VERSION" and "userIdentity" not in expiry
    with pytest.raises(MalformedRecord, match="unknown eventName"):
        decode_stream_record(expiry, MODEL)


@pytest.mark.parametrize("dynamodb_endpoint", ["moto", "dynamodb-local"], indirect=True)
def test_binary_keys_reach_the_decoder_as_dynamodb_writes_them(dynamodb_endpoint):
    """Found by a harness run on binary keys: every record of moto's stream was quarantined ("NewImage key
    differs from Keys") until the test kit took moto's binary key from the image."""
    from dynafold import Aggregate, Model, Table
    from dynafold.domain.kinds import text

    registers = Table("registers", "serial", types={"serial": "B"})
    model = Model([Aggregate("register", registers, fields={"label": text})])
    dynamodb = boto3.client("dynamodb")
    create_tables(dynamodb, model)
    dynamodb.put_item(TableName="registers", Item={"serial": {"B": b"\x01\xff"}, "label": {"S": "front"}})
    dynamodb.put_item(TableName="registers", Item={"serial": {"B": b"\x01\xff"}, "label": {"S": "back"}})
    dynamodb.delete_item(TableName="registers", Key={"serial": {"B": b"\x01\xff"}})
    records = stream_records(dynamodb, boto3.client("dynamodbstreams"), "registers")
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for raw in records:
        assert decode_stream_record(raw, model).item.key == (("serial", b"\x01\xff"),)
