"""The readers' side of the OpenSearch store: ``get``, ``documents``, ``search``, ``stored``.

Search
    ``search`` hands the user's text to ``simple_query_string`` with every
    word required (``default_operator: and``) and no operators (``flags:
    WHITESPACE``: ``-``, ``|``, quotes and ``*`` are just characters). Words
    are what the standard analyzer makes of them on both sides, so an e-mail
    address, ``x.org`` or ``O'Brien`` is one word here, where the SQLite and
    memory stores split at every non-word character. Results are ranked by
    score, then id.

Freshness
    ``get`` and ``load`` are realtime. ``documents``, ``search`` and
    ``stored`` refresh the index first, so a reader sees what was just written
    (a refresh with nothing pending is cheap; these are CLI, verify and test
    reads, production readers query the alias directly). ``set_targets``
    refreshes the new read target before the alias moves, so a reader of the
    alias never finds the new target emptier than the old one. OpenSearch
    Serverless (``aws_service=aoss``) has no refresh API: there these reads
    are near-real-time.

Exact numbers
    Every read takes the whole ``_source`` and drops ``dynafold`` here: with
    any source filtering (``_source_excludes``, ``_source.excludes``)
    OpenSearch re-serializes ``_source`` from its parsed form, so ``42.50``
    comes back as ``42.5`` and a decimal with more digits than a double holds
    is rounded. Readers of the alias who want exact values must do the same.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional

from dynafold.domain.state import AggregateState
from dynafold.projector.stores import codec
from dynafold.projector.stores.base import DocKey, StoredDocument
from dynafold.projector.stores.opensearch.errors import missing_index
from dynafold.projector.stores.opensearch.mappings import META, VISIBLE, valid_id
from dynafold.projector.stores.search_terms import text_fields, words


class OpenSearchReads:
    """Mixed into ``OpenSearchStore``, whose names, targets and request wrapper it uses."""

    page_size = 500

    def get(self, aggregate: str, doc_id: str) -> Optional[dict[str, Any]]:
        if not valid_id(doc_id):
            self.targets(aggregate)
            return None
        hit = self._call(
            "get", self.client.get, index=self._alias(aggregate), id=doc_id, ignore=404
        )
        if missing_index(hit):
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
        }
        response = self._call("search", self.client.search, index=alias, body=body, ignore=404)
        if missing_index(response):
            return []
        return [_body(hit["_source"]) for hit in response["hits"]["hits"]]

    def stored(self, target: str) -> Iterator[StoredDocument]:
        index = self._index(target)
        if not self._fresh(index):
            return iter(())
        return (stored_document(DocKey(target, hit["_id"]), hit) for hit in self._scan(index, "stored", visible_only=False))

    def _fresh(self, index: str, aggregate: Optional[str] = None) -> bool:
        """Refresh ``index`` so a scan sees every write; False when it does not exist."""
        if self._refresh:
            exists = not missing_index(self._call("refresh", self.client.indices.refresh, index=index, ignore=404))
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
            if not visible_only:
                body["seq_no_primary_term"] = True
            if after is not None:
                body["search_after"] = after
            hits = self._call(operation, self.client.search, index=index, body=body)["hits"]["hits"]
            yield from hits
            if len(hits) < self.page_size:
                return
            after = hits[-1]["sort"]


def _body(source: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in source.items() if name != META}


PACKED = "json"


def pack_state(state: AggregateState) -> dict[str, str]:
    """The fold state as one JSON text inside the ``enabled: false`` object.

    The node stores both shapes alike, but skipping the object's tokens costs it about five times the
    server time of skipping one string of the same bytes (10,000 spread writes on OpenSearch 3.6.0:
    1.36 s against 0.20 s, ``benchmarks.stream``). A slot key always holds ``|``, so ``{"json": …}``
    never reads as a state written before the change, which ``unpack_state`` still reads.
    """
    return {PACKED: codec.dumps(state.to_json())}


def unpack_state(stored: Any) -> AggregateState:
    if not stored:
        return AggregateState()
    packed = stored.get(PACKED)
    if isinstance(packed, str) and len(stored) == 1:
        return AggregateState.from_json(codec.loads(packed))
    return AggregateState.from_json(stored)


def stored_document(key: DocKey, hit: Mapping[str, Any]) -> StoredDocument:
    source = hit.get("_source") or {}
    meta = source.get(META) or {}
    body = _body(source) if meta.get("visible") else None
    return StoredDocument(key, (hit["_seq_no"], hit["_primary_term"]), unpack_state(meta.get("state")), body)
