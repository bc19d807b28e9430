"""Reading DynamoDB Streams directly, for projection outside Lambda.

``StreamReader`` walks every shard of a table's stream (parents before
children, as Lambda does), hands out batches, and moves a shard's checkpoint
only past records the caller confirms; a batch that failed from record *i*
is read again from record *i*, the same at-least-once contract as Lambda's
ReportBatchItemFailures.
"""

from __future__ import annotations

from typing import Any, Optional

import attrs

from dynafold.projector.control.checkpoints import Checkpoints
from dynafold.projector.errors import ConfigurationError


@attrs.define
class _Shard:
    table: str
    stream_arn: str
    shard_id: str
    parent: Optional[str]
    iterator: Optional[str] = None
    closed: bool = False

    @property
    def key(self) -> str:
        return f"stream/{self.table}/{self.shard_id}"


@attrs.frozen
class ShardBatch:
    table: str
    shard: str
    records: list


class StreamReader:
    def __init__(self, dynamodb: Any, streams: Any, tables: list[str], checkpoints: Checkpoints, *, limit: int = 100) -> None:
        self._dynamodb = dynamodb
        self._streams = streams
        self._tables = tables
        self._checkpoints = checkpoints
        self._limit = limit
        self._shards: dict[str, _Shard] = {}
        self.needs_refresh = True

    def refresh(self) -> None:
        """Discover shards (new ones appear as DynamoDB splits them)."""
        self.needs_refresh = False
        for table in self._tables:
            arn = self._dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
            if not arn:
                raise ConfigurationError(f"table {table!r} has no stream: enable NEW_AND_OLD_IMAGES")
            start = None
            while True:
                kwargs = {"StreamArn": arn}
                if start:
                    kwargs["ExclusiveStartShardId"] = start
                description = self._streams.describe_stream(**kwargs)["StreamDescription"]
                for shard in description.get("Shards", []):
                    key = f"{table}/{shard['ShardId']}"
                    if key not in self._shards:
                        self._shards[key] = _Shard(table, arn, shard["ShardId"], shard.get("ParentShardId"))
                start = description.get("LastEvaluatedShardId")
                if not start:
                    break

    def _ready(self, shard: _Shard) -> bool:
        if shard.closed:
            return False
        parent = self._shards.get(f"{shard.table}/{shard.parent}") if shard.parent else None
        return parent is None or parent.closed

    def _iterator(self, shard: _Shard) -> str:
        checkpoint = self._checkpoints.get(shard.key)
        kwargs = {"StreamArn": shard.stream_arn, "ShardId": shard.shard_id}
        if checkpoint:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=checkpoint)
        else:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        return self._streams.get_shard_iterator(**kwargs)["ShardIterator"]

    def poll(self) -> list[ShardBatch]:
        """One GetRecords call per ready shard; the batches that returned records."""
        batches = []
        for shard in list(self._shards.values()):
            if not self._ready(shard):
                continue
            if shard.iterator is None:
                shard.iterator = self._iterator(shard)
            response = self._streams.get_records(ShardIterator=shard.iterator, Limit=self._limit)
            records = response.get("Records", [])
            shard.iterator = response.get("NextShardIterator")
            if shard.iterator is None and not records:
                shard.closed = True
                self.needs_refresh = True  # its children hold the key range from now on
            if records:
                batches.append(ShardBatch(shard.table, shard.shard_id, records))
        return batches

    def commit(self, batch: ShardBatch, failed_from: Optional[int]) -> None:
        """Move the shard's checkpoint past the records processed; re-read the rest next poll."""
        shard = self._shards[f"{batch.table}/{batch.shard}"]
        done = batch.records if failed_from is None else batch.records[:failed_from]
        if done:
            self._checkpoints.put(shard.key, done[-1]["dynamodb"]["SequenceNumber"])
        if failed_from is not None:
            shard.iterator = None
            shard.closed = False
