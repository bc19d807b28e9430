"""How a user's search query is read, the same way on every store.

A query is a list of words; a document matches when every word occurs in
one of the aggregate's text fields (case-insensitive). Stores with a real
full-text engine (FTS5, OpenSearch) rank the matches; the others sort by id.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from dynafold.domain.aggregate import Aggregate, FieldKind
from dynafold.projector.errors import ConfigurationError

_WORD = re.compile(r"\w+", re.UNICODE)

MAX_SEARCH_WORDS = 64
"""The most words one search may hold, on every store. OpenSearch refuses a query of more than
``indices.query.bool.max_clause_count`` clauses (1,024 by default), and each word costs one clause per
text field: 64 words stay under it for aggregates of up to 16 text fields. Past it the store would answer
400 (``too_many_clauses``), which no retry cures; the limit refuses such a search before any store is asked."""


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def check_query(text: str) -> None:
    """Refuse a search of more than ``MAX_SEARCH_WORDS`` words (a ``ConfigurationError``: exit 2)."""
    count = len(words(text))
    if count > MAX_SEARCH_WORDS:
        raise ConfigurationError(f"a search takes at most {MAX_SEARCH_WORDS} words, not {count}: "
                                 "search for the most telling ones")


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
