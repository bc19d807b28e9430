"""Index settings and mappings of the OpenSearch store, generated from the aggregate.

What people and OpenSearch Dashboards query directly, field kind by kind
(``dynamic: strict``: an undeclared field is a rejected document, never a
silently widened mapping):

- TEXT → ``text`` analysed by the index's ``default`` analyzer (``ANALYSIS``:
  the words and folding of the search rule, ``search_terms``), with a
  ``keyword`` subfield for terms, sorting and Dashboards (longer than 256
  characters a value is left out of it, as with OpenSearch's dynamic
  default, instead of failing the document);
- KEYWORD, KEYWORDS → ``keyword`` (also takes numbers: lesson ``level`` is either);
- DATETIME → ``date`` (``DATE``: ISO-8601 with or without time, fraction and
  zone, read as UTC without one; ``yyyy-MM-dd HH:mm:ss``; epoch milliseconds),
  ``ignore_malformed``, so a bad value never fails the document: it stays
  in ``_source`` and ``_ignored`` names the field;
- BOOLEAN → ``boolean``; INTEGER → ``long``;
- DECIMAL → ``double``: ``_source`` keeps the value (a number, or the string
  of its exact digits when a double would round it: ``layout``), while range
  queries, sorting and aggregations see doubles (sums are exact to the cent
  for money; 0.1 + 0.2 gives 0.30000000000000004);
- GEO_POINT → ``geo_point`` (the engine refuses points out of range before
  OpenSearch would wrap them; ``ignore_malformed`` as for dates);
- OBJECTS → ``nested`` (per-child queries stay exact) with
  ``include_in_root``, so a plain ``terms`` or ``date_histogram`` on
  ``orders.status`` returns buckets, and every leaf copied (``copy_to``) into
  a plain sibling object ``orders_flat``: Dashboards leaves every field under
  a nested path out of its aggregation lists, and offers ``orders_flat.*``.
  Plain aggregations on either count parent documents, not children;
- OBJECT → ``object``.

Settings: the ``default`` analyzer, ``index.query.default_field`` naming the
TEXT fields (a bare query string on the alias searches exactly those), and
``index.hidden``: the physical targets (tombstones, a rebuild's new target)
never match a wildcard, so an index pattern ``customer*`` reaches the
documents through the filtered alias only.

Every document also carries ``dynafold: {id, visible, fold_state,
numbers}``, the engine's own (``layout``): left out of the stored
``_source`` (``_source.excludes``), so no reader's hit shows it; ``id`` and
``visible`` indexed, ``visible``, ``fold_state`` and ``numbers`` stored
fields, the last two never indexed.
"""

from __future__ import annotations

from typing import Any

from dynafold.domain.aggregate import Aggregate, Field, FieldKind
from dynafold.domain.declarations import FLAT_SUFFIX
from dynafold.projector.stores.search_terms import MAX_WORD_LENGTH, text_fields

META = "dynafold"
VISIBLE = {"term": {f"{META}.visible": True}}
KEYWORD_IGNORE_ABOVE = 256
MAX_ID_BYTES = 512
NO_TEXT_FIELD = f"{META}.no_text_fields"  # never present: full-text queries on an aggregate without text match nothing
DATE_FORMAT = "strict_date_optional_time||yyyy-MM-dd HH:mm:ss||epoch_millis"
DATE = {"type": "date", "format": DATE_FORMAT, "ignore_malformed": True}
# Letters SQLite's tokenizer folds to another letter than lowercase+asciifolding would: fold them as SQLite does
# (Greek final sigma and symbol variants, the micro sign, ...), so a word finds the same documents on both stores.
SQLITE_FOLDS = {"µ": "μ", "ς": "σ", "ϐ": "β", "ϑ": "θ", "ϕ": "φ", "ϖ": "π", "ϰ": "κ", "ϱ": "ρ", "ϵ": "ε",
                "\u1fbe": "ι", "\u0345": "ι", "ẛ": "s", "Ǧ": "g", "ǧ": "g"}
