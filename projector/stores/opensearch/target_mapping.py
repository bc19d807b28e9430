"""A target made from an older model: how its index differs from what the model makes now, and what it still holds.

An index cannot change a field's type or its analyzers in place, so a field
that changed kind, a field added to the model, or a new release's mappings
(dates, the analyzer, hidden indices) take effect only in a new target:
``dynafold replay --rebuild``. Until then:

- ``differences`` lists, for ``dynafold status``, every field and setting in
  which the index differs from ``mappings.index_body`` for the model;
- ``holdable`` says which of the model's fields the old mapping still takes
  (the field exists and its type takes every value of the new kind: a
  ``keyword`` or ``text`` field takes any single value, a ``double`` takes an
  integer, an object or nested field takes the subfields it has), and
  ``hold`` cuts a document down to them, so the stream side keeps writing
  the old target instead of quarantining every record the old mapping would
  refuse;
- ``first_layout`` says whether the target keeps the engine's object in
  ``_source`` (made before ``layout``'s stored fields): its writes go in that
  layout.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterable, Mapping, Union

import attrs

from dynafold.domain.declarations import FLAT_SUFFIX
from dynafold.projector.stores.base import UnknownTarget
from dynafold.projector.stores.opensearch.mappings import META, index_body

log = logging.getLogger(__name__)

Plan = dict[str, Union[bool, "Plan"]]  # a field kept as it is (True) or cut down to its subfields (a plan)

_SINGLE_VALUES = frozenset({"keyword", "text", "date", "long", "double", "boolean"})
_OBJECTS = frozenset({"object", "nested"})


def _type(mapping: Mapping[str, Any]) -> str:
    return str(mapping.get("type") or ("object" if "properties" in mapping else "object"))


def _parameters(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """What a field's mapping says beyond its type and subfields, as OpenSearch gives it back."""
    found = {name: value for name, value in mapping.items() if name not in ("type", "properties")}
    if isinstance(found.get("copy_to"), str):
        found["copy_to"] = [found["copy_to"]]
    return found


def _summary(mapping: Mapping[str, Any]) -> str:
    parameters = _parameters(mapping)
    return _type(mapping) + (f" {json.dumps(parameters, sort_keys=True)}" if parameters else "")


def _field_differences(path: str, wanted: Mapping[str, Any], actual: Mapping[str, Any], found: list[str]) -> None:
    for name, want in wanted.items():
        have = actual.get(name)
        where = path + name
        if have is None:
            found.append(f"{where}: missing here; the model maps it as {_summary(want)}")
            continue
        if _type(want) != _type(have) or _parameters(want) != _parameters(have):
            found.append(f"{where}: {_summary(have)} here; the model maps it as {_summary(want)}")
        _field_differences(where + ".", want.get("properties") or {}, have.get("properties") or {}, found)
    for name in sorted(set(actual) - set(wanted)):
        found.append(f"{path + name}: here, but not in the model")


def _strings(value: Any) -> Any:
    """Settings as OpenSearch gives them back: every leaf a string."""
    if isinstance(value, Mapping):
        return {key: _strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strings(item) for item in value]
    return str(value).lower() if isinstance(value, bool) else str(value)


