"""Exact races, one at a time, on moto with a controlled clock.

The model harness (``tests/test_model_harness.py``) searches for races at random; these tests pin
the ones the design notes and the issues name, so a regression points at its cause: items that
move between documents, join pointers that leave and come back, version attributes that writers
lower, records of two tables in the same second, a lagging fan-out index, and replays that race
live projection.
"""

from __future__ import annotations

from decimal import Decimal

from dynafold.projector.aws.lookup import DynamoLookup
from dynafold.projector.engine.batch import Backoff, Projector
from dynafold.projector.stores.base import DocKey
from dynafold.sample import MODEL
from tests.models import crm
from tests.support.scenario import Scenario


def test_a_device_moved_to_another_user_leaves_the_first_users_document():
    with Scenario(crm.MODEL) as s:
        for uid in ("u1", "u2"):
            s.put("users", {"user_id": uid, "name": uid.upper()})
        s.put("devices", {"device_id": "d1", "user_id": "u1", "label": "phone"})
        s.deliver("users"), s.deliver("devices")
        assert [d["device_id"] for d in s.doc("user", "u1")["devices"]] == ["d1"]
        s.tick(1000)
        s.put("devices", {"device_id": "d1", "user_id": "u2", "label": "phone"})
        s.deliver("devices")
        assert s.doc("user", "u1")["devices"] == []
        assert [d["device_id"] for d in s.doc("user", "u2")["devices"]] == ["d1"]


def test_a_move_record_delivered_again_after_the_item_moved_back_changes_nothing():
    with Scenario(crm.MODEL) as s:
        for uid in ("u1", "u2"):
            s.put("users", {"user_id": uid})
        s.deliver("users")
        s.put("devices", {"device_id": "d1", "user_id": "u1"})
        s.put("devices", {"device_id": "d1", "user_id": "u2"})
        s.put("devices", {"device_id": "d1", "user_id": "u1"})
        records = s.records("devices")
        s.deliver("devices")
        s.deliver("devices", records[1:])
        assert [d["device_id"] for d in s.doc("user", "u1")["devices"]] == ["d1"]
        assert s.doc("user", "u2")["devices"] == []


def test_repair_moves_an_item_whose_move_record_was_lost():
    with Scenario(crm.MODEL) as s:
        for uid in ("u1", "u2"):
            s.put("users", {"user_id": uid})
        s.put("devices", {"device_id": "d1", "user_id": "u1"})
        s.deliver("users"), s.deliver("devices")
        s.tick(1000)
        s.put("devices", {"device_id": "d1", "user_id": "u2"})
        s.delivered["devices"] = len(s.records("devices"))  # the move record is lost
        drifts = s.repair()
        assert sorted(d.id for d in drifts) == ["u1", "u2"]
        assert s.doc("user", "u1")["devices"] == [] and len(s.doc("user", "u2")["devices"]) == 1


def test_a_join_pointer_that_leaves_and_comes_back_shows_the_joined_item_as_it_is_now():
    """The plan changed while the user pointed elsewhere, so its fan-out did not reach the user:
    the user's own record re-reads the plan when the pointer comes back, and that read must win
    over the slice left from the first visit."""
    with Scenario(crm.MODEL) as s:
        s.put("plans", {"plan_id": "p1", "name": "Basic", "version": Decimal(5)})
        s.put("plans", {"plan_id": "p2", "name": "Pro", "version": Decimal(1)})
        s.deliver("plans")
        s.put("users", {"user_id": "u1", "plan_id": "p1", "version": Decimal(1)})
        s.deliver("users")
        s.tick(1000)
        s.put("users", {"user_id": "u1", "plan_id": "p2", "version": Decimal(2)})
        s.deliver("users")
        s.tick(1000)
        s.delete("plans", plan_id="p1")
        s.put("plans", {"plan_id": "p1", "name": "Basic 2026", "version": Decimal(1)})
        s.deliver("plans")
        s.tick(1000)
        s.put("users", {"user_id": "u1", "plan_id": "p1", "version": Decimal(3)})
        s.deliver("users")
        assert s.doc("user", "u1")["plan"] == {"name": "Basic 2026", "price": None}


