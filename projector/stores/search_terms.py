"""How a user's search query is read: one meaning on every store.

A query is read as words, and every word must match one of the aggregate's
text fields (AND across fields):

- **Words** are runs of letters, numbers, marks and private-use characters
  (Unicode categories L, N, M, Co); everything else separates them, so
  nothing a person types is query syntax. OpenSearch's tokenizer and
  SQLite's (``unicode61 … categories 'L* N* Co M*'``) split text at exactly
  those characters.
- **Folding**: a word is compared as OpenSearch's analyzer folds it
  (decomposed accents stripped, ``lowercase``, ``asciifolding``):
  ``Müller``, ``Mueller``'s neighbour ``muller``, ``Straße`` → ``strasse``.
  ``fold_table.json`` holds what the node makes of every word character
  where that differs from ``str.lower`` (measured on the node per character;
  a real-node test measures it again).
- **Typos**: a word may be this many edits away (Damerau, a transposition
  is one edit): none below five letters or when it holds a digit, one from
  five, two from nine. The budget is an integer both stores are given, so
  they cannot disagree on it.
- **As people type**, the last word also matches as the start of a word.
- **Ranking**: documents matching more words exactly (after folding) first,
  then the store's relevance, then id.

A query of more than ``MAX_WORDS`` words (fewer for an aggregate with many
text fields, so OpenSearch's 1024-clause limit is never met) is refused
before any store is asked (``QueryTooLong``, a usage error).
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping

from dynafold.domain.aggregate import Aggregate, FieldKind
from dynafold.projector.errors import ConfigurationError

MAX_WORDS = 32
MAX_CLAUSES = 1024  # OpenSearch's indices.query.bool.max_clause_count
CLAUSES_PER_WORD_AND_FIELD = 3  # an exact, a fuzzy and (last word) a prefix clause per field
MAX_EXPANSIONS = 50  # OpenSearch's fuzzy max_expansions: the nearest terms a word may stand for
MAX_WORD_LENGTH = 255  # the analyzer's truncate filter
_FOLDS: dict[str, str] = json.loads((Path(__file__).with_name("fold_table.json")).read_text(encoding="utf-8"))


class QueryTooLong(ConfigurationError):
    """A search query with more words than a search box ever needs (refused before any store is asked)."""


def _word_character(character: str) -> bool:
    category = unicodedata.category(character)
    return category[0] in "LNM" or category == "Co"

def words(text: str) -> list[str]:
    """The words of ``text`` as typed (``fold`` compares them); a run of stripped accents alone is no word."""
    found, current = [], []
    for character in text:
        if _word_character(character):
            current.append(character)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return [word for word in found if fold(word)]


def fold(word: str) -> str:
    """The word as OpenSearch's analyzer indexes it (and SQLite's vocabulary is compared)."""
    return "".join(_FOLDS.get(character, character.lower()) for character in word)[:MAX_WORD_LENGTH]


def edits(word: str) -> int:
    """The typo budget of a word: 0 below five characters or with a digit, 1 from five, 2 from nine."""
    folded = fold(word)
    if any(character.isdigit() for character in folded):
        return 0
    return 0 if len(folded) < 5 else 1 if len(folded) < 9 else 2


def word_limit(text_field_count: int) -> int:
    """How many words a query over that many text fields may have."""
    return min(MAX_WORDS, MAX_CLAUSES // (CLAUSES_PER_WORD_AND_FIELD * max(1, text_field_count)))


def query_words(text: str, text_field_count: int) -> list[str]:
    """The words of a query, or ``QueryTooLong`` when there are more than ``word_limit`` allows."""
    found = words(text)
    allowed = word_limit(text_field_count)
    if len(found) > allowed:
        raise QueryTooLong(f"search query has {len(found)} words; at most {allowed} are allowed")
    return found


def text_fields(aggregate: Aggregate) -> list[str]:
    return [f.name for f in aggregate.fields if f.kind is FieldKind.TEXT]


def distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a transposition is one edit, as in OpenSearch's fuzzy
    queries), or ``limit + 1`` as soon as it is sure to exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        best = i
        for j in range(1, len(b) + 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[len(b)], limit + 1)


def _bigrams(folded: str) -> set[str]:
    padded = "\x02" + folded + "\x03"
    return {padded[i:i + 2] for i in range(len(padded) - 1)}


class Vocabulary:
    """The terms a store has indexed, for the words a query may stand for.

    ``terms`` are the store's own index terms (SQLite's tokens, the memory
    store's folded words); each is compared by its ``fold``. A term within
    ``k`` edits shares at least ``|bigrams(word)| - 3k`` padded bigrams with
    the word (one edit destroys at most three), so only those candidates get
    their distance computed.
    """

    def __init__(self, terms: Iterable[str]) -> None:
        self._terms: list[tuple[str, str]] = []
        self._grams: dict[str, list[int]] = {}
        self._refolded: list[tuple[str, str]] = []  # terms whose fold is not the term itself
        for term in terms:
            folded = fold(term)
            if folded != term:
                self._refolded.append((folded, term))
            for gram in _bigrams(folded):
                self._grams.setdefault(gram, []).append(len(self._terms))
            self._terms.append((folded, term))

    def __len__(self) -> int:
        return len(self._terms)

    def near(self, word: str) -> list[tuple[int, str]]:
        """``(edits, term)`` of the terms within the word's typo budget, nearest first (then by term),
        at most ``MAX_EXPANSIONS``, as OpenSearch expands a fuzzy query."""
        folded, budget = fold(word), edits(word)
        grams = _bigrams(folded)
        counts = Counter(n for gram in grams for n in self._grams.get(gram, ()))
        need = len(grams) - 3 * budget
        candidates = (self._terms[n] for n, count in counts.items() if count >= need) if need > 0 else self._terms
        found = []
        for term_fold, term in candidates:
            if abs(len(term_fold) - len(folded)) <= budget:
                d = distance(folded, term_fold, budget)
                if d <= budget:
                    found.append((d, term))
        found.sort()
        return found[:MAX_EXPANSIONS]

    def starting_with(self, word: str, *, refolded_only: bool = False) -> list[str]:
        """The terms whose fold starts with the word's (the last word, as people type); ``refolded_only``:
        only those whose fold is not the term itself (a store's own prefix query finds the others)."""
        folded = fold(word)
        return [term for term_fold, term in (self._refolded if refolded_only else self._terms)
                if term_fold.startswith(folded)]


def document_words(body: Mapping[str, Any], fields: Iterable[str]) -> set[str]:
    """The words of a document's text fields, as written (a list of strings counts word by word)."""
    found: set[str] = set()
    for name in fields:
        value = body.get(name)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                found.update(words(text))
    return found


def rank(query: list[str], documents: Iterable[tuple[str, set[str]]]) -> list[str]:
    """The ids of the documents (``(id, document_words)``) every word of ``query`` matches, in the rule's
    order: more exact words first, then id (for a store without a relevance score: the memory store)."""
    documents = list(documents)
    vocabulary = Vocabulary(sorted(set().union(*(found for _, found in documents))) if documents else ())
    wanted = []
    for index, word in enumerate(query):
        terms = {term for _, term in vocabulary.near(word)}
        if index == len(query) - 1:
            terms.update(vocabulary.starting_with(word))
        wanted.append((fold(word), terms))
    hits = []
    for doc_id, found in documents:
        if all(terms & found for _, terms in wanted):
            folded = {fold(word) for word in found}
            hits.append((-sum(exact in folded for exact, _ in wanted), doc_id))
    return [doc_id for _, doc_id in sorted(hits)]
