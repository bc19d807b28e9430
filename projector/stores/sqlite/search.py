"""Search on SQLite: FTS5 made to follow the one search rule (``search_terms``).

The FTS5 table of a target splits words where the rule does (``TOKENIZE``:
letters, numbers, marks and private-use characters make words; decomposed
and composed accents are removed). What FTS5 cannot do alone is done with
the target's vocabulary (``fts5vocab``, loaded once per store revision):

- typos: each word stands for the index terms within its budget
  (``Vocabulary.near``), ORed into one ``MATCH``;
- the fold of letters FTS5 keeps (``ß``, ``æ``, ``ø``, ``ł``): terms are
  compared by ``fold``, so ``strasse`` finds the indexed ``straße`` exactly;
- the last word as a prefix: FTS5's own prefix query, plus the terms whose
  fold differs from the indexed form (``strass`` → ``straße``).

Documents are ordered by the number of words they match exactly, then
``bm25``, then id. Every term goes in as an FTS5 string, quotes doubled, so
no user character is FTS5 syntax.
"""

from __future__ import annotations

from dynafold.projector.stores.search_terms import Vocabulary

TOKENIZE = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"


def _string(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def match_expressions(query: list[str], vocabulary: Vocabulary) -> tuple[str, list[str]]:
    """The ``MATCH`` expression of the whole query, and per word the expression of its exact terms."""
    groups, exact = [], []
    for index, word in enumerate(query):
        near = vocabulary.near(word)
        same = [_string(word)] + [_string(term) for d, term in near if d == 0]
        alternatives = same + [_string(term) for d, term in near if d > 0]
        if index == len(query) - 1:
            alternatives.append(_string(word) + " *")
            alternatives += [_string(term) for term in vocabulary.starting_with(word, refolded_only=True)]
        groups.append("(" + " OR ".join(dict.fromkeys(alternatives)) + ")")
        exact.append("(" + " OR ".join(dict.fromkeys(same)) + ")")
    return " AND ".join(groups), exact


def select(fts: str, docs: str, words: int) -> str:
    """The query: ``:q`` the whole expression, ``:e0``… each word's exact terms, ``:limit``."""
    tiers = " + ".join(f"(d.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :e{i}))" for i in range(words))
    return (f"SELECT d.body FROM (SELECT rowid, bm25({fts}) AS score FROM {fts} WHERE {fts} MATCH :q) AS h "
            f"JOIN {docs} AS d ON d.rowid = h.rowid WHERE d.body IS NOT NULL "
            f"ORDER BY ({tiers}) DESC, h.score, d.id LIMIT :limit")
