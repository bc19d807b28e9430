"""Fan-outs of any size: bounded pages, counted requests, and a place kept across deliveries.

A song in 50,000 lessons is one stream record. The index query is read a page at a time and each
page is written before the next is read; when the time budget runs out the record is reported
failed and the next delivery resumes from the kept cursor. The lookup here is the domain's
``Lookup`` port answering from a list of pointing items (moto would need minutes to hold 50,000
lessons); the store side is the real one, counted.
"""

from __future__ import annotations

import json
from typing import Optional

import pytest

from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores import open_store
from dynafold.projector.stores.memory import MemoryCheckpoints, MemoryQuarantine, MemoryStore
from dynafold.sample import MODEL
from tests.support.counting import CountingStore
from tests.support.records import record


class PagedLookup:
    """Index pages over ``lessons`` (all pointing at song s1), and song s1 as ``song`` says it is now."""

    def __init__(self, lessons: int, song: Optional[dict] = None) -> None:
        self.rows = [{"lesson_id": f"l{n:06d}", "song_id": "s1"} for n in range(lessons)]
        self.song = song
        self.pages: list[Optional[dict]] = []
        self.reads = 0

    def item(self, source):
        return self.items([source])[source.id]

    def items(self, sources):
        self.reads += 1
        return {s.id: self.song for s in sources}

    def query(self, query):
        return list(self.rows)

    def query_page(self, query, start, limit):
        self.pages.append(start)
        begin = 0 if start is None else int(start["after"]["N"])
        page = self.rows[begin:begin + limit]
        end = begin + len(page)
        return page, ({"after": {"N": str(end)}} if end < len(self.rows) else None)


def song(title: str, seq: int, created: float = 1_790_000_001) -> dict:
    """A change of song s1, by default a second after the lessons were written (``seed_lessons``)."""
    keys = {"song_id": {"S": "s1"}}
    return record("songs", keys, {**keys, "title": {"S": title}}, seq=seq, created=created)


def seed_lessons(store, count: int) -> None:
    """Put the lessons' own documents in place, as their records would have."""
    lessons = [record("lessons", {"lesson_id": {"S": f"l{n:06d}"}},
                      {"lesson_id": {"S": f"l{n:06d}"}, "song_id": {"S": "s1"}}, seq=n + 1) for n in range(count)]
    Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: PagedLookup(0)).project(lessons)


def test_a_50000_document_fan_out_goes_out_in_bounded_pages():
    inner = MemoryStore()
    seed_lessons(inner, 50_000)
    store = CountingStore(inner)
    lookup = PagedLookup(50_000, song={"song_id": "s1", "title": "New"})
    report = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: lookup).project(
        [song("New", 10**6, created=1_790_000_000)])
    assert report.failed_from is None
    assert report.documents_written == 50_000
    assert len(lookup.pages) == 50 and report.fan_out_pages == 50
    assert dict(store.calls) == {"load": 50, "write": 50}, "one load and one write per page of 1,000"
    assert inner.get("lesson", "l049999")["song_title"] == "New"
    assert lookup.reads == 50, "the rename ties the lessons' reads in their second: one settling read per page"
    assert report.settled == 50_000


def test_a_fan_out_out_of_time_resumes_where_it_stopped_on_the_next_delivery():
    store = MemoryStore()
    seed_lessons(store, 5_000)
    lookup, cursors = PagedLookup(5_000), MemoryCheckpoints()
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: lookup, cursors=cursors)
    batch = [song("New", 10**6)]
    first = projector.project(batch, time_left=lambda: 100.0 if len(lookup.pages) < 3 else 0.0, margin_s=1.0)
    assert first.failed_from == 0 and "continues in the next delivery" in first.failure_reason
    done = sum(1 for n in range(5_000) if store.get("lesson", f"l{n:06d}")["song_title"] == "New")
    assert 0 < done < 5_000
    kept = json.loads(cursors.get("fanout/songs/100000000000001000000/lesson/song/"))
    assert kept["next"] is not None
    pages_before = len(lookup.pages)
    second = projector.project(batch)
    assert second.failed_from is None
    resumed_at = lookup.pages[pages_before]
    assert resumed_at is not None and int(resumed_at["after"]["N"]) == done, "the second delivery resumes at the cursor"
    assert all(store.get("lesson", f"l{n:06d}")["song_title"] == "New" for n in range(5_000))
    assert cursors.get("fanout/songs/100000000000001000000/lesson/song/") is None, "a finished fan-out forgets its cursor"


def test_a_small_fan_out_rides_in_the_batchs_own_load_and_write():
    inner = MemoryStore()
    seed_lessons(inner, 20)
    store = CountingStore(inner)
    orders = [record("orders", {"customer_id": {"S": "c1"}, "order_id": {"S": "o1"}},
                     {"customer_id": {"S": "c1"}, "order_id": {"S": "o1"}, "status": {"S": "paid"}}, seq=7)]
    report = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: PagedLookup(20)).project(
        [song("New", 10**6)] + orders)
    assert report.documents_written == 21
    assert dict(store.calls) == {"load": 1, "write": 1}


@pytest.mark.parametrize("store_url", ["opensearch", "node"], indirect=True)
def test_a_fan_out_on_opensearch_counts_one_mget_and_one_bulk_per_page(store_url):
    from opensearchpy import Urllib3HttpConnection

    from dynafold.projector.stores.opensearch.store import OpenSearchStore

    requests: list[tuple[str, int]] = []

    class Recording(Urllib3HttpConnection):
        def perform_request(self, method, url, params=None, body=None, *args, **kwargs):
            requests.append((url.split("?", 1)[0].rsplit("/", 1)[-1], len(body or b"")))
            return super().perform_request(method, url, params, body, *args, **kwargs)

    seed_lessons(open_store(store_url), 3_000)
    store = OpenSearchStore.from_url(store_url, connection_class=Recording)
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: PagedLookup(3_000))
    requests.clear()
    report = projector.project([song("New", 10**6)])
    assert report.failed_from is None and report.documents_written == 3_000
    kinds = [kind for kind, _ in requests]
    assert kinds.count("_bulk") == 3, "one _bulk per page of 1,000"
    assert kinds.count("_mget") == 3, "per page: 1,000 documents and the control document (uncounted) in one _mget"
    assert max(size for _, size in requests) < 8 * 1024 * 1024
