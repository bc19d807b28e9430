"""OpenSearch Dashboards saved objects for a model: ``dynafold dashboards export``.

Per aggregate, in the NDJSON format Dashboards' saved-objects import reads
(one object a line, referenced objects first, then the export summary):

- an index pattern on the aggregate's alias (the documents readers see,
  never a tombstone), with the aggregate's ``time_field``, its fields as
  Dashboards lists them from ``_field_caps`` (built from the mapping the
  store creates, ``mappings.index_body``; the engine's ``dynafold`` object
  left out), number formats for decimals (money shows its cents), a date
  format for dates, and a source filter that keeps the engine's bookkeeping
  out of Discover;
- starter visualizations: the count over time (with a time field), the top
  values of each keyword field (the document's own and its collections'
  plain copies, ids left out), a coordinate map of each location;
- one dashboard with them all.

Ids are stable (uuid5 of the aggregate and the object), so exporting again
and importing with overwrite replaces the same objects. The migration
versions are those Dashboards 2.x and 3.x export (index-pattern 7.6.0,
visualization 7.10.0, dashboard 7.9.3), so import migrates nothing.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any, Iterator, Mapping

from dynafold.domain.aggregate import Aggregate
from dynafold.domain.declarations import FLAT_SUFFIX
from dynafold.domain.model import Model
from dynafold.projector.stores.opensearch.mappings import META, index_body

META_FIELDS = ("_id", "_index", "_score", "_source", "_type")  # Dashboards' default metaFields setting
NAMESPACE = uuid.UUID("6f1c0d4e-8d0b-4c8f-9a59-5a0d2f6b1e26")
MIGRATION = {"index-pattern": "7.6.0", "visualization": "7.10.0", "dashboard": "7.9.3"}
PANEL_VERSION = "2.11.0"
MONEY = {"id": "number", "params": {"pattern": "0,0.00[0000]"}}  # cents always shown, further digits when present
DATE = {"id": "date", "params": {"pattern": "YYYY-MM-DD HH:mm:ss"}}
SOURCE_FILTERS = [{"value": META}, {"value": f"{META}.*"}]
TOP_VALUES = 5
_TYPES = {"text": "string", "keyword": "string", "long": "number", "double": "number", "date": "date",
          "boolean": "boolean", "geo_point": "geo_point"}
_INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
_json = functools.partial(json.dumps, separators=(",", ":"), ensure_ascii=False)


def object_id(aggregate: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{aggregate}:{name}"))


def _leaves(properties: Mapping[str, Any], path: str = "", nested: str = "") -> Iterator[tuple[str, dict, str]]:
    """(name, mapping, nested path) of every field ``_field_caps`` reports, objects left out."""
    for name, mapping in properties.items():
        full = path + name
        if "properties" in mapping:
            inner = full if mapping.get("type") == "nested" else nested
            yield from _leaves(mapping["properties"], full + ".", inner)
            continue
        yield full, mapping, nested
        for sub, sub_mapping in (mapping.get("fields") or {}).items():
            yield f"{full}.{sub}", {**sub_mapping, "parent": full}, nested


def index_pattern_fields(aggregate: Aggregate) -> list[dict[str, Any]]:
    """The index pattern's fields, as Dashboards computes them from ``_field_caps`` on the alias."""
    properties = {name: mapping for name, mapping in index_body(aggregate, "")["mappings"]["properties"].items()
                  if name != META}
    fields = []
    for name, mapping, nested in _leaves(properties):
        kind = mapping["type"]
        aggregatable = kind != "text"
        field = {"count": 0, "name": name, "type": _TYPES[kind], "esTypes": [kind], "scripted": False,
                 "searchable": True, "aggregatable": aggregatable, "readFromDocValues": aggregatable}
        sub = {}
        if "parent" in mapping:
            sub["multi"] = {"parent": mapping["parent"]}
        if nested:
            sub["nested"] = {"path": nested}
        if sub:
            field["subType"] = sub
        fields.append(field)
    fields += [
        {"count": 0, "name": "_id", "type": "string", "esTypes": ["_id"], "scripted": False, "searchable": True,
         "aggregatable": True, "readFromDocValues": False},
        {"count": 0, "name": "_index", "type": "string", "esTypes": ["_index"], "scripted": False, "searchable": True,
         "aggregatable": True, "readFromDocValues": False},
        {"count": 0, "name": "_score", "type": "number", "scripted": False, "searchable": False, "aggregatable": False,
         "readFromDocValues": False},
        {"count": 0, "name": "_source", "type": "_source", "esTypes": ["_source"], "scripted": False,
         "searchable": False, "aggregatable": False, "readFromDocValues": False},
        {"count": 0, "name": "_type", "type": "string", "scripted": False, "searchable": False, "aggregatable": False,
         "readFromDocValues": False},
    ]
    return sorted(fields, key=lambda f: f["name"])


