"""Parallel table scans, page by page, as source records."""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator, Optional

import attrs

from dynafold.projector.errors import ConfigurationError, aws_code


@attrs.frozen
class Page:
    table: str
    segment: int
    total_segments: int
    items: list
    next_key: Optional[dict]
    number: int

    @property
    def done(self) -> bool:
        return self.next_key is None


def scan_pages(
    client: Any,
    table: str,
    segment: int = 0,
    total_segments: int = 1,
    start_key: Optional[dict] = None,
    limit: Optional[int] = None,
    first_number: int = 0,
) -> Iterator[Page]:
    """Pages of one scan segment from ``start_key`` (strongly consistent reads)."""
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if total_segments > 1:
        kwargs.update(Segment=segment, TotalSegments=total_segments)
    if limit:
        kwargs["Limit"] = limit
    if start_key:
        kwargs["ExclusiveStartKey"] = start_key
    number = first_number
    while True:
        response = _scan(client, table, kwargs)
        next_key = response.get("LastEvaluatedKey")
        yield Page(table, segment, total_segments, response.get("Items", []), next_key, number)
        number += 1
        if not next_key:
            return
        kwargs["ExclusiveStartKey"] = next_key


def read_ahead(pages: Iterator[Page], depth: int = 1) -> Iterator[Page]:
    """The same pages, the next one already being read while the caller stores this one.

    A scan page costs a network round trip and a page's projection costs
    CPU and a store round trip; overlapping the two keeps a replay close to
    the speed of the bare scan. At most ``depth`` pages wait in memory, and a
    page read ahead but never handed out is simply read again on resume (its
    checkpoint was never written).
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def reader() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        buffer.put(page, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(done)
        except BaseException as error:  # handed to the caller, in order
            buffer.put(error)

    thread = threading.Thread(target=reader, name="scan-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _scan(client: Any, table: str, kwargs: dict) -> dict:
    """One Scan call; a table that does not exist is named (DynamoDB's own message does not name it)."""
    try:
        return client.scan(**kwargs)
    except Exception as error:
        if aws_code(error) == "ResourceNotFoundException":
            raise ConfigurationError(f"table {table!r} not found (ResourceNotFoundException): check the region, "
                                     "--table-names / DYNAFOLD_TABLES, and that the table exists") from None
        raise
