"""Alarms and the dashboard: what tells an operator that views are falling behind or losing records.

Per stream function: its iterator age (the stream is being read late),
``ProjectionLag`` (documents are written late), ``Quarantined`` (records
that could not be projected) and function errors. For the stack: the
failure queue's depth (a batch ran out of retries and waits for re-drive)
and the re-drive dead-letter queue (a re-drive failed five times). The
dashboard shows those next to ``Conflicts`` and ``Retries`` (optimistic
concurrency at work on hot documents). Missing data is not breaching: a
quiet table is not an incident.
"""

from __future__ import annotations

import json
from typing import Mapping

from dynafold.deploy.cfn import NO_VALUE, get_att, if_, ref, sub

ACTIONS = if_("HasAlarmTopic", [ref("AlarmTopicArn")], NO_VALUE)


def _alarm(description: str, metric: dict, threshold, *, statistic: str = "Maximum", periods: int = 5,
           comparison: str = "GreaterThanThreshold") -> dict:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmDescription": description,
        **metric,
        "Statistic": statistic,
        "Period": 60,
        "EvaluationPeriods": periods,
        "DatapointsToAlarm": periods,
        "Threshold": threshold,
        "ComparisonOperator": comparison,
        "TreatMissingData": "notBreaching",
        "AlarmActions": ACTIONS,
        "OKActions": ACTIONS,
    }}


def _lambda_metric(name: str, function: str) -> dict:
    return {"Namespace": "AWS/Lambda", "MetricName": name, "Dimensions": [{"Name": "FunctionName", "Value": ref(function)}]}


def _projector_metric(name: str, table: str) -> dict:
    return {"Namespace": ref("MetricsNamespace"), "MetricName": name,
            "Dimensions": [{"Name": "service", "Value": ref("ServiceName")}, {"Name": "table", "Value": table}]}


def stream_alarms(table: str, function: str) -> dict:
    """The four alarms of one stream function, keyed by logical ID."""
    return {
        f"{function}IteratorAgeAlarm": _alarm(
            f"The {table} stream is read late: its oldest record waits longer than IteratorAgeAlarmMs",
            _lambda_metric("IteratorAge", function), ref("IteratorAgeAlarmMs")),
        f"{function}ErrorsAlarm": _alarm(
            f"The {table} stream function failed whole invocations (batches are retried, then sent to the failure queue)",
            _lambda_metric("Errors", function), 0, statistic="Sum", periods=1),
        f"{function}LagAlarm": _alarm(
            f"Documents from the {table} stream are written later than ProjectionLagAlarmMs after the change",
            _projector_metric("ProjectionLag", table), ref("ProjectionLagAlarmMs")),
        f"{function}QuarantinedAlarm": _alarm(
            f"Records of {table} were quarantined: dynafold quarantine list --table {table}",
            _projector_metric("Quarantined", table), 0, statistic="Sum", periods=1),
    }


def queue_alarms() -> dict:
    def depth(queue: str) -> dict:
        return {"Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": get_att(queue, "QueueName")}]}

    return {
        "StreamFailuresDepthAlarm": _alarm(
            "Stream batches ran out of retries and wait in the failure queue for re-drive for over 15 minutes",
            depth("StreamFailures"), 0, periods=15),
        "RedriveDeadLetterAlarm": _alarm(
            "A failed stream range could not be re-driven or repaired: see README 'Deploying to AWS', re-drive",
            depth("RedriveDeadLetters"), 0, periods=1),
    }


def dashboard(functions: Mapping[str, str], redrive: str) -> dict:
    """A CloudWatch dashboard: one row of the health of every stream, then the queues and the concurrency."""
    def widget(title: str, metrics: list, x: int, y: int, stat: str = "Maximum") -> dict:
        return {"type": "metric", "x": x, "y": y, "width": 8, "height": 6, "properties": {
            "title": title, "region": "${AWS::Region}", "stat": stat, "period": 60, "view": "timeSeries", "metrics": metrics}}

    def per_table(name: str) -> list:
        return [["${MetricsNamespace}", name, "service", "${ServiceName}", "table", table] for table in functions]

    iterator = [["AWS/Lambda", "IteratorAge", "FunctionName", f"${{{fn}}}"] for fn in functions.values()]
    errors = [["AWS/Lambda", "Errors", "FunctionName", f"${{{fn}}}"] for fn in [*functions.values(), redrive]]
    queues = [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"${{{q}.QueueName}}"]
              for q in ("StreamFailures", "RedriveDeadLetters")]
    widgets = [
        widget("Iterator age (ms)", iterator, 0, 0),
        widget("Projection lag (ms)", per_table("ProjectionLag"), 8, 0),
        widget("Quarantined records", per_table("Quarantined"), 16, 0, "Sum"),
        widget("Function errors", errors, 0, 6, "Sum"),
        widget("Failure queue and re-drive dead letters", queues, 8, 6),
        widget("Conflicts (optimistic concurrency)", per_table("Conflicts"), 16, 6, "Sum"),
        widget("Retries (throttled or lost writes resent)", per_table("Retries"), 0, 12, "Sum"),
        widget("Documents written", per_table("DocumentsWritten"), 8, 12, "Sum"),
        widget("Records", per_table("Records"), 16, 12, "Sum"),
    ]
    body = json.dumps({"widgets": widgets}, separators=(",", ":"))
    return {"Type": "AWS::CloudWatch::Dashboard", "Properties": {
        "DashboardName": sub("${AWS::StackName}-${AWS::Region}"), "DashboardBody": sub(body)}}
