"""CloudFormation values and a YAML writer for them, with the short intrinsic tags (``!Ref``, ``!Sub``...).

The generator builds a template as plain dicts and lists holding ``Tag``
values for intrinsic functions; ``dump`` writes it as YAML a person can
review, deterministically (keys in the order given), without a YAML library
(the tests read it back with ``tests/support/cfn.py``, and CI checks it with
cfn-lint). Strings that YAML could read as something else are quoted.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

import attrs

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_.:/*$-]*$")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_LOGICAL = re.compile(r"[^A-Za-z0-9]+")


@attrs.frozen
class Tag:
    """An intrinsic function in short form: ``!Ref X``, ``!Sub "..."``, ``!GetAtt A.B``, ``!If [...]``..."""

    name: str
    value: Any


def ref(name: str) -> Tag:
    return Tag("Ref", name)


def sub(text: str) -> Tag:
    return Tag("Sub", text)


def get_att(resource: str, attribute: str) -> Tag:
    return Tag("GetAtt", f"{resource}.{attribute}")


def if_(condition: str, yes: Any, no: Any) -> Tag:
    return Tag("If", [condition, yes, no])


def join(separator: str, values: list) -> Tag:
    return Tag("Join", [separator, values])


def equals(a: Any, b: Any) -> Tag:
    return Tag("Equals", [a, b])


def not_(condition: Any) -> Tag:
    return Tag("Not", [condition])


def and_(*conditions: Any) -> Tag:
    return Tag("And", list(conditions))


NO_VALUE = ref("AWS::NoValue")


def logical_id(*parts: str) -> str:
    """A CloudFormation logical ID from names: ``device_models`` -> ``DeviceModels`` (letters and digits only)."""
    words = [w for part in parts for w in _LOGICAL.split(part) if w]
    text = "".join(w[:1].upper() + w[1:] for w in words)
    if not text or not text[0].isalpha():
        text = "T" + text
    return text[:255]


def unique_ids(names: Iterable[str]) -> dict[str, str]:
    """A logical ID per name, distinct even when two names sanitize alike (``a_b``, ``a-b``)."""
    import hashlib

    ids: dict[str, str] = {}
    taken: dict[str, int] = {}
    ordered = sorted(names)
    for name in ordered:
        taken[logical_id(name)] = taken.get(logical_id(name), 0) + 1
    for name in ordered:
        base = logical_id(name)
        if taken[base] > 1:
            base = base[:240] + "X" + hashlib.sha256(name.encode()).hexdigest()[:8].upper()
        ids[name] = base
    return ids


def _scalar(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def _flat(value: Any) -> bool:
    """True when ``value`` fits on one line: a scalar, an empty collection, or a tag of such."""
    if isinstance(value, Tag):
        return _flat(value.value) or (isinstance(value.value, list) and len(value.value) <= 3
                                       and all(_flat(v) and not isinstance(v, list) for v in value.value))
    return not isinstance(value, (dict, list)) or not value


def _lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict) and value:
        out = []
        for key, item in value.items():
            out.extend(_entry(pad + _scalar(key) + ":", item, indent))
        return out
    if isinstance(value, list) and value:
        out = []
        for item in value:
            out.extend(_entry(pad + "-", item, indent))
        return out
    return [pad + _flow(value)]


def _entry(head: str, item: Any, indent: int) -> list[str]:
    """``head`` (``key:`` or ``-``) followed by ``item``: on the same line when it fits, else below it."""
    if _flat(item) or (isinstance(item, list) and len(item) <= 6 and all(_flat(v) for v in item)):
        return [f"{head} {_flow(item)}"]
    if isinstance(item, Tag):
        return [f"{head} !{item.name}"] + _lines(item.value, indent + 1)
    lines = _lines(item, indent + 1)
    if head.endswith("-") and isinstance(item, dict):
        return [f"{head} {lines[0].lstrip()}"] + lines[1:]
    return [head] + lines


def _flow(value: Any) -> str:
    if isinstance(value, Tag):
        return f"!{value.name} {_flow(value.value)}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    return _scalar(value)


def dump(template: dict) -> str:
    """The template as YAML text (the same input always gives the same bytes)."""
    out = []
    for key, value in template.items():
        if out:
            out.append("")
        if key == "Resources" and isinstance(value, dict):
            out.append("Resources:")
            for index, (name, resource) in enumerate(value.items()):
                out.extend(([""] if index else []) + _entry("  " + _scalar(name) + ":", resource, 1))
            continue
        out.extend(_entry(_scalar(key) + ":", value, 0))
    return "\n".join(out) + "\n"
