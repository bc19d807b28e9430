"""Cases on search: what people type finds what they mean, with one meaning on every store.

The rule is ``dynafold.projector.stores.search_terms``: words are runs of
letters, numbers and marks, folded as OpenSearch folds them (``muller``
finds "Müller"); a word of five letters or more may have one typo (two
from nine: ``Wonderwal`` finds "Wonderwall"); the last word also matches
as the start of a word (``hallel`` finds "Hallelujah"); documents matching
more words exactly come first. The table below is run on every store; a
store that cannot follow the rule says why in ``search_differs``.
"""

from __future__ import annotations

from typing import Mapping

import pytest

from dynafold.domain.state import AggregateState
from dynafold.projector.stores.base import DocKey, DocumentStore, DocumentWrite, Written
from dynafold.projector.stores.search_terms import MAX_WORDS, QueryTooLong
from dynafold.testing.store_contract.base import StoreContractBase

LESSONS = "lesson_v1"
SONGS = {  # id: (song title, artist), written as lessons of the sample model (three text fields)
    "hello": ("Hello", "Adele"),
    "hellooo": ("Hellooo", "Kids Choir"),
    "hallo": ("Hallo", "Die Band"),
    "hallelujah": ("Hallelujah (Live)", "Jeff Buckley"),
    "wonderwall": ("Wonderwall", "Oasis"),
    "muller": ("Müller", "Trio Fjord"),
    "mueller": ("Mueller", "Trio Fjord"),
    "strasse": ("Straße der Sehnsucht", "Ørjan Łukasz"),
    "japanese": ("東京タワー", "こんにちは"),
    "cyrillic": ("Привет мир", "Ёлка"),
    "hindi": ("हिन्दी गाना", "Kishore"),
    "numbers": ("Track 12345 (1999 Remaster)", "Nine Inch"),
    "xorg": ("x.org release notes", "O'Brien & AC/DC"),
    "cafe": ("Cafe\u0301 Noir", "naïve"),  # a decomposed é
    "quote": ('Say "Yes" - or *not*', "Punct"),
    "greek": ("ΟΔΟΣ µ", "Ελληνικός"),
    "lone": ("\u0301 Intro", "Nobody"),  # an accent on nothing: no word, and no failure
}
# query, every document it must find, and the one that must come first (None: any)
TABLE = [
    ("muller", {"muller", "mueller"}, "muller"),
    ("Müller", {"muller", "mueller"}, "muller"),
    ("Mueller", {"mueller", "muller"}, "mueller"),
    ("hallel", {"hallelujah"}, None),
    ("Hallelujah liv", {"hallelujah"}, None),
    ("Wonderwal", {"wonderwall"}, None),
    ("Wonderwll", {"wonderwall"}, None),
    ("wonderwll oasis", {"wonderwall"}, None),
    ("hello", {"hello", "hellooo", "hallo"}, "hello"),
    ("hallo", {"hallo", "hello"}, "hallo"),
    ("helo", set(), None),  # four letters: no typo allowed
    ("adele hello", {"hello"}, None),  # the words in different fields
    ("hello oasis", set(), None),
    ("strasse", {"strasse"}, None),
    ("Straße", {"strasse"}, None),
    ("strass", {"strasse"}, None),
    ("orjan lukasz", {"strasse"}, None),
    ("cafe noir", {"cafe"}, None),
    ("café", {"cafe"}, None),
    ("", set(), None),
    ("!!! ... ---", set(), None),
    ('"yes" -not *', {"quote"}, None),
    ("東京タワー", {"japanese"}, None),
    ("東京", {"japanese"}, None),  # the start of a run of CJK letters, as typed
    ("タワー", set(), None),
    ("привет мир", {"cyrillic"}, None),
    ("Ёлка", {"cyrillic"}, None),
    ("हिन्दी", {"hindi"}, None),
    ("12345", {"numbers"}, None),
    ("12346", set(), None),  # a word with a digit has no typo budget
    ("remaster 199", {"numbers"}, None),
    ("x.org", {"xorg"}, None),
    ("o'brien ac/dc", {"xorg"}, None),
    ("οδος μ", {"greek"}, None),  # final sigma and the micro sign fold as their letters
    ("intro", {"lone"}, None),
]


def write_songs(store: DocumentStore, songs: Mapping[str, tuple[str, str]] = SONGS) -> None:
    """One lesson document per song (written through the port on a prepared store), its id the song's."""
    writes = [DocumentWrite(DocKey(LESSONS, song), None, AggregateState(),
                            {"lesson_id": song, "title": "Lesson", "level": "1", "instrument": "guitar",
                             "song_id": song, "song_title": title, "song_artist": artist})
              for song, (title, artist) in songs.items()]
    outcomes = store.write(writes)
    assert all(isinstance(outcome, Written) for outcome in outcomes.values()), outcomes


class SearchCases(StoreContractBase):
    search_differs = ""  # a store that cannot follow the search rule says why here (its cases skip)

    def searchable(self) -> DocumentStore:
        if self.search_differs:
            pytest.skip(self.search_differs)
        store = self.prepared()
        write_songs(store)
        return store

    def test_search_finds_what_people_type(self):
        """Every row of ``TABLE``; the rows the store answers otherwise are listed together."""
        store = self.searchable()
        wrong = []
        for query, expected, first in TABLE:
            found = [d["lesson_id"] for d in store.search("lesson", query, limit=20)]
            if sorted(found) != sorted(expected) or (first is not None and found[:1] != [first]):
                wrong.append(f"{query!r}: found {found}, expected {sorted(expected)}"
                             + (f" with {first!r} first" if first else ""))
        assert wrong == [], "\n".join(wrong)

    def test_exact_matches_rank_first_and_the_limit_keeps_the_best(self):
        store = self.searchable()
        assert [d["lesson_id"] for d in store.search("lesson", "hello", limit=1)] == ["hello"]
        assert [d["lesson_id"] for d in store.search("lesson", "Trio mueller", limit=1)] == ["mueller"]

    def test_a_query_of_more_words_than_a_search_box_needs_is_refused(self):
        store = self.searchable()
        assert store.search("lesson", " ".join(["hello"] * MAX_WORDS))[0]["lesson_id"] == "hello"
        with pytest.raises(QueryTooLong, match=f"at most {MAX_WORDS}"):
            store.search("lesson", " ".join(["hello"] * (MAX_WORDS + 1)))
