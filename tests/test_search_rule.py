"""The search rule (``search_terms``) and the stores that follow it: one meaning, whatever people type.

- The rule's parts: the typo budget, the distance (checked against a plain
  Damerau-Levenshtein), the word limit.
- The fold the rule applies is the node's: ``fold_table.json`` is measured
  again on the real node, and for random text the rule's words, folded, are
  the tokens of the node's analyzer and of SQLite's FTS5 tokenizer.
- Random queries (words of a document with typos, the last one cut short)
  find the same documents on the memory store, SQLite and the real node.
"""

from __future__ import annotations

import random
import sqlite3
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynafold.projector.stores import open_store
from dynafold.projector.stores.search_terms import (
    MAX_WORDS,
    QueryTooLong,
    distance,
    edits,
    fold,
    query_words,
    word_limit,
    words,
)
from dynafold.projector.stores.sqlite.search import TOKENIZE
from dynafold.sample import MODEL
from dynafold.testing.store_contract.cases_search import SONGS, write_songs
from tests.support import fold_table

ALPHABET = ("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 .,'-_/*\"~()&:;!?@#"
            "äöüßÄÖÜéèêëçñøæłđœåÅÉÈÑØÆŁıİĳﬁ²³" "\u0301\u0308\u0327"  # combining accents
            "ЁёЖжПривет" "αβγΣσς" "हिन्दीगाना" "東京タワーこんにちは")
TEXT = st.text(ALPHABET, max_size=40)


