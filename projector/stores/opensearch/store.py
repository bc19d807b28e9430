"""``opensearch+https://host:port``: aggregate documents in OpenSearch, read through an alias.

URL, options and credentials: ``opensearch_url``; mappings:
``opensearch_mappings``; outcomes and error messages: ``opensearch_errors``;
the control document and alias updates of a switch: ``opensearch_switch``;
bounded ``_mget`` and ``_bulk``: ``opensearch_requests``; the readers' side
(``get``, ``documents``, ``search``, ``stored``): ``opensearch_reads``.
No exception message or repr of this store holds credentials: whole-request
failures are re-raised ``from None`` with a message built there.

Layout
    One index per physical target, ``<prefix><target>`` (``customer_v1``).
    A document is its visible body's declared fields at the top level (none
    for a tombstone document) plus ``dynafold: {id, visible, state}``, where
    ``state`` is ``{"json": <the fold state as JSON text>}`` (mapping
    ``enabled: false``; ``opensearch_reads.pack_state`` says why a text)
    and read back exactly: request and response bodies go through
    ``codec``, so a ``Decimal`` keeps every digit both ways. The concurrency
    token is ``(seq_no, primary_term)``, meaningful only on its own index.

Control and alias
    ``<prefix>dynafold_control`` holds one document per aggregate,
    ``{read, write}``: the write targets (more than one while a rebuild
    dual-writes). Readers use the alias ``<prefix><aggregate>``, which points
    at the read target with the filter ``dynafold.visible: true``, so no
    search through it returns a tombstone document. GET and _mget ignore
    alias filters, so ``get`` checks visibility itself, and our own searches
    repeat the filter. ``set_targets`` writes the control document
    (conditionally, retried on a race) and then moves the alias in one atomic
    ``update_aliases`` call, re-reading the control document afterwards until
    alias and document agree, so two concurrent switches cannot leave them
    pointing at different targets. ``prepare`` creates index, control document
    and alias for aggregates that have none; every step tolerates another
    projector doing the same at the same time.

Cost
    ``load`` is one ``_mget`` in steady state: the control documents of the
    aggregates and the documents on the write targets cached from the last
    control documents seen. If the control documents name a target the cache
    did not have, a second ``_mget`` fetches its documents (only right after a
    rebuild registers a target). ``prepare`` fills the cache, so even the
    first batch costs one ``_mget``. If the control documents or indices
    vanished (``UnknownTarget``), ``load`` forgets the cache, prepares again
    and loads once more. ``write`` is one ``_bulk``: ``create``
    for an expected absence, ``index`` with ``if_seq_no``/``if_primary_term``
    otherwise. Both are split when a batch touches more documents or bytes
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

Operational note
    OpenSearch auto-creates a missing index on write. Drop an old target only
    after every projector has loaded the control document that no longer
    names it (a batch's time budget later), or disable auto-creation for the
    prefix (``action.auto_create_index: -<prefix>*``).
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable, Collection, Iterable, Mapping, Optional, Sequence

from opensearchpy import OpenSearch
from opensearchpy.exceptions import OpenSearchException, TransportError

from dynafold.domain.aggregate import Aggregate
from dynafold.projector.stores import codec
from dynafold.projector.stores.base import (
    DocKey,
    DocumentWrite,
    Loaded,
    Outcome,
    Rejected,
    StoredDocument,
    StoreUnavailable,
    Targets,
    UnknownTarget,
    default_target,
    require_targets,
)
from dynafold.projector.stores.opensearch.errors import describe, error_type
from dynafold.projector.stores.opensearch.mappings import CONTROL_BODY, MAX_ID_BYTES, META, index_body, valid_id
from dynafold.projector.stores.opensearch.reads import OpenSearchReads, pack_state, stored_document
from dynafold.projector.stores.opensearch.requests import BoundedRequests, BulkAction, Limits, RequestTooLarge
from dynafold.projector.stores.opensearch.switch import OpenSearchSwitch
from dynafold.projector.stores.opensearch.url import connect, redacted

CONTROL_INDEX = "dynafold_control"
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,254}$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")
class OpenSearchStore(OpenSearchReads, OpenSearchSwitch):
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
        if prefix and not _PREFIX.match(prefix):
            raise ValueError(
                f"OpenSearch prefix {prefix!r} must be lower case letters, digits and . _ + - and not start with . _ + -"
            )
        self.url = url
        self.client = client
        self.prefix = prefix
        self._where = redacted(url)
        self._refresh = refresh
        self._secrets = tuple(s for s in secrets if s)
        self.limits = limits
        self._requests = BoundedRequests(client, self._call, limits, self._where)
        self._lock = threading.Lock()
        self._write_targets: dict[str, tuple[str, ...]] = {}
        self._aggregates: dict[str, Aggregate] = {}
        self._control_ready = False

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False, **client_options: Any) -> "OpenSearchStore":
        """A store from its URL (``opensearch_url``); ``client_options`` go to ``OpenSearch(...)``.
        ``read_only`` never refreshes (``_refresh`` needs write permission on a production domain):
        reads then see what OpenSearch has refreshed, within its refresh interval."""
        c = connect(url, **client_options)
        return cls(c.url, c.client, prefix=c.prefix, refresh=c.refresh and not read_only, secrets=c.secrets,
                   limits=c.limits)

    def __repr__(self) -> str:
        return f"OpenSearchStore({self.url!r})"

    # names

    def _index(self, target: str) -> str:
        name = self.prefix + target
        if not _INDEX_NAME.match(name):
            raise ValueError(f"target {target!r} does not make a valid OpenSearch index name ({name!r})")
        return name

    def _alias(self, aggregate: str) -> str:
        return self.prefix + aggregate

    @property
    def _control_index(self) -> str:
        return self.prefix + CONTROL_INDEX

    # the port

    def prepare(self, aggregates: Collection[Aggregate]) -> None:
        aggregates = list(aggregates)
        for aggregate in aggregates:
            self._aggregates[aggregate.name] = aggregate
        if not aggregates:
            return
        entries = self._mget([self._control_ref(a.name) for a in aggregates], "prepare")
        for aggregate, entry in zip(aggregates, entries):
            found = self._control(entry)
            if found is not None:
                self._remember({aggregate.name: found.write})
            else:
                self._create_aggregate(aggregate)

    def _create_aggregate(self, aggregate: Aggregate) -> None:
        """Index, control document and alias; each step accepts that another process did it first."""
        self._ensure_control_index()
        target = default_target(aggregate)
        self._create_index(aggregate, target)
        self._call(  # a 409 means another projector created it first
            "prepare",
            self.client.create,
            index=self._control_index,
            id=aggregate.name,
            body={"read": target, "write": [target]},
            ignore=409,
        )
        self._sync_alias(aggregate.name)

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
        self._control_ready = False
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
        entries = self._mget([self._control_ref(n) for n in names] + [self._doc_ref(k) for _, k in asked], "load",
                             uncounted=len(names))
        targets: dict[str, tuple[str, ...]] = {}
        for name, entry in zip(names, entries):
            found = self._control(entry)
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
            self._collect(documents, targets, missing, self._mget([self._doc_ref(k) for _, k in missing], "load"))
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
        for key, entry in zip(keys, self._mget([self._doc_ref(k) for k in keys], "reload")):
            document = self._document(key, entry)
            if document is not None:
                found[key] = document
        return found

    def write(self, writes: Sequence[DocumentWrite]) -> Mapping[DocKey, Outcome]:
        outcomes: dict[DocKey, Outcome] = {}
        actions = []
        for w in writes:
            if not valid_id(w.key.id):
                outcomes[w.key] = Rejected(f"document id is empty or longer than {MAX_ID_BYTES} bytes")
                continue
            action: dict[str, Any] = {"_index": self._index(w.key.target), "_id": w.key.id}
            if w.expected is None:
                op = "create"
            else:
                op = "index"
                action["if_seq_no"], action["if_primary_term"] = w.expected
            actions.append(BulkAction(w.key, codec.dumps({op: action}) + "\n" + codec.dumps(_source(w)) + "\n"))
        outcomes.update(self._requests.bulk(actions))
        return outcomes

    def targets(self, aggregate: str) -> Targets:
        entry = self._call("targets", self.client.get, index=self._control_index, id=aggregate, ignore=404)
        found = self._control(entry)
        if found is None:
            return require_targets({}, aggregate)
        self._remember({aggregate: found.write})
        return found

    def create_target(self, aggregate: Aggregate, target: str) -> None:
        self._aggregates[aggregate.name] = aggregate
        self._create_index(aggregate, target)

    def set_targets(self, aggregate: str, targets: Targets) -> None:
        for target in dict.fromkeys(t for t in (targets.read, *targets.write) if t is not None):
            if not self._call("set_targets", self.client.indices.exists, index=self._index(target)):
                raise UnknownTarget(f"no target {target!r}")
        if self._refresh and targets.read is not None:  # readers of the alias see at once what the target holds
            self._call("set_targets", self.client.indices.refresh, index=self._index(targets.read))
        self._ensure_control_index()
        self._put_control(aggregate, targets)
        self._remember({aggregate: tuple(targets.write)})
        self._sync_alias(aggregate)

    def drop_target(self, target: str) -> None:
        self._call("drop_target", self.client.indices.delete, index=self._index(target), ignore=404)

    def delete(self, key: DocKey, expected: Any) -> bool:
        """Delete a document if it still has the expected token (the sweep)."""
        seq_no, primary_term = expected
        response = self._call(
            "delete",
            self.client.delete,
            index=self._index(key.target),
            id=key.id,
            if_seq_no=seq_no,
            if_primary_term=primary_term,
            ignore=(404, 409),
        )
        return response.get("result") == "deleted"

    def close(self) -> None:
        self.client.close()

    # reading helpers

    def _control_ref(self, aggregate: str) -> dict[str, str]:
        return {"_index": self._control_index, "_id": aggregate}

    def _doc_ref(self, key: DocKey) -> dict[str, str]:
        return {"_index": self._index(key.target), "_id": key.id}

    def _mget(self, docs: list[dict[str, str]], operation: str, uncounted: int = 0) -> list[dict[str, Any]]:
        return self._requests.mget(docs, operation, uncounted)

    def _control(self, entry: Mapping[str, Any]) -> Optional[Targets]:
        if entry.get("found"):
            source = entry.get("_source") or {}
            return Targets(source.get("read"), tuple(source.get("write") or ()))
        error = entry.get("error")
        if error and error_type(error) != "index_not_found_exception":  # no control index: nothing prepared yet
            raise StoreUnavailable(f"OpenSearch at {self._where}: reading the control index failed: {error_type(error)}")
        return None

    def _document(self, key: DocKey, entry: Mapping[str, Any]) -> Optional[StoredDocument]:
        if entry.get("found"):
            return stored_document(key, entry)
        error = entry.get("error")
        if error:
            if error_type(error) == "index_not_found_exception":
                raise UnknownTarget(f"no target {key.target!r}")
            raise StoreUnavailable(f"OpenSearch at {self._where}: reading {key.target} failed: {error_type(error)}")
        return None

    # writing helpers

    def _remember(self, targets: Mapping[str, tuple[str, ...]]) -> None:
        with self._lock:
            self._write_targets.update(targets)

    def _ensure_control_index(self) -> None:
        if not self._control_ready:
            self._create(self._control_index, CONTROL_BODY)
            self._control_ready = True

    def _create_index(self, aggregate: Aggregate, target: str) -> None:
        self._create(self._index(target), index_body(aggregate, target))

    def _create(self, index: str, body: Mapping[str, Any]) -> None:
        response = self._call("create index", self.client.indices.create, index=index, body=body, ignore=400)
        error = response.get("error")
        if error and error_type(error) != "resource_already_exists_exception":
            raise StoreUnavailable(f"OpenSearch at {self._where}: creating index {index} failed: {error_type(error)}")

    # errors

    def _call(self, operation: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        """``method(**kwargs)``, failures as ``StoreUnavailable``.

        Statuses the caller expects are passed as ``ignore=`` and come back as
        the response body, so they are neither raised nor logged as failures
        by the client. An answer that is not JSON, or JSON other than an
        object (a proxy answering 200), is ``StoreUnavailable`` too.
        """
        try:
            answer = method(**kwargs)
        except TransportError as error:
            if error.status_code == 413:
                raise RequestTooLarge(self._describe(operation, error)) from None
            raise StoreUnavailable(self._describe(operation, error)) from None
        except OpenSearchException as error:
            raise StoreUnavailable(self._describe(operation, error)) from None
        if isinstance(answer, (Mapping, bool)):
            return answer
        raise StoreUnavailable(f"OpenSearch at {self._where}: {operation} answered {type(answer).__name__}, not an object")

    def _describe(self, operation: str, error: Exception) -> str:
        return describe(self._where, operation, error, self._secrets)


def _source(w: DocumentWrite) -> dict[str, Any]:
    source: dict[str, Any] = dict(w.body) if w.body is not None else {}
    source[META] = {"id": w.key.id, "visible": w.body is not None, "state": pack_state(w.state)}
    return source


def _valid_ids(ids: Iterable[str]) -> list[str]:
    """The ids that can exist in OpenSearch (others cannot be stored, so are absent), once each."""
    return [i for i in dict.fromkeys(ids) if valid_id(i)]
