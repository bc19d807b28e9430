"""One quarantined record: its identity, the reason, and the record as JSON that loses nothing.

Its own module so the quarantines (SQLite, memory, the DynamoDB control
table) share it without importing each other.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import time
from typing import Any

import attrs


def raw_json(raw: Any) -> str:
    """The raw record as JSON, losing nothing (datetimes as ISO text, bytes as base64)."""

    def default(value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            return value.isoformat()
        if isinstance(value, (bytes, bytearray)):
            return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
        if isinstance(value, (set, frozenset)):
            return sorted(value, key=repr)
        return repr(value)

    return json.dumps(raw, default=default, ensure_ascii=True, allow_nan=True)


def restore_raw(text: str) -> Any:
    """The raw record as ``raw_json`` stored it, with bytes and datetimes restored."""

    def hook(value: dict) -> Any:
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return value

    raw = json.loads(text, object_hook=hook)
    stream = raw.get("dynamodb") if isinstance(raw, dict) else None
    created = stream.get("ApproximateCreationDateTime") if isinstance(stream, dict) else None
    if isinstance(created, str):
        try:
            stream["ApproximateCreationDateTime"] = _dt.datetime.fromisoformat(created)
        except ValueError:
            pass
    return raw


@attrs.frozen
class QuarantineEntry:
    table: str
    position: str
    event_id: str
    reason: str
    raw: str
    quarantined_at: float = attrs.field(factory=time.time)
    origin: str = ""
    summary: str = attrs.field(default="", eq=False)

    @property
    def id(self) -> str:
        return f"{self.table}/{self.position}"
