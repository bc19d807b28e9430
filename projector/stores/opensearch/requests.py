"""Bounded ``_mget`` and ``_bulk`` requests: split by count and by bytes, and again on HTTP 413.

A domain refuses a request body over its limit with 413 (Request Entity
Too Large): 10 MiB on the smaller AWS instance types, 100 MiB on OpenSearch's
own default (``http.max_content_length``). Retrying the same request can
never succeed, so no request is allowed to grow with the batch:

- ``max_request_bytes`` (default 8 MiB): under the smallest AWS limit with
  room for headers and signing; a request is cut before it would pass it;
- ``max_batch_docs`` (default 1,000 documents per request): bounds the
  answer too (an ``_mget`` answer carries whole documents) and stays within
  the bulk sizes OpenSearch recommends. A 1,000-record stream batch still
  costs one ``_mget`` and one ``_bulk`` unless it touches more documents.

A 413 anyway (the server's limit is lower than ours) splits the refused
request in halves, each sent in turn, down to single documents; the store
also packs later requests no larger than half the refused one, so a low
server limit costs a few refused requests once, not on every batch. A
document whose own bulk action is over ``max_request_bytes``, or that is
refused alone, can never be written: the store reports it ``Rejected``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

import attrs

from dynafold.projector.stores import codec
from dynafold.projector.stores.base import DocKey, Outcome, Rejected, Retryable, StoreUnavailable
from dynafold.projector.stores.opensearch.errors import outcome

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_BATCH_DOCS = 1_000
_MGET_OVERHEAD = len('{"docs":[]}')
_BULK_FILTER = "items.*.status,items.*._seq_no,items.*._primary_term,items.*.error"
log = logging.getLogger(__name__)


class RequestTooLarge(StoreUnavailable):
    """The server answered 413: this request body is over its limit."""


@attrs.frozen
class Limits:
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_batch_docs: int = DEFAULT_MAX_BATCH_DOCS


def pack(sizes: Sequence[int], max_bytes: int, max_docs: int, overhead: int = 0) -> list[range]:
    """Consecutive runs of at most ``max_docs`` items (by index) whose sizes and ``overhead`` add up to
    at most ``max_bytes``.

    An item larger than the limit on its own gets a run of its own (the
    caller decides whether to send it).
    """
    runs: list[range] = []
    start, used = 0, overhead
    for i, size in enumerate(sizes):
        if i > start and (used + size > max_bytes or i - start >= max_docs):
            runs.append(range(start, i))
            start, used = i, overhead
        used += size
    if start < len(sizes):
        runs.append(range(start, len(sizes)))
    return runs


class Refused:
    """The answer for a single item the server refused as too large even alone."""


REFUSED = Refused()


def send_halving(
    items: Sequence[T], send: Callable[[Sequence[T]], R], on_refused: Callable[[Sequence[T]], None]
) -> Iterator[tuple[Sequence[T], R | Refused]]:
    """``send(items)``; on a 413, the halves in turn (and so on down to single items).

    Yields each part that was answered with its answer, in order, and each
    single item refused alone with ``REFUSED``. ``on_refused(part)`` hears of
    every refused part of more than one item.
    """
    try:
        yield items, send(items)
    except RequestTooLarge:
        if len(items) == 1:
            yield items, REFUSED
            return
        on_refused(items)
        middle = len(items) // 2
        yield from send_halving(items[:middle], send, on_refused)
        yield from send_halving(items[middle:], send, on_refused)


def _objects(value: Any) -> list[dict[str, Any]] | None:
    """``value`` if it is a list of JSON objects (as OpenSearch answers), else None."""
    if isinstance(value, list) and all(isinstance(entry, Mapping) for entry in value):
        return value
    return None


@attrs.frozen
class BulkAction:
    """One document's two ``_bulk`` lines (newline-terminated) and their size in bytes."""

    key: DocKey
    text: str
    size: int = attrs.field(init=False)

    @size.default
    def _size(self) -> int:
        return len(self.text.encode("utf-8"))


@attrs.frozen
class _Ref:
    """One ``_mget`` entry and its size in bytes, with its separating comma."""

    text: str
    size: int = attrs.field(init=False)

    @size.default
    def _size(self) -> int:
        return len(self.text.encode("utf-8")) + 1