def _keys(aggregate: Aggregate) -> set[str]:
    """Fields that are ids: the root's key, and each collection's key in its plain copy."""
    keys = set(aggregate.roles[0].source.key_attributes)
    for role in aggregate.roles[1:]:
        keys.update(f"{role.name}{FLAT_SUFFIX}.{name}" for name in role.source.key_attributes)
    return keys


def _search_source(with_index: bool = True) -> dict[str, str]:
    source: dict[str, Any] = {"query": {"query": "", "language": "kuery"}, "filter": []}
    if with_index:
        source["indexRefName"] = _INDEX_REF
    return {"searchSourceJSON": _json(source)}


def _visualization(aggregate: str, name: str, title: str, kind: str, aggs: list, params: dict,
                   pattern: str) -> dict[str, Any]:
    title = f"[{aggregate}] {title}"
    return {
        "attributes": {"description": "", "kibanaSavedObjectMeta": _search_source(), "title": title,
                       "uiStateJSON": "{}", "version": 1,
                       "visState": _json({"title": title, "type": kind, "aggs": aggs, "params": params})},
        "id": object_id(aggregate, name), "migrationVersion": {"visualization": MIGRATION["visualization"]},
        "references": [{"id": pattern, "name": _INDEX_REF, "type": "index-pattern"}], "type": "visualization",
    }


_COUNT = {"id": "1", "enabled": True, "type": "count", "params": {}, "schema": "metric"}


def _over_time(aggregate: Aggregate, pattern: str) -> dict[str, Any]:
    histogram = {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment",
                 "params": {"field": aggregate.time_field, "useNormalizedOpenSearchInterval": True,
                            "scaleMetricValues": False, "interval": "auto", "drop_partials": False,
                            "min_doc_count": 1, "extended_bounds": {}}}
    params = {"type": "histogram", "addTooltip": True, "addLegend": True, "legendPosition": "right"}
    return _visualization(aggregate.name, "count-over-time", f"Count over {aggregate.time_field}", "histogram",
                          [_COUNT, histogram], params, pattern)


def _top_values(aggregate: Aggregate, field: str, pattern: str) -> dict[str, Any]:
    terms = {"id": "2", "enabled": True, "type": "terms", "schema": "segment",
             "params": {"field": field, "size": TOP_VALUES, "order": "desc", "orderBy": "1", "otherBucket": False,
                        "otherBucketLabel": "Other", "missingBucket": False, "missingBucketLabel": "Missing"}}
    params = {"type": "pie", "addTooltip": True, "addLegend": True, "legendPosition": "right", "isDonut": True}
    return _visualization(aggregate.name, f"top:{field}", f"Top {field}", "pie", [_COUNT, terms], params, pattern)


