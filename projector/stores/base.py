"""The document store port: the contract every store honours.

A store keeps, per physical target (an OpenSearch index, a SQLite table, a
dict), one row per aggregate document: its visible body (``None`` for a
tombstone document), its fold state (watermarks, slices, tombstones) and a
concurrency token. The projector needs exactly three operations, each one
round trip whatever the batch size:

- ``load``: the write targets of the aggregates and the documents asked for;
- ``write``: conditional writes, each expecting the token it loaded (or
  expecting absence, ``None``); outcomes per document, never all-or-nothing;
- ``reload``: the same as ``load`` for documents that lost a race.

A token is only meaningful on the target it was read from. Readers go
through the read target (the OpenSearch alias), never see tombstone
documents and never see the internal metadata.

No write ever creates a target: a write to a target that no longer exists
(a rebuild dropped it, someone deleted it) answers ``Gone`` for its
documents, and the projector reads the targets again. Who may change the
targets is decided by a lease per aggregate (``stores.lease``), kept in the
store beside the targets it guards, and every change of targets is a
compare-and-set checked against that lease. ``physical`` lists what the
store really holds of an aggregate, so a target its control record names
but the store lost, or one it holds but nothing names, can be found.
"""

from __future__ import annotations

import random
from typing import Any, Collection, Iterable, Iterator, Mapping, Optional, Protocol, Sequence, Union

import attrs

from dynafold.domain.aggregate import Aggregate
from dynafold.domain.state import AggregateState
from dynafold.projector.errors import ConfigurationError, Unavailable
from dynafold.projector.stores.lease import Lease


@attrs.frozen
class DocKey:
    target: str
    id: str


@attrs.frozen
class StoredDocument:
    key: DocKey
    token: Any
    state: AggregateState
    body: Optional[Mapping[str, Any]]


@attrs.frozen
class Sample:
    """How many visible documents a target holds, and up to ``size`` of them chosen at random: what a
    rebuild's check needs, which a store that can count without reading every document answers in two
    requests instead of a pass over the target."""

    visible: int
    documents: tuple[StoredDocument, ...]


def reservoir(documents: Iterable[StoredDocument], size: int, seed: int) -> Sample:
    """``Sample`` by one pass over ``documents`` (reservoir sampling): for stores that read locally."""
    rng = random.Random(seed)
    chosen: list[StoredDocument] = []
    visible = 0
    for stored in documents:
        if stored.body is None:
            continue
        visible += 1
        if len(chosen) < size:
            chosen.append(stored)
        elif size > 0:
            slot = rng.randrange(visible)
            if slot < size:
                chosen[slot] = stored
    return Sample(visible, tuple(chosen))


@attrs.frozen
class DocumentWrite:
    key: DocKey
    expected: Any
    state: AggregateState
    body: Optional[Mapping[str, Any]]


@attrs.frozen
class Written:
    token: Any


@attrs.frozen
class Conflict:
    """Someone else wrote the document since it was loaded: reload and re-fold."""


@attrs.frozen
class Retryable:
    """The write did not happen for a transient reason (throttled, 5xx, timeout): resend."""

    reason: str


@attrs.frozen
class Rejected:
    """The store refused this document for good (a mapping error): its records are quarantined."""

    reason: str


@attrs.frozen
class Gone:
    """The document's target no longer exists (dropped by a rebuild, deleted by hand): nothing was written
    and nothing was created; read the targets again."""

    reason: str


Outcome = Union[Written, Conflict, Retryable, Rejected, Gone]


@attrs.frozen
class Loaded:
    targets: Mapping[str, tuple[str, ...]]
    documents: Mapping[DocKey, StoredDocument]


@attrs.frozen
class Targets:
    """Where an aggregate's documents live: read by one target, written to all write targets; ``kept``:
    targets a rebuild switched away from and kept (``--keep-old``), neither read nor written, which an
    abort's sweep of unnamed targets leaves alone."""

    read: Optional[str]
    write: tuple[str, ...]
    kept: tuple[str, ...] = ()


class StoreUnavailable(Unavailable):
    """The store could not be reached or answered with an error for the whole request."""


class StoreUnusable(ConfigurationError):
    """The store's place cannot be used as it is (a read-only or unreadable file, a full disk, permission
    denied): someone must act, so retrying will not help (exit 2). The engine does not retry it: the batch
    fails at once (Lambda redelivers it once the place is fixed) and a command stops."""


