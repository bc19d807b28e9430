"""``dynafold deploy template``: a SAM template generated from a model.

One stream function per source table of the model (its logical name in
the resource names), its event source mapping and its own least-privilege
role (``dynafold.deploy.iam``); the replay state machine and its step function; the
failure queue and the function that re-drives it; alarms and a dashboard
(``dynafold.deploy.operations``); an optional VPC (``dynafold.deploy.network``). Physical
table names are parameters, passed to the code as ``DYNAFOLD_TABLES``, and
``DYNAFOLD_MODEL`` names the model, so the template is the only place a
deployment is described. Regions differ only in parameters. The checked-in
``template.yaml`` is this generator's output for the sample.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Optional

from dynafold.deploy import iam, network, operations
from dynafold.deploy.cfn import NO_VALUE, dump, equals, get_att, if_, join, not_, ref, sub, unique_ids
from dynafold.domain.model import Model
from dynafold.projector.errors import ConfigurationError
from dynafold.projector.stores.dynamodb import control_table_schema

TABLE_NAME = "^[A-Za-z0-9_.-]{3,255}$"
DEFAULT_PACKAGE = "dist/lambda.zip"
"""Where ``dynafold deploy package`` writes the zip and the template's ``CodeUri`` looks, by default."""
DEFAULT_ARCH = "arm64"
STREAM_ARN = "^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}/stream/.+$"
LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653]


class DeployError(ConfigurationError):
    """The model or the options cannot be deployed as asked (the message says why)."""


AOSS_REFUSAL = (
    "OpenSearch Serverless (aws_service=aoss) cannot hold dynafold's documents: every write is a _bulk "
    "'index' or 'create' conditioned on the _seq_no/_primary_term the _mget load returned (if_seq_no/"
    "if_primary_term, optimistic concurrency), and Serverless offers no such conditional write; its reads "
    "are also served after a 10-30 s refresh interval, and it has no _refresh API. Without the conditional "
    "write, two projectors folding one document would overwrite each other's updates. Use an Amazon "
    "OpenSearch Service domain (aws_service=es)."
)


def source_tables(model: Model) -> list[str]:
    """The tables whose streams change documents: members of an aggregate, join targets, hand-translated."""
    plans = model.plans
    return [t for t in sorted(model.tables) if plans[t].members or plans[t].joined or t in model.translators]


def _roles_of(model: Model, table: str) -> str:
    plan = model.plans[table]
    parts = [f"{role.aggregate} {'root' if role.name == '$root' else role.name}" for role in plan.members]
    parts += [f"fans out to {join.aggregate} through {join.pointing_table}/{join.index}" for join in plan.joined]
    if table in model.translators:
        parts.append("hand-written translator")
    return "; ".join(parts)[:200]