def _map(aggregate: Aggregate, field: str, pattern: str) -> dict[str, Any]:
    grid = {"id": "2", "enabled": True, "type": "geohash_grid", "schema": "segment",
            "params": {"field": field, "autoPrecision": True, "precision": 2, "useGeocentroid": True,
                       "isFilteredByCollar": True, "mapZoom": 2, "mapCenter": [0, 0]}}
    params = {"colorSchema": "Yellow to Red", "mapType": "Scaled Circle Markers", "isDesaturated": True,
              "addTooltip": True, "heatClusterSize": 1.5, "legendPosition": "bottomright", "mapZoom": 2,
              "mapCenter": [0, 0], "wms": {"enabled": False, "options": {"format": "image/png", "transparent": True}}}
    return _visualization(aggregate.name, f"map:{field}", f"Map of {field}", "tile_map", [_COUNT, grid], params,
                          pattern)


def aggregate_objects(aggregate: Aggregate, prefix: str = "") -> list[dict[str, Any]]:
    """The index pattern, the visualizations and the dashboard of one aggregate (referenced objects first)."""
    pattern = object_id(aggregate.name, "index-pattern")
    fields = index_pattern_fields(aggregate)
    formats = {f["name"]: MONEY if f["esTypes"] == ["double"] else DATE
               for f in fields if f.get("esTypes") in (["double"], ["date"])}
    attributes = {"fieldFormatMap": _json(formats), "fields": _json(fields), "sourceFilters": _json(SOURCE_FILTERS),
                  "title": prefix + aggregate.name}
    if aggregate.time_field:
        attributes["timeFieldName"] = aggregate.time_field
    index_pattern = {"attributes": attributes, "id": pattern, "references": [], "type": "index-pattern",
                     "migrationVersion": {"index-pattern": MIGRATION["index-pattern"]}}
    keys = _keys(aggregate)
    plain = [f for f in fields if "nested" not in f.get("subType", {}) and not f["name"].startswith("_")]
    visualizations = [_over_time(aggregate, pattern)] if aggregate.time_field else []
    visualizations += [_top_values(aggregate, f["name"], pattern) for f in plain
                       if f["esTypes"] == ["keyword"] and "multi" not in f.get("subType", {}) and f["name"] not in keys]
    visualizations += [_map(aggregate, f["name"], pattern) for f in plain if f["type"] == "geo_point"]
    return [index_pattern, *visualizations, _dashboard(aggregate, visualizations)]


def _dashboard(aggregate: Aggregate, visualizations: list[dict[str, Any]]) -> dict[str, Any]:
    panels = []
    for n, _ in enumerate(visualizations):
        panel = object_id(aggregate.name, f"panel:{n}")
        panels.append({"version": PANEL_VERSION, "gridData": {"x": 24 * (n % 2), "y": 15 * (n // 2), "w": 24, "h": 15,
                                                              "i": panel},
                       "panelIndex": panel, "embeddableConfig": {}, "panelRefName": f"panel_{n}"})
    return {
        "attributes": {"description": f"Starter dashboard of the {aggregate.name} documents (dynafold)", "hits": 0,
                       "kibanaSavedObjectMeta": _search_source(with_index=False),
                       "optionsJSON": _json({"useMargins": True, "hidePanelTitles": False}),
                       "panelsJSON": _json(panels), "timeRestore": False, "title": f"[{aggregate.name}] Overview",
                       "version": 1},
        "id": object_id(aggregate.name, "dashboard"), "migrationVersion": {"dashboard": MIGRATION["dashboard"]},
        "references": [{"id": v["id"], "name": f"panel_{n}", "type": "visualization"}
                       for n, v in enumerate(visualizations)],
        "type": "dashboard",
    }


def export(model: Model, prefix: str = "") -> str:
    """The NDJSON export of every aggregate of ``model``; ``prefix``: the store URL's index prefix."""
    objects = [o for name in sorted(model.aggregates) for o in aggregate_objects(model.aggregates[name], prefix)]
    lines = [_json(o) for o in objects]
    lines.append(_json({"exportedCount": len(objects), "missingRefCount": 0, "missingReferences": []}))
    return "\n".join(lines) + "\n"
