"""Reading generated templates in tests: cfn-lint's loader, and just enough condition evaluation.

``load`` parses the YAML with cfn-lint's own loader (short tags become
``Ref``/``Fn::Sub``/...). ``resolve`` replaces ``Fn::If`` by the branch the
given parameter values choose and drops ``AWS::NoValue``, so a test can ask
what a stack would really get, e.g. whether any function has a VpcConfig.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

NO_VALUE = object()


def load(text: str) -> dict:
    from cfnlint.decode.cfn_yaml import loads

    return _plain(loads(text))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _value(node: Any, template: dict, params: Mapping[str, Any]) -> Any:
    if isinstance(node, dict) and len(node) == 1:
        (key, arg), = node.items()
        if key == "Ref":
            if arg in params:
                return params[arg]
            parameter = template["Parameters"].get(arg)
            if parameter is not None:
                return parameter.get("Default")
            return {"Ref": arg}
        if key == "Fn::Join":
            parts = _value(arg[1], template, params)
            return arg[0].join(parts) if isinstance(parts, list) else parts
        if key == "Fn::Equals":
            return _value(arg[0], template, params) == _value(arg[1], template, params)
        if key == "Fn::Not":
            return not condition(arg[0], template, params)
        if key == "Fn::And":
            return all(condition(c, template, params) for c in arg)
        if key == "Condition":
            return condition(template["Conditions"][arg], template, params)
    return node


def condition(node: Any, template: dict, params: Mapping[str, Any]) -> bool:
    if isinstance(node, str):
        node = template["Conditions"][node]
    return bool(_value(node, template, params))


def resolve(node: Any, template: dict, params: Mapping[str, Any]) -> Any:
    """``node`` with every ``Fn::If`` decided and ``AWS::NoValue`` removed."""
    if isinstance(node, dict):
        if set(node) == {"Fn::If"}:
            name, yes, no = node["Fn::If"]
            return resolve(yes if condition(name, template, params) else no, template, params)
        if node == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        out = {}
        for key, value in node.items():
            found = resolve(value, template, params)
            if found is not NO_VALUE:
                out[key] = found
        return out
    if isinstance(node, list):
        return [v for v in (resolve(item, template, params) for item in node) if v is not NO_VALUE]
    return node


def stack(template: dict, params: Mapping[str, Any]) -> dict:
    """The resources a stack gets with ``params``: conditional resources dropped, conditions decided."""
    resources = {}
    for name, resource in template["Resources"].items():
        if "Condition" in resource and not condition(resource["Condition"], template, params):
            continue
        resources[name] = resolve(resource, template, params)
    return resources


def sub_names(node: Any) -> set[str]:
    """The ``${Name}`` references of an ``Fn::Sub`` string (or of a ``Ref``)."""
    if isinstance(node, dict) and "Ref" in node:
        return {node["Ref"]}
    if isinstance(node, dict) and "Fn::Sub" in node:
        return set(re.findall(r"\$\{([^}]+)\}", node["Fn::Sub"]))
    return set()