class BoundedRequests:
    """``_mget`` and ``_bulk`` for a store, within ``limits``; ``call`` is the store's request wrapper."""

    def __init__(self, client: Any, call: Callable[..., Any], limits: Limits, where: str) -> None:
        self._client = client
        self._call = call
        self.limits = limits
        self._where = where
        self._lock = threading.Lock()
        self.pack_bytes = limits.max_request_bytes  # lowered when the server refuses smaller requests (413)

    def mget(self, docs: Sequence[Mapping[str, str]], operation: str, uncounted: int = 0,
             stored_fields: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The entries for ``docs``, in order, in as many requests as the limits need. The first
        ``uncounted`` references (the control documents naming the targets, a few bytes each) do not
        count against ``max_batch_docs``: a batch of 1,000 documents stays one request. ``stored_fields``:
        asked for beside each ``_source`` (once per request, not per reference)."""
        refs = [_Ref(codec.dumps(d)) for d in docs]
        head, rest = refs[:uncounted], refs[uncounted:]
        room = self.pack_bytes - sum(r.size for r in head)
        chunks = [rest[run.start:run.stop] for run in pack([r.size for r in rest], room, self.limits.max_batch_docs,
                                                            _MGET_OVERHEAD)] or [[]]
        chunks[0] = head + chunks[0]
        entries: list[dict[str, Any]] = []
        for chunk in chunks:
            if not chunk:
                continue
            for _, answer in send_halving(chunk, lambda p: self._mget(p, operation, stored_fields), self._refused):
                if isinstance(answer, Refused):
                    raise StoreUnavailable(f"OpenSearch at {self._where}: {operation} refused one document reference as too large (HTTP 413)")
                entries.extend(answer)
        return entries

    def bulk(self, actions: Sequence[BulkAction]) -> dict[DocKey, Outcome]:
        """An outcome per action; a failed request raises only if nothing was answered before it."""
        outcomes: dict[DocKey, Outcome] = {}
        limit = self.limits.max_request_bytes
        sendable = []
        for action in actions:
            if action.size > limit:
                outcomes[action.key] = Rejected(
                    f"the document is {action.size} bytes as a bulk action, over the request limit of {limit} bytes"
                    " (max_request_bytes)"
                )
            else:
                sendable.append(action)
        answered = False
        for run in pack([a.size for a in sendable], self.pack_bytes, self.limits.max_batch_docs):
            try:
                for part, answer in send_halving(sendable[run.start : run.stop], self._bulk, self._refused):
                    answered = True
                    if isinstance(answer, Refused):
                        outcomes[part[0].key] = Rejected(
                            f"the server refused the document as too large (HTTP 413) even alone ({part[0].size} bytes)"
                        )
                    else:
                        outcomes.update(answer)
            except StoreUnavailable as error:
                if not answered:
                    raise
                for action in sendable:  # a request whose answer was lost may have been applied: tokens decide
                    outcomes.setdefault(action.key, Retryable(str(error)))
                break
        return outcomes

    def _mget(self, refs: Sequence[_Ref], operation: str, stored_fields: Sequence[str]) -> list[dict[str, Any]]:
        fields = {"stored_fields": ",".join(stored_fields), "_source": "true"} if stored_fields else {}
        response = self._call(operation, self._client.mget, body='{"docs":[' + ",".join(r.text for r in refs) + "]}",
                              **fields)
        entries = _objects(response.get("docs"))
        if entries is None or len(entries) != len(refs):
            count = "no list of" if entries is None else len(entries)
            raise StoreUnavailable(f"OpenSearch at {self._where}: {operation} answered {count} of {len(refs)} documents")
        return entries

    def _bulk(self, actions: Sequence[BulkAction]) -> dict[DocKey, Outcome]:
        response = self._call("write", self._client.bulk, body="".join(a.text for a in actions), filter_path=_BULK_FILTER,
                              require_alias=True)  # never auto-create an index: a dropped target stays dropped
        items = _objects(response.get("items"))
        if items is None or len(items) != len(actions):
            count = "no list of" if items is None else len(items)
            raise StoreUnavailable(f"OpenSearch at {self._where}: write answered {count} items for {len(actions)} documents")
        found: dict[DocKey, Outcome] = {}
        for action, item in zip(actions, items):
            try:
                (result,) = item.values()
                found[action.key] = outcome(result)
            except (ValueError, TypeError, KeyError, AttributeError):
                found[action.key] = Retryable("the answer for this document is not a _bulk item")
        return found

    def _refused(self, part: Sequence[Any]) -> None:
        """A request of several items got 413: later requests are packed no larger than half of it."""
        size = sum(item.size for item in part)
        with self._lock:
            self.pack_bytes = max(1, min(self.pack_bytes, size // 2))
        log.warning(
            "OpenSearch refused a request as too large (HTTP 413); sending smaller requests",
            extra={"store": self._where, "request_bytes": size, "pack_bytes": self.pack_bytes},
        )
