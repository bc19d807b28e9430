"""The DynamoDB control table: quarantine and checkpoints for deployments in AWS.

One table (``dynamodb://dynafold-control``), key ``pk`` (S) + ``sk`` (S):

- ``pk = "quarantine"``, ``sk = "<table>/<position>"``: a poison record,
  its kept record (``dynafold.projector.control.sanitize``) gzip-compressed into a binary attribute and split over
  ``sk#part/N`` items when it is larger than one item may be (a record can
  carry two 400 KB images), so nothing is ever cut off;
- ``pk = "checkpoint"``, ``sk = <key>``: a checkpoint value.

Quarantine writes are conditional on absence: a redelivered poison record
is stored once.
"""

from __future__ import annotations

import gzip
from typing import Any, Iterable, Optional

from dynafold.projector.control.quarantine_entry import QuarantineEntry
from dynafold.projector.errors import ConfigurationError, aws_code

PART_BYTES = 300 * 1024


def _client():
    from dynafold.projector.aws import clients as aws

    return aws.client("dynamodb")


def _table_of(url: str) -> str:
    name = url[len("dynamodb://"):].strip("/")
    if not name:
        raise ConfigurationError("dynamodb:// URL names no table")
    return name


class DynamoQuarantine:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table
        self.url = f"dynamodb://{table}"

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> "DynamoQuarantine":
        """``read_only`` changes nothing: what a role may do with the table is IAM's to say."""
        return cls(_client(), _table_of(url))

    def put(self, entries: Iterable[QuarantineEntry]) -> None:
        from botocore.exceptions import ClientError

        for entry in entries:
            payload = gzip.compress(entry.raw.encode("utf-8"), mtime=0)
            parts = [payload[i : i + PART_BYTES] for i in range(0, len(payload), PART_BYTES)] or [b""]
            for number, part in enumerate(parts[1:], start=1):
                self.client.put_item(
                    TableName=self.table,
                    Item={"pk": {"S": "quarantine-part"}, "sk": {"S": f"{entry.id}#part/{number}"}, "data": {"B": part}},
                )
            item = {
                "pk": {"S": "quarantine"},
                "sk": {"S": entry.id},
                "source_table": {"S": entry.table},
                "position": {"S": entry.position},
                "event_id": {"S": entry.event_id or "-"},
                "reason": {"S": entry.reason},
                "summary": {"S": entry.summary or entry.reason},
                "raw": {"B": parts[0]},
                "parts": {"N": str(len(parts))},
                "quarantined_at": {"N": repr(entry.quarantined_at)},
                "origin": {"S": entry.origin or "-"},
            }
            try:
                self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(sk)")
            except ClientError as error:
                if aws_code(error) != "ConditionalCheckFailedException":
                    raise

    def _entry(self, item: dict) -> QuarantineEntry:
        payload = bytes(item["raw"]["B"])
        for number in range(1, int(item["parts"]["N"])):
            part = self.client.get_item(
                TableName=self.table, Key={"pk": {"S": "quarantine-part"}, "sk": {"S": f"{item['sk']['S']}#part/{number}"}},
                ConsistentRead=True,
            )["Item"]
            payload += bytes(part["data"]["B"])
        return QuarantineEntry(
            table=item["source_table"]["S"],
            position=item["position"]["S"],
            event_id="" if item["event_id"]["S"] == "-" else item["event_id"]["S"],
            reason=item["reason"]["S"],
            raw=gzip.decompress(payload).decode("utf-8"),
            quarantined_at=float(item["quarantined_at"]["N"]),
            origin="" if item["origin"]["S"] == "-" else item["origin"]["S"],
            summary=item["summary"]["S"],
        )

    def list(self, table: Optional[str] = None) -> list[QuarantineEntry]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :prefix)" if table else ""),
            "ExpressionAttributeValues": {":pk": {"S": "quarantine"}, **({":prefix": {"S": f"{table}/"}} if table else {})},
            "ConsistentRead": True,
        }
        entries = []
        while True:
            page = self.client.query(**kwargs)
            entries.extend(self._entry(item) for item in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return entries
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get(self, entry_id: str) -> Optional[QuarantineEntry]:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": "quarantine"}, "sk": {"S": entry_id}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else self._entry(item)

    def drop(self, entry_id: str) -> bool:
        item = self.client.delete_item(
            TableName=self.table, Key={"pk": {"S": "quarantine"}, "sk": {"S": entry_id}}, ReturnValues="ALL_OLD"
        ).get("Attributes")
        if item is None:
            return False
        for number in range(1, int(item["parts"]["N"])):
            self.client.delete_item(
                TableName=self.table, Key={"pk": {"S": "quarantine-part"}, "sk": {"S": f"{entry_id}#part/{number}"}}
            )
        return True


class DynamoCheckpoints:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table
        self.url = f"dynamodb://{table}"

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> "DynamoCheckpoints":
        return cls(_client(), _table_of(url))

    def get(self, key: str) -> Optional[str]:
        item = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": "checkpoint"}, "sk": {"S": key}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else item["value"]["S"]

    def put(self, key: str, value: str) -> None:
        self.client.put_item(TableName=self.table, Item={"pk": {"S": "checkpoint"}, "sk": {"S": key}, "value": {"S": value}})

    def items(self, prefix: str = "") -> list[tuple[str, str]]:
        return sorted((item["sk"]["S"], item["value"]["S"]) for item in self._query(prefix))

    def delete_prefix(self, prefix: str) -> None:
        for item in self._query(prefix, "sk"):
            self.client.delete_item(TableName=self.table, Key={"pk": {"S": "checkpoint"}, "sk": item["sk"]})

    def _query(self, prefix: str, projection: Optional[str] = None):
        """Every checkpoint item whose key starts with ``prefix``, page by page."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)" if prefix else "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "checkpoint"}, **({":prefix": {"S": prefix}} if prefix else {})},
        }
        if projection:
            kwargs["ProjectionExpression"] = projection
        while True:
            page = self.client.query(**kwargs)
            yield from page.get("Items", [])
            if not page.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def control_table_schema() -> dict:
    """The control table's keys and billing: the one definition the template and ``create_table`` share."""
    return {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    }


def control_table_definition(name: str) -> dict:
    """``CreateTable`` arguments for a control table named ``name`` (local setups and tests)."""
    return {"TableName": name, **control_table_schema()}
