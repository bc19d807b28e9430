"""Replay from a DynamoDB point-in-time export in S3 (``DYNAMODB_JSON``, gzip).

An export costs no read capacity. Its rows are consistent as of the export
time, so they are stamped ``export_time - 1 s`` like scan rows (the export
time is DynamoDB's own); stream records newer than that win, as in a scan. The export must be
younger than the stream retention (24 h), or changes between the export and
now would be lost: ``replay_export`` refuses older ones.

Layout read: ``<prefix>/AWSDynamoDB/<export id>/manifest-summary.json``
(``exportTime``, ``tableArn``) and ``manifest-files.json`` (one
``dataFileS3Key`` per line); without manifests, every ``data/*.gz`` object
under the prefix, and the export time and table must be given.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import json
from typing import Any, Iterator, Optional

import attrs

from dynafold.domain.records import Origin
from dynafold.projector.engine.batch import Projector
from dynafold.projector.errors import ConfigurationError
from dynafold.projector.intake.records import scan_decoder, table_from_arn
from dynafold.replay.runner import ReplayFailed

RETENTION_S = 24 * 3600


class ExportError(ConfigurationError):
    pass


@attrs.frozen
class ExportSource:
    bucket: str
    prefix: str
    table: Optional[str]

    @classmethod
    def parse(cls, text: str) -> "ExportSource":
        """``s3://bucket/prefix`` or ``TABLE=s3://bucket/prefix``."""
        table, _, url = text.rpartition("=") if "=" in text.split("s3://", 1)[0] else ("", "", text)
        if not url.startswith("s3://"):
            raise ExportError(f"export location {text!r} must be s3://bucket/prefix or TABLE=s3://bucket/prefix")
        bucket, _, prefix = url[len("s3://"):].partition("/")
        if not bucket:
            raise ExportError(f"export location {text!r} names no bucket")
        return cls(bucket, prefix.rstrip("/"), table or None)


@attrs.frozen
class Export:
    table: str
    export_time_us: int
    data_keys: tuple[str, ...]
    manifest: Optional[str] = None  # manifest-files.json, one data file per line (the Distributed Map reads it)


def _objects(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    kwargs = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = s3.list_objects_v2(**kwargs)
        for item in page.get("Contents", []):
            yield item["Key"]
        if not page.get("IsTruncated"):
            return
        kwargs["ContinuationToken"] = page["NextContinuationToken"]


def _parse_time(value: Any) -> int:
    parsed = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return int(parsed.timestamp() * 1_000_000)


def locate(s3: Any, source: ExportSource, export_time: Optional[str] = None) -> Export:
    keys = list(_objects(s3, source.bucket, source.prefix))
    summaries = [k for k in keys if k.endswith("manifest-summary.json")]
    table, time_us = source.table, _parse_time(export_time) if export_time else None
    data: list[str] = []
    manifest = None
    if summaries:
        summary = json.loads(s3.get_object(Bucket=source.bucket, Key=summaries[-1])["Body"].read())
        table = table or table_from_arn(str(summary.get("tableArn", "")) + "/stream/x")
        if time_us is None and summary.get("exportTime"):
            time_us = _parse_time(summary["exportTime"])
        files_key = summaries[-1].replace("manifest-summary.json", "manifest-files.json")
        if files_key in keys:
            manifest = files_key
            body = s3.get_object(Bucket=source.bucket, Key=files_key)["Body"].read().decode()
            data = [json.loads(line)["dataFileS3Key"] for line in body.splitlines() if line.strip()]
    if not data:
        data = sorted(k for k in keys if "/data/" in k and k.endswith(".gz"))
    if table is None:
        raise ExportError(f"export s3://{source.bucket}/{source.prefix} has no manifest naming its table: use TABLE=s3://...")
    if time_us is None:
        raise ExportError(f"export s3://{source.bucket}/{source.prefix} has no manifest with its export time: pass --export-time")
    if not data:
        raise ExportError(f"export s3://{source.bucket}/{source.prefix} holds no data files")
    return Export(table, time_us, tuple(data), manifest)


def rows(s3: Any, bucket: str, key: str) -> Iterator[dict]:
    """The typed items of one data file (one ``{"Item": {...}}`` per line)."""
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    with gzip.open(body, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)["Item"]


def replay_export(projector: Projector, s3: Any, source: ExportSource, export: Export, *, page_size: int = 100,
                  now_us: Optional[int] = None) -> dict[str, int]:
    import time

    now_us = now_us if now_us is not None else int(time.time() * 1_000_000)
    if now_us - export.export_time_us > RETENTION_S * 1_000_000:
        raise ExportError("the export is older than the 24 h stream retention: changes since it would be lost; "
                          "export again or replay from a scan")
    model = projector.model
    table = export.table if export.table in model.tables else projector.names.logical(export.table)
    if table not in model.tables:
        raise ExportError(f"the export is of table {export.table!r}, which is not one of the model's tables {sorted(model.tables)}")
    decode = scan_decoder(model.table(table), export.export_time_us, Origin.EXPORT, model.declared_attributes(table))
    counts = {"items": 0, "written": 0, "quarantined": 0, "files": 0}
    for key in export.data_keys:
        page: list[dict] = []
        for item in rows(s3, source.bucket, key):
            page.append(item)
            if len(page) >= page_size:
                _project(projector, page, decode, counts)
                page = []
        if page:
            _project(projector, page, decode, counts)
        counts["files"] += 1
    return counts


def _project(projector: Projector, page: list, decode, counts: dict) -> None:
    report = projector.project(page, decode=decode, origin="export")
    if report.failed_from is not None:
        raise ReplayFailed(f"export page could not be stored: {report.failure_reason} (run the export replay again)")
    counts["items"] += len(page)
    counts["written"] += report.documents_written
    counts["quarantined"] += len(report.quarantined)
