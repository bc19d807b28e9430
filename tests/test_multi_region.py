"""One stack per region: the same template, parameters that differ only where the region does.

The tables stand in for a global table's replicas in moto (same physical names, a stream per region).
The engine orders by stream position and DynamoDB's clock, never by the version attribute, so a
replicated write that lowers a version (last writer wins) is fine: that is covered by the harness's
``regress`` version mode; here, what the deployment itself must get right.
"""

from __future__ import annotations

import boto3
import pytest

from dynafold.cli import main
from dynafold.deploy.parameters import overrides, stack_parameters
from dynafold.deploy.template import DeployError, render
from dynafold.projector.aws.provision import create_tables, table_definition
from dynafold.projector.table_names import TableNames
from dynafold.sample import MODEL

NAMES = TableNames({table: f"prod-{table}" for table in MODEL.tables})
REGIONS = {"us-east-1": "arn:aws:es:us-east-1:123456789012:domain/views",
           "eu-west-1": "arn:aws:es:eu-west-1:123456789012:domain/views"}


def store_url(region: str) -> str:
    return f"opensearch+https://search-views.{region}.es.amazonaws.com:443?aws_region={region}&aws_service=es"


@pytest.fixture
def replicas(aws):
    clients = {region: boto3.client("dynamodb", region_name=region) for region in REGIONS}
    for client in clients.values():
        create_tables(client, MODEL, NAMES)
    return clients


def test_two_regions_stacks_share_the_template_and_differ_only_in_region_specific_parameters(replicas):
    template = render(MODEL, "dynafold.sample:MODEL")
    assert render(MODEL, "dynafold.sample:MODEL") == template, "generation is deterministic"
    stacks = {region: stack_parameters(MODEL, client, NAMES, store_url(region), REGIONS[region])
              for region, client in replicas.items()}
    east, west = stacks["us-east-1"], stacks["eu-west-1"]
    assert east.keys() == west.keys()
    differing = {key for key in east if east[key] != west[key]}
    assert differing == {"StoreUrl", "OpenSearchDomainArn"} | {k for k in east if k.endswith("StreamArn")}
    for region, values in stacks.items():
        streams = [v for k, v in values.items() if k.endswith("StreamArn")]
        assert len(streams) == len(MODEL.tables) and all(f":dynamodb:{region}:" in arn for arn in streams)
        assert all(v.startswith("prod-") for k, v in values.items() if k.endswith("TableName"))


def test_a_table_without_new_and_old_images_is_refused_before_deployment(aws):
    client = boto3.client("dynamodb", region_name="us-east-1")
    for table in MODEL.tables.values():
        definition = table_definition(table)
        if table.name == "orders":
            definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
        client.create_table(**definition)
    with pytest.raises(DeployError, match="'orders'.*NEW_AND_OLD_IMAGES.*NEW_IMAGE"):
        stack_parameters(MODEL, client, TableNames(), store_url("us-east-1"), REGIONS["us-east-1"])


def test_the_command_writes_parameter_overrides_for_sam_deploy(replicas, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    out = tmp_path / "eu-west-1.txt"
    assert main(["deploy", "parameters", "--model", "dynafold.sample:MODEL", "--table-names", NAMES.to_text(),
                 "--store-url", store_url("eu-west-1"), "--domain-arn", REGIONS["eu-west-1"], "--out", str(out)]) == 0
    lines = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert lines["OrdersTableName"] == "prod-orders" and ":dynamodb:eu-west-1:" in lines["OrdersStreamArn"]
    assert overrides({"A": "x"}) == "A=x\n"
    with pytest.raises(DeployError):
        overrides({"A": "x y"})
