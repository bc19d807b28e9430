"""Just enough of the Amazon States Language to run ``replay/state_machine.json`` in a test.

Supports Task (Parameters with ``.$`` paths, Retry ignored), Map
(ItemsPath, Iterator, ResultPath), Choice (BooleanEquals), Succeed, and
ResultPath ``$`` or ``$.field``. Anything else raises, so the test fails
when the definition grows past what is exercised here.
"""

from __future__ import annotations

from typing import Any, Callable


def _path(document: Any, path: str) -> Any:
    if path == "$":
        return document
    value = document
    for part in path[2:].split("."):
        value = value[part]
    return value


def _parameters(template: dict, document: Any) -> dict:
    return {k[:-2] if k.endswith(".$") else k: _path(document, v) if k.endswith(".$") else v for k, v in template.items()}


def _with_result(document: Any, path: str, result: Any) -> Any:
    if path == "$":
        return result
    updated = dict(document)
    updated[path[2:]] = result
    return updated


def run_state_machine(definition: dict, document: Any, invoke: Callable[[str, dict], Any], max_transitions: int = 10_000) -> Any:
    state_name = definition["StartAt"]
    states = definition["States"]
    for _ in range(max_transitions):
        state = states[state_name]
        kind = state["Type"]
        if kind == "Task":
            payload = _parameters(state["Parameters"], document) if "Parameters" in state else document
            document = _with_result(document, state.get("ResultPath", "$"), invoke(state["Resource"], payload))
        elif kind == "Map":
            items = _path(document, state["ItemsPath"])
            results = [run_state_machine(state["Iterator"], item, invoke, max_transitions) for item in items]
            document = _with_result(document, state.get("ResultPath", "$"), results)
        elif kind == "Choice":
            for choice in state["Choices"]:
                if set(choice) - {"Variable", "BooleanEquals", "Next"}:
                    raise NotImplementedError(f"choice rule {sorted(choice)}")
                if _path(document, choice["Variable"]) is choice["BooleanEquals"]:
                    state_name = choice["Next"]
                    break
            else:
                state_name = state["Default"]
            continue
        elif kind == "Succeed":
            return document
        else:
            raise NotImplementedError(f"state type {kind}")
        if state.get("End"):
            return document
        state_name = state["Next"]
    raise RuntimeError("state machine did not finish")
