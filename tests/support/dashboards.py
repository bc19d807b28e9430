"""What OpenSearch Dashboards does with an index pattern and its visualizations, for the tests to replay.

There is no Dashboards here, so its behaviour is written down from its
source (opensearch-project/OpenSearch-Dashboards) and the tests replay it on
the real node:

- ``fields_from_field_caps``: how it builds an index pattern's fields from
  ``_field_caps`` (``field_capabilities/field_caps_response.ts``: objects and
  nested entries dropped, ``subType.multi`` for a subfield of a non-object,
  ``subType.nested`` for everything under a nested path; underscore fields
  only from the ``metaFields`` setting, ``field_capabilities.ts``);
- ``request``: the ``_search`` body a visualization sends (``SearchSource.flatten``
  in ``search_source.ts``: size 0, ``stored_fields: ["*"]``, the date fields as
  ``docvalue_fields``, the source filters as ``_source.excludes``, the time
  filter as a ``range`` in ``strict_date_optional_time``; the aggregations as
  ``buckets/date_histogram.ts``, ``terms.ts`` and ``geo_hash.ts`` write them,
  the auto interval from ``calc_auto_interval.ts`` with 50 bars).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

META_FIELDS = ("_id", "_index", "_score", "_source", "_type")
_TYPES = {"text": "string", "keyword": "string", "long": "number", "double": "number", "date": "date",
          "boolean": "boolean", "geo_point": "geo_point", "_id": "string", "_index": "string", "_source": "_source"}
AUTO_INTERVAL = {timedelta(days=30): ("fixed_interval", "12h"), timedelta(days=365): ("calendar_interval", "1w"),
                 timedelta(days=7): ("fixed_interval", "3h"), timedelta(hours=24): ("fixed_interval", "30m")}
WORLD = {"top_left": {"lat": 90, "lon": -180}, "bottom_right": {"lat": -90, "lon": 180}}


def fields_from_field_caps(caps: Mapping[str, Any]) -> list[dict[str, Any]]:
    types = {name: next(iter(by_type)) for name, by_type in caps.items()}
    found = []
    for name in sorted(caps):
        kind = types[name]
        if kind in ("object", "nested") or (name.startswith("_") and name not in META_FIELDS):
            continue
        cap = caps[name][kind]
        aggregatable = bool(cap["aggregatable"])
        field = {"count": 0, "name": name, "type": _TYPES.get(kind, "unknown"), "esTypes": [kind], "scripted": False,
                 "searchable": bool(cap["searchable"]), "aggregatable": aggregatable,
                 "readFromDocValues": aggregatable and kind not in ("text", "geo_shape") and not kind.startswith("_")}
        parents = [".".join(name.split(".")[:i]) for i in range(name.count("."), 0, -1)]
        sub: dict[str, Any] = {}
        if parents and types.get(parents[0]) not in (None, "object", "nested"):
            sub["multi"] = {"parent": parents[0]}
        nested = next((p for p in parents if types.get(p) == "nested"), None)
        if nested:
            sub["nested"] = {"path": nested}
        if sub:
            field["subType"] = sub
        found.append(field)
    present = {f["name"] for f in found}
    for meta in META_FIELDS:
        if meta not in present:
            found.append({"count": 0, "name": meta, "type": "number" if meta == "_score" else "string",
                          "scripted": False, "searchable": False, "aggregatable": False, "readFromDocValues": False})
    return sorted(found, key=lambda f: f["name"])


def _aggregation(agg: Mapping[str, Any], time_range: timedelta) -> dict[str, Any]:
    params = agg["params"]
    if agg["type"] == "date_histogram":
        key, interval = AUTO_INTERVAL[time_range]
        return {agg["id"]: {"date_histogram": {"field": params["field"], key: interval, "time_zone": "UTC",
                                                "min_doc_count": params["min_doc_count"]}}}
    if agg["type"] == "terms":
        return {agg["id"]: {"terms": {"field": params["field"], "order": {"_count": params["order"]},
                                      "size": params["size"]}}}
    if agg["type"] == "geohash_grid":
        grid = {agg["id"]: {"geohash_grid": {"field": params["field"], "precision": params["precision"]},
                            "aggs": {"3": {"geo_centroid": {"field": params["field"]}}}}}
        return {"filter_agg": {"filter": {"geo_bounding_box": {"ignore_unmapped": True, params["field"]: WORLD}},
                               "aggs": grid}}
    raise AssertionError(f"no request written down for a {agg['type']} aggregation")


def request(visualization: Mapping[str, Any], pattern: Mapping[str, Any], now: datetime,
            time_range: timedelta = timedelta(days=30)) -> dict[str, Any]:
    """The body a visualization (a saved object) on an index pattern (its attributes) sends, at ``now``."""
    state = json.loads(visualization["attributes"]["visState"])
    fields = json.loads(pattern["fields"])
    aggs: dict[str, Any] = {}
    for agg in state["aggs"]:
        if agg["schema"] != "metric":  # a count metric is the buckets' doc_count
            aggs.update(_aggregation(agg, time_range))
    filters: list[dict[str, Any]] = [{"match_all": {}}]
    if pattern.get("timeFieldName"):
        iso = "%Y-%m-%dT%H:%M:%S.000Z"
        filters.append({"range": {pattern["timeFieldName"]: {
            "gte": (now - time_range).astimezone(timezone.utc).strftime(iso),
            "lte": now.astimezone(timezone.utc).strftime(iso), "format": "strict_date_optional_time"}}})
    return {
        "aggs": aggs, "size": 0, "stored_fields": ["*"], "script_fields": {},
        "docvalue_fields": [{"field": f["name"], "format": "date_time"} for f in fields if f["type"] == "date"],
        "_source": {"excludes": [f["value"] for f in json.loads(pattern["sourceFilters"])]},
        "query": {"bool": {"must": [], "filter": filters, "should": [], "must_not": []}},
    }


def discover(pattern: Mapping[str, Any], size: int = 500) -> dict[str, Any]:
    """The body Discover sends for the documents of an index pattern (newest first with a time field)."""
    fields = json.loads(pattern["fields"])
    body: dict[str, Any] = {
        "size": size, "stored_fields": ["*"], "script_fields": {},
        "docvalue_fields": [{"field": f["name"], "format": "date_time"} for f in fields if f["type"] == "date"],
        "_source": {"excludes": [f["value"] for f in json.loads(pattern["sourceFilters"])]},
        "query": {"bool": {"must": [], "filter": [{"match_all": {}}], "should": [], "must_not": []}},
    }
    if pattern.get("timeFieldName"):
        body["sort"] = [{pattern["timeFieldName"]: {"order": "desc", "unmapped_type": "boolean"}}]
    return body
