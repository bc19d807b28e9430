"""What the quarantine keeps of a record: its identity and its declared attributes, nothing else.

Attributes that no aggregate declares never leave DynamoDB, and the
quarantine is no exception: it lives in the views file or the control
table, `quarantine show` prints it, and backups copy it. So a poison record
is kept as:

- its envelope: ``eventID``, ``eventName``, ``eventVersion``,
  ``eventSource``, ``awsRegion``, ``eventSourceARN``, ``userIdentity``
  (``type`` and ``principalId``) and, in ``dynamodb``,
  ``ApproximateCreationDateTime``, ``SequenceNumber``, ``SizeBytes`` and
  ``StreamViewType``, each only if it is a plain value;
- ``Keys``, ``NewImage`` and ``OldImage`` restricted to
  ``model.declared_attributes(table)`` (a scan or export row is an image
  itself and is restricted the same way).

Whatever cannot be read in that shape (a record that is not an object, an
image that is not a map, an envelope field that is not a plain value, an
unknown field, every image of a table the model does not know) is dropped
whole. ``WITHHELD`` says, per part, how much was left out: a count of
attributes and bytes, and for a part dropped whole its size and a short
hash, so two such records can still be told apart.

That is all re-driving needs: it re-reads the item by its key, and uses the
old and new images only to find the documents the item may have left,
which declared attributes name. ``Sanitized.redact`` removes the withheld
values from a message (a hand-written translator's error may quote them).
The projector puts every entry through ``SanitizingQuarantine``, whatever
quarantine it was given, so no path can keep a record whole.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Iterable, Optional

import attrs

from dynafold.domain.model import Model
from dynafold.projector.control.quarantine import Quarantine
from dynafold.projector.control.quarantine_entry import QuarantineEntry, raw_json
from dynafold.projector.table_names import IDENTITY, TableNames

WITHHELD = "dynafold:withheld"
REDACTED = "<withheld>"
ENVELOPE = ("eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "eventSourceARN")
STREAM_ENVELOPE = ("ApproximateCreationDateTime", "SequenceNumber", "SizeBytes", "StreamViewType")
IMAGES = ("Keys", "NewImage", "OldImage")
IDENTITY_FIELDS = ("type", "principalId")
_BYTES = ("B", "__bytes__")  # DynamoDB JSON's binary, and raw_json's for bytes
_NOT_NAMES = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS", "__bytes__"})
_SHORT = 4


@attrs.frozen
class Sanitized:
    """The record as the quarantine keeps it (JSON text) and the texts it withheld."""

    text: str
    withheld: tuple[str, ...] = ()

    def redact(self, message: str) -> str:
        """``message`` without any withheld value (short ones only where they stand alone)."""
        if not message:
            return message
        for secret in self.withheld:
            if len(secret) >= _SHORT:
                message = message.replace(secret, REDACTED)
            else:
                message = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", REDACTED, message)
        return message


def sanitize(raw: Any, model: Model, table: Optional[str], source: str = "stream") -> Sanitized:
    """``raw`` restricted to what may leave DynamoDB; ``table`` is the record's logical table, if known."""
    declared = model.declared_attributes(table) if table in model.tables else frozenset()
    state = _State(declared)
    try:
        kept = state.row(raw) if source in ("scan", "export") else state.record(raw)
    except Exception:  # an object no JSON shape foresaw: keep nothing of it
        state.withheld.clear()
        state.texts.clear()
        kept = {WITHHELD: {"record": {"unreadable": True}}}
    return Sanitized(raw_json(kept), tuple(sorted(state.texts, key=lambda t: (-len(t), t))))


