"""The body of dynafold's ``search`` on OpenSearch: the search rule (``search_terms``) as a query.

One ``must`` clause per word, so every word has to match, in any of the
text fields (the AND runs across fields: ``adele hello`` finds the title
"Hello" by the artist "Adele"). Each clause matches the word:

- exactly (after the analyzer's folding), as a constant 1000: documents
  sort by how many words they match exactly, since a word's BM25 score on
  these fields stays far below it;
- within the word's typo budget, an integer (``search_terms.edits``), so
  SQLite and OpenSearch allow the same edits; this clause's BM25 orders
  documents within a tier;
- for the last word, as the start of a word (``bool_prefix``).

The text goes to ``match`` queries, which analyze it: quotes, ``*``, ``-``
and ``~`` are separators, never syntax. Ties go to the document id.
"""

from __future__ import annotations

from typing import Any, Optional

from dynafold.projector.stores.opensearch.mappings import META, VISIBLE
from dynafold.projector.stores.search_terms import MAX_EXPANSIONS, edits

EXACT_BONUS = 1000


def _word(word: str, fields: Optional[list[str]], last: bool) -> dict[str, Any]:
    where = {"fields": fields} if fields else {}  # none: the index's default_field (an aggregate this store never prepared)
    should: list[dict[str, Any]] = [
        {"constant_score": {"filter": {"multi_match": {"query": word, **where}}, "boost": EXACT_BONUS}},
        {"multi_match": {"query": word, **where, "fuzziness": edits(word), "prefix_length": 0,
                         "max_expansions": MAX_EXPANSIONS}},
    ]
    if last:
        should.append({"multi_match": {"query": word, **where, "type": "bool_prefix"}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def search_body(words: list[str], fields: Optional[list[str]], limit: int) -> dict[str, Any]:
    """The ``_search`` body for the words of a query (``search_terms.query_words``)."""
    return {
        "size": limit,
        "track_total_hits": False,
        "query": {"bool": {"must": [_word(w, fields, i == len(words) - 1) for i, w in enumerate(words)],
                           "filter": VISIBLE}},
        "sort": ["_score", {f"{META}.id": "asc"}],
    }
