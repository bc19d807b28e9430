"""Create a model's DynamoDB tables (with streams and GSIs): for the demo, tests and local setups."""

from __future__ import annotations

from typing import Any

from dynafold.domain.model import Model
from dynafold.domain.tables import Table
from dynafold.projector.table_names import IDENTITY, TableNames


def table_definition(spec: Table, physical: str | None = None) -> dict[str, Any]:
    attributes = {name: spec.key_type(name) for name in spec.key_attributes}
    key_schema = [{"AttributeName": spec.hash_key, "KeyType": "HASH"}]
    if spec.range_key:
        key_schema.append({"AttributeName": spec.range_key, "KeyType": "RANGE"})
    definition: dict[str, Any] = {
        "TableName": physical or spec.name,
        "KeySchema": key_schema,
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
    indexes = []
    for index in spec.indexes:
        schema = [{"AttributeName": index.hash_key, "KeyType": "HASH"}]
        attributes.setdefault(index.hash_key, spec.key_type(index.hash_key))
        if index.range_key:
            schema.append({"AttributeName": index.range_key, "KeyType": "RANGE"})
            attributes.setdefault(index.range_key, spec.key_type(index.range_key))
        indexes.append({"IndexName": index.name, "KeySchema": schema, "Projection": {"ProjectionType": "KEYS_ONLY"}})
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    definition["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in attributes.items()]
    return definition


def create_tables(client: Any, model: Model, names: TableNames = IDENTITY) -> None:
    """Create every table of the model that does not exist yet (under its physical name)."""
    existing = set(client.list_tables().get("TableNames", []))
    for spec in model.tables.values():
        physical = names.physical(spec.name)
        if physical not in existing:
            client.create_table(**table_definition(spec, physical))