class UnknownTarget(ConfigurationError):
    """An aggregate has no physical target in this store yet (run a replay first) or is not in the model."""


def default_target(aggregate: Aggregate) -> str:
    """The physical target of an aggregate's schema version: the name carries the version."""
    return f"{aggregate.name}_v{aggregate.version}"


class DocumentStore(Protocol):
    url: str

    def prepare(self, aggregates: Collection[Aggregate]) -> None:
        """Create the current targets of aggregates that have none yet (idempotent)."""

    def load(self, wanted: Mapping[str, Collection[str]]) -> Loaded:
        """Write targets of the aggregates in ``wanted`` and, on each, the documents with those ids."""

    def reload(self, keys: Collection[DocKey]) -> Mapping[DocKey, StoredDocument]:
        """The documents as they are now (absent ones omitted)."""

    def write(self, writes: Sequence[DocumentWrite]) -> Mapping[DocKey, Outcome]:
        """Apply each write if its document still has the expected token (``Gone``, creating nothing, if
        its target no longer exists)."""

    def targets(self, aggregate: str) -> Targets:
        ...

    def create_target(self, aggregate: Aggregate, target: str) -> None:
        """A new empty physical target for ``aggregate`` (not yet read or written)."""

    def set_targets(self, aggregate: str, targets: Targets, *, expected: Optional[Targets] = None,
                    lease: Optional[Lease] = None) -> None:
        """Atomically replace the read target and write targets of an aggregate, only while they are
        ``expected`` (``TargetsChanged``) and ``lease`` is the aggregate's current lease (``LeaseLost``)."""

    def drop_target(self, target: str) -> None:
        ...

    def physical(self, aggregate: str) -> frozenset[str]:
        """Every physical target of ``aggregate`` the store holds, whether its targets name it or not."""

    def lease(self, aggregate: str) -> Optional[Lease]:
        """The aggregate's current lease, expired or not (None when nobody holds one)."""

    def take_lease(self, aggregate: str, holder: str, ttl_s: float, *, work: Mapping[str, Any] = {},
                   replaces: Optional[str] = None, now: Optional[float] = None) -> tuple[Lease, Optional[Lease]]:
        """A new lease and the one it replaced (``stores.lease.taken``), in one atomic step."""

    def renew_lease(self, lease: Lease, ttl_s: float, *, work: Optional[Mapping[str, Any]] = None,
                    now: Optional[float] = None) -> Lease:
        """``lease`` extended (``stores.lease.renewed``), in one atomic step."""

    def release_lease(self, lease: Lease) -> None:
        """Remove ``lease`` if it is still the current one."""
    def differences(self, aggregate: Aggregate, target: str) -> list[str]:
        """How ``target`` differs from a target made from ``aggregate`` now (a field that changed kind or
        was added, an older release's mappings or search index), one line each; empty when it does not.
        Such a target keeps taking writes (what it cannot hold is left out) until a rebuild replaces it."""

    def get(self, aggregate: str, doc_id: str) -> Optional[dict[str, Any]]:
        """The visible document through the read target, or None."""

    def documents(self, aggregate: str) -> Iterator[dict[str, Any]]:
        """Every visible document through the read target, sorted by id."""

    def search(self, aggregate: str, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Visible documents matching a full-text query over the aggregate's text fields."""

    def stored(self, target: str) -> Iterator[StoredDocument]:
        """Every document of a target, tombstone documents included, sorted by id."""

    def sample(self, target: str, size: int, seed: int) -> Sample:
        """The visible documents of a target counted, and ``size`` of them (all, when fewer) chosen at
        random by ``seed``; tombstone documents neither counted nor chosen."""

    def delete(self, key: DocKey, expected: Any) -> bool:
        """Delete a document if it still has the expected token (the sweep); False if it changed."""

    def close(self) -> None:
        ...


def require_targets(targets: Mapping[str, Targets], aggregate: str) -> Targets:
    try:
        return targets[aggregate]
    except KeyError:
        raise UnknownTarget(
            f"the store has no targets for aggregate {aggregate!r}; run the projector or "
            "`dynafold replay` once so it creates them"
        ) from None
