"""Domain events of the sample domain: the state of one item, or its removal."""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

import attrs

from domain.events import ItemChanged, ItemRemoved, routing


@attrs.frozen(kw_only=True)
class CustomerChanged(ItemChanged):
    customer_id: str
    name: Optional[str]
    email: Optional[str]
    country: Optional[str]
    marketing_opt_in: Optional[bool]


@attrs.frozen(kw_only=True)
class CustomerRemoved(ItemRemoved):
    customer_id: str


@attrs.frozen(kw_only=True)
class OrderChanged(ItemChanged):
    customer_id: str
    order_id: str
    status: Optional[str]
    total: Optional[Decimal]
    currency: Optional[str]
    placed_at: Optional[str]


@attrs.frozen(kw_only=True)
class OrderRemoved(ItemRemoved):
    customer_id: str
    order_id: str


@attrs.frozen(kw_only=True)
class SubscriptionChanged(ItemChanged):
    customer_id: str
    plan_id: str
    status: Optional[str]
    started_at: Optional[str]


@attrs.frozen(kw_only=True)
class SubscriptionRemoved(ItemRemoved):
    customer_id: str
    plan_id: str


@attrs.frozen(kw_only=True)
class SongChanged(ItemChanged):
    """A song's state, for the lessons that show it (``lesson_ids``, found by the translator)."""

    song_id: str
    title: Optional[str]
    artist: Optional[str]
    lesson_ids: frozenset[str] = routing(converter=frozenset)


@attrs.frozen(kw_only=True)
class SongRemoved(ItemRemoved):
    song_id: str
    lesson_ids: frozenset[str] = routing(converter=frozenset)


@attrs.frozen(kw_only=True)
class LessonChanged(ItemChanged):
    """A lesson's state; ``song_found`` says whether its song existed when the record was projected."""

    lesson_id: str
    song_id: Optional[str]
    title: Optional[str]
    level: Optional[object]
    instrument: Optional[str]
    song_found: Optional[bool] = None


@attrs.frozen(kw_only=True)
class LessonRemoved(ItemRemoved):
    lesson_id: str
