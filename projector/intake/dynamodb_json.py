"""DynamoDB's typed JSON (``{"S": "x"}``, ``{"N": "42.50"}``, …) to Python values.

Numbers become ``Decimal`` with every digit kept (DynamoDB allows 38
significant digits; a float would round money). Binary values arrive as
base64 text in Lambda events and as bytes from boto3; both become bytes.
Sets become frozensets. Anything DynamoDB itself would not accept is a
``DecodeError`` naming the attribute path and the reason, never the value.

This is the hottest code of the projector, so the common case (plain dicts,
ASCII strings, short numbers) takes a short path and attribute paths are
only spelled out when an error needs them.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_DEPTH = 32
MAX_ITEM_BYTES = 400 * 1024

_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,38}(\.[0-9]*)?")


class DecodeError(ValueError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


def _child(parent: str, name: Any) -> str:
    if isinstance(name, int):
        return f"{parent}[{name}]"
    return f"{parent}.{name}" if parent else str(name)


def decode_number(text: Any, path: str = "") -> Decimal:
    if type(text) is not str:
        raise DecodeError(path, f"N value must be a string, not {type(text).__name__}")
    if len(text) <= 38 and _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)  # at most 38 digits and no exponent: always within DynamoDB's limits
    if _PLAIN_NUMBER.fullmatch(text) and len(text) <= 40:
        value = Decimal(text)
        significant = text.lstrip("-").replace(".", "").strip("0")
        if len(significant) <= 38 and (not value or -130 <= value.adjusted() <= 125):
            return value
    if not _NUMBER.fullmatch(text):
        raise DecodeError(path, "N value is not a number")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DecodeError(path, "N value is not a number") from None
    if value:
        significant = "".join(map(str, value.as_tuple().digits)).strip("0")
        if len(significant) > 38:
            raise DecodeError(path, "N value has more than 38 significant digits")
        if not -130 <= value.adjusted() <= 125:
            raise DecodeError(path, "N value is outside DynamoDB's range (1E-130 to 9.9E+125)")
    return value


def _string(value: Any, path: str) -> str:
    if type(value) is not str:
        if isinstance(value, str):
            value = str(value)
        else:
            raise DecodeError(path, f"S value must be a string, not {type(value).__name__}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise DecodeError(path, "S value is not valid UTF-8 (lone surrogate)") from None
    return value


def _binary(value: Any, path: str) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise DecodeError(path, "B value is not valid base64") from None
    raw = getattr(value, "value", None)
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    raise DecodeError(path, f"B value must be base64 text or bytes, not {type(value).__name__}")


def _spend(budget: list, size: int, path: str) -> None:
    budget[0] -= size
    if budget[0] < 0:
        raise DecodeError(path, f"item is larger than DynamoDB's {MAX_ITEM_BYTES // 1024} KB limit")


def decode_value(typed: Any, path: str = "", depth: int = 0, budget: list | None = None) -> Any:
    if budget is None:
        budget = [MAX_ITEM_BYTES]
    if type(typed) is not dict:
        if not isinstance(typed, Mapping):
            raise DecodeError(path, "attribute value must be an object with exactly one type key")
        typed = dict(typed)
    if len(typed) != 1:
        raise DecodeError(path, "attribute value must be an object with exactly one type key")
    for kind, value in typed.items():
        break
    if kind == "S":
        if type(value) is str and value.isascii():
            budget[0] -= len(value)
            if budget[0] < 0:
                _spend(budget, 0, path)
            return value
        text = _string(value, path)
        _spend(budget, len(text), path)
        return text
    if kind == "N":
        if type(value) is str:
            budget[0] -= len(value)
        return decode_number(value, path)
    if kind == "BOOL":
        if type(value) is not bool:
            raise DecodeError(path, f"BOOL value must be true or false, not {type(value).__name__}")
        return value
    if kind == "M":
        if type(value) is not dict and not isinstance(value, Mapping):
            raise DecodeError(path, "M value must be an object")
        if depth >= MAX_DEPTH:
            raise DecodeError(path, f"nesting deeper than {MAX_DEPTH} levels")
        return decode_map(value, path, depth + 1, budget)
    if kind == "L":
        if type(value) is not list:
            raise DecodeError(path, "L value must be a list")
        if depth >= MAX_DEPTH:
            raise DecodeError(path, f"nesting deeper than {MAX_DEPTH} levels")
        result = []
        for index, item in enumerate(value):
            try:
                result.append(decode_value(item, "", depth + 1, budget))
            except DecodeError as error:
                raise _relocated(error, _child(path, index)) from None
        return result
    if kind == "NULL":
        if value is not True:
            raise DecodeError(path, "NULL value must be true")
        return None
    if kind == "B":
        data = _binary(value, path)
        _spend(budget, len(data), path)
        return data
    if kind in ("SS", "NS", "BS"):
        if type(value) is not list or not value:
            raise DecodeError(path, f"{kind} value must be a non-empty list")
        if kind == "SS":
            members = [_string(v, path) for v in value]
        elif kind == "NS":
            members = [decode_number(v, path) for v in value]
        else:
            members = [_binary(v, path) for v in value]
        _spend(budget, sum(len(str(m)) for m in members), path)
        result = frozenset(members)
        if len(result) != len(members):
            raise DecodeError(path, f"{kind} value contains duplicates")
        return result
    raise DecodeError(path, f"unknown attribute type {str(kind)[:20]!r}")


def _relocated(error: DecodeError, prefix: str) -> DecodeError:
    """The same error, its path now starting at ``prefix``."""
    if not error.path:
        return DecodeError(prefix, error.reason)
    joiner = "" if error.path.startswith("[") else "."
    return DecodeError(f"{prefix}{joiner}{error.path}", error.reason)


def decode_map(image: Any, path: str = "", depth: int = 0, budget: list | None = None) -> dict[str, Any]:
    """An item (or an M value) as a dict of Python values."""
    if budget is None:
        budget = [MAX_ITEM_BYTES]
    if type(image) is not dict and not isinstance(image, Mapping):
        raise DecodeError(path, "item must be an object")
    result = {}
    for name, typed in image.items():
        if type(name) is not str or not name.isascii():
            if not isinstance(name, str):
                raise DecodeError(path, "attribute names must be strings")
            _string(name, path or "attribute name")
        budget[0] -= len(name)
        if type(typed) is dict and len(typed) == 1:
            text = typed.get("S")
            if type(text) is str and text.isascii():
                budget[0] -= len(text)
                result[name] = text
                continue
            text = typed.get("N")
            if type(text) is str and len(text) <= 38 and _PLAIN_NUMBER.fullmatch(text):
                budget[0] -= len(text)
                result[name] = Decimal(text)
                continue
        try:
            result[name] = decode_value(typed, "", depth, budget)
        except DecodeError as error:
            raise _relocated(error, _child(path, name)) from None
    if budget[0] < 0:
        raise DecodeError(path, f"item is larger than DynamoDB's {MAX_ITEM_BYTES // 1024} KB limit")
    return result
