"""A small, exact simulation of the five sample tables and their streams.

Property tests need thousands of examples, so instead of moto they use this:
tables as dicts, one stream per table holding Lambda-shaped records (typed
with boto3's own serializer), a clock that may stand still (records created
in the same second, as DynamoDB's second-precision timestamps do), versions
that never go down, and a ``by_song`` index that can lag behind the table,
as a GSI does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

from boto3.dynamodb.types import TypeSerializer

from domain.lookup import IndexQuery
from domain.source import SourceItem
from tests.support.records import ARN

_serializer = TypeSerializer()

KEYS = {
    "customers": ("customer_id",),
    "orders": ("customer_id", "order_id"),
    "subscriptions": ("customer_id", "plan_id"),
    "songs": ("song_id",),
    "lessons": ("lesson_id",),
}
VERSIONED = {"customers", "songs"}


def typed(item: dict) -> dict:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


class SimulatedTables:
    def __init__(self, start_s: int = 1_790_000_000) -> None:
        self.items: dict[str, dict[tuple, dict]] = {t: {} for t in KEYS}
        self.streams: dict[str, list[dict]] = {t: [] for t in KEYS}
        self.clock_ms = start_s * 1000
        self._sequence = 0
        self._versions: dict[tuple, int] = {}
        self.index_lag = False
        self._index: dict[str, Optional[str]] = {}
        self.missed_fanouts = 0
        self.writes = 0
        self.join_ties = 0
        self.index_changes = 0
        self._song_writes: dict[str, set[int]] = {}
        self._lesson_pointers: dict[str, set[int]] = {}

    def tick(self, ms: int) -> None:
        self.clock_ms += ms

    def now_us(self) -> int:
        return self.clock_ms * 1000

    def key_of(self, table: str, item: dict) -> tuple:
        return tuple(item[k] for k in KEYS[table])

    def put(self, table: str, item: dict) -> None:
        item = {k: v for k, v in item.items() if v is not None}
        key = self.key_of(table, item)
        if table == "lessons" and item.get("song_id") is not None:
            self._lesson_pointers.setdefault(item["song_id"], set()).add(self.clock_ms)
            if self.clock_ms in self._song_writes.get(item["song_id"], ()):
                self.join_ties += 1
        if table in VERSIONED:
            version = self._versions.get((table, key), 0) + 1
            self._versions[(table, key)] = version
            item["version"] = Decimal(version)
        old = self.items[table].get(key)
        self.items[table][key] = item
        self._record(table, key, item, old)

    def delete(self, table: str, key: tuple) -> None:
        old = self.items[table].pop(key, None)
        if old is not None:
            self._record(table, key, None, old)

    def _record(self, table: str, key: tuple, new: Optional[dict], old: Optional[dict]) -> None:
        if table == "songs":
            self._song_writes.setdefault(key[0], set()).add(self.clock_ms)
            if self.clock_ms in self._lesson_pointers.get(key[0], ()):
                self.join_ties += 1
        self._sequence += 1
        self.writes += 1
        keys = typed(dict(zip(KEYS[table], key)))
        stream: dict[str, Any] = {
            "ApproximateCreationDateTime": self.clock_ms / 1000,
            "Keys": keys,
            "SequenceNumber": str(10**20 + self._sequence),
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if new is not None:
            stream["NewImage"] = typed(new)
        if old is not None:
            stream["OldImage"] = typed(old)
        name = "REMOVE" if new is None else "MODIFY" if old is not None else "INSERT"
        self.streams[table].append(
            {
                "eventID": f"{table}-{self._sequence}",
                "eventName": name,
                "eventSource": "aws:dynamodb",
                "dynamodb": stream,
                "eventSourceARN": ARN.format(table=table),
            }
        )
        if table == "lessons" and not self.index_lag:
            self.catch_up_index()

    def catch_up_index(self) -> None:
        index = {key[0]: item.get("song_id") for key, item in self.items["lessons"].items()}
        if index != self._index:
            self._index = index
            self.index_changes += 1

    @property
    def observable(self) -> tuple[int, int]:
        """Changes a lookup can see: table writes and index catch-ups."""
        return self.writes, self.index_changes

    def rows(self, table: str) -> list[dict]:
        return [dict(item) for item in self.items[table].values()]

    def final(self) -> dict[str, list[dict]]:
        return {table: self.rows(table) for table in KEYS}


class SimulatedLookup:
    """Consistent item reads; index queries answered from the (possibly lagging) index."""

    def __init__(self, tables: SimulatedTables) -> None:
        self.tables = tables

    def item(self, source: SourceItem):
        key = tuple(source[k] for k in KEYS[source.table])
        found = self.tables.items[source.table].get(key)
        return None if found is None else dict(found)

    def query(self, query: IndexQuery):
        assert (query.table, query.index) == ("lessons", "by_song")
        lagging = {lid for lid, sid in self.tables._index.items() if sid == query.value}
        current = {key[0] for key, item in self.tables.items["lessons"].items() if item.get("song_id") == query.value}
        if current - lagging:
            self.tables.missed_fanouts += 1
        return [{"lesson_id": lid, "song_id": query.value} for lid in sorted(lagging)]