def test_a_customer_re_created_with_its_version_restarting_at_1_is_shown():
    """PynamoDB's VersionAttribute and DynamoDBMapper write version 1 again after a delete."""
    with Scenario(MODEL) as s:
        s.put("customers", {"customer_id": "c1", "name": "Ada", "version": Decimal(7)})
        s.tick(1000)
        s.delete("customers", customer_id="c1")
        s.tick(1000)
        s.put("customers", {"customer_id": "c1", "name": "Ada again", "version": Decimal(1)})
        s.deliver("customers")
        assert s.doc("customer", "c1")["name"] == "Ada again"


def test_a_song_re_created_at_version_1_shows_in_its_lessons():
    with Scenario(MODEL) as s:
        s.put("songs", {"song_id": "s1", "title": "Old", "version": Decimal(4)})
        s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
        s.deliver("songs"), s.deliver("lessons")
        s.tick(1000)
        s.delete("songs", song_id="s1")
        s.put("songs", {"song_id": "s1", "title": "New", "version": Decimal(1)})
        s.deliver("songs")
        assert s.doc("lesson", "l1")["song_title"] == "New"


def test_a_global_table_replicating_a_lower_version_after_a_higher_one_is_followed():
    """Global tables resolve concurrent writes by timestamp: a region's stream can carry version 3
    after version 5. The stream's order is the truth, and repair agrees with it."""
    with Scenario(MODEL) as s:
        s.put("customers", {"customer_id": "c1", "name": "Region A", "version": Decimal(5)})
        s.tick(1)
        s.put("customers", {"customer_id": "c1", "name": "Region B wins", "version": Decimal(3)})
        s.deliver("customers")
        assert s.doc("customer", "c1")["name"] == "Region B wins"
        assert s.repair() == []


def test_records_of_a_song_and_a_lesson_in_the_same_second_converge_in_either_order():
    for song_first in (True, False):
        with Scenario(MODEL) as s:
            s.put("songs", {"song_id": "s1", "title": "Before"})
            s.deliver("songs")
            s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
            s.put("songs", {"song_id": "s1", "title": "After"})
            if song_first:
                s.deliver("songs"), s.deliver("lessons")
            else:
                s.deliver("lessons"), s.deliver("songs")
            assert s.doc("lesson", "l1")["song_title"] == "After", f"song first: {song_first}"


def test_a_lesson_re_created_in_the_instant_its_song_is_deleted_shows_no_song():
    """A song slice from before the delete must not show under a lesson re-created in that second."""
    with Scenario(MODEL) as s:
        s.put("songs", {"song_id": "s1", "title": "Wonderwall"})
        s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
        s.deliver("songs"), s.deliver("lessons")
        s.delete("songs", song_id="s1")
        s.delete("lessons", lesson_id="l1")
        s.deliver("songs")
        s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
        s.deliver("lessons")
        assert s.doc("lesson", "l1")["song_title"] is None


def _lagging_index(hidden: dict):
    """A lookup factory whose index queries find nothing while ``hidden["on"]``: a fan-out GSI that lags."""

    class LaggingIndex:
        def __init__(self, scenario):
            self.inner = DynamoLookup(scenario.tables.client, scenario.model)

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def prefetch(self, needs):
            self.inner.prefetch([n for n in needs if not (hidden["on"] and hasattr(n, "index"))])

        def query(self, query):
            return [] if hidden["on"] else self.inner.query(query)

        def query_page(self, query, start, limit):
            return ([], None) if hidden["on"] else self.inner.query_page(query, start, limit)

    return LaggingIndex


def test_a_lagging_index_can_hide_a_lesson_from_a_fan_out_and_repair_closes_the_gap():
    """The residual race of the design notes, step by step: the lesson's join read the old title,
    then the song was renamed and its fan-out query ran while the index did not hold the lesson."""
    hidden = {"on": True}

    with Scenario(MODEL, lookup=_lagging_index(hidden)) as s:
        s.put("songs", {"song_id": "s1", "title": "Old"})
        s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
        s.deliver("songs"), s.deliver("lessons")
        s.tick(1000)
        s.put("songs", {"song_id": "s1", "title": "New"})
        s.deliver("songs")
        assert s.doc("lesson", "l1")["song_title"] == "Old"
        hidden["on"] = False
        assert [d.id for d in s.repair()] == ["l1"]
        assert s.doc("lesson", "l1")["song_title"] == "New"


