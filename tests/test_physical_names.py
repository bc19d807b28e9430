"""Physical table names end to end: the template's DYNAFOLD_TABLES, the handler as Lambda builds it, moto tables
named prod-<table>, Lambda-shaped records with the physical stream ARNs, documents in logical names."""

from __future__ import annotations

import re

import boto3
import pytest

from dynafold.deploy.template import render
from dynafold.handlers import stream as lambda_handler
from dynafold.projector.aws.provision import create_tables
from dynafold.projector.config import Settings
from dynafold.projector.stores import open_store
from dynafold.projector.table_names import TableNames
from dynafold.sample import MODEL
from tests.support import cfn
from tests.support.lambda_events import event, stream_records

PHYSICAL = {table: f"prod-{table}" for table in MODEL.tables}


def tables_variable(template: dict, physical: dict[str, str]) -> str:
    """DYNAFOLD_TABLES as CloudFormation computes it from the TableName parameters."""
    separator, parts = template["Globals"]["Function"]["Environment"]["Variables"]["DYNAFOLD_TABLES"]["Fn::Join"]
    params = {name: physical[p["Default"]] for name, p in template["Parameters"].items() if name.endswith("TableName")}
    return separator.join(re.sub(r"\$\{(\w+)\}", lambda m: params[m.group(1)], part["Fn::Sub"]) for part in parts)


@pytest.fixture
def deployed(aws, monkeypatch, tmp_path):
    """moto tables under physical names and the environment the template gives a stream function."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_tables(client, MODEL, TableNames(PHYSICAL))
    template = cfn.load(render(MODEL, "dynafold.sample:MODEL"))
    monkeypatch.setenv("DYNAFOLD_TABLES", tables_variable(template, PHYSICAL))
    monkeypatch.setenv("DYNAFOLD_MODEL", template["Globals"]["Function"]["Environment"]["Variables"]["DYNAFOLD_MODEL"])
    monkeypatch.setenv("DYNAFOLD_STORE", f"sqlite:///{tmp_path}/views.db")
    monkeypatch.delenv("DYNAFOLD_QUARANTINE", raising=False)
    return client, boto3.client("dynamodbstreams", region_name="us-east-1")


def put(client, table: str, **item) -> None:
    client.put_item(TableName=PHYSICAL[table], Item={k: {"S": v} for k, v in item.items()})


def deliver(handle, client, streams, delivered: dict) -> None:
    for table in sorted(MODEL.tables):
        records = stream_records(client, streams, PHYSICAL[table])
        fresh = records[delivered.get(table, 0):]
        if fresh:
            assert all(":table/prod-" in r["eventSourceARN"] for r in fresh)
            assert handle(event(fresh), None) == {"batchItemFailures": []}
        delivered[table] = len(records)


def test_records_of_prod_tables_become_documents_in_logical_names_through_joins_and_fan_outs(deployed):
    client, streams = deployed
    assert tables_variable(cfn.load(render(MODEL, "dynafold.sample:MODEL")), PHYSICAL).count("=prod-") == len(MODEL.tables)
    emitted = []
    handle = lambda_handler.make_handler(lambda_handler.build_projector, emit=lambda values, dims: emitted.append(dims))
    put(client, "customers", customer_id="c1", name="Ada", email="ada@example.com", country="GB")
    put(client, "orders", customer_id="c1", order_id="o1", status="paid", currency="EUR")
    put(client, "songs", song_id="s1", title="Wonderwall", artist="Oasis")
    put(client, "lessons", lesson_id="l1", title="Strumming", song_id="s1")
    delivered: dict = {}
    deliver(handle, client, streams, delivered)
    store = open_store(Settings.load().store)
    customers = {d["customer_id"]: d for d in store.documents("customer")}
    assert customers["c1"]["name"] == "Ada" and [o["order_id"] for o in customers["c1"]["orders"]] == ["o1"]
    (lesson,) = store.documents("lesson")
    assert lesson["song_title"] == "Wonderwall", "the join read went to prod-songs"
    assert {d["table"] for d in emitted} == {"customers", "orders", "songs", "lessons"}, "logical names, as in the alarms"
    put(client, "songs", song_id="s1", title="Champagne Supernova", artist="Oasis")
    deliver(handle, client, streams, delivered)
    (lesson,) = open_store(Settings.load().store).documents("lesson")
    assert lesson["song_title"] == "Champagne Supernova", "the fan-out queried prod-lessons/by_song"


def test_a_record_of_a_table_outside_the_mapping_is_quarantined_not_projected(deployed):
    client, streams = deployed
    client.create_table(**{**_definition("customers"), "TableName": "customers"})
    client.put_item(TableName="customers", Item={"customer_id": {"S": "c9"}, "name": {"S": "Eve"}})
    projector = lambda_handler.build_projector()
    handle = lambda_handler.make_handler(lambda: projector)
    assert handle(event(stream_records(client, streams, "customers")), None) == {"batchItemFailures": []}
    assert list(open_store(Settings.load().store).documents("customer")) == []
    (entry,) = projector.quarantine.list()
    assert "not part of the model" in entry.reason


def _definition(table: str) -> dict:
    from dynafold.projector.aws.provision import table_definition

    return table_definition(MODEL.table(table))
