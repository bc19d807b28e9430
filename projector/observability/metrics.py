"""Batch metrics in CloudWatch Embedded Metric Format (EMF), written by Powertools.

One JSON line per batch on stdout; CloudWatch turns it into metrics with no
API call. The namespace (``POWERTOOLS_METRICS_NAMESPACE``, default
``dynafold``) and the ``service`` dimension (``POWERTOOLS_SERVICE_NAME``)
are configurable so two deployments in one account keep their metrics
apart; the ``table`` dimension names the source table. The same counters
are what ``dynafold project`` prints periodically.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Mapping, Optional, TextIO

from dynafold.projector.config import setting
from dynafold.projector.observability.logs import service_name

NAMESPACE = "dynafold"

UNITS = {
    "Records": "Count",
    "Events": "Count",
    "DocumentsWritten": "Count",
    "StaleEvents": "Count",
    "Conflicts": "Count",
    "Retries": "Count",
    "SettledReads": "Count",
    "Quarantined": "Count",
    "FailedRecords": "Count",
    "BatchLatency": "Milliseconds",
    "ProjectionLag": "Milliseconds",
}


def batch_metrics(report, duration_ms: float, now_us: Optional[int] = None) -> dict[str, float]:
    now_us = now_us if now_us is not None else int(time.time() * 1_000_000)
    values = {
        "Records": report.records,
        "Events": report.events,
        "DocumentsWritten": report.documents_written,
        "StaleEvents": report.stale,
        "Conflicts": report.conflicts,
        "SettledReads": report.settled,
        "Retries": report.retries,
        "Quarantined": len(report.quarantined),
        "FailedRecords": 0 if report.failed_from is None else report.records - report.failed_from,
        "BatchLatency": round(duration_ms, 3),
    }
    if report.oldest_created_us is not None:
        values["ProjectionLag"] = max(0.0, (now_us - report.oldest_created_us) / 1000)
    return values


def namespace() -> str:
    return setting("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE


def emf_line(values: Mapping[str, float], dimensions: Mapping[str, str], timestamp_ms: Optional[int] = None) -> str:
    """One EMF document: the values under the configured namespace, with the service dimension added."""
    from aws_lambda_powertools.metrics import EphemeralMetrics

    emf = EphemeralMetrics(namespace=namespace(), service=service_name())
    for name, value in dimensions.items():
        emf.add_dimension(name=name, value=value)
    for name, value in values.items():
        emf.add_metric(name=name, unit=UNITS[name], value=value)
    document = emf.serialize_metric_set()
    if timestamp_ms is not None:
        document["_aws"]["Timestamp"] = timestamp_ms
    return json.dumps(document, separators=(",", ":"))


def emit(values: Mapping[str, float], dimensions: Mapping[str, str], stream: Optional[TextIO] = None) -> None:
    print(emf_line(values, dimensions), file=stream or sys.stdout, flush=True)