def differences(wanted: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """How an index (``GET /<index>``'s entry for it) differs from the body the model makes (``index_body``)."""
    found: list[str] = []
    have_settings = (actual.get("settings") or {}).get("index") or {}
    want_settings = wanted["settings"]
    if _strings(want_settings["analysis"]) != _strings(have_settings.get("analysis") or {}):
        found.append("text analysis: OpenSearch's standard analyzer here; the model's index folds accents and "
                     "splits words as dynafold's search does")
    if _strings(want_settings["index.hidden"]) != str(have_settings.get("hidden", "false")).lower():
        found.append("index.hidden: false here (the index counts in wildcard patterns such as <aggregate>*)")
    want_fields = _strings(want_settings["index.query.default_field"])
    have_fields = _strings((have_settings.get("query") or {}).get("default_field"))
    if want_fields != (have_fields if isinstance(have_fields, list) else [have_fields]):
        found.append(f"search fields: {have_fields} here; {want_fields} in the model")
    _field_differences("", wanted["mappings"]["properties"], (actual.get("mappings") or {}).get("properties") or {},
                       found)
    return found


def holdable(wanted: Mapping[str, Any], actual: Mapping[str, Any]) -> tuple[Plan, list[str]]:
    """Of the model's fields (``properties``), those the index's mapping still takes, and the paths it does not."""
    plan: Plan = {}
    dropped: list[str] = []
    _plan(wanted, actual, "", plan, dropped)
    return plan, dropped


def _copy(name: str, wanted: Mapping[str, Any]) -> bool:
    """Whether ``name`` is a collection's plain copy (filled by ``copy_to``, never in a document)."""
    base = name[:-len(FLAT_SUFFIX)]
    return name.endswith(FLAT_SUFFIX) and _type(wanted.get(base) or {}) == "nested"


def _plan(wanted: Mapping[str, Any], actual: Mapping[str, Any], path: str, plan: Plan, dropped: list[str]) -> None:
    for name, want in wanted.items():
        if _copy(name, wanted):
            continue
        have = actual.get(name)
        kind = _type(want)
        old = _type(have) if have is not None else None
        if old in _OBJECTS and kind in _OBJECTS:
            inner: Plan = {}
            _plan(want.get("properties") or {}, have.get("properties") or {}, f"{path}{name}.", inner, dropped)
            plan[name] = inner
        elif old is not None and (old == kind or (old in ("keyword", "text") and kind in _SINGLE_VALUES)
                                  or (old == "double" and kind == "long")):
            plan[name] = True
        else:
            dropped.append(path + name)


def hold(value: Any, plan: Plan) -> Any:
    """A document (or an object in it) cut down to what ``plan`` keeps."""
    if isinstance(value, list):
        return [hold(item, plan) for item in value]
    if not isinstance(value, Mapping):
        return value
    kept = {}
    for name, item in value.items():
        rule = plan.get(name)
        if rule is True:
            kept[name] = item
        elif isinstance(rule, dict):
            kept[name] = hold(item, rule)
    return kept


class TargetMappings:
    """What the store knows of its targets' mappings: learnt once per target, when a write to it is refused.

    A target whose mapping is the model's costs nothing: its writes go out as
    they are. The first refused write to a target (``Rejected``) reads the
    target's mapping; if the mapping cannot hold some of the model's fields,
    that target's writes leave them out from then on (a warning names them
    and the rebuild), and the refused writes go again.
    """

    def __init__(self, client: Any, calls: Any, names: Any, aggregates: Mapping[str, Any]) -> None:
        self._client = client
        self._calls = calls
        self._names = names
        self._aggregates = aggregates
        self._plans: dict[str, Any] = {}  # target: its plan, or None when it holds every field
        self._first_layout: set[str] = set()

    def hold(self, write: Any) -> Any:
        """The write as the target can hold it."""
        plan = self._plans.get(write.key.target)
        if plan is None or write.body is None:
            return write
        return attrs.evolve(write, body=hold(write.body, plan))

    def first_layout(self, target: str) -> bool:
        return target in self._first_layout

    def learn(self, targets: Iterable[str]) -> set[str]:
        """Read the mappings of targets not known yet; those that turn out to hold less than the model."""
        held = set()
        for target in sorted(set(targets) - set(self._plans)):  # rare: once per target and process
            mappings = self._one("write", self._client.indices.get_mapping, target).get("mappings") or {}
            aggregate = self._aggregates.get(((mappings.get("_meta") or {}).get(META) or {}).get("aggregate"))
            self._plans[target] = None
            meta = ((mappings.get("properties") or {}).get(META) or {}).get("properties") or {}
            if mappings and "fold_state" not in meta:  # the first layout (``layout.FIRST_LAYOUT_META``)
                self._first_layout.add(target)
                held.add(target)
                log.warning("target made by an earlier release: the engine's object stays in its documents' _source "
                            "until `dynafold replay --rebuild` makes a target in the current layout",
                            extra={"target": target})
            if aggregate is None:
                continue
            wanted = index_body(aggregate, target)["mappings"]["properties"]
            plan, dropped = holdable({f.name: wanted[f.name] for f in aggregate.fields}, mappings.get("properties") or {})
            if dropped:
                self._plans[target] = plan
                held.add(target)
                log.warning("target made from an older model: its writes leave out the fields its mapping cannot hold "
                            "until `dynafold replay --rebuild` makes a target from this model",
                            extra={"target": target, "aggregate": aggregate.name, "fields": ", ".join(dropped)})
        return held

    def differences(self, aggregate: Any, target: str) -> list[str]:
        found = self._one("differences", self._client.indices.get, target)
        if not found:
            raise UnknownTarget(f"no target {target!r}")
        return differences(index_body(aggregate, target), found)

    def _one(self, operation: str, call: Any, target: str) -> Mapping[str, Any]:
        """The answer's one entry for the target's index, keyed by the index's own name (which may not be the
        name asked for, if the target is reached through an alias); empty if there is no such index."""
        response = self._calls(operation, call, index=self._names.index(target), ignore=404)
        entries = [entry for name, entry in response.items() if isinstance(entry, Mapping) and name not in
                   ("error", "status")]
        return entries[0] if len(entries) == 1 else {}
