"""The stream reader behind `dynafold project`: shards discovered as DynamoDB rolls them over."""

from __future__ import annotations

import threading

from dynafold.projector import poller
from dynafold.projector.aws.streams import StreamReader
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores.memory import MemoryCheckpoints, MemoryQuarantine, MemoryStore
from dynafold.sample import MODEL
from tests.support.records import customer

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/customers/stream/x"


class RollingStreams:
    """Shard A keeps returning records; shard B closes, and its child C appears only then."""

    def __init__(self) -> None:
        self.polls = {"A": 0, "B": 0, "C": 0}
        self.b_closed = False

    def describe_table(self, TableName):
        return {"Table": {"LatestStreamArn": ARN}}

    def describe_stream(self, StreamArn, **kwargs):
        shards = [{"ShardId": "A"}, {"ShardId": "B"}]
        if self.b_closed:
            shards.append({"ShardId": "C", "ParentShardId": "B"})
        return {"StreamDescription": {"Shards": shards}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        return {"ShardIterator": ShardId}

    def get_records(self, ShardIterator, Limit):
        shard = ShardIterator
        self.polls[shard] += 1
        n = self.polls[shard]
        if shard == "A":
            records = [customer(f"a{n}", seq=1000 + n)] if n <= 30 else []
            return {"Records": records, "NextShardIterator": "A"}
        if shard == "B":
            if n == 1:
                return {"Records": [customer("b1", seq=1)], "NextShardIterator": "B"}
            self.b_closed = True
            return {"Records": []}
        records = [customer("c1", seq=5000)] if n == 1 else []
        return {"Records": records, "NextShardIterator": "C"}


def test_a_child_shard_is_found_while_other_shards_stay_busy():
    """Review finding: shards were only rediscovered when no shard had records, so a busy stream
    never read a closed shard's children, and their records expired unread."""
    streams = RollingStreams()
    store = MemoryStore()
    reader = StreamReader(streams, streams, ["customers"], MemoryCheckpoints())
    totals = poller.run(Projector(MODEL, store, MemoryQuarantine()), reader, stop=threading.Event(), until_idle=True,
                        interval_s=0)
    assert streams.polls["C"] >= 1 and streams.polls["C"] < 30, "C was read while A was still busy"
    assert store.get("customer", "c1") is not None
    assert totals.records == 32 and not totals.unfinished
