"""The model's tables in moto, on a clock the harness controls.

moto plays DynamoDB in this process: tables with streams
(``NEW_AND_OLD_IMAGES``) and the model's indexes, conditional writes, real
stream records and sequence numbers. The harness only takes over moto's
clock, so records can share a second (DynamoDB's timestamps have one-second
precision, which is where joins get subtle) and the ``Date`` header that
``T_start`` is read from stays on the same clock as the streams. Stream
records are handed out in the shape Lambda delivers them (whole-second
timestamps, base64 binaries, ``eventSourceARN``).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import os
from decimal import Decimal
from typing import Any, Iterator, Mapping, Optional
from unittest import mock

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from dynafold.domain.model import Model
from dynafold.projector.aws.provision import create_tables
from dynafold.projector.table_names import IDENTITY, TableNames

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
EPOCH = dt.datetime(1970, 1, 1)
START_S = 1_790_000_000


class SimulatedClock:
    """DynamoDB's clock for one run: starts at a fixed time, moves only when told to."""

    def __init__(self, start_s: int = START_S) -> None:
        self.now_us = start_s * 1_000_000

    def tick(self, ms: int) -> None:
        self.now_us += ms * 1000

    def utcnow(self) -> dt.datetime:
        return EPOCH + dt.timedelta(microseconds=self.now_us)

    def server_time_us(self) -> int:
        """What a response's Date header says: whole seconds, rounded down."""
        return self.now_us // 1_000_000 * 1_000_000

    def wait_until(self, target_us: int) -> None:
        if self.now_us < target_us:
            self.now_us = target_us


def _within_segment(item: Any, segments: tuple) -> bool:
    """moto's split of a parallel scan (by the first byte of the hash key's MD5), for binary hash keys
    too: moto (5.2.1 to 5.2.5) calls ``.encode`` on the key and fails every segment of such a table."""
    if segments == (None, None):
        return True
    segment, total = segments
    value = item.hash_key.value
    raw = value if isinstance(value, bytes) else str(value).encode("utf8")
    return hashlib.md5(raw).digest()[0] % total == segment


