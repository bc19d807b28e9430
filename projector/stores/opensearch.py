"""``opensearch+https://host:port``: aggregate documents in OpenSearch, read through an alias.

URL
    ``opensearch+https://host[:port][/path]`` (port 443 by default) or
    ``opensearch+http://host[:port]`` (port 9200), with optional query
    parameters: ``prefix=`` (put in front of every index and alias name, so
    several deployments can share a cluster; default empty),
    ``aws_region=…&aws_service=es|aoss`` (SigV4 signing with the default
    boto3 credentials), ``verify_certs=false`` (TLS verification is on unless
    turned off) and ``timeout=`` (seconds per request, default 10). An
    unknown parameter is an error rather than silently ignored. Basic auth
    comes from ``DYNAFOLD_OPENSEARCH_USERNAME`` / ``DYNAFOLD_OPENSEARCH_PASSWORD``
    (or from ``user:password@`` in the URL, which wins). ``self.url`` never
    holds credentials, and no exception message or repr of this store does:
    whole-request failures are re-raised ``from None`` with a message built
    here (host, operation, status, error type), not the client's own text.

Layout
    One index per physical target, ``<prefix><target>`` (``customer_v1``).
    A document is its visible body's declared fields at the top level (none
    for a tombstone document) plus ``dynafold: {id, visible, state}``, where
    ``state`` is the fold state, stored verbatim (mapping ``enabled: false``)
    and read back exactly: request and response bodies go through
    ``codec``, so a ``Decimal`` keeps every digit both ways. The concurrency
    token is ``(seq_no, primary_term)``, meaningful only on its own index.

Mappings (``index_body``), ``dynamic: strict`` so an undeclared field is a
    rejected document rather than a silently widened mapping: KEYWORD and
    KEYWORDS → ``keyword`` (also takes numbers: lesson ``level`` is either);
    TEXT → ``text`` with a ``raw`` keyword subfield for sorting (longer than
    256 characters it is not indexed, as with OpenSearch's own dynamic
    default, instead of failing the document); BOOLEAN → ``boolean``;
    INTEGER → ``long``; DECIMAL → ``double`` for range queries and sorting,
    while ``_source`` keeps the exact digits (read values from ``_source``,
    never from doc values or aggregations, which are rounded); DATETIME →
    ``keyword``: ISO-8601 strings sort correctly as keywords, and a malformed
    date can never make a whole document fail; OBJECTS → ``nested``; OBJECT → ``object``. The
    index setting ``index.query.default_field`` names the TEXT fields, so a
    plain query string on the alias (ours or a dashboard's) searches exactly
    those.

Search
    ``search`` hands the user's text to ``simple_query_string`` with every
    word required (``default_operator: and``) and no operators (``flags:
    WHITESPACE``: ``-``, ``|``, quotes and ``*`` are just characters). Words
    are what the standard analyzer makes of them on both sides, so an e-mail
    address, ``x.org`` or ``O'Brien`` is one word here, where the SQLite and
    memory stores split at every non-word character. Results are ranked by
    score, then id.

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
    first batch costs one ``_mget``. ``write`` is exactly one ``_bulk``:
    ``create`` for an expected absence, ``index`` with
    ``if_seq_no``/``if_primary_term`` otherwise.

Outcomes
    Per bulk item: 200/201 → ``Written``; 409 → ``Conflict``; 400 (mapping or
    parse errors, strict-mapping violations) → ``Rejected``: the document
    itself is at fault and its records go to the quarantine; everything else
    → ``Retryable``: 429 and 5xx, and also index blocks, closed or missing
    indices and permission errors, which are the store's state rather than
    the document's fault (the projector retries, then fails the batch for
    redelivery instead of quarantining good records). Reasons name the error
    type, the field and the status, never values: OpenSearch quotes field
    values in its reasons. A document id that OpenSearch cannot hold (empty,
    or longer than 512 bytes) is ``Rejected`` before sending, because
    OpenSearch rejects the whole bulk request for it. A failure of the whole
    request raises ``StoreUnavailable``.

Retries
    The client makes none (``max_retries=0``): its retries are immediate,
    while the projector's batch loop retries with jittered backoff and knows
    which items are still pending.

Freshness
    ``get`` and ``load`` are realtime. ``documents``, ``search`` and
    ``stored`` refresh the index first, so a reader sees what was just written
    (a refresh with nothing pending is cheap; these are CLI, verify and test
    reads, production readers query the alias directly). OpenSearch
    Serverless (``aws_service=aoss``) has no refresh API: there these reads
    are near-real-time.

Operational note
    OpenSearch auto-creates a missing index on write. Drop an old target only
    after every projector has loaded the control document that no longer
    names it (a batch's time budget later), or disable auto-creation for the
    prefix (``action.auto_create_index: -<prefix>*``).
"""