ANALYSIS = {
    "char_filter": {
        "dynafold_letters": {"type": "mapping", "mappings": [f"{a} => {b}" for a, b in SQLITE_FOLDS.items()]},
        # decomposed accents go, as SQLite's remove_diacritics 2 removes them
        "dynafold_marks": {"type": "pattern_replace", "pattern": "[\\x{0300}-\\x{036F}]", "replacement": ""},
    },
    "tokenizer": {  # words are runs of letters, numbers, marks and private-use characters, as in SQLite's FTS5 table
        "dynafold_words": {"type": "pattern", "pattern": "[^\\p{L}\\p{N}\\p{M}\\p{Co}]+"},
    },
    "filter": {  # a 40 kB "word" (a base64 blob) would otherwise fail its whole document as an immense term
        "dynafold_truncate": {"type": "truncate", "length": MAX_WORD_LENGTH},
    },
    "analyzer": {
        "default": {"type": "custom", "char_filter": ["dynafold_letters", "dynafold_marks"],
                    "tokenizer": "dynafold_words", "filter": ["lowercase", "asciifolding", "dynafold_truncate"]},
    },
}

CONTROL_ADDITIONS = {"properties": {"kept": {"type": "keyword"}, "lease": {"type": "object", "enabled": False}}}
"""The control fields added after the first release: a control index made before them gets them (``put_mapping``)."""
CONTROL_BODY = {
    "mappings": {"dynamic": "strict", "properties": {"read": {"type": "keyword"}, "write": {"type": "keyword"},
                                                     **CONTROL_ADDITIONS["properties"]}}
}


def field_mapping(field: Field, flat: str = "") -> dict[str, Any]:
    """The mapping of one field; ``flat`` (inside a nested collection): the path its values are copied to."""
    mapping = _own_mapping(field, flat)
    if flat and field.kind not in (FieldKind.OBJECTS, FieldKind.OBJECT):
        mapping["copy_to"] = flat
    return mapping


def _own_mapping(field: Field, flat: str) -> dict[str, Any]:
    kind = field.kind
    if kind is FieldKind.TEXT:
        return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": KEYWORD_IGNORE_ABOVE}}}
    if kind in (FieldKind.KEYWORD, FieldKind.KEYWORDS):
        return {"type": "keyword"}
    if kind is FieldKind.DATETIME:
        return dict(DATE)
    if kind is FieldKind.BOOLEAN:
        return {"type": "boolean"}
    if kind is FieldKind.INTEGER:
        return {"type": "long"}
    if kind is FieldKind.DECIMAL:
        return {"type": "double"}
    if kind is FieldKind.GEO_POINT:
        return {"type": "geo_point", "ignore_malformed": True}
    if kind is FieldKind.OBJECTS:
        return {"type": "nested", "include_in_root": True, "properties": _properties(field.fields, flat)}
    if kind is FieldKind.OBJECT:
        return {"type": "object", "properties": _properties(field.fields, flat)}
    raise ValueError(f"no OpenSearch mapping for field kind {kind!r}")


def _properties(fields: tuple[Field, ...], flat: str) -> dict[str, Any]:
    """Mappings of sibling fields; a nested collection not inside another gets its plain ``<name>_flat`` copy."""
    properties: dict[str, Any] = {}
    for field in fields:
        copy = f"{flat}.{field.name}" if flat else ""
        if field.kind is FieldKind.OBJECTS and not flat:
            copy = field.name + FLAT_SUFFIX
            properties[copy] = _flat_mapping(field)
        properties[field.name] = field_mapping(field, copy)
    return properties


def _flat_mapping(field: Field) -> dict[str, Any]:
    """The plain object a nested collection's leaves are copied into (nothing nested inside it)."""
    if field.kind in (FieldKind.OBJECTS, FieldKind.OBJECT):
        return {"type": "object", "properties": {sub.name: _flat_mapping(sub) for sub in field.fields}}
    return _own_mapping(field, "")


_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False, "store": True}


def index_body(aggregate: Aggregate, target: str) -> dict[str, Any]:
    """Settings and mappings of a target index for ``aggregate``."""
    properties = _properties(aggregate.fields, "")
    properties[META] = {
        "properties": {
            "id": {"type": "keyword"},
            "visible": {"type": "boolean", "store": True},
            "fold_state": _STORED_ONLY,
            "numbers": _STORED_ONLY,
        }
    }
    return {
        "settings": {
            "index.hidden": True,
            "index.query.default_field": text_fields(aggregate) or [NO_TEXT_FIELD],
            "analysis": ANALYSIS,
        },
        "mappings": {
            "dynamic": "strict",
            "_meta": {META: {"aggregate": aggregate.name, "version": aggregate.version, "target": target}},
            "_source": {"excludes": [META]},
            "properties": properties,
        },
    }


def valid_id(doc_id: str) -> bool:
    """Whether OpenSearch can hold a document with this id (a longer one fails the whole bulk request)."""
    return 0 < len(doc_id.encode("utf-8")) <= MAX_ID_BYTES