@contextlib.contextmanager
def moto_on(clock: SimulatedClock) -> Iterator[None]:
    """moto in this process, with fake credentials and its clock replaced by ``clock``."""
    from moto import mock_aws

    saved = {name: os.environ.get(name) for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                     "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws(), mock.patch("moto.dynamodb.models.table.utcnow", clock.utcnow), \
                mock.patch("moto.core.responses.utcnow", clock.utcnow), \
                mock.patch("moto.dynamodb.models.dynamo_type.Item.is_within_segment", _within_segment):
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def typed(item: Mapping[str, Any]) -> dict:
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def plain(item: Mapping[str, Any]) -> dict:
    """An item as Python values, binaries as ``bytes`` (as the engine's decoder gives them), not boto3's
    ``Binary`` wrapper, which no key or slice accepts."""
    return {name: _bytes(_deserializer.deserialize(value)) for name, value in item.items()}


def _bytes(value: Any) -> Any:
    if isinstance(value, Binary):
        return bytes(value)
    if isinstance(value, dict):
        return {k: _bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_bytes(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {_bytes(v) for v in value}
    return value


def lambda_value(value: Any) -> Any:
    """A typed value as Lambda's JSON event carries it: binaries as base64 text."""
    if isinstance(value, dict):
        return {k: lambda_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lambda_value(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def moto_binary_keys(stream: dict) -> dict:
    """A GetRecords ``dynamodb`` object with its binary keys as DynamoDB writes them.

    moto (5.2.1 to 5.2.5 at least) puts a binary key attribute in a stream record's ``Keys``
    base64-encoded once more than in its images (``b"AQI="`` for ``b"\\x01\\x02"``); DynamoDB Local, like
    DynamoDB, does not, and the engine rightly quarantines such a record ("NewImage key differs from
    Keys"). Where an image holds the key, its value is taken; anything else is left as it came.
    """
    keys, image = stream.get("Keys"), stream.get("NewImage") or stream.get("OldImage")
    if not keys or not image:
        return stream
    fixed = dict(keys)
    for name, typed in keys.items():
        held = image.get(name)
        if "B" in typed and held and "B" in held and typed["B"] == base64.b64encode(held["B"]):
            fixed[name] = held
    return {**stream, "Keys": fixed}


def lambda_record(record: dict, stream_arn: str) -> dict:
    """A GetRecords record as Lambda delivers it: whole epoch seconds, base64 binaries, the stream ARN."""
    stream = moto_binary_keys(dict(record["dynamodb"]))
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        stream["ApproximateCreationDateTime"] = int(created.timestamp())
    out = {k: v for k, v in record.items() if k != "dynamodb"}
    out["dynamodb"] = lambda_value(stream)
    out["eventSourceARN"] = stream_arn
    out.setdefault("eventSource", "aws:dynamodb")
    return out


class Tables:
    """The model's tables: writes as applications make them, and their streams as Lambda sees them."""

    def __init__(self, model: Model, clock: SimulatedClock, names: TableNames = IDENTITY) -> None:
        self.model = model
        self.clock = clock
        self.names = names
        self.client, self.streams = _clients()
        create_tables(self.client, model, names)
        self._arns = {t: self.client.describe_table(TableName=names.physical(t))["Table"]["LatestStreamArn"]
                      for t in model.tables}
        self._shards: dict[str, list[str]] = {}
        self._after: dict[tuple[str, str], Optional[str]] = {}
        self.records: dict[str, list[dict]] = {t: [] for t in model.tables}
        self.versions: dict[tuple[str, tuple], int] = {}
        self.writes = 0
        self._read_at = -1

    def physical(self, table: str) -> str:
        return self.names.physical(table)

    def get(self, table: str, key: Mapping[str, Any]) -> Optional[dict]:
        found = self.client.get_item(TableName=self.physical(table), Key=typed(key), ConsistentRead=True).get("Item")
        return None if found is None else plain(found)

    def put(self, table: str, item: Mapping[str, Any]) -> None:
        self.client.put_item(TableName=self.physical(table), Item=typed(item))
        self.writes += 1

    def delete(self, table: str, key: Mapping[str, Any]) -> None:
        self.client.delete_item(TableName=self.physical(table), Key=typed(key))
        self.writes += 1

    def scan(self, table: str) -> list[dict]:
        rows, kwargs = [], {"TableName": self.physical(table), "ConsistentRead": True}
        while True:
            page = self.client.scan(**kwargs)
            rows.extend(plain(row) for row in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return rows
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def final(self) -> dict[str, list[dict]]:
        return {table: self.scan(table) for table in self.model.tables}

    def read_streams(self) -> dict[str, list[dict]]:
        """Every table's stream records so far (each list grows; Lambda shape)."""
        if self._read_at == self.writes:
            return self.records
        self._read_at = self.writes
        for table, arn in self._arns.items():
            if not self._shards.get(table):
                described = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
                self._shards[table] = [shard["ShardId"] for shard in described]
            for shard_id in self._shards[table]:
                position = (table, shard_id)
                after = self._after.get(position)
                kwargs = {"StreamArn": arn, "ShardId": shard_id}
                if after is None:
                    kwargs["ShardIteratorType"] = "TRIM_HORIZON"
                else:
                    kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
                iterator = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]
                while iterator:
                    response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                    found = response.get("Records", [])
                    if not found:
                        break
                    self.records[table].extend(lambda_record(r, arn) for r in found)
                    self._after[position] = found[-1]["dynamodb"]["SequenceNumber"]
                    iterator = response.get("NextShardIterator")
        return self.records


_CLIENTS: list = []


def _clients() -> tuple[Any, Any]:
    """boto3 clients are slow to make and moto answers any client made in this process: make them once."""
    if not _CLIENTS:
        import boto3

        _CLIENTS.extend([boto3.client("dynamodb", region_name="us-east-1"),
                         boto3.client("dynamodbstreams", region_name="us-east-1")])
    return _CLIENTS[0], _CLIENTS[1]


def version_after(mode: str, previous: Optional[int], exists: bool, lower: bool) -> int:
    """The version attribute a writer of ``mode`` writes next.

    ``increment`` never lowers it (continuing across deletes); ``restart``
    begins again at 1 when the item is re-created (PynamoDB's
    VersionAttribute, Java's DynamoDBMapper); ``regress`` also replicates
    a lower version over a higher one now and then (global tables resolve
    concurrent writes by timestamp, not by version).
    """
    if mode == "increment":
        return (previous or 0) + 1
    if not exists:
        return 1
    if mode == "regress" and lower and (previous or 0) > 1:
        return max(1, (previous or 1) - 2)
    return (previous or 0) + 1


def number(value: int) -> Decimal:
    return Decimal(value)
