"""Create a model's DynamoDB tables (with streams and GSIs): for the demo, tests and local setups."""

from __future__ import annotations

from typing import Any

from domain.model import Model, TableSpec


def table_definition(spec: TableSpec) -> dict[str, Any]:
    attributes = {name: spec.key_types.get(name, "S") for name in spec.key_attributes}
    key_schema = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
    if spec.range_key:
        key_schema.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
    definition: dict[str, Any] = {
        "TableName": spec.name,
        "KeySchema": key_schema,
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
    indexes = []
    for index in spec.indexes:
        schema = [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
        attributes.setdefault(index.hash_key, spec.key_types.get(index.hash_key, "S"))
        if index.range_key:
            schema.append({"AttributeName": index.range_key, "KeyType": "RANGE"})
            attributes.setdefault(index.range_key, spec.key_types.get(index.range_key, "S"))
        indexes.append({"IndexName": index.name, "KeySchema": schema, "Projection": {"ProjectionType": "KEYS_ONLY"}})
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    definition["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()]
    return definition


def create_tables(client: Any, model: Model) -> None:
    """Create every table of the model that does not exist yet."""
    existing = set(client.list_tables().get("TableNames", []))
    for spec in model.tables.values():
        if spec.name not in existing:
            client.create_table(**table_definition(spec))
