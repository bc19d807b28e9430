"""The fold law (``domain.testing.assert_fold_converges``) on both sample aggregates,
and proof that it catches an aggregate that increments instead of recomputing."""

from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
from hypothesis import given, strategies as st

from domain.sample import CUSTOMER, LESSON
from domain.sample.events import (
    CustomerChanged, CustomerRemoved, LessonChanged, LessonRemoved, OrderChanged, OrderRemoved,
    SongChanged, SongRemoved, SubscriptionChanged, SubscriptionRemoved,
)
from domain.source import SourceItem, SourceVersion
from domain.testing import FoldLawViolation, assert_fold_converges

versions = st.builds(SourceVersion, st.integers(0, 3), st.integers(0, 5), st.integers(0, 5))
customer_ids = st.sampled_from(["c1", "c2"])


@st.composite
def customer_events(draw):
    cid = draw(customer_ids)
    kind = draw(st.sampled_from(["customer", "order", "subscription"]))
    removed = draw(st.booleans())
    if kind == "customer":
        source = SourceItem.of("customers", {"customer_id": cid})
        if removed:
            return CustomerRemoved(source=source, version=draw(versions), customer_id=cid)
        return CustomerChanged(source=source, version=draw(versions), customer_id=cid, name=draw(st.sampled_from(["A", "B"])),
                               email=None, country="NL", marketing_opt_in=draw(st.booleans()))
    if kind == "order":
        oid = draw(st.sampled_from(["o1", "o2", "o3"]))
        source = SourceItem.of("orders", {"customer_id": cid, "order_id": oid})
        if removed:
            return OrderRemoved(source=source, version=draw(versions), customer_id=cid, order_id=oid)
        return OrderChanged(source=source, version=draw(versions), customer_id=cid, order_id=oid,
                            status=draw(st.sampled_from(["placed", "paid", "shipped", "cancelled"])),
                            total=Decimal(draw(st.integers(0, 10**6))) / 100, currency="EUR",
                            placed_at=draw(st.sampled_from([None, "2026-11-01", "2026-11-02"])))
    plan = draw(st.sampled_from(["basic", "pro"]))
    source = SourceItem.of("subscriptions", {"customer_id": cid, "plan_id": plan})
    if removed:
        return SubscriptionRemoved(source=source, version=draw(versions), customer_id=cid, plan_id=plan)
    return SubscriptionChanged(source=source, version=draw(versions), customer_id=cid, plan_id=plan,
                               status=draw(st.sampled_from(["active", "cancelled"])), started_at=None)


@st.composite
def lesson_events(draw):
    if draw(st.booleans()):
        sid = draw(st.sampled_from(["s1", "s2"]))
        source = SourceItem.of("songs", {"song_id": sid})
        lessons = draw(st.frozensets(st.sampled_from(["l1", "l2"])))
        if draw(st.booleans()):
            return SongRemoved(source=source, version=draw(versions), song_id=sid, lesson_ids=lessons)
        return SongChanged(source=source, version=draw(versions), song_id=sid, lesson_ids=lessons,
                           title=draw(st.sampled_from(["T1", "T2"])), artist="X")
    lid = draw(st.sampled_from(["l1", "l2"]))
    source = SourceItem.of("lessons", {"lesson_id": lid})
    if draw(st.booleans()):
        return LessonRemoved(source=source, version=draw(versions), lesson_id=lid)
    return LessonChanged(source=source, version=draw(versions), lesson_id=lid, song_id=draw(st.sampled_from(["s1", "s2", None])),
                         title="L", level="1", instrument="guitar")


def distinct_versions(events):
    """One state per (item, version), as translators guarantee."""
    seen = {}
    return [e for e in events if seen.setdefault((e.source.id, e.version), e) is e]


@given(st.lists(customer_events(), max_size=30).map(distinct_versions), st.randoms(use_true_random=False))
def test_customer_aggregate_obeys_the_fold_law(events, rng):
    assert_fold_converges(CUSTOMER, events, orderings=10, random=rng)


@given(st.lists(lesson_events(), max_size=30).map(distinct_versions), st.randoms(use_true_random=False))
def test_lesson_aggregate_obeys_the_fold_law(events, rng):
    assert_fold_converges(LESSON, events, orderings=10, random=rng)


def _last_arrival_derive(view):
    """Wrong on purpose: "the last order event wins" instead of the latest placed_at."""
    body = CUSTOMER.derive(view)
    live = [e for e in view.state if e.source.table == "orders" and not e.removed]
    return {**body, "last_order_at": live[-1].data["placed_at"] if live else None}


def test_the_fold_law_catches_an_aggregate_that_depends_on_arrival_order():
    wrong = attrs.evolve(CUSTOMER, derive=_last_arrival_derive)
    c = SourceItem.of("customers", {"customer_id": "c1"})
    events = [CustomerChanged(source=c, version=SourceVersion(1, 1, 1), customer_id="c1", name="A", email=None,
                              country=None, marketing_opt_in=None)]
    for n, day in enumerate(["2026-11-03", "2026-11-01", "2026-11-02"]):
        o = SourceItem.of("orders", {"customer_id": "c1", "order_id": f"o{n}"})
        events.append(OrderChanged(source=o, version=SourceVersion(0, 1, n), customer_id="c1", order_id=f"o{n}",
                                   status="paid", total=Decimal("1.00"), currency="EUR", placed_at=day))
    assert assert_fold_converges(CUSTOMER, events)["c1"]["last_order_at"] == "2026-11-03"
    with pytest.raises(FoldLawViolation, match="delivery order changed the result"):
        assert_fold_converges(wrong, events)


def test_two_different_states_with_one_version_are_reported():
    o = SourceItem.of("orders", {"customer_id": "c1", "order_id": "o1"})
    base = dict(source=o, version=SourceVersion(0, 1, 1), customer_id="c1", order_id="o1", total=None, currency=None, placed_at=None)
    with pytest.raises(FoldLawViolation, match="carry the same version"):
        assert_fold_converges(CUSTOMER, [OrderChanged(status="paid", **base), OrderChanged(status="shipped", **base)])
