"""Which join slots a fold leaves to a read taken after the load (``dynafold.domain.fold.settle``).

A join read is stamped with its pointing record's time but saw the joined item later. The fold
names a slot for a fresh read exactly when versions alone could keep an older state: a joined
item's record beating a read stamped in the same instant, or a leaving pointer dropping an entry
newer than what then fills the slot. Anything else must cost no read.
"""

from __future__ import annotations

from dynafold.domain.events import DomainEvent, Gate, Slot
from dynafold.domain.fold import Unsettled, fold, freshen, settle
from dynafold.domain.source import SourceItem, SourceVersion
from dynafold.domain.state import AggregateState
from tests.support.states import state

T = 1_790_000_000_000_000
SECOND = 1_000_000
LESSON = SourceItem.of("lessons", {"lesson_id": "l1"})
SONG = SourceItem.of("songs", {"song_id": "s1"})
ROOT = Slot("$root", LESSON)
JOIN = Slot("song", SONG, LESSON)


def root(version: SourceVersion, song: str = "s1") -> DomainEvent:
    return DomainEvent("lesson", "l1", ROOT, version, {"lesson_id": "l1", "song_id": song})


def read(version: SourceVersion, title: str) -> DomainEvent:
    return DomainEvent("lesson", "l1", JOIN, version.via(), {"title": title}, gate=Gate(ROOT.key, version))


def leave(version: SourceVersion) -> DomainEvent:
    return DomainEvent("lesson", "l1", JOIN, version.via(), None, gate=Gate(ROOT.key, version), forget=True)


def fan_out(version: SourceVersion, title: str) -> DomainEvent:
    return DomainEvent("lesson", "l1", JOIN, version, {"title": title})


def test_a_songs_record_beating_a_read_of_the_same_instant_is_read_again():
    lesson = SourceVersion.streamed(T, 5)
    before = state((ROOT, lesson, {"lesson_id": "l1", "song_id": "s1"}), (JOIN, lesson.via(), {"title": "C"}))
    renamed = SourceVersion.streamed(T, 9)
    after, unsettled = settle(before, [fan_out(renamed, "B")])
    assert unsettled == (Unsettled(JOIN, renamed),) and after.entries[JOIN.key].data == {"title": "B"}


def test_a_read_losing_to_a_stored_record_of_its_instant_is_read_again():
    stray = SourceVersion.streamed(T, 9)
    lesson = SourceVersion.streamed(T, 5)
    before = state((ROOT, SourceVersion.streamed(T - SECOND, 4), {"lesson_id": "l1", "song_id": "s2"}),
                   (JOIN, stray, {"title": "B"}))
    _, unsettled = settle(before, [root(lesson), read(lesson, "C")])
    assert unsettled == (Unsettled(JOIN, stray),)


def test_a_leaving_pointer_that_drops_a_newer_entry_than_the_read_that_follows_is_read_again():
    first, away, back = (SourceVersion.streamed(T + n * SECOND, n + 1) for n in range(3))
    deleted = SourceVersion.streamed(T + 5 * SECOND, 50)
    before = state((ROOT, first, {"lesson_id": "l1", "song_id": "s1"}), (JOIN, deleted, None))
    after, unsettled = settle(before, [root(away, "s2"), leave(away), root(back), read(back, "Wonderwall")])
    assert unsettled == (Unsettled(JOIN, deleted),), "the settled slice is as new as the entry the pointer dropped"
    entry = freshen(after, [(unsettled[0], None)]).entries[JOIN.key]
    assert entry.data is None and entry.settled and entry.version == deleted


def test_folds_that_versions_settle_cost_no_read():
    lesson = SourceVersion.streamed(T, 5)
    before = state((ROOT, lesson, {"lesson_id": "l1", "song_id": "s1"}), (JOIN, lesson.via(), {"title": "C"}))
    assert settle(before, [fan_out(SourceVersion.streamed(T + SECOND, 1), "D")])[1] == ()
    assert settle(before, [fan_out(SourceVersion.streamed(T - SECOND, 99), "old")])[1] == ()
    later = SourceVersion.streamed(T + SECOND, 6)
    assert settle(before, [root(later), read(later, "E")])[1] == ()
    away = SourceVersion.streamed(T + SECOND, 6)
    assert settle(before, [root(away, "s2"), leave(away)])[1] == (), "a pointer that only leaves needs no read"


def test_a_settled_slice_counts_as_a_read_and_survives_the_stored_json():
    lesson = SourceVersion.streamed(T, 5)
    winner = SourceVersion.streamed(T, 9)
    held = freshen(state((ROOT, lesson, {"lesson_id": "l1", "song_id": "s1"}), (JOIN, winner, {"title": "B"})),
                   [(Unsettled(JOIN, winner), {"title": "C"})])
    again = AggregateState.from_json(held.to_json())
    assert again == held and again.entries[JOIN.key].settled
    assert fold(again, [fan_out(SourceVersion.streamed(T, 7), "A")]) is again, "an older record of that second loses"
    newer = SourceVersion.streamed(T, 11)
    assert settle(again, [fan_out(newer, "D")])[1] == (Unsettled(JOIN, newer),), "a newer one is read again"
