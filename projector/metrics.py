"""Batch metrics in CloudWatch Embedded Metric Format (EMF).

One JSON line per batch on stdout; CloudWatch turns it into metrics with no
API call and no extra dependency. The same counters are what
``dynafold project`` prints periodically.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Mapping, Optional, TextIO

NAMESPACE = "dynafold"

UNITS = {
    "Records": "Count",
    "Events": "Count",
    "DocumentsWritten": "Count",
    "StaleEvents": "Count",
    "Conflicts": "Count",
    "Retries": "Count",
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
        "Retries": report.retries,
        "Quarantined": len(report.quarantined),
        "FailedRecords": 0 if report.failed_from is None else report.records - report.failed_from,
        "BatchLatency": round(duration_ms, 3),
    }
    if report.oldest_created_us is not None:
        values["ProjectionLag"] = max(0.0, (now_us - report.oldest_created_us) / 1000)
    return values


def emf_line(values: Mapping[str, float], dimensions: Mapping[str, str], timestamp_ms: Optional[int] = None) -> str:
    document = {
        "_aws": {
            "Timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [sorted(dimensions)],
                    "Metrics": [{"Name": name, "Unit": UNITS[name]} for name in values],
                }
            ],
        },
        **dimensions,
        **values,
    }
    return json.dumps(document)


def emit(values: Mapping[str, float], dimensions: Mapping[str, str], stream: Optional[TextIO] = None) -> None:
    print(emf_line(values, dimensions), file=stream or sys.stdout, flush=True)
