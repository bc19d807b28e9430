"""DynamoDB's typed JSON (``{"S": "x"}``, ``{"N": "42.50"}``, …) to Python values.

Numbers become ``Decimal`` with every digit kept (DynamoDB allows 38
significant digits; a float would round money). Binary values arrive as
base64 text in Lambda events and as bytes from boto3; both become bytes.
Sets become frozensets. Anything DynamoDB itself would not accept is a
``DecodeError`` naming the attribute path and the reason, never the value.
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

MAX_DEPTH = 32
MAX_ITEM_BYTES = 400 * 1024

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class DecodeError(ValueError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


def decode_number(text: Any, path: str = "") -> Decimal:
    if not isinstance(text, str):
        raise DecodeError(path, f"N value must be a string, not {type(text).__name__}")
    if not _NUMBER.match(text):
        raise DecodeError(path, "N value is not a number")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DecodeError(path, "N value is not a number") from None
    if value:
        significant = "".join(map(str, value.as_tuple().digits)).strip("0")
        if len(significant) > 38:
            raise DecodeError(path, "N value has more than 38 significant digits")
        exponent = value.adjusted()
        if exponent > 125 or exponent < -130:
            raise DecodeError(path, "N value is outside DynamoDB's range (1E-130 to 9.9E+125)")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise DecodeError(path, f"S value must be a string, not {type(value).__name__}")
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


class _Budget:
    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_ITEM_BYTES

    def spend(self, size: int, path: str) -> None:
        self.left -= size
        if self.left < 0:
            raise DecodeError(path, f"item is larger than DynamoDB's {MAX_ITEM_BYTES // 1024} KB limit")


def decode_value(typed: Any, path: str = "", depth: int = 0, budget: _Budget | None = None) -> Any:
    if budget is None:
        budget = _Budget()
    if depth > MAX_DEPTH:
        raise DecodeError(path, f"nesting deeper than {MAX_DEPTH} levels")
    if not isinstance(typed, Mapping) or len(typed) != 1:
        raise DecodeError(path, "attribute value must be an object with exactly one type key")
    ((kind, value),) = typed.items()
    if kind == "S":
        text = _string(value, path)
        budget.spend(len(text), path)
        return text
    if kind == "N":
        budget.spend(len(value) if isinstance(value, str) else 0, path)
        return decode_number(value, path)
    if kind == "BOOL":
        if not isinstance(value, bool):
            raise DecodeError(path, f"BOOL value must be true or false, not {type(value).__name__}")
        return value
    if kind == "NULL":
        if value is not True:
            raise DecodeError(path, "NULL value must be true")
        return None
    if kind == "M":
        if not isinstance(value, Mapping):
            raise DecodeError(path, "M value must be an object")
        return decode_map(value, path, depth + 1, budget)
    if kind == "L":
        if not isinstance(value, list):
            raise DecodeError(path, "L value must be a list")
        return [decode_value(v, f"{path}[{i}]", depth + 1, budget) for i, v in enumerate(value)]
    if kind == "B":
        data = _binary(value, path)
        budget.spend(len(data), path)
        return data
    if kind in ("SS", "NS", "BS"):
        if not isinstance(value, list) or not value:
            raise DecodeError(path, f"{kind} value must be a non-empty list")
        if kind == "SS":
            members = [_string(v, path) for v in value]
        elif kind == "NS":
            members = [decode_number(v, path) for v in value]
        else:
            members = [_binary(v, path) for v in value]
        budget.spend(sum(len(str(m)) for m in members), path)
        result = frozenset(members)
        if len(result) != len(members):
            raise DecodeError(path, f"{kind} value contains duplicates")
        return result
    raise DecodeError(path, f"unknown attribute type {str(kind)[:20]!r}")


def decode_map(image: Any, path: str = "", depth: int = 0, budget: _Budget | None = None) -> dict[str, Any]:
    """An item (or an M value) as a dict of Python values."""
    if budget is None:
        budget = _Budget()
    if not isinstance(image, Mapping):
        raise DecodeError(path, "item must be an object")
    result = {}
    for name, typed in image.items():
        if not isinstance(name, str):
            raise DecodeError(path, "attribute names must be strings")
        child = f"{path}.{name}" if path else name
        _string(name, path or "attribute name")
        budget.spend(len(name), child)
        result[name] = decode_value(typed, child, depth, budget)
    return result