from __future__ import annotations

import base64
import os
import re
import threading
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Optional, Sequence
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import ConnectionTimeout, OpenSearchException, TransportError
from opensearchpy.serializer import JSONSerializer

from domain.aggregate import Aggregate, Field, FieldKind
from domain.state import AggregateState
from projector.stores import codec
from projector.stores.base import (
    Conflict,
    DocKey,
    DocumentWrite,
    Loaded,
    Outcome,
    Rejected,
    Retryable,
    StoreUnavailable,
    StoredDocument,
    Targets,
    UnknownTarget,
    Written,
    default_target,
    require_targets,
)
from projector.stores.search_terms import text_fields, words

USERNAME_ENV = "DYNAFOLD_OPENSEARCH_USERNAME"
PASSWORD_ENV = "DYNAFOLD_OPENSEARCH_PASSWORD"
CONTROL_INDEX = "dynafold_control"
META = "dynafold"
VISIBLE = {"term": {f"{META}.visible": True}}
MAX_ID_BYTES = 512
RAW_IGNORE_ABOVE = 256
NO_TEXT_FIELD = f"{META}.no_text_fields"  # never present: full-text queries on an aggregate without text match nothing
DEFAULT_TIMEOUT_S = 10.0
_OPTIONS = ("prefix", "aws_region", "aws_service", "verify_certs", "timeout")
_INDEX_NAME = re.compile(r"^[a-z0-9][a-z0-9._+-]{0,254}$")
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")
_FIELD_IN_REASON = re.compile(r"(?:failed to parse field|dynamic introduction of|field|mapper) \[([^\]\s]{1,200})\]")
# Item errors whose reason text is the store's own state, never document contents.
_STATE_ERRORS = frozenset({
    "cluster_block_exception",
    "index_closed_exception",
    "index_not_found_exception",
    "es_rejected_execution_exception",
    "rejected_execution_exception",
    "circuit_breaking_exception",
    "unavailable_shards_exception",
    "no_shard_available_action_exception",
    "process_cluster_event_timeout_exception",
})
_SYNC_ROUNDS = 10


class ExactJSONSerializer(JSONSerializer):
    """Bodies through ``codec``: Decimals are sent with all their digits and read back as Decimal."""

    def dumps(self, data: Any) -> str:
        return data if isinstance(data, str) else codec.dumps(data)

    def loads(self, s: str) -> Any:
        return codec.loads(s)


