"""Raw DynamoDB records (stream records, scan rows) to ``SourceRecord`` values.

Two stream shapes reach this module: the Lambda event (``eventSourceARN``,
``ApproximateCreationDateTime`` in epoch seconds, base64 binaries) and
boto3's ``GetRecords`` output (a ``datetime``, bytes). Both become the same
``SourceRecord``. Anything that does not fit is a ``MalformedRecord`` that
names the record (table, eventID, sequence number) and the reason, so it can
be quarantined; item contents never appear in the message.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Callable, Collection, Optional

from dynafold.domain.model import Model
from dynafold.domain.records import Origin, RecordRef, SourceRecord
from dynafold.domain.source import SourceItem, SourceVersion
from dynafold.domain.tables import Table
from dynafold.domain.translation import declared_version
from dynafold.projector.intake.dynamodb_json import DecodeError, decode_map
from dynafold.projector.table_names import IDENTITY, TableNames

EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
_REPLICATION_PREFIX = "aws:rep:"
_TTL_PRINCIPAL = "dynamodb.amazonaws.com"


class MalformedRecord(ValueError):
    """A record that can never be projected as it is: quarantine it, whole."""

    def __init__(self, ref: RecordRef, reason: str) -> None:
        super().__init__(f"{ref}: {reason}")
        self.ref = ref
        self.reason = reason


def table_from_arn(arn: Any) -> Optional[str]:
    """``arn:aws:dynamodb:region:account:table/NAME/stream/LABEL`` → ``NAME``."""
    if not isinstance(arn, str):
        return None
    return _table_from_arn(arn)


@functools.lru_cache(maxsize=256)
def _table_from_arn(arn: str) -> Optional[str]:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "dynamodb":
        return None
    resource = parts[5].split("/")
    if len(resource) < 2 or resource[0] != "table" or not resource[1]:
        return None
    return resource[1]


SHORT_LIMIT = 128


def _short(value: Any) -> str:
    """A name part of at most ``SHORT_LIMIT`` characters; a longer one keeps its start and a hash of the whole,
    so two records that differ only past the cut never share a quarantine id."""
    if not isinstance(value, str):
        return ""
    if len(value) <= SHORT_LIMIT:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return value[: SHORT_LIMIT - 48] + "~sha256:" + digest


def record_ref(raw: Any, table: Optional[str] = None) -> RecordRef:
    """What names a raw record, as far as it can be read (never raises)."""
    try:
        return _record_ref(raw, table)
    except Exception:
        return RecordRef(table or "?")


def _record_ref(raw: Any, table: Optional[str]) -> RecordRef:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        return RecordRef(table or "?")
    if table is None:
        table = table_from_arn(raw.get("eventSourceARN")) or "?"
    stream = raw.get("dynamodb")
    sequence = stream.get("SequenceNumber") if type(stream) is dict or isinstance(stream, Mapping) else None
    return RecordRef(table, _short(raw.get("eventID")), _short(sequence))


# DynamoDB Streams launched in 2014; a time past 2100 is a unit error (milliseconds for seconds) or garbage,
# and would outrank every later record of its item for good.
EARLIEST_S = 1_388_534_400  # 2014-01-01T00:00:00Z
LATEST_S = 4_102_444_800  # 2100-01-01T00:00:00Z


def created_at_us(value: Any) -> int:
    """``ApproximateCreationDateTime`` (epoch seconds or a datetime) in microseconds, if plausible."""
    kind = type(value)
    if (kind is int or kind is float) and EARLIEST_S <= value <= LATEST_S:
        return int(value) * 1_000_000 if kind is int else round(value * 1_000_000)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
            raise ValueError("ApproximateCreationDateTime must be epoch seconds or a datetime")
        text = str(value)
        if len(text) > 40:
            raise ValueError("ApproximateCreationDateTime is not a plausible time in epoch seconds")
        try:
            seconds = Decimal(text)
        except ArithmeticError:
            raise ValueError("ApproximateCreationDateTime must be epoch seconds or a datetime") from None
        if not seconds.is_finite() or not EARLIEST_S <= seconds <= LATEST_S:
            raise ValueError(
                "ApproximateCreationDateTime is not a plausible time in epoch seconds (2014 to 2100); "
                "milliseconds or another unit would outrank every later record of the item"
            )
        micros = int(seconds * 1_000_000)
    if not EARLIEST_S * 1_000_000 <= micros <= LATEST_S * 1_000_000:
        raise ValueError("ApproximateCreationDateTime is not a plausible time (2014 to 2100)")
    return micros


_REPLICATION_ATTRIBUTES = ("aws:rep:updatetime", "aws:rep:updateregion", "aws:rep:deleting")


def _strip_replication(image: dict[str, Any]) -> dict[str, Any]:
    """Drop the bookkeeping attributes of legacy (2017) global tables."""
    if any(name in image for name in _REPLICATION_ATTRIBUTES):
        return {k: v for k, v in image.items() if not k.startswith(_REPLICATION_PREFIX)}
    return image


_KEY_TYPES = {str: "S", Decimal: "N", bytes: "B"}


def _key(spec: Table, values: Mapping[str, Any], ref: RecordRef, where: str) -> SourceItem:
    key = []
    for name, expected in spec.key_plan:
        value = values.get(name)
        if value is None:
            raise MalformedRecord(ref, f"{where} lacks key attribute {name!r}")
        actual = _KEY_TYPES.get(type(value))
        if actual != expected:
            raise MalformedRecord(ref, f"{where} key attribute {name!r} must be {expected}")
        if actual != "N" and not value:
            raise MalformedRecord(ref, f"{where} key attribute {name!r} is empty")
        key.append((name, Decimal(value) if actual == "N" else value))
    return SourceItem(spec.name, tuple(key))



def decode_stream_record(raw: Any, model: Model, table: Optional[str] = None, names: TableNames = IDENTITY) -> SourceRecord:
    """A stream record of a model table; ``table`` is the physical table when the caller knows it."""
    ref = record_ref(raw, table)
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise MalformedRecord(ref, "record is not an object")
    if table is None:
        table = table_from_arn(raw.get("eventSourceARN"))
        if table is None:
            raise MalformedRecord(ref, "eventSourceARN is missing or is not a DynamoDB stream ARN")
    logical = names.logical(table)
    spec = model.tables.get(logical) if logical is not None else None
    if spec is None:
        raise MalformedRecord(ref, f"table {table!r} is not part of the model (logical tables: {sorted(model.tables)}"
                                   f"{'; mapping ' + names.to_text() if names.physical_of else ''})")
    if logical != table:
        ref = RecordRef(logical, ref.event_id, ref.sequence)
    event_name = raw.get("eventName")
    if event_name not in EVENT_NAMES:
        raise MalformedRecord(ref, f"unknown eventName {_short(event_name)[:20]!r}")
    stream = raw.get("dynamodb")
    if type(stream) is not dict and not isinstance(stream, Mapping):
        raise MalformedRecord(ref, "record has no 'dynamodb' object")
    sequence_text = stream.get("SequenceNumber")
    if not isinstance(sequence_text, str) or not sequence_text.isdigit() or not sequence_text.isascii() or len(sequence_text) > 64:
        raise MalformedRecord(ref, "SequenceNumber must be a string of digits")
    try:
        created = created_at_us(stream.get("ApproximateCreationDateTime"))
    except (ValueError, ArithmeticError) as error:
        raise MalformedRecord(ref, str(error)) from None
    try:
        keys = decode_map(stream.get("Keys"), ("Keys",))
        new_image = stream.get("NewImage")
        old_image = stream.get("OldImage")
        new = None if new_image is None or event_name == "REMOVE" else _strip_replication(decode_map(new_image, ("NewImage",)))
        old = None if old_image is None or event_name == "INSERT" else _strip_replication(decode_map(old_image, ("OldImage",)))
    except DecodeError as error:
        raise MalformedRecord(ref, undecodable(error, model.declared_attributes(spec.name), images=True)) from None
    item = _key(spec, keys, ref, "Keys")
    if old is None and event_name != "INSERT":
        reasons = model.old_image_reasons(spec.name)
        if reasons:
            raise MalformedRecord(
                ref,
                f"{event_name} without OldImage on table {spec.name!r}, whose items can leave documents "
                f"({'; '.join(reasons)}): the stream must be NEW_AND_OLD_IMAGES",
            )
    if old is not None:
        for name, value in item.key:
            if old.get(name) != value:
                raise MalformedRecord(ref, "OldImage key differs from Keys")
    if event_name == "REMOVE":
        image = None
        declared = declared_version(spec, old)
    else:
        if new is None:
            raise MalformedRecord(ref, f"{event_name} without NewImage: the stream must be NEW_IMAGE or NEW_AND_OLD_IMAGES")
        for name, value in item.key:
            if new.get(name) != value:
                raise MalformedRecord(ref, "NewImage key differs from Keys")
        image = new
        declared = declared_version(spec, new)
    identity = raw.get("userIdentity")
    expired = (
        event_name == "REMOVE"
        and isinstance(identity, Mapping)
        and identity.get("type") == "Service"
        and identity.get("principalId") == _TTL_PRINCIPAL
    )
    return SourceRecord(
        ref=ref,
        item=item,
        version=SourceVersion.streamed(created, int(sequence_text), declared),
        image=image,
        origin=Origin.STREAM,
        old_image=old,
        expired=expired,
    )


def scanned_record(
    spec: Table, image: Mapping[str, Any], t_start_us: int, origin: Origin = Origin.SCAN, position: str = ""
) -> SourceRecord:
    """A row read by a scan, an export or a consistent read begun at server time ``t_start_us``.

    ``image`` is already decoded. Its version is ``T_start - 1 s`` (see ``SourceVersion.scanned``).
    """
    ref = RecordRef(spec.name, "", position)
    image = _strip_replication(dict(image))
    item = _key(spec, image, ref, "item")
    return SourceRecord(
        ref=ref,
        item=item,
        version=SourceVersion.scanned(t_start_us, declared_version(spec, image)),
        image=image,
        origin=origin,
    )


def scan_decoder(spec: Table, t_start_us: int, origin: Origin = Origin.SCAN,
                 declared: Collection[str] = frozenset()) -> Callable[[Any], SourceRecord]:
    """Decode a typed scan row (or export line item) into a source record, or raise ``MalformedRecord``;
    ``declared``: the attributes of the table the model reads (``Model.declared_attributes``), whose names a
    reason may show."""

    def decode(row: Any) -> SourceRecord:
        try:
            image = decode_map(row)
        except DecodeError as error:
            raise MalformedRecord(RecordRef(spec.name, "", _position(row)), undecodable(error, declared)) from None
        return scanned_record(spec, image, t_start_us, origin, _position(row, spec))

    return decode


UNDECLARED, KEY = "<undeclared>", "<key>"


def undecodable(error: DecodeError, declared: Collection[str], *, images: bool = False) -> str:
    """A decode error as a reason that quotes no data: names are data too (a map of tokens keyed by the
    tokens), so the path keeps the image (``images``: it starts with ``NewImage``, ``Keys``...), a declared
    attribute's name and list indices, and shows an undeclared attribute as ``<undeclared>`` and every map
    key as ``<key>``."""
    where = list(error.where)
    shown: list = where[:1] if images else []
    for position, part in enumerate(where[len(shown):]):
        if isinstance(part, int):
            shown.append(part)
        elif position == 0:
            shown.append(part if part in declared else UNDECLARED)
        else:
            shown.append(KEY)
    return str(DecodeError(tuple(shown), error.reason))


def _position(row: Any, spec: Optional[Table] = None) -> str:
    """A stable name for a scan row: its key as JSON (the scan has no sequence numbers)."""
    if isinstance(row, dict) and spec is not None:
        key = {name: row.get(name) for name in spec.key_attributes}
        return "key:" + json.dumps(key, sort_keys=True, default=str)
    return ""
