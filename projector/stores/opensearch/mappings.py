"""Index settings and mappings of the OpenSearch store, generated from the aggregate.

``dynamic: strict``, so an undeclared field is a rejected document rather
than a silently widened mapping: KEYWORD and KEYWORDS → ``keyword`` (also
takes numbers: lesson ``level`` is either); TEXT → ``text`` with a ``raw``
keyword subfield for sorting (longer than 256 characters it is not indexed,
as with OpenSearch's own dynamic default, instead of failing the document);
BOOLEAN → ``boolean``; INTEGER → ``long``; DECIMAL → ``double`` for range
queries and sorting, while ``_source`` keeps the exact digits (read values
from the whole, unfiltered ``_source``: doc values, aggregations and source
filtering all give doubles); DATETIME → ``keyword``: ISO-8601 strings sort
correctly as keywords, and a malformed date can never make a whole document
fail; OBJECTS → ``nested``; OBJECT → ``object``. The index setting ``index.query.default_field``
names the TEXT fields, so a plain query string on the alias (ours or a
dashboard's) searches exactly those.

Every document also has ``dynafold: {id, visible, state}``: the fold state,
one JSON text under ``enabled: false``, is stored and never indexed.
"""

from __future__ import annotations

from typing import Any

from dynafold.domain.aggregate import Aggregate, Field, FieldKind
from dynafold.projector.stores.search_terms import text_fields

META = "dynafold"
VISIBLE = {"term": {f"{META}.visible": True}}
RAW_IGNORE_ABOVE = 256
MAX_ID_BYTES = 512
NO_TEXT_FIELD = f"{META}.no_text_fields"  # never present: full-text queries on an aggregate without text match nothing

CONTROL_ADDITIONS = {"properties": {"kept": {"type": "keyword"}, "lease": {"type": "object", "enabled": False}}}
"""The control fields added after the first release: a control index made before them gets them (``put_mapping``)."""
CONTROL_BODY = {
    "mappings": {"dynamic": "strict", "properties": {"read": {"type": "keyword"}, "write": {"type": "keyword"},
                                                     **CONTROL_ADDITIONS["properties"]}}
}


def field_mapping(field: Field) -> dict[str, Any]:
    kind = field.kind
    if kind is FieldKind.TEXT:
        return {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": RAW_IGNORE_ABOVE}}}
    if kind in (FieldKind.KEYWORD, FieldKind.KEYWORDS, FieldKind.DATETIME):
        return {"type": "keyword"}
    if kind is FieldKind.BOOLEAN:
        return {"type": "boolean"}
    if kind is FieldKind.INTEGER:
        return {"type": "long"}
    if kind is FieldKind.DECIMAL:
        return {"type": "double"}
    if kind is FieldKind.OBJECTS:
        return {"type": "nested", "properties": {sub.name: field_mapping(sub) for sub in field.fields}}
    if kind is FieldKind.OBJECT:
        return {"type": "object", "properties": {sub.name: field_mapping(sub) for sub in field.fields}}
    raise ValueError(f"no OpenSearch mapping for field kind {kind!r}")


def index_body(aggregate: Aggregate, target: str) -> dict[str, Any]:
    """Settings and mappings of a target index for ``aggregate``."""
    properties = {f.name: field_mapping(f) for f in aggregate.fields}
    properties[META] = {
        "properties": {
            "id": {"type": "keyword"},
            "visible": {"type": "boolean"},
            "state": {"type": "object", "enabled": False},
        }
    }
    return {
        "settings": {"index.query.default_field": text_fields(aggregate) or [NO_TEXT_FIELD]},
        "mappings": {
            "dynamic": "strict",
            "_meta": {META: {"aggregate": aggregate.name, "version": aggregate.version, "target": target}},
            "properties": properties,
        },
    }


def valid_id(doc_id: str) -> bool:
    """Whether OpenSearch can hold a document with this id (a longer one fails the whole bulk request)."""
    return 0 < len(doc_id.encode("utf-8")) <= MAX_ID_BYTES