def _replay_then_write(clock_for_job) -> str:
    """c1 is scanned, then changed within the same second; the stream is delivered after the replay."""
    from dynafold.projector.stores.memory import MemoryCheckpoints
    from dynafold.replay.job import ReplayJob

    with Scenario(MODEL) as s:
        s.put("customers", {"customer_id": "c1", "name": "A"})
        s.tick(200)
        job = ReplayJob(MODEL, s.store, s.quarantine, s.tables.client, MemoryCheckpoints(), lookup_factory=s.lookup,
                        segments=1, clock=clock_for_job(s))
        job.run("customer")
        s.tick(300)
        s.put("customers", {"customer_id": "c1", "name": "B"})
        s.deliver("customers")
        return s.doc("customer", "c1")["name"]


def test_t_start_comes_from_dynamodbs_clock_whatever_the_local_clock_says(monkeypatch):
    """Stream timestamps are DynamoDB's; so is T_start (the Date header), so a local clock running
    seconds ahead or behind cannot let a scan row outrank a newer stream record."""
    import dynafold.projector.aws.server_clock as server_clock

    real = server_clock.local_time_us
    for skew_s in (5, -5):
        monkeypatch.setattr(server_clock, "local_time_us", lambda skew=skew_s: real() + skew * 1_000_000)
        assert _replay_then_write(lambda s: None) == "B", f"local clock {skew_s:+d} s"


def test_a_t_start_taken_from_a_local_clock_ahead_would_diverge():
    """The mutant the test above guards against: T_start from a clock 5 s ahead of DynamoDB's."""
    assert _replay_then_write(lambda s: (lambda: s.clock.now_us + 5_000_000)) == "A"


def test_repair_follows_a_lowered_version_whose_record_was_lost():
    """A global-tables region replicated version 3 over version 5 and that record was lost:
    the re-read row carries version 3 too, and repair must still show it."""
    with Scenario(MODEL) as s:
        s.put("customers", {"customer_id": "c1", "name": "Version 5", "version": Decimal(5)})
        s.deliver("customers")
        s.tick(1000)
        s.put("customers", {"customer_id": "c1", "name": "Version 3", "version": Decimal(3)})
        s.delivered["customers"] = len(s.records("customers"))
        assert [d.id for d in s.repair()] == ["c1"]
        assert s.doc("customer", "c1")["name"] == "Version 3"


class _RaceBeforeWrite:
    """A store handle that lets ``race()`` run once, between this projector's load and its write."""

    def __init__(self, inner, race) -> None:
        self.inner, self.race = inner, race

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def write(self, writes):
        race, self.race = self.race, None
        if race is not None:
            race()
        return self.inner.write(writes)


def _lesson_away_and_back(s: Scenario) -> list[dict]:
    """l1 pointed at s1 (delivered), then at s2, then at s1 again: those two records, undelivered."""
    s.put("songs", {"song_id": "s1", "title": "Wonderwall"})
    s.put("songs", {"song_id": "s2", "title": "Yellow"})
    s.deliver("songs")
    s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
    s.deliver("lessons")
    s.tick(1000)
    s.put("lessons", {"lesson_id": "l1", "song_id": "s2"})
    s.tick(1000)
    s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
    s.tick(1000)
    return s.records("lessons")[s.delivered["lessons"]:]


def _lessons_while_s1_is_deleted(s: Scenario, lookup_factory) -> Projector:
    """The lessons projector, with s1 deleted and its fan-out projected between its load and its write."""

    def song_deleted_and_projected():
        s.delete("songs", song_id="s1")
        s.deliver("songs")

    return Projector(MODEL, _RaceBeforeWrite(s.store, song_deleted_and_projected), s.quarantine,
                     lookup_factory=lookup_factory, backoff=Backoff(base=0, cap=0, attempts=3), sleep=lambda _: None)