def field_mapping(field: Field) -> dict[str, Any]:
    kind = field.kind
    if kind is FieldKind.TEXT:
        return {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": RAW_IGNORE_ABOVE}}}
    if kind in (FieldKind.KEYWORD, FieldKind.KEYWORDS, FieldKind.DATETIME):
        return {"type": "keyword"}
    if kind is FieldKind.BOOLEAN:
        return {"type": "boolean"}
    if kind is FieldKind.INTEGER:
        return {"type": "long"}
    if kind is FieldKind.DECIMAL:
        return {"type": "double"}
    if kind is FieldKind.OBJECTS:
        return {"type": "nested", "properties": {sub.name: field_mapping(sub) for sub in field.fields}}
    if kind is FieldKind.OBJECT:
        return {"type": "object", "properties": {sub.name: field_mapping(sub) for sub in field.fields}}
    raise ValueError(f"no OpenSearch mapping for field kind {kind!r}")


def index_body(aggregate: Aggregate, target: str) -> dict[str, Any]:
    """Settings and mappings of a target index for ``aggregate``."""
    properties = {f.name: field_mapping(f) for f in aggregate.fields}
    properties[META] = {
        "properties": {
            "id": {"type": "keyword"},
            "visible": {"type": "boolean"},
            "state": {"type": "object", "enabled": False},
        }
    }
    return {
        "settings": {"index.query.default_field": text_fields(aggregate) or [NO_TEXT_FIELD]},
        "mappings": {
            "dynamic": "strict",
            "_meta": {META: {"aggregate": aggregate.name, "version": aggregate.version, "target": target}},
            "properties": properties,
        },
    }


_CONTROL_BODY = {
    "mappings": {"dynamic": "strict", "properties": {"read": {"type": "keyword"}, "write": {"type": "keyword"}}}
}


class OpenSearchStore:
    """The document store port on an OpenSearch cluster (see the module docstring)."""

    page_size = 500

    def __init__(
        self,
        url: str,
        client: OpenSearch,
        *,
        prefix: str = "",
        refresh: bool = True,
        secrets: Sequence[str] = (),
    ) -> None:
        if prefix and not _PREFIX.match(prefix):
            raise ValueError(
                f"OpenSearch prefix {prefix!r} must be lower case letters, digits and . _ + - and not start with . _ + -"
            )
        self.url = url
        self.client = client
        self.prefix = prefix
        self._where = _redacted(url)
        self._refresh = refresh
        self._secrets = tuple(s for s in secrets if s)
        self._lock = threading.Lock()
        self._write_targets: dict[str, tuple[str, ...]] = {}
        self._aggregates: dict[str, Aggregate] = {}
        self._control_ready = False

    @classmethod
    def from_url(cls, url: str, **client_options: Any) -> "OpenSearchStore":
        """A store from its URL; ``client_options`` go to ``OpenSearch(...)`` (e.g. ``connection_class``)."""
        parts = urlsplit(url)
        where = _redacted(url)
        if parts.scheme not in ("opensearch+http", "opensearch+https"):
            raise ValueError(f"not an OpenSearch store URL: {where!r} (expected opensearch+https://host:port)")
        https = parts.scheme == "opensearch+https"
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise ValueError(f"OpenSearch store URL {where!r} has an invalid port") from None
        if not host:
            raise ValueError(f"OpenSearch store URL {where!r} names no host")
        port = port or (443 if https else 9200)
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ValueError(f"unknown OpenSearch store URL parameter(s) {unknown}; known: {list(_OPTIONS)}")
        verify_certs = _flag(options.get("verify_certs", "true"), "verify_certs")
        try:
            timeout = float(options.get("timeout", DEFAULT_TIMEOUT_S))
        except ValueError:
            raise ValueError("OpenSearch store URL parameter timeout must be a number of seconds") from None
        if not timeout > 0:
            raise ValueError("OpenSearch store URL parameter timeout must be positive")
        region, service = options.get("aws_region"), options.get("aws_service")
        if service is not None and service not in ("es", "aoss"):
            raise ValueError("OpenSearch store URL parameter aws_service must be es or aoss")
        if service is not None and not region:
            raise ValueError("OpenSearch store URL parameter aws_service needs aws_region")
        username = unquote(parts.username) if parts.username else os.environ.get(USERNAME_ENV)
        password = unquote(parts.password or "") if parts.username else os.environ.get(PASSWORD_ENV)
        if bool(username) != bool(password):
            raise ValueError(f"set both {USERNAME_ENV} and {PASSWORD_ENV}, or neither")
        if username and region:
            raise ValueError("use either basic auth or aws_region (SigV4 signing), not both")
        secrets: list[str] = []
        http_auth: Any = None
        if username:
            http_auth = (username, password)
            secrets = [password, base64.b64encode(f"{username}:{password}".encode()).decode("ascii")]
        elif region:
            http_auth = _sigv4(region, service or "es")
        netloc = parts.netloc.rsplit("@", 1)[-1]
        clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        path = parts.path.rstrip("/")
        settings: dict[str, Any] = dict(
            hosts=[{"host": f"[{host}]" if ":" in host else host, "port": port, "url_prefix": path}],
            use_ssl=https,
            verify_certs=verify_certs,
            http_auth=http_auth,
            serializer=ExactJSONSerializer(),
            timeout=timeout,
            max_retries=0,
            retry_on_timeout=False,
        )
        settings.update(client_options)
        client = OpenSearch(**settings)
        return cls(clean, client, prefix=options.get("prefix", ""), refresh=service != "aoss", secrets=secrets)

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
        names = list(wanted)
        if not names:
            return Loaded({}, {})
        ids = {name: _valid_ids(wanted[name]) for name in names}
        with self._lock:
            cached = {name: self._write_targets.get(name, ()) for name in names}
        asked = [(name, DocKey(t, doc_id)) for name in names for t in cached[name] for doc_id in ids[name]]
        entries = self._mget([self._control_ref(n) for n in names] + [self._doc_ref(k) for _, k in asked], "load")
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
        keys = [k for k in dict.fromkeys(keys) if _valid_id(k.id)]
        found = {}
        for key, entry in zip(keys, self._mget([self._doc_ref(k) for k in keys], "reload")):
            document = self._document(key, entry)
            if document is not None:
                found[key] = document
        return found

    def write(self, writes: Sequence[DocumentWrite]) -> Mapping[DocKey, Outcome]:
        outcomes: dict[DocKey, Outcome] = {}
        lines: list[str] = []
        sent: list[DocKey] = []
        for w in writes:
            if not _valid_id(w.key.id):
                outcomes[w.key] = Rejected(f"document id is empty or longer than {MAX_ID_BYTES} bytes")
                continue
            action: dict[str, Any] = {"_index": self._index(w.key.target), "_id": w.key.id}
            if w.expected is None:
                op = "create"
            else:
                op = "index"
                action["if_seq_no"], action["if_primary_term"] = w.expected
            lines.append(codec.dumps({op: action}))
            lines.append(codec.dumps(_source(w)))
            sent.append(w.key)
        if not sent:
            return outcomes
        response = self._call(
            "write",
            self.client.bulk,
            body="\n".join(lines) + "\n",
            filter_path="items.*.status,items.*._seq_no,items.*._primary_term,items.*.error",
        )
        items = response.get("items") or []
        if len(items) != len(sent):
            raise StoreUnavailable(
                f"OpenSearch at {self._where}: write answered {len(items)} items for {len(sent)} documents"
            )
        for key, item in zip(sent, items):
            (result,) = item.values()
            outcomes[key] = _outcome(result)
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
        self._ensure_control_index()
        self._put_control(aggregate, targets)
        self._remember({aggregate: tuple(targets.write)})
        self._sync_alias(aggregate)

    def drop_target(self, target: str) -> None:
        self._call("drop_target", self.client.indices.delete, index=self._index(target), ignore=404)

    def get(self, aggregate: str, doc_id: str) -> Optional[dict[str, Any]]:
        if not _valid_id(doc_id):
            self.targets(aggregate)
            return None
        hit = self._call(
            "get", self.client.get, index=self._alias(aggregate), id=doc_id, _source_excludes=f"{META}.state", ignore=404
        )
        if _missing_index(hit):
            self.targets(aggregate)  # UnknownTarget for an aggregate the store never had
        if not hit.get("found"):
            return None
        source = hit.get("_source") or {}
        if not (source.get(META) or {}).get("visible"):
            return None
        return _body(source)

    def documents(self, aggregate: str) -> Iterator[dict[str, Any]]:
        alias = self._alias(aggregate)
        if not self._fresh(alias, aggregate):
            return iter(())
        return (_body(hit["_source"]) for hit in self._scan(alias, "documents", visible_only=True))

    def search(self, aggregate: str, query: str, limit: int = 10) -> list[dict[str, Any]]:
        known = self._aggregates.get(aggregate)
        if not words(query) or limit <= 0 or (known is not None and not text_fields(known)):
            return []
        alias = self._alias(aggregate)
        if not self._fresh(alias, aggregate):
            return []
        body = {
            "size": limit,
            "track_total_hits": False,
            "query": {
                "bool": {
                    "must": {
                        "simple_query_string": {"query": query.strip(), "default_operator": "and", "flags": "WHITESPACE"}
                    },
                    "filter": VISIBLE,
                }
            },
            "sort": ["_score", {f"{META}.id": "asc"}],
            "_source": {"excludes": [META]},
        }
        response = self._call("search", self.client.search, index=alias, body=body, ignore=404)
        if _missing_index(response):
            return []
        return [_body(hit["_source"]) for hit in response["hits"]["hits"]]

    def stored(self, target: str) -> Iterator[StoredDocument]:
        index = self._index(target)
        if not self._fresh(index):
            return iter(())
        return (_stored(DocKey(target, hit["_id"]), hit) for hit in self._scan(index, "stored", visible_only=False))

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

    def _mget(self, docs: list[dict[str, str]], operation: str) -> list[dict[str, Any]]:
        if not docs:
            return []
        response = self._call(operation, self.client.mget, body={"docs": docs})
        entries = response.get("docs") or []
        if len(entries) != len(docs):
            raise StoreUnavailable(f"OpenSearch at {self._where}: {operation} answered {len(entries)} of {len(docs)} documents")
        return entries

    def _control(self, entry: Mapping[str, Any]) -> Optional[Targets]:
        if entry.get("found"):
            source = entry.get("_source") or {}
            return Targets(source.get("read"), tuple(source.get("write") or ()))
        error = entry.get("error")
        if error and _error_type(error) != "index_not_found_exception":  # no control index: nothing prepared yet
            raise StoreUnavailable(f"OpenSearch at {self._where}: reading the control index failed: {_error_type(error)}")
        return None

    def _document(self, key: DocKey, entry: Mapping[str, Any]) -> Optional[StoredDocument]:
        if entry.get("found"):
            return _stored(key, entry)
        error = entry.get("error")
        if error:
            if _error_type(error) == "index_not_found_exception":
                raise UnknownTarget(f"no target {key.target!r}")
            raise StoreUnavailable(f"OpenSearch at {self._where}: reading {key.target} failed: {_error_type(error)}")
        return None

    def _fresh(self, index: str, aggregate: Optional[str] = None) -> bool:
        """Refresh ``index`` so a scan sees every write; False when it does not exist."""
        if self._refresh:
            exists = not _missing_index(self._call("refresh", self.client.indices.refresh, index=index, ignore=404))
        else:
            exists = self._call("refresh", self.client.indices.exists, index=index)
        if not exists and aggregate is not None:
            self.targets(aggregate)  # UnknownTarget for an aggregate the store never had
        return exists

    def _scan(self, index: str, operation: str, *, visible_only: bool) -> Iterator[dict[str, Any]]:
        """Every hit of ``index`` sorted by document id, a page at a time (``search_after``)."""
        after = None
        while True:
            body: dict[str, Any] = {
                "size": self.page_size,
                "track_total_hits": False,
                "sort": [{f"{META}.id": "asc"}],
                "query": {"bool": {"filter": VISIBLE}} if visible_only else {"match_all": {}},
            }
            if visible_only:
                body["_source"] = {"excludes": [META]}
            else:
                body["seq_no_primary_term"] = True
            if after is not None:
                body["search_after"] = after
            hits = self._call(operation, self.client.search, index=index, body=body)["hits"]["hits"]
            yield from hits
            if len(hits) < self.page_size:
                return
            after = hits[-1]["sort"]

    # writing helpers

    def _remember(self, targets: Mapping[str, tuple[str, ...]]) -> None:
        with self._lock:
            self._write_targets.update(targets)

    def _ensure_control_index(self) -> None:
        if not self._control_ready:
            self._create(self._control_index, _CONTROL_BODY)
            self._control_ready = True

    def _create_index(self, aggregate: Aggregate, target: str) -> None:
        self._create(self._index(target), index_body(aggregate, target))

    def _create(self, index: str, body: Mapping[str, Any]) -> None:
        response = self._call("create index", self.client.indices.create, index=index, body=body, ignore=400)
        error = response.get("error")
        if error and _error_type(error) != "resource_already_exists_exception":
            raise StoreUnavailable(f"OpenSearch at {self._where}: creating index {index} failed: {_error_type(error)}")

    def _put_control(self, aggregate: str, targets: Targets) -> None:
        """Replace the control document, conditioned on the version just read (retried on a race)."""
        source = {"read": targets.read, "write": list(targets.write)}
        for _ in range(_SYNC_ROUNDS):
            entry = self._call("set_targets", self.client.get, index=self._control_index, id=aggregate, ignore=404)
            if entry.get("found"):
                response = self._call(
                    "set_targets",
                    self.client.index,
                    index=self._control_index,
                    id=aggregate,
                    body=source,
                    if_seq_no=entry["_seq_no"],
                    if_primary_term=entry["_primary_term"],
                    ignore=409,
                )
            else:
                response = self._call(
                    "set_targets", self.client.create, index=self._control_index, id=aggregate, body=source, ignore=409
                )
            if "error" not in response:
                return
        raise StoreUnavailable(f"OpenSearch at {self._where}: the targets of {aggregate!r} kept changing concurrently")

    def _sync_alias(self, aggregate: str) -> None:
        """Point the read alias at the control document's read target, until both agree on a fresh read."""
        alias = self._alias(aggregate)
        for _ in range(_SYNC_ROUNDS):
            read = self.targets(aggregate).read
            want = self._index(read) if read is not None else None
            response = self._call("alias", self.client.indices.get_alias, name=alias, ignore=404)
            on = {
                index: entry["aliases"].get(alias) or {}
                for index, entry in response.items()
                if isinstance(entry, Mapping) and isinstance(entry.get("aliases"), Mapping)
            }
            actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": alias}} for i in sorted(on) if i != want]
            if want is not None and (want not in on or not on[want].get("filter")):
                actions.append({"add": {"index": want, "alias": alias, "filter": VISIBLE}})
            if not actions:
                return
            # a 404 means a concurrent switch moved it first; either way, look again
            self._call("alias", self.client.indices.update_aliases, body={"actions": actions}, ignore=404)
        raise StoreUnavailable(f"OpenSearch at {self._where}: the alias {alias!r} kept changing concurrently")

    # errors

    def _call(self, operation: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        """``method(**kwargs)``, failures as ``StoreUnavailable``.

        Statuses the caller expects are passed as ``ignore=`` and come back as
        the response body, so they are neither raised nor logged as failures
        by the client.
        """
        try:
            return method(**kwargs)
        except OpenSearchException as error:
            raise StoreUnavailable(self._describe(operation, error)) from None

    def _describe(self, operation: str, error: Exception) -> str:
        if isinstance(error, ConnectionTimeout):
            detail = "timed out"
        elif isinstance(error, TransportConnectionError):
            cause = error.info if isinstance(error.info, BaseException) else None
            detail = f"connection failed ({type(cause).__name__ if cause else 'no answer'}: {_clip(str(cause or error.error))})"
        elif isinstance(error, TransportError):
            detail = f"HTTP {error.status_code} {_clip(str(error.error))}"
        else:
            detail = type(error).__name__
        message = f"OpenSearch at {self._where}: {operation} failed: {detail}"
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return message


def _source(w: DocumentWrite) -> dict[str, Any]:
    source: dict[str, Any] = dict(w.body) if w.body is not None else {}
    source[META] = {"id": w.key.id, "visible": w.body is not None, "state": w.state.to_json()}
    return source


def _body(source: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in source.items() if name != META}


def _stored(key: DocKey, hit: Mapping[str, Any]) -> StoredDocument:
    source = hit.get("_source") or {}
    meta = source.get(META) or {}
    body = _body(source) if meta.get("visible") else None
    return StoredDocument(
        key, (hit["_seq_no"], hit["_primary_term"]), AggregateState.from_json(meta.get("state") or {}), body
    )


def _outcome(result: Mapping[str, Any]) -> Outcome:
    status = result.get("status")
    if status in (200, 201):
        return Written((result["_seq_no"], result["_primary_term"]))
    if status == 409:
        return Conflict()
    error = result.get("error") or {}
    reason = _item_reason(status, error)
    if status == 400 and _error_type(error) not in _STATE_ERRORS:
        return Rejected(reason)
    return Retryable(reason)


def _item_reason(status: Any, error: Any) -> str:
    """What went wrong with one item, without the values OpenSearch quotes in its reasons."""
    kind = _error_type(error)
    parts = [kind]
    if isinstance(error, Mapping):
        text = str(error.get("reason") or "")
        if kind in _STATE_ERRORS:
            parts.append(_clip(text))
        else:
            field = _FIELD_IN_REASON.search(text)
            if field:
                parts.append(f"on field [{field.group(1)}]")
            cause = error.get("caused_by")
            if isinstance(cause, Mapping) and cause.get("type"):
                parts.append(f"caused by {cause['type']}")
    return f"{' '.join(parts)} (HTTP {status})"


def _missing_index(response: Any) -> bool:
    return isinstance(response, Mapping) and _error_type(response.get("error")) == "index_not_found_exception"


def _error_type(error: Any) -> str:
    if isinstance(error, Mapping):
        return str(error.get("type") or "error")
    return "error"


def _valid_id(doc_id: str) -> bool:
    return 0 < len(doc_id.encode("utf-8")) <= MAX_ID_BYTES


def _valid_ids(ids: Iterable[str]) -> list[str]:
    """The ids that can exist in OpenSearch (others cannot be stored, so are absent), once each."""
    return [i for i in dict.fromkeys(ids) if _valid_id(i)]


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"OpenSearch store URL parameter {name} must be true or false")


def _redacted(url: str) -> str:
    """The URL without user info or query: fit for messages."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))


def _sigv4(region: str, service: str) -> Any:
    import boto3
    from opensearchpy import Urllib3AWSV4SignerAuth

    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise ValueError("aws_region is set but boto3 finds no AWS credentials to sign requests with")
    return Urllib3AWSV4SignerAuth(credentials, region, service)
