"""boto3 GetRecords output turned into the records Lambda delivers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dynafold.testing.dynamo import lambda_value, moto_binary_keys


def lambda_record(record: dict, stream_arn: str) -> dict:
    stream = moto_binary_keys(dict(record["dynamodb"]))
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        stream["ApproximateCreationDateTime"] = created.timestamp()
    out = {k: v for k, v in record.items() if k != "dynamodb"}
    out["dynamodb"] = lambda_value(stream)
    out["eventSourceARN"] = stream_arn
    out.setdefault("eventSource", "aws:dynamodb")
    return out


def stream_records(dynamodb: Any, streams: Any, table: str) -> list[dict]:
    """Every record of the table's stream so far, in Lambda's shape."""
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(lambda_record(r, arn) for r in response["Records"])
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return records


def event(records: list[dict]) -> dict:
    return {"Records": records}


class StreamPump:
    """Delivers every stream record not yet delivered, table by table, in batches, as Lambda would."""

    def __init__(self, dynamodb: Any, streams: Any, tables, handle, batch: int = 9) -> None:
        self.dynamodb, self.streams, self.tables, self.handle, self.batch = dynamodb, streams, tables, handle, batch
        self.delivered = {t: 0 for t in tables}

    def __call__(self) -> None:
        for table in self.tables:
            records = stream_records(self.dynamodb, self.streams, table)
            for start in range(self.delivered[table], len(records), self.batch):
                self.handle(event(records[start : start + self.batch]), None)
            self.delivered[table] = len(records)
