"""One quarantined record: its identity, the reason, and the record as JSON that loses nothing.

Its own module so the quarantines (SQLite, memory, the DynamoDB control
table) share it without importing each other.
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import time
from collections.abc import Mapping
from typing import Any

import attrs

MAX_JSON_DEPTH = 100
"""How deep a kept record may nest. DynamoDB nests values at most 32 levels (two JSON levels each,
``{"M": {"a": …}}``) inside a record's few levels of envelope, so every record DynamoDB can send is kept
whole; a hostile one nested deeper (no encoder or decoder could take 500 levels) keeps its first
``MAX_JSON_DEPTH`` levels and a note where it was cut."""
CUT = "dynafold:cut"


def raw_json(raw: Any) -> str:
    """The raw record as JSON, losing nothing DynamoDB could have sent (datetimes as ISO text, bytes as
    base64; containers deeper than ``MAX_JSON_DEPTH`` replaced by a ``CUT`` note)."""

    def default(value: Any) -> Any:
        if isinstance(value, _dt.datetime):
            return value.isoformat()
        if isinstance(value, (bytes, bytearray)):
            return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
        if isinstance(value, (set, frozenset)):
            return sorted(value, key=repr)
        return repr(value)

    try:
        return json.dumps(raw, default=default, ensure_ascii=True, allow_nan=True)
    except RecursionError:
        return json.dumps(_bounded(raw, 0), default=default, ensure_ascii=True, allow_nan=True)


def _bounded(value: Any, depth: int) -> Any:
    """``value`` with every container nested ``MAX_JSON_DEPTH`` levels deep replaced by a ``CUT`` note."""
    if isinstance(value, (Mapping, list, tuple)) and depth >= MAX_JSON_DEPTH:
        return {CUT: f"nested deeper than {MAX_JSON_DEPTH} levels"}
    if isinstance(value, Mapping):
        return {key: _bounded(inner, depth + 1) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [_bounded(inner, depth + 1) for inner in value]
    return value


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