def parameters(model: Model, ids: dict[str, str], tables: list[str]) -> dict:
    found: dict = {
        "StoreUrl": {"Type": "String",
                     "Description": "Document store URL (no credentials: the functions sign with their roles), e.g. opensearch+https://search-views-abc.eu-west-1.es."
                                    "amazonaws.com:443?aws_region=eu-west-1&aws_service=es"},
        "OpenSearchDomainArn": {"Type": "String",
                                "AllowedPattern": "^arn:aws[a-z-]*:es:[a-z0-9-]+:[0-9]{12}:domain/[a-z][a-z0-9-]*$",
                                "Description": "The Amazon OpenSearch Service domain (its HTTP API only, action by action)"},
        "Architecture": {"Type": "String", "AllowedValues": ["arm64", "x86_64"], "Default": DEFAULT_ARCH,
                         "Description": "Lambda architecture; build the package for it: dynafold deploy package --arch"},
    }
    for table in sorted(model.tables):
        found[f"{ids[table]}TableName"] = {"Type": "String", "Default": table, "AllowedPattern": TABLE_NAME,
                                           "Description": f"Physical name of the model's table {table!r}"}
    for table in tables:
        found[f"{ids[table]}StreamArn"] = {"Type": "String", "AllowedPattern": STREAM_ARN,
                                           "Description": f"Stream of {table!r} (NEW_AND_OLD_IMAGES)"}
    found.update({
        "BatchSize": {"Type": "Number", "Default": 100, "MinValue": 1, "MaxValue": 10000,
                      "Description": "Records per invocation: two store round trips per batch whatever its size"},
        "BatchWindowSeconds": {"Type": "Number", "Default": 1, "MinValue": 0, "MaxValue": 300,
                               "Description": "Wait up to this long to fill a batch (adds at most this much lag)"},
        "ParallelizationFactor": {"Type": "Number", "Default": 1, "MinValue": 1, "MaxValue": 10,
                                  "Description": "Concurrent batches per shard (per-item order is kept, which is all "
                                                 "the engine needs); raise when iterator age grows"},
        "MaximumRetryAttempts": {"Type": "Number", "Default": 100, "MinValue": 0, "MaxValue": 10000,
                                 "Description": "Finite on purpose; ranges that still fail go to the failure queue "
                                                "and are re-driven"},
        "MaximumRecordAgeInSeconds": {"Type": "Number", "Default": 21600, "MinValue": 60, "MaxValue": 86399,
                                      "Description": "Below the 24 h stream retention, so a failed range is still "
                                                     "in the stream when it is re-driven"},
        "MemorySize": {"Type": "Number", "Default": 1769, "MinValue": 512, "MaxValue": 10240,
                       "Description": "MB per stream function; 1769 MB is one full vCPU (the fold is CPU-bound)"},
        "Timeout": {"Type": "Number", "Default": 300, "MinValue": 60, "MaxValue": 900,
                    "Description": "Seconds per invocation; a fan-out to tens of thousands of documents must fit"},
        "ReplayMemorySize": {"Type": "Number", "Default": 3008, "MinValue": 512, "MaxValue": 10240,
                             "Description": "MB for the replay step and the re-drive function"},
        "LogRetentionDays": {"Type": "Number", "Default": 30, "AllowedValues": LOG_RETENTION_DAYS},
        "LogLevel": {"Type": "String", "Default": "INFO", "AllowedValues": ["DEBUG", "INFO", "WARNING", "ERROR"]},
        "MetricsNamespace": {"Type": "String", "Default": "dynafold", "MinLength": 1},
        "ServiceName": {"Type": "String", "Default": "dynafold", "MinLength": 1,
                        "Description": "The service key of log lines and the service dimension of metrics"},
        "IteratorAgeAlarmMs": {"Type": "Number", "Default": 300000, "MinValue": 1000},
        "ProjectionLagAlarmMs": {"Type": "Number", "Default": 300000, "MinValue": 1000},
        "AlarmTopicArn": {"Type": "String", "Default": "", "Description": "SNS topic for alarms (empty: none)"},
        "ExportBucketName": {"Type": "String", "Default": "",
                             "Description": "Bucket of DynamoDB exports the replay may read (empty: scans only)"},
    })
    found.update(network.PARAMETERS)
    return found


def _tables_variable(model: Model, ids: dict[str, str]):
    return join(",", [sub(f"{table}=${{{ids[table]}TableName}}") for table in sorted(model.tables)])


def _log_group(name: str) -> dict:
    return {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
            "Properties": {"RetentionInDays": ref("LogRetentionDays")}}


def _function(description: str, handler: str, role: str, logs: str, **properties) -> dict:
    return {"Type": "AWS::Serverless::Function", "Properties": {
        "Description": description, "Handler": handler, "Role": get_att(role, "Arn"),
        "LoggingConfig": {"LogGroup": ref(logs)}, **properties}}


def stream_resources(model: Model, ids: dict[str, str], table: str) -> dict:
    name = f"{ids[table]}Projector"
    stream = {
        "Stream": ref(f"{ids[table]}StreamArn"),
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": ref("BatchSize"),
        "MaximumBatchingWindowInSeconds": ref("BatchWindowSeconds"),
        "ParallelizationFactor": ref("ParallelizationFactor"),
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": ref("MaximumRetryAttempts"),
        "MaximumRecordAgeInSeconds": ref("MaximumRecordAgeInSeconds"),
        "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": get_att("StreamFailures", "Arn")}},
    }
    return {
        name: _function(f"Projects the {table} stream ({_roles_of(model, table)})", "dynafold.handlers.stream.handler",
                        f"{name}Role", f"{name}Logs", Events={"Stream": {"Type": "DynamoDB", "Properties": stream}}),
        f"{name}Role": iam.role(iam.stream_function(model, ids, table, f"{name}Logs")),
        f"{name}Logs": _log_group(name),
        **operations.stream_alarms(table, name),
    }