def test_a_fan_out_landing_between_a_lessons_join_read_and_its_write_is_not_forgotten():
    """The flaky real-thread failure (#13), pinned: the lesson pointed at s1, away, and back at s1;
    its projector read s1 (still there), then s1 was deleted and its fan-out reached the lesson
    before the lesson's write. The conditional write lost and re-folded: the pointer leaving s1
    dropped the slot, the delete with it, and the re-fold put back the read from before the delete."""
    with Scenario(MODEL) as s:
        pending = _lesson_away_and_back(s)
        report = _lessons_while_s1_is_deleted(s, s.lookup).project(pending)
        assert report.failed_from is None and report.conflicts == 1 and report.settled == 1
        assert s.doc("lesson", "l1")["song_title"] is None
        key = DocKey(s.store.targets("lesson").write[0], "l1")
        token = s.store.reload([key])[key].token
        s.deliver("songs", s.records("songs")[-1:])
        assert s.store.reload([key])[key].token == token, "the delete delivered again is no news: the slot is that new"


def test_a_fan_out_that_lands_after_the_pointer_left_cannot_outrank_a_newer_read_in_its_second():
    """Everything in one second. s1's rename to B fanned out while l1 pointed at s1, but its write
    landed only after l1 had moved to s2 (after the move dropped the slot). s1 then became C, which
    fanned out nowhere, and l1 came back: its read saw C, but ties go to the stream record."""
    with Scenario(MODEL) as s:
        s.put("songs", {"song_id": "s1", "title": "A"})
        s.put("songs", {"song_id": "s2", "title": "Yellow"})
        s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
        s.deliver("songs"), s.deliver("lessons")
        s.put("songs", {"song_id": "s1", "title": "B"})

        def lesson_moved_away():
            s.put("lessons", {"lesson_id": "l1", "song_id": "s2"})
            s.deliver("lessons")

        songs = Projector(MODEL, _RaceBeforeWrite(s.store, lesson_moved_away), s.quarantine,
                          lookup_factory=s.lookup, backoff=Backoff(base=0, cap=0, attempts=3), sleep=lambda _: None)
        pending = s.records("songs")[s.delivered["songs"]:]
        s.delivered["songs"] += len(pending)
        assert songs.project(pending).failed_from is None
        s.put("songs", {"song_id": "s1", "title": "C"})
        s.deliver("songs")
        s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
        s.deliver("lessons")
        assert s.doc("lesson", "l1")["song_title"] == "C"


def test_a_settling_read_that_fails_fails_the_records_for_redelivery():
    """The same race, with DynamoDB throttling the read after the load: nothing is written from the
    stale read, the records are reported failed, and their redelivery converges."""
    from dynafold.domain.lookup import LookupUnavailable

    with Scenario(MODEL) as s:
        pending = _lesson_away_and_back(s)
        lookups = []

        def throttled_after_the_first():
            lookups.append(s.lookup())
            if len(lookups) == 1:
                return lookups[0]

            class Throttled:
                def items(self, sources):
                    raise LookupUnavailable("DynamoDB lookup failed: ProvisionedThroughputExceededException")
            return Throttled()

        report = _lessons_while_s1_is_deleted(s, throttled_after_the_first).project(pending)
        assert report.failed_from == 0 and "ProvisionedThroughputExceeded" in report.failure_reason
        assert s.doc("lesson", "l1")["song_title"] is None, "the fan-out's delete stands"
        s.deliver("lessons", pending)
        assert s.doc("lesson", "l1")["song_title"] is None and s.doc("lesson", "l1")["song_id"] == "s1"


def test_repair_corrects_a_slot_its_read_ties_with_a_joined_items_record_of_that_second():
    """All in one second: s1 became B (fanned out, and settled against the lesson's read), then C,
    whose fan-out a lagging index hid. Repair reads C one second later, stamped with that second:
    the slot holds B at a stream version of the same second, which its read is newer than. It used to
    leave such a slot alone (only a read-stamped slot was waited out); now it waits the second out too."""
    hidden = {"on": False}

    with Scenario(MODEL, lookup=_lagging_index(hidden)) as s:
        s.put("songs", {"song_id": "s1", "title": "A"})
        s.deliver("songs")
        s.put("lessons", {"lesson_id": "l1", "song_id": "s1"})
        s.deliver("lessons")
        s.put("songs", {"song_id": "s1", "title": "B"})
        assert s.deliver("songs").settled == 1
        hidden["on"] = True
        s.put("songs", {"song_id": "s1", "title": "C"})
        s.deliver("songs")
        assert s.doc("lesson", "l1")["song_title"] == "B"
        hidden["on"] = False
        assert [d.id for d in s.repair()] == ["l1"]
        assert s.doc("lesson", "l1")["song_title"] == "C"
