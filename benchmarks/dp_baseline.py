"""The honest anchor: how AWS's managed DynamoDB -> OpenSearch pipeline writes (Data Prepper).

Data Prepper's DynamoDB source and OpenSearch sink write one document per
item: for every stream record of a batch, an ``index`` action (``delete``
for a REMOVE) carrying the new image as plain JSON, with
``version_type=external`` and ``version = ApproximateCreationDateTime
seconds * 1,000,000 + a counter within that second``, all in one ``_bulk``;
no reads. It cannot fold an aggregate (a customer with their orders): that
is what dynafold adds, so the comparison is what that costs, or saves.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, frozenset)):
        return [_plain(v) for v in value]
    return value


class DataPrepperStyle:
    """Writes each batch the way the managed pipeline does, through the same opensearch-py client."""

    def __init__(self, client: Any, index: str) -> None:
        self.client = client
        self.index = index
        self._second = None
        self._counter = 0
        client.indices.create(index=index, body={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})

    def _version(self, seconds: int) -> int:
        if seconds != self._second:
            self._second, self._counter = seconds, 0
        self._counter += 1
        return seconds * 1_000_000 + self._counter

    def project(self, records: list[dict]) -> int:
        lines = []
        for raw in records:
            stream = raw["dynamodb"]
            keys = {k: _deserializer.deserialize(v) for k, v in stream["Keys"].items()}
            doc_id = "|".join(str(keys[k]) for k in sorted(keys))
            meta = {"_index": self.index, "_id": doc_id, "version": self._version(int(stream["ApproximateCreationDateTime"])),
                    "version_type": "external"}
            if raw["eventName"] == "REMOVE":
                lines.append(json.dumps({"delete": meta}))
                continue
            image = {k: _plain(_deserializer.deserialize(v)) for k, v in stream["NewImage"].items()}
            lines.append(json.dumps({"index": meta}))
            lines.append(json.dumps(image))
        response = self.client.bulk(body="\n".join(lines) + "\n")
        return sum(1 for item in response["items"] if next(iter(item.values())).get("status", 500) < 300)