def shared_resources(model: Model, ids: dict[str, str], tables: list[str]) -> dict:
    queue = {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True}
    return {
        "ControlTable": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                         "Properties": {
                             **control_table_schema(),
                             "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                             "SSESpecification": {"SSEEnabled": True}}},
        "StreamFailures": {"Type": "AWS::SQS::Queue", "Properties": {
            **queue, "VisibilityTimeout": 5400,
            "RedrivePolicy": {"deadLetterTargetArn": get_att("RedriveDeadLetters", "Arn"), "maxReceiveCount": 5}}},
        "RedriveDeadLetters": {"Type": "AWS::SQS::Queue", "Properties": dict(queue)},
        "StreamRedriveFunction": _function(
            "Re-drives a failed stream range from the failure queue, or repairs its aggregates once the stream "
            "no longer holds it", "dynafold.handlers.failure_queue.handler", "StreamRedriveFunctionRole", "StreamRedriveFunctionLogs",
            Timeout=900, MemorySize=ref("ReplayMemorySize"), EphemeralStorage={"Size": 4096},
            Environment={"Variables": {"DYNAFOLD_TIME_MARGIN_MS": "60000"}},
            Events={"Failures": {"Type": "SQS", "Properties": {
                "Queue": get_att("StreamFailures", "Arn"), "BatchSize": 1,
                "FunctionResponseTypes": ["ReportBatchItemFailures"]}}}),
        "StreamRedriveFunctionRole": iam.role(iam.redrive_function(model, ids, tables, "StreamRedriveFunctionLogs")),
        "StreamRedriveFunctionLogs": _log_group("StreamRedriveFunction"),
        "ReplayStepFunction": _function(
            "One time-budgeted replay step: a scan segment, an export file, or a rebuild's begin and finish",
            "dynafold.handlers.replay.handler", "ReplayStepFunctionRole", "ReplayStepFunctionLogs",
            Timeout=900, MemorySize=ref("ReplayMemorySize"), EphemeralStorage={"Size": 4096},
            Environment={"Variables": {"DYNAFOLD_REPLAY_MARGIN_MS": "60000"}}),
        "ReplayStepFunctionRole": iam.role(iam.replay_function(model, ids, "ReplayStepFunctionLogs")),
        "ReplayStepFunctionLogs": _log_group("ReplayStepFunction"),
        "ReplayStateMachine": {"Type": "AWS::Serverless::StateMachine", "Properties": {
            "Name": sub("${AWS::StackName}-replay"),
            "Definition": state_machine_definition(),
            "DefinitionSubstitutions": {"ReplayStepFunctionArn": get_att("ReplayStepFunction", "Arn"),
                                        "Partition": ref("AWS::Partition")},
            "Role": get_att("ReplayStateMachineRole", "Arn")}},
        "ReplayStateMachineRole": iam.role(_state_machine_statements(), service="states.amazonaws.com", vpc=False),
        **operations.queue_alarms(),
        **network.endpoints(),
    }


def _state_machine_statements() -> list:
    machine = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
    return [
        iam.statement("InvokeStep", ["lambda:InvokeFunction"], [get_att("ReplayStepFunction", "Arn"),
                                                               sub("${ReplayStepFunction.Arn}:*")]),
        iam.statement("DistributedMap", ["states:StartExecution"], [sub(f"{machine}:stateMachine:${{AWS::StackName}}-replay")]),
        iam.statement("DistributedMapRuns", ["states:DescribeExecution", "states:StopExecution"],
                      [sub(f"{machine}:execution:${{AWS::StackName}}-replay/*")]),
        if_("HasExportBucket", iam.statement("ExportManifest", ["s3:GetObject"],
                                             [sub("arn:${AWS::Partition}:s3:::${ExportBucketName}/*")]), NO_VALUE),
    ]


def state_machine_definition() -> dict:
    """The replay state machine (``replay/state_machine.json``, shipped in the package) inline: the template
    then needs no file beside it, wherever dynafold is installed."""
    return json.loads((resources.files("dynafold.replay") / "state_machine.json").read_text(encoding="utf-8"))


def code_uri(package: str, template: str) -> str:
    """``CodeUri`` for the zip ``package`` (a path as typed, from the current directory, or an ``s3://`` URI):
    SAM reads a local path from the template's own directory."""
    if package.startswith("s3://"):
        return package
    relative = os.path.relpath(os.path.abspath(package), os.path.dirname(os.path.abspath(template)))
    return Path(relative).as_posix()


def generate(model: Model, model_spec: str, *, store_service: str = "es", code: str = DEFAULT_PACKAGE) -> dict:
    """The template for ``model`` (imported as ``model_spec``) as a dict of CloudFormation values; ``code``
    is the ``CodeUri`` of the functions (``dynafold deploy package --out``, from the template's directory)."""
    if store_service == "aoss":
        raise DeployError(AOSS_REFUSAL)
    if store_service != "es":
        raise DeployError(f"unknown OpenSearch service {store_service!r}: es (a domain) or aoss (Serverless)")
    if ":" not in model_spec:
        raise DeployError(f"--model {model_spec!r} must be module:attribute, e.g. myapp.views:MODEL")
    tables = source_tables(model)
    if not tables:
        raise DeployError("the model has no table whose stream changes a document: nothing to deploy")
    ids = unique_ids(model.tables)
    functions = {table: f"{ids[table]}Projector" for table in tables}
    resources: dict = {}
    for table in tables:
        resources.update(stream_resources(model, ids, table))
    resources.update(shared_resources(model, ids, tables))
    resources["Dashboard"] = operations.dashboard(functions, "StreamRedriveFunction")
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"dynafold views of {model_spec}: {len(tables)} stream functions ({', '.join(tables)}), "
                       "failure re-drive, replay state machine, alarms and dashboard. Generated by "
                       f"`dynafold deploy template --model {model_spec}`; build the package first: "
                       f"dynafold deploy package --model {model_spec}",
        "Parameters": parameters(model, ids, tables),
        "Conditions": {
            "HasAlarmTopic": not_(equals(ref("AlarmTopicArn"), "")),
            "HasExportBucket": not_(equals(ref("ExportBucketName"), "")),
            **network.CONDITIONS,
        },
        "Globals": {"Function": {
            "Runtime": "python3.13",
            "Architectures": [ref("Architecture")],
            "CodeUri": code,
            "MemorySize": ref("MemorySize"),
            "Timeout": ref("Timeout"),
            "VpcConfig": network.VPC_CONFIG,
            "Environment": {"Variables": {
                "DYNAFOLD_MODEL": model_spec,
                "DYNAFOLD_TABLES": _tables_variable(model, ids),
                "DYNAFOLD_STORE": ref("StoreUrl"),
                "DYNAFOLD_QUARANTINE": sub("dynamodb://${ControlTable}"),
                "DYNAFOLD_TIME_MARGIN_MS": "30000",
                "DYNAFOLD_LOG_LEVEL": ref("LogLevel"),
                "POWERTOOLS_SERVICE_NAME": ref("ServiceName"),
                "POWERTOOLS_METRICS_NAMESPACE": ref("MetricsNamespace"),
            }},
        }},
        "Resources": resources,
        "Outputs": {
            "ControlTableName": {"Value": ref("ControlTable")},
            "StreamFailuresQueueUrl": {"Value": ref("StreamFailures")},
            "ReplayStateMachineArn": {"Value": ref("ReplayStateMachine")},
            "FunctionRoleArns": {
                "Description": "Map these roles in the domain's access policy (and fine-grained access control)",
                "Value": join(",", [get_att(f"{fn}Role", "Arn") for fn in
                                    [*functions.values(), "StreamRedriveFunction", "ReplayStepFunction"]])},
        },
    }


def render(model: Model, model_spec: str, *, store_service: str = "es", code: str = DEFAULT_PACKAGE) -> str:
    return dump(generate(model, model_spec, store_service=store_service, code=code))


def write(model_spec: str, out: str, *, store_service: str = "es", model: Optional[Model] = None,
          package: str = DEFAULT_PACKAGE) -> str:
    """Generate the template of the model named ``module:attribute`` into ``out``, its functions' code the zip
    ``package`` (as ``dynafold deploy package --out`` wrote it, from the current directory); returns the text."""
    from dynafold.deploy.packaging import importable_model

    text = render(model or importable_model(model_spec), model_spec, store_service=store_service,
                  code=code_uri(package, out))
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(text)
    return text
