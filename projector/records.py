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
from decimal import Decimal
from collections.abc import Mapping
from typing import Any, Optional

from domain.model import Model, TableSpec
from domain.records import Origin, RecordRef, SourceRecord
from domain.source import SourceItem, SourceVersion
from domain.translation import TranslationError, declared_version
from projector.dynamodb_json import DecodeError, decode_map

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


def _short(value: Any) -> str:
    return value[:128] if isinstance(value, str) else ""


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


def created_at_us(value: Any) -> int:
    """``ApproximateCreationDateTime`` (epoch seconds or a datetime) in microseconds."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise ValueError("ApproximateCreationDateTime must be epoch seconds or a datetime")
    try:
        seconds = Decimal(str(value))
    except ArithmeticError:
        raise ValueError("ApproximateCreationDateTime must be epoch seconds or a datetime") from None
    if not seconds.is_finite() or seconds < 0:
        raise ValueError("ApproximateCreationDateTime must be a non-negative number of epoch seconds")
    return int(seconds * 1_000_000)


_REPLICATION_ATTRIBUTES = ("aws:rep:updatetime", "aws:rep:updateregion", "aws:rep:deleting")


def _strip_replication(image: dict[str, Any]) -> dict[str, Any]:
    """Drop the bookkeeping attributes of legacy (2017) global tables."""
    if any(name in image for name in _REPLICATION_ATTRIBUTES):
        return {k: v for k, v in image.items() if not k.startswith(_REPLICATION_PREFIX)}
    return image


def _key(spec: TableSpec, values: Mapping[str, Any], ref: RecordRef, where: str) -> SourceItem:
    key = {}
    for name in spec.key_attributes:
        value = values.get(name)
        if value is None:
            raise MalformedRecord(ref, f"{where} lacks key attribute {name!r}")
        expected = spec.key_types.get(name)
        actual = "S" if isinstance(value, str) else "N" if isinstance(value, Decimal) else "B" if isinstance(value, bytes) else None
        if actual is None or (expected is not None and actual != expected):
            raise MalformedRecord(ref, f"{where} key attribute {name!r} must be {expected or 'S|N|B'}")
        key[name] = value
    return SourceItem.of(spec.name, key)


def _version(spec: TableSpec, image: Optional[Mapping[str, Any]], ref: RecordRef) -> int:
    if spec.version_attribute is None:
        return 0
    try:
        return declared_version(image, spec.version_attribute)
    except TranslationError as error:
        raise MalformedRecord(ref, str(error)) from None


def decode_stream_record(raw: Any, model: Model, table: Optional[str] = None) -> SourceRecord:
    ref = record_ref(raw, table)
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise MalformedRecord(ref, "record is not an object")
    if table is None:
        table = table_from_arn(raw.get("eventSourceARN"))
        if table is None:
            raise MalformedRecord(ref, "eventSourceARN is missing or is not a DynamoDB stream ARN")
    spec = model.tables.get(table)
    if spec is None:
        raise MalformedRecord(ref, f"table {table!r} is not part of the model")
    event_name = raw.get("eventName")
    if event_name not in EVENT_NAMES:
        raise MalformedRecord(ref, f"unknown eventName {_short(event_name)[:20]!r}")
    stream = raw.get("dynamodb")
    if type(stream) is not dict and not isinstance(stream, Mapping):
        raise MalformedRecord(ref, "record has no 'dynamodb' object")
    sequence_text = stream.get("SequenceNumber")
    if not isinstance(sequence_text, str) or not sequence_text.isdigit() or not sequence_text.isascii():
        raise MalformedRecord(ref, "SequenceNumber must be a string of digits")
    try:
        created = created_at_us(stream.get("ApproximateCreationDateTime"))
    except (ValueError, ArithmeticError) as error:
        raise MalformedRecord(ref, str(error)) from None
    try:
        keys = decode_map(stream.get("Keys"), "Keys")
        new_image = stream.get("NewImage")
        old_image = stream.get("OldImage")
        new = None if new_image is None or event_name == "REMOVE" else _strip_replication(decode_map(new_image, "NewImage"))
        old = None if old_image is None or event_name != "REMOVE" else _strip_replication(decode_map(old_image, "OldImage"))
    except DecodeError as error:
        raise MalformedRecord(ref, str(error)) from None
    item = _key(spec, keys, ref, "Keys")
    if event_name == "REMOVE":
        if spec.version_attribute is not None and old is None:
            raise MalformedRecord(
                ref,
                f"REMOVE without OldImage on table {table!r}, whose version attribute "
                f"{spec.version_attribute!r} orders its records: the stream must be NEW_AND_OLD_IMAGES",
            )
        image = None
        declared = _version(spec, old, ref)
    else:
        if new is None:
            raise MalformedRecord(ref, f"{event_name} without NewImage: the stream must be NEW_IMAGE or NEW_AND_OLD_IMAGES")
        for name, value in item.key:
            if new.get(name) != value:
                raise MalformedRecord(ref, "NewImage key differs from Keys")
        image = new
        declared = _version(spec, new, ref)
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
        version=SourceVersion(declared, created, int(sequence_text)),
        image=image,
        origin=Origin.STREAM,
        old_image=old,
        expired=expired,
    )


def scanned_record(
    spec: TableSpec, image: Mapping[str, Any], t_start_us: int, origin: Origin = Origin.SCAN, position: str = ""
) -> SourceRecord:
    """A row read by a scan, an export or a consistent read begun at ``t_start_us``.

    ``image`` is already decoded. Its version is ``(declared, T_start - 1 s, 0)``
    (see ``SourceVersion.scanned``).
    """
    ref = RecordRef(spec.name, "", position)
    image = _strip_replication(dict(image))
    item = _key(spec, image, ref, "item")
    return SourceRecord(
        ref=ref,
        item=item,
        version=SourceVersion.scanned(_version(spec, image, ref), t_start_us),
        image=image,
        origin=origin,
    )
