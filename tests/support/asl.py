"""Just enough of the Amazon States Language to run ``replay/state_machine.json`` in a test.

Supports Task, Pass (Result, InputPath, Parameters), Wait (no time passes),
``$$.Execution.Id`` in a Task's Parameters (``execution``),
Choice (And, IsPresent, StringEquals, BooleanEquals), Succeed (OutputPath),
Fail, and Map in inline or distributed mode (ItemsPath, or an ItemReader
answered by ``read_items``; ItemSelector with ``$$.Map.Item.Value``;
Iterator or ItemProcessor), with ``.$`` paths, ResultPath (``$``, a field,
or null), Retry and Catch. A Task whose function raises fails with the
exception's class name as its error (as Lambda reports it); ``Retry`` then
tries it again, up to ``MaxAttempts`` times per retrier whose
``ErrorEquals`` names the error (or ``States.ALL``), and records each wait
it would have made (``IntervalSeconds * BackoffRate ** n``) in ``waits``
instead of sleeping; ``Catch`` takes what retries did not cure. Anything
else raises, so the test fails when the definition grows past what is
exercised here.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

MISSING = object()


class StateFailed(Exception):
    """A Fail state was reached (``error`` is its Error name), or a Task raised with no Catch."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error


def _path(document: Any, path: str, context: Optional[dict] = None) -> Any:
    if path.startswith("$$."):
        document, path = context or {}, "$" + path[2:]
    if path == "$":
        return document
    value = document
    for part in path[2:].split("."):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def _parameters(template: dict, document: Any, context: Optional[dict] = None) -> dict:
    out = {}
    for key, value in template.items():
        if key.endswith(".$"):
            found = _path(document, value, context)
            if found is MISSING:
                raise StateFailed("States.Runtime", f"path {value} not found")
            out[key[:-2]] = found
        elif isinstance(value, dict):
            out[key] = _parameters(value, document, context)
        else:
            out[key] = value
    return out


def _with_result(document: Any, state: dict, result: Any) -> Any:
    path = state.get("ResultPath", "$")
    if path is None:
        return document
    if path == "$":
        return result
    updated = dict(document)
    updated[path[2:]] = result
    return updated


def _rule(rule: dict, document: Any) -> bool:
    if "And" in rule:
        return all(_rule(r, document) for r in rule["And"])
    value = _path(document, rule["Variable"])
    if "IsPresent" in rule:
        return (value is not MISSING) is rule["IsPresent"]
    if "StringEquals" in rule:
        return value == rule["StringEquals"]
    if "BooleanEquals" in rule:
        return value is rule["BooleanEquals"]
    raise NotImplementedError(f"choice rule {sorted(rule)}")


def _matches(error: str, equals: list[str]) -> bool:
    return error in equals or "States.ALL" in equals


def _task(state: dict, payload: dict, invoke: Callable[[str, dict], Any], waits: list[float]) -> Any:
    """Invoke the task's resource, retried as its ``Retry`` says; the last failure as ``StateFailed``."""
    retried = [0] * len(state.get("Retry", ()))
    while True:
        try:
            return invoke(state["Resource"], payload)
        except StateFailed as failure:
            error, failed = failure.error, failure
        except Exception as raised:
            error, failed = type(raised).__name__, StateFailed(type(raised).__name__, str(raised))
        index = next((i for i, r in enumerate(state.get("Retry", ())) if _matches(error, r["ErrorEquals"])), None)
        if index is None:
            raise failed
        retrier = state["Retry"][index]
        if retried[index] >= retrier.get("MaxAttempts", 3):
            raise failed
        waits.append(retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** retried[index])
        retried[index] += 1


EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:dynafold-replay:test"


def run_state_machine(definition: dict, document: Any, invoke: Callable[[str, dict], Any],
                      read_items: Optional[Callable[[dict], list]] = None, max_transitions: int = 10_000,
                      waits: Optional[list[float]] = None, execution: str = EXECUTION) -> Any:
    """Run ``definition`` on ``document``; ``waits`` collects the retry waits the run would have made;
    ``execution`` is ``$$.Execution.Id``."""
    waits = [] if waits is None else waits
    context = {"Execution": {"Id": execution}}
    state_name = definition["StartAt"]
    states = definition["States"]
    for _ in range(max_transitions):
        state = states[state_name]
        kind = state["Type"]
        try:
            if kind == "Task":
                payload = _parameters(state["Parameters"], document, context) if "Parameters" in state else document
                document = _with_result(document, state, _task(state, payload, invoke, waits))
            elif kind == "Pass":
                value = _path(document, state["InputPath"]) if "InputPath" in state else document
                if "Parameters" in state:
                    value = _parameters(state["Parameters"], value)
                document = _with_result(document, state, state["Result"] if "Result" in state else value)
            elif kind == "Wait":
                pass
            elif kind == "Map":
                document = _with_result(document, state, _map(state, document, invoke, read_items, max_transitions,
                                                              waits, execution))
            elif kind == "Choice":
                state_name = next((c["Next"] for c in state["Choices"] if _rule(c, document)), state.get("Default"))
                continue
            elif kind == "Succeed":
                return {} if "OutputPath" in state and state["OutputPath"] is None else document
            elif kind == "Fail":
                raise StateFailed(state["Error"], state.get("Cause", ""))
            else:
                raise NotImplementedError(f"state type {kind}")
        except StateFailed as failure:
            if kind == "Fail" or "Catch" not in state:
                raise
            catch = next(c for c in state["Catch"] if _matches(failure.error, c["ErrorEquals"]))
            document = _with_result(document, catch, {"Error": failure.error})
            state_name = catch["Next"]
            continue
        if state.get("End"):
            return document
        state_name = state["Next"]
    raise RuntimeError("state machine did not finish")


def _map(state: dict, document: Any, invoke, read_items, max_transitions: int, waits: list[float],
         execution: str) -> list:
    if "ItemReader" in state:
        reader = state["ItemReader"]
        items = read_items({**reader, "Parameters": _parameters(reader["Parameters"], document)})
    else:
        items = _path(document, state["ItemsPath"])
    processor = state.get("ItemProcessor") or state["Iterator"]
    results = []
    for index, item in enumerate(items):
        if "ItemSelector" in state:
            item = _parameters(state["ItemSelector"], document, {"Map": {"Item": {"Value": item, "Index": index}}})
        try:
            results.append(run_state_machine(processor, item, invoke, read_items, max_transitions, waits, execution))
        except StateFailed:
            raise
        except Exception as error:
            raise StateFailed(type(error).__name__, str(error)) from error
    return results
