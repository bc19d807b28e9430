"""A song in 50,000 lessons: one stream record, 50,000 documents, in bounded pages.

The pointing lessons come from the ``Lookup`` port answering index pages from
a list (holding 50,000 lessons in a DynamoDB emulator would dominate the
run); everything on the store side is real: each page of 1,000 pointing
documents is loaded and written through OpenSearch, and every request's
body size is recorded.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Optional

from benchmarks.workloads import ARN, T0
from dynafold.projector.engine.batch import Projector
from dynafold.projector.stores.memory import MemoryQuarantine
from dynafold.projector.stores.opensearch.store import OpenSearchStore
from dynafold.sample import MODEL


class PagedLookup:
    def __init__(self, lessons: int) -> None:
        self.rows = [{"lesson_id": f"l{n:06d}", "song_id": "s1"} for n in range(lessons)]

    def item(self, source):
        return None

    def items(self, sources):
        return {s.id: None for s in sources}

    def query(self, query):
        return list(self.rows)

    def query_page(self, query, start: Optional[dict], limit: int):
        begin = 0 if start is None else start["after"]
        page = self.rows[begin:begin + limit]
        end = begin + len(page)
        return page, ({"after": end} if end < len(self.rows) else None)


def _record(table: str, keys: dict, image: dict, seq: int, created: int = T0) -> dict:
    return {"eventID": f"e{seq}", "eventName": "INSERT", "eventSourceARN": ARN.format(table=table),
            "dynamodb": {"ApproximateCreationDateTime": created, "Keys": keys, "NewImage": {**keys, **image},
                         "SequenceNumber": str(10**20 + seq), "StreamViewType": "NEW_AND_OLD_IMAGES"}}


def measure(url: str, server: str, lessons: int = 50_000) -> dict:
    from opensearchpy import Urllib3HttpConnection

    sizes: list[tuple[str, int]] = []

    class Recording(Urllib3HttpConnection):
        def perform_request(self, method, path, params=None, body=None, *args: Any, **kwargs: Any):
            sizes.append((path.split("?", 1)[0].rsplit("/", 1)[-1], len(body or b"")))
            return super().perform_request(method, path, params, body, *args, **kwargs)

    prefix = f"fan{uuid.uuid4().hex[:8]}-"
    store = OpenSearchStore.from_url(f"{url}{'&' if '?' in url else '?'}prefix={prefix}", connection_class=Recording)
    seed = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: PagedLookup(0), aggregates=["lesson"])
    for start in range(0, lessons, 1000):
        seed.project([_record("lessons", {"lesson_id": {"S": f"l{n:06d}"}}, {"song_id": {"S": "s1"}}, n + 1)
                      for n in range(start, min(lessons, start + 1000))])
    sizes.clear()
    projector = Projector(MODEL, store, MemoryQuarantine(), lookup_factory=lambda: PagedLookup(lessons),
                          aggregates=["lesson"])
    started = time.perf_counter()
    report = projector.project([_record("songs", {"song_id": {"S": "s1"}}, {"title": {"S": "Renamed"}}, 10**6,
                                           T0 + 60)])
    elapsed = time.perf_counter() - started
    assert report.failed_from is None and report.documents_written == lessons, report.failure_reason
    store.close()
    bulk = [size for kind, size in sizes if kind == "_bulk"]
    mget = [size for kind, size in sizes if kind == "_mget"]
    return {"server": server, "documents": f"{lessons:,}", "pages": report.fan_out_pages,
            "ms per 1,000 documents": round(elapsed / lessons * 1e6), "_bulk requests": len(bulk),
            "largest _bulk KB": round(max(bulk) / 1024), "_mget requests": len(mget),
            "largest _mget KB": round(max(mget) / 1024)}
