"""The ``lesson`` aggregate: a lesson, searchable by the title of its song.

The document holds a slice for every song it was ever told about; it shows
the one its lesson points at, and only if that slice was observed no earlier
than the lesson record that set the pointer. A slice left over from an
earlier pointer (the song deleted while the lesson pointed elsewhere) is then
shown as "no song" rather than as a stale title, which is what a replay of
the final tables shows.
"""

from __future__ import annotations

from typing import Any, Iterable

from domain.aggregate import Aggregate, AggregateView, Field, FieldKind
from domain.events import DomainEvent
from domain.sample.events import SongChanged, SongRemoved


def route(event: DomainEvent) -> Iterable[str]:
    if isinstance(event, (SongChanged, SongRemoved)):
        return event.lesson_ids
    return (event.lesson_id,)


def derive(view: AggregateView) -> dict[str, Any]:
    lesson = view.root
    song_id = lesson.data.get("song_id")
    song = None if song_id is None else view.get("songs", song_id=song_id)
    current = (
        song is not None
        and not song.removed
        and (
            song.version.created_at_us > lesson.version.created_at_us
            or (
                song.version.created_at_us == lesson.version.created_at_us
                and lesson.data.get("song_found") is not False
            )
        )
    )
    return {
        "lesson_id": view.id,
        "title": lesson.data.get("title"),
        "level": lesson.data.get("level"),
        "instrument": lesson.data.get("instrument"),
        "song_id": song_id,
        "song_title": song.data.get("title") if current else None,
        "song_artist": song.data.get("artist") if current else None,
    }


LESSON = Aggregate(
    name="lesson",
    version=1,
    root="lessons",
    sources={
        "lessons": frozenset({"lesson_id", "song_id", "title", "level", "instrument", "song_found"}),
        "songs": frozenset({"song_id", "title", "artist"}),
    },
    fields=(
        Field("lesson_id", FieldKind.KEYWORD),
        Field("title", FieldKind.TEXT),
        Field("level", FieldKind.KEYWORD),
        Field("instrument", FieldKind.KEYWORD),
        Field("song_id", FieldKind.KEYWORD),
        Field("song_title", FieldKind.TEXT),
        Field("song_artist", FieldKind.TEXT),
    ),
    route=route,
    derive=derive,
    scan_tables=("lessons",),
)
