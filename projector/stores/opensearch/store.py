"""``opensearch+https://host:port``: aggregate documents in OpenSearch, read through an alias.

The store is a composition of collaborators, each given what it needs:
``url`` (URL, options, credentials, the client), ``calls`` (every request
and what its failure means), ``layout`` (names, and a document's
``_source``), ``mappings`` (index settings and mappings), ``control`` (the
control index and the read alias), ``requests`` (bounded ``_mget`` and
``_bulk``), ``reads`` (``get``, ``documents``, ``search``, ``stored``),
``errors`` (outcomes and messages). No exception message or repr of this
store holds credentials.

One module, not several: this is the composition root of the store; what
is left here is the port's methods, each a delegation or the order of the
write path's steps, which reads best in one place.

Layout and control
    See ``layout`` (one index per target, the ``dynafold`` object in each
    document) and ``control`` (the control documents, the filtered alias).
    ``prepare`` creates index, control document and alias for aggregates
    that have none.

Cost
    ``load`` is one ``_mget`` in steady state: the control documents of the
    aggregates and the documents on the write targets cached from the last
    control documents seen. If the control documents name a target the cache
    did not have, a second ``_mget`` fetches its documents (only right after a
    rebuild registers a target). ``prepare`` fills the cache, so even the
    first batch costs one ``_mget``. If the control documents or indices
    vanished (``UnknownTarget``), ``load`` forgets the cache, prepares again
    and loads once more. ``write`` is one ``_bulk`` through each target's
    write alias with ``require_alias``: ``create`` for an expected absence,
    ``index`` with ``if_seq_no``/``if_primary_term`` otherwise. Both are split
    when a batch touches more documents or bytes
    than one request may carry (``max_batch_docs``, ``max_request_bytes``:
    ``opensearch_requests``); a document too large for any request is
    ``Rejected``.

Outcomes
    Per bulk item, as ``opensearch_errors`` classifies them. A document id
    that OpenSearch cannot hold (empty, or longer than 512 bytes) is
    ``Rejected`` before sending, because OpenSearch rejects the whole bulk
    request for it. A failure of the whole request raises ``StoreUnavailable``.

Retries
    The client makes none (``max_retries=0``): its retries are immediate,
    while the projector's batch loop retries with jittered backoff and knows
    which items are still pending.

No write creates an index
    OpenSearch auto-creates a missing index on write, with a dynamic mapping
    and no alias. Every write goes through the target's write alias with
    ``require_alias=true`` instead (OpenSearch 1.0 and later, Amazon
    OpenSearch Service included), so a write to a target a rebuild dropped,
    or someone deleted, is ``Gone``: it fails and the projector reads the
    targets again. An index made before write aliases gets its alias the
    first time a write finds it without one (the item is then resent).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Collection, Iterable, Iterator, Mapping, Optional, Sequence

from opensearchpy import OpenSearch

from dynafold.domain.aggregate import Aggregate
from dynafold.projector.stores import codec
from dynafold.projector.stores.base import (
    DocKey,
    DocumentWrite,
    Gone,
    Loaded,
    Outcome,
    Rejected,
    Retryable,
    Sample,
    StoredDocument,
    Targets,
    UnknownTarget,
    default_target,
    require_targets,
)
from dynafold.projector.stores.lease import Lease, permit_change, renewed, taken
from dynafold.projector.stores.opensearch.calls import Calls
from dynafold.projector.stores.opensearch.control import Control, create_index
from dynafold.projector.stores.opensearch.errors import error_type
from dynafold.projector.stores.opensearch.layout import CONTROL_INDEX, STORED, Names, source_text, stored_document
from dynafold.projector.stores.opensearch.mappings import MAX_ID_BYTES, META, index_body, valid_id
from dynafold.projector.stores.opensearch.reads import Reads
from dynafold.projector.stores.opensearch.requests import BoundedRequests, BulkAction, Limits
from dynafold.projector.stores.opensearch.target_mapping import TargetMappings
from dynafold.projector.stores.opensearch.url import connect, redacted

__all__ = ["CONTROL_INDEX", "OpenSearchStore"]


class OpenSearchStore:
    """The document store port on an OpenSearch cluster (see the module docstring)."""

    def __init__(
        self,
        url: str,
        client: OpenSearch,
        *,
        prefix: str = "",
        refresh: bool = True,
        secrets: Sequence[str] = (),
        limits: Limits = Limits(),
    ) -> None:
        self.url = url
        self.client = client
        self.names = Names(prefix)
        self.limits = limits
        self._refresh = refresh
        self._calls = Calls(redacted(url), secrets)
        self._requests = BoundedRequests(client, self._calls, limits, self._calls.where)
        self._control = Control(client, self._calls, self.names)
        self._aggregates: dict[str, Aggregate] = {}
        self._reads = Reads(client, self._calls, self.names, targets=self._control.read, known=self._aggregates,
                            refresh=refresh)
        self._mappings = TargetMappings(client, self._calls, self.names, self._aggregates)
        self._lock = threading.Lock()
        self._write_targets: dict[str, tuple[str, ...]] = {}

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, **client_options: Any) -> "OpenSearchStore":
        """A store from its URL (``url``); ``client_options`` go to ``OpenSearch(...)``.
        ``read_only`` never refreshes (``_refresh`` needs write permission on a production domain):
        reads then see what OpenSearch has refreshed, within its refresh interval."""
        c = connect(url, **client_options)
        return cls(c.url, c.client, prefix=c.prefix, refresh=c.refresh and not read_only, secrets=c.secrets,
                   limits=c.limits)

    def __repr__(self) -> str:
        return f"OpenSearchStore({self.url!r})"

    @property
    def prefix(self) -> str:
        return self.names.prefix

    @property
    def page_size(self) -> int:
        """Hits per page of the readers' scans."""
        return self._reads.page_size

    @page_size.setter
    def page_size(self, value: int) -> None:
        self._reads.page_size = value

    # the port: writers

    def prepare(self, aggregates: Collection[Aggregate]) -> None:
        aggregates = list(aggregates)
        for aggregate in aggregates:
            self._aggregates[aggregate.name] = aggregate
        if not aggregates:
            return
        entries = self._requests.mget([self._control.ref(a.name) for a in aggregates], "prepare")
        for aggregate, entry in zip(aggregates, entries):
            found = self._control.parse(entry)
            if found is not None:
                self._remember({aggregate.name: found.write})
            else:
                self._create_aggregate(aggregate)

    def _create_aggregate(self, aggregate: Aggregate) -> None:
        """Index, control document and alias; each step accepts that another process did it first."""
        target = default_target(aggregate)
        self._control.ensure_index()
        self._create_index(aggregate, target)
        self._control.create(aggregate.name, Targets(target, (target,)))
        found = self._control.sync_alias(aggregate.name)
        if found is not None:
            self._remember({aggregate.name: found.write})

    def load(self, wanted: Mapping[str, Collection[str]]) -> Loaded:
        try:
            return self._load(wanted)
        except UnknownTarget:
            if not self._rediscover(wanted):
                raise
            return self._load(wanted)

    def _rediscover(self, names: Collection[str]) -> bool:
        """Targets vanished under a warm projector (a restored cluster, a deleted index): forget the cache and
        prepare again the aggregates this store prepared (False if none), or every batch fails until a cold start."""
        known = [self._aggregates[name] for name in names if name in self._aggregates]
        with self._lock:
            for aggregate in known:
                self._write_targets.pop(aggregate.name, None)
        self._control.forget()
        self.prepare(known)
        return bool(known)

    def _load(self, wanted: Mapping[str, Collection[str]]) -> Loaded:
        names = list(wanted)
        if not names:
            return Loaded({}, {})
        ids = {name: _valid_ids(wanted[name]) for name in names}
        with self._lock:
            cached = {name: self._write_targets.get(name, ()) for name in names}
        asked = [(name, DocKey(t, doc_id)) for name in names for t in cached[name] for doc_id in ids[name]]
        entries = self._requests.mget([self._control.ref(n) for n in names] + [self._doc_ref(k) for _, k in asked],
                                      "load", len(names), STORED)
        targets: dict[str, tuple[str, ...]] = {}
        for name, entry in zip(names, entries):
            found = self._control.parse(entry)
            if found is None:
                require_targets({}, name)
            targets[name] = found.write
        self._remember(targets)
        documents: dict[DocKey, StoredDocument] = {}
        self._collect(documents, targets, asked, entries[len(names):])
        missing = [
            (name, DocKey(t, doc_id))
            for name in names
            for t in targets[name]
            if t not in cached[name]
            for doc_id in ids[name]
        ]
        if missing:
            self._collect(documents, targets, missing,
                          self._requests.mget([self._doc_ref(k) for _, k in missing], "load", stored_fields=STORED))
        return Loaded(targets, documents)

    def _collect(self, documents, targets, asked, entries) -> None:
        for (name, key), entry in zip(asked, entries):
            if key.target in targets[name]:
                document = self._document(key, entry)
                if document is not None:
                    documents[key] = document

    def reload(self, keys: Collection[DocKey]) -> Mapping[DocKey, StoredDocument]:
        keys = [k for k in dict.fromkeys(keys) if valid_id(k.id)]
        found = {}
        entries = self._requests.mget([self._doc_ref(k) for k in keys], "reload", stored_fields=STORED)
        for key, entry in zip(keys, entries):
            document = self._document(key, entry)
            if document is not None:
                found[key] = document
        return found

    def write(self, writes: Sequence[DocumentWrite]) -> Mapping[DocKey, Outcome]:
        outcomes: dict[DocKey, Outcome] = {}
        outcomes.update(self._requests.bulk(self._actions(writes, outcomes)))
        refused = [w for w in writes if valid_id(w.key.id) and isinstance(outcomes.get(w.key), Rejected)]
        held = self._mappings.learn(w.key.target for w in refused) if refused else set()
        again = [w for w in refused if w.key.target in held]  # a target from an older model: send what it holds
        if again:
            outcomes.update(self._requests.bulk(self._actions(again, outcomes)))
        self._give_aliases(outcomes)
        return outcomes

    def _actions(self, writes: Sequence[DocumentWrite], outcomes: dict[DocKey, Outcome]) -> list[BulkAction]:
        actions = []
        for w in writes:
            if not valid_id(w.key.id):
                outcomes[w.key] = Rejected(f"document id is empty or longer than {MAX_ID_BYTES} bytes")
                continue
            action: dict[str, Any] = {"_index": self.names.writer(w.key.target), "_id": w.key.id}
            if w.expected is None:
                op = "create"
            else:
                op = "index"
                action["if_seq_no"], action["if_primary_term"] = w.expected
            source = source_text(self._mappings.hold(w), first_layout=self._mappings.first_layout(w.key.target))
            actions.append(BulkAction(w.key, codec.dumps({op: action}) + "\n" + source + "\n"))
        return actions

    def differences(self, aggregate: Aggregate, target: str) -> list[str]:
        """How the target's index differs from the one the model makes (a rebuild makes that one)."""
        return self._mappings.differences(aggregate, target)

    def _give_aliases(self, outcomes: dict[DocKey, Outcome]) -> None:
        """``Gone`` for an index that exists means an index made before write aliases: give it its alias and
        make those writes ``Retryable`` (the projector resends them)."""
        gone = {key.target for key, outcome in outcomes.items() if isinstance(outcome, Gone)}
        for target in sorted(gone):
            index = self.names.index(target)
            if not self._calls("write", self.client.indices.exists, index=index):
                continue
            self._calls("write", self.client.indices.put_alias, index=index, name=self.names.writer(target),
                        body={"is_hidden": True})
            for key, outcome in outcomes.items():
                if key.target == target and isinstance(outcome, Gone):
                    outcomes[key] = Retryable(f"{target} had no write alias (made by an earlier version): added")

    def targets(self, aggregate: str) -> Targets:
        found = self._control.read(aggregate)
        if found is None:
            return require_targets({}, aggregate)
        self._remember({aggregate: found.write})
        return found

    def create_target(self, aggregate: Aggregate, target: str) -> None:
        self._aggregates[aggregate.name] = aggregate
        self._create_index(aggregate, target)

    def set_targets(self, aggregate: str, targets: Targets, *, expected: Optional[Targets] = None,
                    lease: Optional[Lease] = None) -> None:
        for target in dict.fromkeys(t for t in (targets.read, *targets.write) if t is not None):
            if not self._calls("set_targets", self.client.indices.exists, index=self.names.index(target)):
                raise UnknownTarget(f"no target {target!r}")
        if self._refresh and targets.read is not None:  # readers of the alias see at once what the target holds
            self._calls("set_targets", self.client.indices.refresh, index=self.names.index(targets.read))

        def switch(now: Optional[Targets], current: Optional[Lease]):
            permit_change(aggregate, now, current, expected=expected, lease=lease)
            return targets, current, None

        self._control.update(aggregate, switch)
        self._remember({aggregate: tuple(targets.write)})
        self._control.sync_alias(aggregate)

    def drop_target(self, target: str) -> None:
        self._calls("drop_target", self.client.indices.delete, index=self.names.index(target), ignore=404)

    def physical(self, aggregate: str) -> frozenset[str]:
        """The indices named as the aggregate's targets are (``Names.targets_of``), unless their mapping says
        they belong to another aggregate (an index a write auto-created has no such mark: it is one of these)."""
        found = self._calls("physical", self.client.indices.get_mapping, index=f"{self.prefix}{aggregate}_v*",
                            expand_wildcards="all", ignore=404)  # targets are hidden indices
        pattern, held = self.names.targets_of(aggregate), set()
        for index, entry in found.items():
            mappings = entry.get("mappings") if isinstance(entry, Mapping) else None
            meta = ((mappings or {}).get("_meta") or {}).get(META) or {}
            if pattern.fullmatch(index) and meta.get("aggregate", aggregate) == aggregate:
                held.add(index[len(self.prefix):])
        return frozenset(held)

    def lease(self, aggregate: str) -> Optional[Lease]:
        return self._control.lease(aggregate)

    def take_lease(self, aggregate: str, holder: str, ttl_s: float, *, work: Mapping[str, Any] = {},
                   replaces: Optional[str] = None, now: Optional[float] = None) -> tuple[Lease, Optional[Lease]]:
        def take(current: Optional[Lease]):
            lease, previous = taken(current, aggregate, holder, ttl_s, work=work, replaces=replaces,
                                    now=time.time() if now is None else now)
            return lease, (lease, previous)

        return self._control.leased(aggregate, take)

    def renew_lease(self, lease: Lease, ttl_s: float, *, work: Optional[Mapping[str, Any]] = None,
                    now: Optional[float] = None) -> Lease:
        def renew(current: Optional[Lease]):
            renewal = renewed(current, lease, ttl_s, work=work, now=time.time() if now is None else now)
            return renewal, renewal

        return self._control.leased(lease.aggregate, renew)

    def release_lease(self, lease: Lease) -> None:
        self._control.leased(lease.aggregate, lambda current: (
            None if current is not None and current.id == lease.id else current, None))

    def delete(self, key: DocKey, expected: Any) -> bool:
        """Delete a document if it still has the expected token (the sweep)."""
        seq_no, primary_term = expected
        response = self._calls("delete", self.client.delete, index=self.names.index(key.target), id=key.id,
                               if_seq_no=seq_no, if_primary_term=primary_term, ignore=(404, 409))
        return response.get("result") == "deleted"

    # the port: readers

    def get(self, aggregate: str, doc_id: str) -> Optional[dict[str, Any]]:
        return self._reads.get(aggregate, doc_id)

    def documents(self, aggregate: str) -> Iterator[dict[str, Any]]:
        return self._reads.documents(aggregate)

    def search(self, aggregate: str, query: str, limit: int = 10) -> list[dict[str, Any]]:
        return self._reads.search(aggregate, query, limit)

    def stored(self, target: str) -> Iterator[StoredDocument]:
        return self._reads.stored(target)

    def sample(self, target: str, size: int, seed: int) -> Sample:
        return self._reads.sample(target, size, seed)

    def close(self) -> None:
        self.client.close()

    # helpers

    def _doc_ref(self, key: DocKey) -> dict[str, str]:
        return {"_index": self.names.index(key.target), "_id": key.id}

    def _document(self, key: DocKey, entry: Mapping[str, Any]) -> Optional[StoredDocument]:
        if entry.get("found"):
            return stored_document(key, entry)
        error = entry.get("error")
        if error:
            if error_type(error) == "index_not_found_exception":
                raise UnknownTarget(f"no target {key.target!r}")
            raise self._calls.unavailable(f"reading {key.target}", error_type(error))
        return None

    def _remember(self, targets: Mapping[str, tuple[str, ...]]) -> None:
        with self._lock:
            self._write_targets.update(targets)

    def _create_index(self, aggregate: Aggregate, target: str) -> None:
        body = {**index_body(aggregate, target), "aliases": {self.names.writer(target): {"is_hidden": True}}}
        create_index(self.client, self._calls, self.names.index(target), body)


def _valid_ids(ids: Iterable[str]) -> list[str]:
    """The ids that can exist in OpenSearch (others cannot be stored, so are absent), once each."""
    return [i for i in dict.fromkeys(ids) if valid_id(i)]