def damerau(a: str, b: str) -> int:
    """Optimal string alignment distance, the textbook table (no cut-off)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


@given(st.text("abcde", max_size=9), st.text("abcde", max_size=9), st.integers(0, 3))
def test_the_distance_is_damerau_cut_off_past_the_budget(a, b, limit):
    assert distance(a, b, limit) == min(damerau(a, b), limit + 1)


@pytest.mark.parametrize("word, budget", [("helo", 0), ("hello", 1), ("Wonderwal", 2), ("wonderwa", 1),
                                          ("12345", 0), ("remaster1", 0), ("Straße", 1), ("Ōsaka", 1)])
def test_the_typo_budget_grows_with_the_word_and_a_digit_takes_it_away(word, budget):
    assert edits(word) == budget


def test_a_query_may_have_as_many_words_as_the_clause_limit_allows():
    assert word_limit(1) == word_limit(10) == MAX_WORDS and word_limit(11) == 31 and word_limit(400) == 0
    assert len(query_words(" ".join(["w"] * MAX_WORDS), 2)) == MAX_WORDS
    with pytest.raises(QueryTooLong, match="search query has 33 words; at most 32 are allowed"):
        query_words(" ".join(["w"] * 33), 2)
    with pytest.raises(QueryTooLong, match="at most 20 are allowed"):
        query_words(" ".join(["w"] * 21), 17)


@given(TEXT)
def test_words_are_runs_of_letters_numbers_and_marks_and_nothing_is_syntax(text):
    found = words(text)
    assert all(fold(w) and not any(c in w for c in " .,'-_/*\"~()&:;!?@#") for w in found)
    assert words(" ".join(found)) == found


@given(TEXT)
def test_sqlite_tokenizes_as_the_rule_folds(text):
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = \"{TOKENIZE}\")")
    db.execute("INSERT INTO t VALUES (?)", (text,))
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, row)")
    # a lone accent: FTS5 keeps a term (empty, or the mark itself), the rule no word
    terms = {fold(term) for (term,) in db.execute("SELECT term FROM v") if term} - {""}
    assert terms == {fold(w) for w in words(text)}


# on the real node


@pytest.fixture(scope="module")
def node(opensearch_node):
    from dynafold.projector.stores.opensearch.mappings import ANALYSIS

    store = open_store(opensearch_node.store_url)
    index = f"rule-{uuid.uuid4().hex[:8]}"
    store.client.indices.create(index=index, body={"settings": {"analysis": ANALYSIS}})
    yield store.client, index
    store.client.indices.delete(index=index)
    store.close()


def test_the_fold_table_is_what_the_node_makes_of_every_word_character(node):
    client, index = node
    measured = fold_table.measure(client, index + "-table")
    assert measured == {c: f for c, f in measured.items()} and fold_table.TABLE.exists()
    import json

    assert measured == json.loads(fold_table.TABLE.read_text(encoding="utf-8"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXT)
def test_the_rules_words_folded_are_the_node_analyzers_tokens(node, text):
    client, index = node
    tokens = client.indices.analyze(index=index, body={"analyzer": "default", "text": text})["tokens"]
    assert [t["token"] for t in tokens] == [fold(w) for w in words(text)]


# the same hits on every store


def corpus(size: int = 400, seed: int = 26) -> dict[str, tuple[str, str]]:
    """Songs: syllable words (some accented) that sit a few edits from each other, and the table's songs."""
    rng = random.Random(seed)
    syllables = ["ka", "ki", "ko", "ma", "mi", "mo", "ra", "ri", "ro", "sa", "so", "ta", "to", "na", "no", "lu", "le"]
    accented = {"a": "á", "o": "ö", "u": "ü", "e": "é"}

    def word() -> str:
        text = "".join(rng.choice(syllables) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.2:
            i = rng.randrange(len(text))
            text = text[:i] + accented.get(text[i], text[i]) + text[i + 1:]
        return text.capitalize() if rng.random() < 0.5 else text

    songs = {f"r{n:03d}": (" ".join(word() for _ in range(rng.randint(1, 4))), " ".join(word() for _ in range(2)))
             for n in range(size)}
    songs.update(SONGS)
    return songs


def fill(store, songs) -> None:
    store.prepare(list(MODEL.aggregates.values()))
    write_songs(store, songs)


def typed(rng: random.Random, songs) -> str:
    """Words of one song as someone types them: a typo or two in some, the last one cut short now and then."""
    title, artist = songs[rng.choice(sorted(songs))]
    chosen = rng.sample(words(f"{title} {artist}"), rng.randint(1, min(3, len(words(f"{title} {artist}")))))
    typed_words = []
    for w in chosen:
        for _ in range(rng.choice([0, 0, 1, 2])):
            i = rng.randrange(len(w))
            w = rng.choice([w[:i] + w[i + 1:], w[:i] + rng.choice("aeiou") + w[i:], w[:i] + "x" + w[i + 1:]]) or w
        typed_words.append(w)
    if rng.random() < 0.4 and len(typed_words[-1]) > 2:
        typed_words[-1] = typed_words[-1][:rng.randint(2, len(typed_words[-1]))]
    return " ".join(typed_words)


def hits(store, query: str) -> list[str]:
    return sorted(d["lesson_id"] for d in store.search("lesson", query, limit=10_000))


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    songs = corpus()
    memory, sqlite = open_store("memory://"), open_store(f"sqlite:///{tmp_path_factory.mktemp('rule')}/views.db")
    for store in (memory, sqlite):
        fill(store, songs)
    yield songs, memory, sqlite
    sqlite.close()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32))
def test_memory_and_sqlite_find_the_same_documents_for_what_people_type(stores, seed):
    songs, memory, sqlite = stores
    query = typed(random.Random(seed), songs)
    assert hits(memory, query) == hits(sqlite, query), query


def test_sqlite_and_the_node_find_the_same_documents_for_600_typed_queries(stores, opensearch_node_url):
    songs, memory, sqlite = stores
    node = open_store(opensearch_node_url)
    try:
        fill(node, songs)
        node.client.indices.refresh(index=node.names.index("lesson_v1"))
        rng = random.Random(600)
        queries = [typed(rng, songs) for _ in range(600)]
        differ = [(q, hits(node, q), hits(sqlite, q)) for q in queries if hits(node, q) != hits(sqlite, q)]
        assert differ == [], differ[:5]
        firsts = 0
        for query in queries[:200]:
            found = node.search("lesson", query, limit=1)
            if found:
                exact = {fold(w) for w in words(query)}
                best = max(len(exact & {fold(w) for w in words(f"{t} {a}")}) for t, a in
                           (songs[h] for h in hits(sqlite, query)))
                title, artist = songs[found[0]["lesson_id"]]
                assert len(exact & {fold(w) for w in words(f"{title} {artist}")}) == best, query
                firsts += 1
        assert firsts > 100
    finally:
        node.close()
