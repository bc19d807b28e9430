"""How a user's search query is read, the same way on every store.

A query is a list of words; a document matches when every word occurs in
one of the aggregate's text fields (case-insensitive). Stores with a real
full-text engine (FTS5, OpenSearch) rank the matches; the others sort by id.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from dynafold.domain.aggregate import Aggregate, FieldKind

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def text_fields(aggregate: Aggregate) -> list[str]:
    return [f.name for f in aggregate.fields if f.kind is FieldKind.TEXT]


def matches(query: str, body: Mapping[str, Any], fields: Iterable[str]) -> bool:
    wanted = words(query)
    if not wanted:
        return False
    present = set()
    for name in fields:
        value = body.get(name)
        if isinstance(value, str):
            present.update(words(value))
    return all(w in present for w in wanted)
