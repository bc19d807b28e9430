"""DynamoDB's typed JSON (``{"S": "x"}``, ``{"N": "42.50"}``, …) to Python values.

Numbers become ``Decimal`` with every digit kept (DynamoDB allows 38
significant digits; a float would round money). Binary values arrive as
base64 text in Lambda events and as bytes from boto3; both become bytes.
Sets become frozensets. Anything DynamoDB itself would not accept is a
``DecodeError`` naming the attribute path and the reason, never the value:
a type it does not know, more than 32 levels of nesting, or an image larger
than 400 KB by DynamoDB's own size rule (``item_size``), charged value by
value as the image is read.

The path is kept as its parts (``where``: the image, attribute names and
map keys, list indices), because names are data too: ``records`` spells
only the parts a message may show.

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
from typing import Any, Union

from dynafold.projector.intake.item_size import (
    CONTAINER_BYTES,
    ELEMENT_BYTES,
    MAX_ITEM_BYTES,
    SCALAR_BYTES,
    number_size,
    text_size,
)

Where = tuple[Union[str, int], ...]
MAX_DEPTH = 32

_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
_PLAIN_NUMBER = re.compile(r"-?[0-9]{1,38}(\.[0-9]*)?")


class DecodeError(ValueError):
    """What DynamoDB would refuse in a value: ``where`` is the path to it (names and keys as ``str``, list
    indices as ``int``), ``reason`` never quotes the value."""

    def __init__(self, where: Where, reason: str) -> None:
        super().__init__(f"{spelled(where)}: {reason}" if where else reason)
        self.where = where
        self.reason = reason

    @property
    def path(self) -> str:
        return spelled(self.where)


def spelled(where: Where) -> str:
    """``NewImage.items[2].sku``: names joined by dots, list indices in brackets."""
    text = ""
    for part in where:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def decode_number(text: Any, path: Where = ()) -> Decimal:
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


def _string(value: Any, path: Where) -> str:
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


def _binary(value: Any, path: Where) -> bytes:
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


def _spend(budget: list, size: int, path: Where) -> None:
    budget[0] -= size
    if budget[0] < 0:
        raise DecodeError(path, f"item is larger than DynamoDB's {MAX_ITEM_BYTES // 1024} KB limit")


def decode_value(typed: Any, path: Where = (), depth: int = 0, budget: list | None = None) -> Any:
    """One typed value; ``budget`` (``[bytes left]``) is charged its size by DynamoDB's rule."""
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
        _spend(budget, text_size(text), path)
        return text
    if kind == "N":
        number = decode_number(value, path)
        _spend(budget, number_size(value), path)
        return number
    if kind == "BOOL":
        if type(value) is not bool:
            raise DecodeError(path, f"BOOL value must be true or false, not {type(value).__name__}")
        _spend(budget, SCALAR_BYTES, path)
        return value
    if kind == "M":
        if type(value) is not dict and not isinstance(value, Mapping):
            raise DecodeError(path, "M value must be an object")
        if depth >= MAX_DEPTH:
            raise DecodeError(path, f"nesting deeper than {MAX_DEPTH} levels")
        _spend(budget, CONTAINER_BYTES + ELEMENT_BYTES * len(value), path)
        return decode_map(value, path, depth + 1, budget)
    if kind == "L":
        if type(value) is not list:
            raise DecodeError(path, "L value must be a list")
        if depth >= MAX_DEPTH:
            raise DecodeError(path, f"nesting deeper than {MAX_DEPTH} levels")
        _spend(budget, CONTAINER_BYTES + ELEMENT_BYTES * len(value), path)
        result = []
        for index, item in enumerate(value):
            try:
                result.append(decode_value(item, (), depth + 1, budget))
            except DecodeError as error:
                raise _relocated(error, (*path, index)) from None
        return result
    if kind == "NULL":
        if value is not True:
            raise DecodeError(path, "NULL value must be true")
        _spend(budget, SCALAR_BYTES, path)
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
            size = sum(text_size(m) for m in members)
        elif kind == "NS":
            members = [decode_number(v, path) for v in value]
            size = sum(number_size(v) for v in value)
        else:
            members = [_binary(v, path) for v in value]
            size = sum(len(m) for m in members)
        _spend(budget, size, path)
        result = frozenset(members)
        if len(result) != len(members):
            raise DecodeError(path, f"{kind} value contains duplicates")
        return result
    raise DecodeError(path, f"unknown attribute type {str(kind)[:20]!r}")


def _relocated(error: DecodeError, prefix: Where) -> DecodeError:
    """The same error, its path now starting at ``prefix``."""
    return DecodeError((*prefix, *error.where), error.reason)


def decode_map(image: Any, path: Where = (), depth: int = 0, budget: list | None = None) -> dict[str, Any]:
    """An item (or an M value) as a dict of Python values; an item larger than DynamoDB's 400 KB is refused."""
    if budget is None:
        budget = [MAX_ITEM_BYTES]
    if type(image) is not dict and not isinstance(image, Mapping):
        raise DecodeError(path, "item must be an object")
    result = {}
    for name, typed in image.items():
        if type(name) is not str or not name.isascii():
            if not isinstance(name, str):
                raise DecodeError(path, "attribute names must be strings")
            try:
                _string(name, path)
            except DecodeError:
                raise DecodeError(path, "an attribute name is not valid UTF-8 (lone surrogate)") from None
            budget[0] -= text_size(name)
        else:
            budget[0] -= len(name)
        if type(typed) is dict and len(typed) == 1:
            text = typed.get("S")
            if type(text) is str and text.isascii():
                budget[0] -= len(text)
                result[name] = text
                continue
            text = typed.get("N")
            if type(text) is str and len(text) <= 38 and _PLAIN_NUMBER.fullmatch(text):
                budget[0] -= number_size(text)
                result[name] = Decimal(text)
                continue
        try:
            result[name] = decode_value(typed, (), depth, budget)
        except DecodeError as error:
            raise _relocated(error, (*path, name)) from None
    if budget[0] < 0:
        raise DecodeError(path, f"item is larger than DynamoDB's {MAX_ITEM_BYTES // 1024} KB limit")
    return result


def decoded_size(image: Any) -> int:
    """The size DynamoDB gives ``image`` (an item in typed JSON), as the decoder charges it; raises
    ``DecodeError`` for what DynamoDB would refuse, a size over 400 KB included."""
    budget = [MAX_ITEM_BYTES]
    decode_map(image, (), 0, budget)
    return MAX_ITEM_BYTES - budget[0]
