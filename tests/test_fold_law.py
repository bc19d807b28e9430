"""The fold law (``dynafold.domain.fold_law.assert_fold_converges``) on the sample aggregates, and proof that
it catches a ``derive`` that depends on arrival order.

Events come from the engine's own translation of generated records: each item's records in stream
order (versions rising, the same second shared now and then), joins answered from a fixed table
state, the old image of every change carried along so items move and pointers leave.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynafold import Aggregate, Model, SourceItem, SourceRecord, SourceVersion
from dynafold.domain.fold_law import FoldLawViolation, assert_fold_converges
from dynafold.domain.records import Origin, RecordRef
from dynafold.sample import CUSTOMER, LESSON, MODEL, derive_customer

SECOND = 1_000_000


class FixedLookup:
    """Joins and fan-outs answered from one fixed table state."""

    def __init__(self, songs: dict, lessons: dict) -> None:
        self.songs, self.lessons = songs, lessons

    def item(self, source: SourceItem) -> Optional[dict]:
        return self.songs.get(source["song_id"])

    def items(self, sources) -> dict:
        return {s.id: self.item(s) for s in sources}

    def query(self, query) -> list[dict]:
        song = dict(query.key)["song_id"]
        return [{"lesson_id": lid, "song_id": song} for lid, sid in sorted(self.lessons.items()) if sid == song]


def _records(table: str, key: dict, images: list[Optional[dict]], start: int) -> list[SourceRecord]:
    records, old = [], None
    for n, image in enumerate(images):
        version = SourceVersion.streamed((start + n // 2) * SECOND, 10**20 + start * 100 + n)
        full = None if image is None else {**key, **image}
        records.append(SourceRecord(RecordRef(table), SourceItem.of(table, key), version, full, Origin.STREAM, old))
        old = full
    return records


customer_images = st.lists(st.one_of(st.none(), st.fixed_dictionaries(
    {"name": st.sampled_from(["Ada", "Grace"]), "country": st.sampled_from(["NL", "DE"])})), min_size=1, max_size=3)
order_images = st.lists(st.one_of(st.none(), st.fixed_dictionaries({
    "status": st.sampled_from(["placed", "paid", "shipped", "cancelled"]),
    "total": st.integers(0, 10**6).map(lambda n: Decimal(n) / 100),
    "placed_at": st.sampled_from(["2026-11-01", "2026-11-02", "2026-11-03"]),
})), min_size=1, max_size=3)


@st.composite
def customer_events(draw) -> list:
    records = []
    for n, cid in enumerate(draw(st.lists(st.sampled_from(["c1", "c2"]), min_size=1, max_size=3, unique=True))):
        records += _records("customers", {"customer_id": cid}, draw(customer_images), 10 * n)
        for m, oid in enumerate(draw(st.lists(st.sampled_from(["o1", "o2", "o3"]), max_size=3, unique=True))):
            records += _records("orders", {"customer_id": cid, "order_id": oid}, draw(order_images), 10 * n + m)
    return [event for record in records for event in MODEL.plan(record.table).translate(record, FixedLookup({}, {}))]


@st.composite
def lesson_events(draw) -> list:
    songs = {sid: {"song_id": sid, "title": draw(st.sampled_from(["T1", "T2"]))}
             for sid in draw(st.lists(st.sampled_from(["s1", "s2"]), unique=True))}
    pointers = st.one_of(st.none(), st.fixed_dictionaries({"song_id": st.sampled_from(["s1", "s2", "s3"]),
                                                           "title": st.sampled_from(["L1", "L2"])}))
    lessons: dict[str, Any] = {}
    records = []
    for n, lid in enumerate(draw(st.lists(st.sampled_from(["l1", "l2"]), min_size=1, unique=True))):
        images = draw(st.lists(pointers, min_size=1, max_size=4))
        records += _records("lessons", {"lesson_id": lid}, images, n)
        if images[-1] is not None:
            lessons[lid] = images[-1]["song_id"]
    lookup = FixedLookup(songs, lessons)
    for n, sid in enumerate(sorted(songs)):
        records += _records("songs", {"song_id": sid}, [{"title": songs[sid]["title"]}], 5 + n)
    return [event for record in records for event in MODEL.plan(record.table).translate(record, lookup)]


@given(customer_events(), st.randoms(use_true_random=False))
def test_customer_aggregate_obeys_the_fold_law(events, rng):
    assert_fold_converges(CUSTOMER, events, orderings=10, random=rng)


@given(lesson_events(), st.randoms(use_true_random=False))
def test_lesson_aggregate_obeys_the_fold_law(events, rng):
    assert_fold_converges(LESSON, events, orderings=10, random=rng)


def test_the_fold_law_catches_a_derive_that_reads_anything_but_the_view():
    calls = [0]

    def counting(view):
        """Wrong on purpose: its result depends on how often it ran, as a counter or a clock would."""
        calls[0] += 1
        return {**derive_customer(view), "order_count": calls[0]}

    wrong = Aggregate("customer", CUSTOMER.root, fields=dict(CUSTOMER.root_fields), children=dict(CUSTOMER.children),
                      derive=counting, derived=dict(CUSTOMER.derived))
    model = Model([wrong, LESSON])
    records = _records("customers", {"customer_id": "c1"}, [{"name": "A"}], 0)
    for n, oid in enumerate(["o1", "o2", "o3"]):
        records += _records("orders", {"customer_id": "c1", "order_id": oid}, [{"status": "paid"}], n + 1)
    events = [e for r in records for e in model.plan(r.table).translate(r, FixedLookup({}, {}))]
    assert_fold_converges(CUSTOMER, events)
    with pytest.raises(FoldLawViolation, match="delivery order changed the result"):
        assert_fold_converges(wrong, events)
