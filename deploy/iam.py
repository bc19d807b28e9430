"""Least-privilege IAM statements, derived from the model.

A stream function reads its own stream; the tables its member roles join
to (a consistent ``BatchGetItem`` of the joined item); for each join that
targets its table, the pointing table's index (the fan-out ``Query``) and
the pointing table itself (pointing items whose routing attributes the
index does not project are read consistently) and its own table (the
settling read of ``dynafold.domain.fold.settle``). Nothing else of DynamoDB.
A table with a hand-written ``Translator`` may read anything its ``needs``
name, which the model cannot tell: it gets reads on every model table and
index. Every function may use the control table (quarantine, checkpoints)
and the OpenSearch domain's HTTP API, listed action by action.
"""

from __future__ import annotations

from typing import Any, Mapping

from dynafold.deploy.cfn import NO_VALUE, get_att, if_, ref, sub
from dynafold.domain.model import Model

STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
CONTROL = ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"]
OPENSEARCH = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]


def table_arn(ids: Mapping[str, str], table: str) -> Any:
    return sub(f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/${{{ids[table]}TableName}}")


def index_arn(ids: Mapping[str, str], table: str, index: str) -> Any:
    return sub(f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/${{{ids[table]}TableName}}"
               f"/index/{index}")


def statement(sid: str, actions: list[str], resources: list) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def reads(model: Model, table: str) -> tuple[list[str], list[tuple[str, str]]]:
    """What translating ``table``'s records reads: tables (``BatchGetItem``) and (table, index) pairs (``Query``)."""
    if table in model.translators:
        every = sorted(model.tables)
        return every, sorted((t, i.name) for t in every for i in model.tables[t].indexes)
    plan = model.plans[table]
    tables = {join.target_table for role in plan.members for join in role.joins}
    queries = set()
    for join in plan.joined:
        queries.add((join.pointing_table, join.index))
        tables.add(join.pointing_table)
        tables.add(join.target_table)  # the settling read after a fan-out's load (dynafold.domain.fold.settle)
    return sorted(tables), sorted(queries)


def read_statements(ids: Mapping[str, str], tables: list[str], queries: list[tuple[str, str]], prefix: str) -> list[dict]:
    found = []
    if tables:
        found.append(statement(f"{prefix}Reads", ["dynamodb:BatchGetItem"], [table_arn(ids, t) for t in tables]))
    if queries:
        found.append(statement(f"{prefix}Queries", ["dynamodb:Query"], [index_arn(ids, t, i) for t, i in queries]))
    return found


def shared_statements(log_group: str, *, delete_indexes: bool = False) -> list[dict]:
    """What every dynafold function may do: its own log group, the control table, the OpenSearch domain."""
    return [
        statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], [get_att(log_group, "Arn")]),
        statement("ControlTable", CONTROL, [get_att("ControlTable", "Arn")]),
        statement("OpenSearch", OPENSEARCH + (["es:ESHttpDelete"] if delete_indexes else []),
                  [sub("${OpenSearchDomainArn}/*")]),
    ]


def stream_function(model: Model, ids: Mapping[str, str], table: str, log_group: str) -> list[dict]:
    """The statements of the stream function of ``table``."""
    tables, queries = reads(model, table)
    return [
        statement("OwnStream", STREAM_READ, [ref(f"{ids[table]}StreamArn")]),
        statement("ListStreams", ["dynamodb:ListStreams"], ["*"]),
        *read_statements(ids, tables, queries, "Translation"),
        statement("FailureDestination", ["sqs:SendMessage"], [get_att("StreamFailures", "Arn")]),
        *shared_statements(log_group),
    ]


def everything_read(model: Model, ids: Mapping[str, str]) -> list[dict]:
    """Replay, verify, repair and rebuild: scans of the aggregates' tables, reads and index queries of all."""
    scanned = sorted({t for aggregate in model.aggregates.values() for t in aggregate.replay_tables})
    queries = sorted({q for table in model.tables for q in reads(model, table)[1]})
    return [
        statement("Scans", ["dynamodb:Scan"], [table_arn(ids, t) for t in scanned]),
        *read_statements(ids, sorted(model.tables), queries, "Item"),
        statement("ServerClock", ["dynamodb:ListTables"], ["*"]),
    ]


def replay_function(model: Model, ids: Mapping[str, str], log_group: str) -> list[dict]:
    export = if_("HasExportBucket", statement("ExportFiles", ["s3:GetObject"], [sub("arn:${AWS::Partition}:s3:::${ExportBucketName}/*")]), NO_VALUE)
    listing = if_("HasExportBucket", statement("ExportListing", ["s3:ListBucket"], [sub("arn:${AWS::Partition}:s3:::${ExportBucketName}")]), NO_VALUE)
    return [*everything_read(model, ids), export, listing, *shared_statements(log_group, delete_indexes=True)]


def redrive_function(model: Model, ids: Mapping[str, str], tables: list[str], log_group: str) -> list[dict]:
    """Re-reads any stream's failed range, or repairs the aggregate; consumes the failure queue."""
    return [
        statement("Streams", STREAM_READ, [ref(f"{ids[t]}StreamArn") for t in tables]),
        *everything_read(model, ids),
        statement("FailureQueue", ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                   "sqs:ReceiveMessage"], [get_att("StreamFailures", "Arn")]),
        *shared_statements(log_group),
    ]


def role(statements: list, *, service: str = "lambda.amazonaws.com", vpc: bool = True) -> dict:
    """An IAM role for a function (VPC networking only when the stack runs in a VPC)."""
    properties = {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "dynafold", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
    }
    if vpc:
        properties["ManagedPolicyArns"] = if_(
            "InVpc", [sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")], NO_VALUE)
    return {"Type": "AWS::IAM::Role", "Properties": properties}
