"""From the sample tables' records to domain events.

Each translator picks the attributes its events carry and nothing else: the
password hash, creation time and order lines are never read into an event.
Two translators need lookups: a lesson reads its song (a join, consistent
read), a song finds the lessons that show it (a fan-out, GSI query).
"""

from __future__ import annotations

from typing import Iterable

from domain.lookup import IndexQuery, Lookup, Need
from domain.records import SourceRecord
from domain.source import SourceItem, SourceVersion
from domain.translation import TranslationError, Translator, attribute, declared_version
from domain.sample.events import (
    CustomerChanged,
    CustomerRemoved,
    LessonChanged,
    LessonRemoved,
    OrderChanged,
    OrderRemoved,
    SongChanged,
    SongRemoved,
    SubscriptionChanged,
    SubscriptionRemoved,
)
from domain.sample.tables import LESSONS, SONGS


def key(record: SourceRecord, name: str) -> str:
    try:
        value = record.item[name]
    except KeyError:
        value = None
    if not isinstance(value, str):
        raise TranslationError(f"key attribute {name!r} must be S")
    return value


def translate_customer(record: SourceRecord, lookup: Lookup) -> list:
    base = dict(source=record.item, version=record.version, customer_id=key(record, "customer_id"))
    if record.removed:
        return [CustomerRemoved(expired=record.expired, **base)]
    image = record.image
    return [
        CustomerChanged(
            name=attribute(image, "name", "S"),
            email=attribute(image, "email", "S"),
            country=attribute(image, "country", "S"),
            marketing_opt_in=attribute(image, "marketing_opt_in", "BOOL"),
            **base,
        )
    ]


def translate_order(record: SourceRecord, lookup: Lookup) -> list:
    base = dict(
        source=record.item,
        version=record.version,
        customer_id=key(record, "customer_id"),
        order_id=key(record, "order_id"),
    )
    if record.removed:
        return [OrderRemoved(expired=record.expired, **base)]
    image = record.image
    return [
        OrderChanged(
            status=attribute(image, "status", "S"),
            total=attribute(image, "total", "N"),
            currency=attribute(image, "currency", "S"),
            placed_at=attribute(image, "placed_at", "S"),
            **base,
        )
    ]


def translate_subscription(record: SourceRecord, lookup: Lookup) -> list:
    base = dict(
        source=record.item,
        version=record.version,
        customer_id=key(record, "customer_id"),
        plan_id=key(record, "plan_id"),
    )
    if record.removed:
        return [SubscriptionRemoved(expired=record.expired, **base)]
    image = record.image
    return [
        SubscriptionChanged(
            status=attribute(image, "status", "S"),
            started_at=attribute(image, "started_at", "S"),
            **base,
        )
    ]


def _lessons_of(song_id: str) -> IndexQuery:
    return IndexQuery(LESSONS.name, "by_song", "song_id", song_id)


def song_needs(record: SourceRecord) -> Iterable[Need]:
    return [_lessons_of(key(record, "song_id"))]


def translate_song(record: SourceRecord, lookup: Lookup) -> list:
    """A song change goes to every lesson the ``by_song`` index shows it on.

    The index is eventually consistent: a lesson created while the song
    changes may be missing here. The lesson's own translator reads the song
    consistently, which closes most of that window; ``dynafold verify
    --repair`` closes the rest.
    """
    song_id = key(record, "song_id")
    lesson_ids = set()
    for lesson in lookup.query(_lessons_of(song_id)):
        lesson_id = lesson.get("lesson_id")
        if isinstance(lesson_id, str):
            lesson_ids.add(lesson_id)
    base = dict(source=record.item, version=record.version, song_id=song_id, lesson_ids=lesson_ids)
    if record.removed:
        return [SongRemoved(expired=record.expired, **base)]
    image = record.image
    return [
        SongChanged(
            title=attribute(image, "title", "S"),
            artist=attribute(image, "artist", "S"),
            **base,
        )
    ]


def _song_of(record: SourceRecord):
    if record.removed:
        return None
    song_id = attribute(record.image, "song_id", "S")
    return None if song_id is None else SourceItem.of(SONGS.name, {"song_id": song_id})


def lesson_needs(record: SourceRecord) -> Iterable[Need]:
    song = _song_of(record)
    return () if song is None else (song,)


def translate_lesson(record: SourceRecord, lookup: Lookup) -> list:
    """A lesson, and the song it points at as read now (the join).

    The joined song is stamped with the declared song version and the lesson
    record's own position, so translating the same record twice yields the
    same events (a redelivery writes nothing), and the lesson document can
    tell a song slice read for its current pointer from one left over from
    an earlier pointer (see ``domain.sample.lesson``). When the song does not
    exist, the lesson says so (``song_found``): that is what hides a slice
    left over from before the song was deleted.
    """
    lesson_id = key(record, "lesson_id")
    base = dict(source=record.item, version=record.version, lesson_id=lesson_id)
    if record.removed:
        return [LessonRemoved(expired=record.expired, **base)]
    image = record.image
    song = _song_of(record)
    found = None if song is None else lookup.item(song)
    events = [
        LessonChanged(
            song_id=None if song is None else song["song_id"],
            title=attribute(image, "title", "S"),
            level=attribute(image, "level", "S", "N"),
            instrument=attribute(image, "instrument", "S"),
            song_found=None if song is None else found is not None,
            **base,
        )
    ]
    if found is not None:
        events.append(_joined_song(record, song, found, lesson_id))
    return events


def _joined_song(record: SourceRecord, song: SourceItem, found, lesson_id: str) -> SongChanged:
    try:
        return SongChanged(
            source=song,
            version=SourceVersion(
                declared_version(found, SONGS.version_attribute), record.version.created_at_us, 0
            ),
            song_id=song["song_id"],
            title=attribute(found, "title", "S"),
            artist=attribute(found, "artist", "S"),
            lesson_ids={lesson_id},
        )
    except TranslationError as error:
        raise TranslationError(f"joined songs item {song['song_id']!r}: {error}") from None


TRANSLATORS = (
    Translator("customers", translate_customer),
    Translator("orders", translate_order),
    Translator("subscriptions", translate_subscription),
    Translator("songs", translate_song, song_needs),
    Translator("lessons", translate_lesson, lesson_needs),
)
