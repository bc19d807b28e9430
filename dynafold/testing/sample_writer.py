"""Writes to the sample tables the way well-behaved applications do.

Tables with a declared version attribute (``customers``, ``songs``) are
written with the usual optimistic-locking pattern: the version goes up by
one under a condition on the previous version, and a re-created item
continues from the highest version its key ever had (a version must never
go down, see ARCHITECTURE.md). The demo and the tests both write through
this class.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

_serializer = TypeSerializer()

VERSIONED = {"customers": ("customer_id",), "songs": ("song_id",)}


def typed(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


class SampleWriter:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._versions: dict[tuple, int] = {}
        self._lock = threading.Lock()

    def _next_version(self, table: str, key: tuple) -> int:
        with self._lock:
            version = self._versions.get((table, key), 0) + 1
            self._versions[(table, key)] = version
            return version

    def put(self, table: str, item: dict[str, Any]) -> None:
        item = dict(item)
        if table in VERSIONED:
            key = tuple(item[name] for name in VERSIONED[table])
            version = self._next_version(table, key)
            item["version"] = Decimal(version)
            self.client.put_item(
                TableName=table,
                Item=typed(item),
                ConditionExpression="attribute_not_exists(#v) OR #v < :v",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":v": {"N": str(version)}},
            )
        else:
            self.client.put_item(TableName=table, Item=typed(item))

    def update(self, table: str, key: dict[str, Any], changes: dict[str, Any]) -> None:
        names = {f"#a{i}": name for i, name in enumerate(changes)}
        values = {f":v{i}": _serializer.serialize(value) for i, value in enumerate(changes.values())}
        sets = [f"#a{i} = :v{i}" for i in range(len(changes))]
        condition = None
        if table in VERSIONED:
            version = self._next_version(table, tuple(key[name] for name in VERSIONED[table]))
            names["#ver"] = "version"
            values[":ver"] = {"N": str(version)}
            sets.append("#ver = :ver")
            condition = "attribute_exists(#ver) AND #ver < :ver"
        kwargs: dict[str, Any] = dict(
            TableName=table,
            Key=typed(key),
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        if condition:
            kwargs["ConditionExpression"] = condition
        self.client.update_item(**kwargs)

    def delete(self, table: str, key: dict[str, Any]) -> None:
        self.client.delete_item(TableName=table, Key=typed(key))

    def scan(self, table: str) -> list[dict[str, Any]]:
        from boto3.dynamodb.types import TypeDeserializer

        deserializer = TypeDeserializer()
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
        while True:
            page = self.client.scan(**kwargs)
            items.extend({k: deserializer.deserialize(v) for k, v in row.items()} for row in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
