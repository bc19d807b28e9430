"""The failure queue's consumer: a stream range that ran out of retries is projected again, or repaired.

A stream function's on-failure destination gets metadata only, never the
records: ``DDBStreamBatchInfo`` names the stream, the shard and the first
and last sequence numbers of the batch. While the stream still holds that
range (24 h), the range is read again exactly (``GetShardIterator``
``AT_SEQUENCE_NUMBER``, ``GetRecords`` until past the end) and projected by
the same ``Projector`` as the stream function's: a record applied twice is
a no-op, so nothing needs to know what the failed batch had already done.
When the stream no longer holds it (``TrimmedDataAccessException``, or the
shard or stream is gone), the records are lost and the table is the only
truth left: every aggregate the table feeds is verified against the tables
and its drift repaired (``dynafold.replay.verify.Verifier``). A message that fails
is reported back to SQS and retried; after five receives it moves to the
dead-letter queue, which has an alarm.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Optional

import attrs

from dynafold.domain.model import Model
from dynafold.projector.engine.batch import Projector
from dynafold.projector.errors import aws_code
from dynafold.projector.intake.records import table_from_arn

log = logging.getLogger("dynafold.redrive")

GONE = ("TrimmedDataAccessException", "ExpiredIteratorException", "ResourceNotFoundException")


class RedriveFailed(RuntimeError):
    """The range could not be projected now (the store or DynamoDB failed): SQS retries the message."""


@attrs.frozen
class FailedRange:
    stream_arn: str
    shard_id: str
    start: str
    end: str

    @classmethod
    def from_message(cls, body: str) -> "FailedRange":
        """The range an on-failure destination message names; ValueError if it names none."""
        info = json.loads(body).get("DDBStreamBatchInfo")
        if not isinstance(info, dict):
            raise ValueError("the message has no DDBStreamBatchInfo: it is not a DynamoDB stream failure")
        found = cls(*(info.get(k) for k in ("streamArn", "shardId", "startSequenceNumber", "endSequenceNumber")))
        if not all(isinstance(v, str) and v for v in attrs.astuple(found)) or not (found.start + found.end).isdigit():
            raise ValueError("DDBStreamBatchInfo lacks the stream, the shard or a numeric sequence range")
        return found


def read_range(streams: Any, failed: FailedRange, *, page: int = 1000, max_empty: int = 20) -> Optional[list[dict]]:
    """The records of the range, in shard order; None when the stream no longer holds it."""
    from botocore.exceptions import ClientError

    start, end = int(failed.start), int(failed.end)
    found: list[dict] = []
    try:
        iterator = streams.get_shard_iterator(StreamArn=failed.stream_arn, ShardId=failed.shard_id,
                                              ShardIteratorType="AT_SEQUENCE_NUMBER",
                                              SequenceNumber=failed.start)["ShardIterator"]
        empty = 0
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=page)
            for record in response.get("Records", []):
                sequence = int(record["dynamodb"]["SequenceNumber"])
                if sequence > end:
                    return found
                if sequence >= start:
                    found.append({**record, "eventSourceARN": failed.stream_arn})
                if sequence == end:
                    return found
            empty = 0 if response.get("Records") else empty + 1
            if empty >= max_empty:
                raise RedriveFailed(f"shard {failed.shard_id} returned {empty} empty pages before the range's end")
            iterator = response.get("NextShardIterator")
    except ClientError as error:
        if aws_code(error) in GONE:
            return None
        raise
    return found  # the shard closed before the end: the range ended with it


def affected_aggregates(model: Model, table: str) -> list[str]:
    """The aggregates a table's records can change: its member and join roles (any, for a hand-written translator)."""
    if table in model.translators:
        return sorted(a.name for a in model.aggregates_of(table)) or sorted(model.aggregates)
    plan = model.plans[table]
    return sorted({role.aggregate for role in plan.members} | {join.aggregate for join in plan.joined})


class Redriver:
    def __init__(self, projector: Projector, streams: Any, verifier_factory: Callable[[], Any], *,
                 batch: int = 100) -> None:
        self.projector = projector
        self.streams = streams
        self.verifier_factory = verifier_factory
        self.batch = batch

    def redrive(self, failed: FailedRange, *, time_left: Callable[[], float] = lambda: float("inf"),
                margin_s: float = 0.0) -> str:
        """Project the range again, or repair what it fed; a line saying which."""
        physical = table_from_arn(failed.stream_arn)
        table = self.projector.names.logical(physical) if physical else None
        if table not in self.projector.model.tables:
            raise ValueError(f"stream of table {physical!r} is not one of the model's tables")
        records = read_range(self.streams, failed)
        if records is None:
            return self.repair(table)
        for start in range(0, len(records), self.batch):
            report = self.projector.project(records[start : start + self.batch], time_left=time_left, margin_s=margin_s)
            if report.failed_from is not None:
                raise RedriveFailed(f"{table}: record {start + report.failed_from} of the range failed again "
                                    f"({report.failure_reason})")
        return f"{table}: projected {len(records)} records of shard {failed.shard_id} again"

    def repair(self, table: str) -> str:
        verifier = self.verifier_factory()
        repaired = []
        for name in affected_aggregates(self.projector.model, table):
            report = verifier.verify(name)
            fixed = sum(1 for drift in report.drift if verifier.repair(drift))
            repaired.append(f"{name} ({len(report.drift)} drifted, {fixed} repaired)")
        return f"{table}: the stream no longer holds the range; verified and repaired {', '.join(repaired)}"