class _State:
    def __init__(self, declared: frozenset[str]) -> None:
        self.declared = declared
        self.withheld: dict[str, Any] = {}
        self.texts: set[str] = set()

    def record(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            self.drop("record", raw)
            return self.done({})
        kept: dict[str, Any] = {}
        for name, value in raw.items():
            if name in ENVELOPE:
                self.plain(kept, name, value, name)
            elif name == "userIdentity":
                self.identity(kept, value)
            elif name == "dynamodb" and isinstance(value, Mapping):
                kept[name] = self.stream(value)
            else:
                self.drop(str(name), value)
        return self.done(kept)

    def stream(self, stream: Mapping[str, Any]) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for name, value in stream.items():
            if name in STREAM_ENVELOPE:
                self.plain(kept, name, value, f"dynamodb.{name}")
            elif name in IMAGES:
                image = self.image(value, f"dynamodb.{name}")
                if image is not None:
                    kept[name] = image
            else:
                self.drop(f"dynamodb.{name}", value)
        return kept

    def row(self, raw: Any) -> dict[str, Any]:
        image = self.image(raw, "item")
        return self.done(image if image is not None else {})

    def image(self, value: Any, where: str) -> Optional[dict[str, Any]]:
        """The declared attributes of an image; None (and the whole of it withheld) if it is not a map."""
        if not isinstance(value, Mapping):
            self.drop(where, value)
            return None
        kept = {name: v for name, v in value.items() if isinstance(name, str) and name in self.declared}
        left_out = {name: v for name, v in value.items() if not (isinstance(name, str) and name in self.declared)}
        if left_out:
            self.withheld[where] = {"attributes": len(left_out), "bytes": _size(left_out)}
            self.collect(left_out)
        return kept

    def identity(self, kept: dict[str, Any], value: Any) -> None:
        if not isinstance(value, Mapping):
            self.drop("userIdentity", value)
            return
        identity = {k: v for k, v in value.items() if k in IDENTITY_FIELDS and isinstance(v, str)}
        if len(identity) != len(value):
            self.drop("userIdentity", {k: v for k, v in value.items() if k not in identity})
        kept["userIdentity"] = identity

    def plain(self, kept: dict[str, Any], name: str, value: Any, where: str) -> None:
        if value is None or isinstance(value, (str, int, float, Decimal, _dt.datetime)):
            kept[name] = value
        else:
            self.drop(where, value)

    def drop(self, where: str, value: Any) -> None:
        text = raw_json(value)
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        self.withheld[where] = {"bytes": len(text.encode("utf-8", "surrogatepass")), "sha256": digest}
        self.collect(value)

    def done(self, kept: dict[str, Any]) -> dict[str, Any]:
        if self.withheld:
            kept[WITHHELD] = self.withheld
        return kept

    def collect(self, value: Any) -> None:
        """Every text a withheld value holds, as a translator's message could quote it."""
        for text in _texts(value):
            if text:
                self.texts.add(text)


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            if isinstance(name, str) and name not in _NOT_NAMES:
                yield name
            if name in _BYTES and isinstance(inner, str):
                yield from _decoded(inner)
            yield from _texts(inner)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for inner in value:
            yield from _texts(inner)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, (bytes, bytearray)):
        yield bytes(value).decode("utf-8", "replace")
        yield repr(bytes(value))[2:-1]
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        yield str(value)


def _decoded(text: str) -> Iterable[str]:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return
    yield data.decode("utf-8", "replace")
    yield repr(data)[2:-1]


def _size(value: Any) -> int:
    return len(raw_json(value).encode("utf-8", "surrogatepass"))


def without_note(value: Any) -> Any:
    """A kept record or row without the ``WITHHELD`` note, ready to decode again."""
    if isinstance(value, dict):
        value.pop(WITHHELD, None)
    return value


class SanitizingQuarantine:
    """A quarantine that keeps of each entry only what ``sanitize`` keeps, in front of any other."""

    def __init__(self, inner: Quarantine, model: Model, names: TableNames = IDENTITY) -> None:
        self.inner = inner
        self.model = model
        self.names = names
        self.url = inner.url
        self.durable = getattr(inner, "durable", True)

    @classmethod
    def around(cls, quarantine: Quarantine, model: Model, names: TableNames = IDENTITY) -> "SanitizingQuarantine":
        if isinstance(quarantine, cls):
            quarantine = quarantine.inner
        return cls(quarantine, model, names)

    def put(self, entries: Iterable[QuarantineEntry]) -> None:
        self.inner.put([self.sanitized(entry) for entry in entries])

    def sanitized(self, entry: QuarantineEntry) -> QuarantineEntry:
        """The entry with its record sanitized and undeclared values out of the part of its reason after the
        summary (the summary itself never quotes item contents)."""
        try:
            raw = json.loads(entry.raw)
        except ValueError:
            raw = entry.raw
        table = self.names.logical(entry.table) or entry.table
        kept = sanitize(raw, self.model, table, "scan" if entry.origin in ("scan", "export") else "stream")
        summary = entry.summary or entry.reason
        detail = entry.reason[len(summary):] if entry.reason.startswith(summary) else entry.reason
        reason = entry.reason[: len(entry.reason) - len(detail)] + kept.redact(detail)
        return attrs.evolve(entry, raw=kept.text, reason=reason, summary=summary)

    def list(self, table: Optional[str] = None) -> list[QuarantineEntry]:
        return self.inner.list(table)

    def get(self, entry_id: str) -> Optional[QuarantineEntry]:
        return self.inner.get(entry_id)

    def drop(self, entry_id: str) -> bool:
        return self.inner.drop(entry_id)
