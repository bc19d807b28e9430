"""The readers' side of the OpenSearch store: ``get``, ``documents``, ``search``, ``stored``.

Search
    ``search`` follows the search rule (``search_terms``), with the body
    ``query`` builds; the analyzer that makes it work is every text field's
    own (``mappings``), so a user's ``match`` or ``query_string`` on the
    alias folds words the same way. Results are ranked by the words matched
    exactly, then score, then id.

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
    Every read asks for the stored ``dynafold.numbers`` beside ``_source``
    and makes the numbers sent as strings ``Decimal`` again (``layout``).
    A reader of the alias sees them as strings of their exact digits.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping, Optional

from dynafold.domain.aggregate import Aggregate
from dynafold.projector.stores.base import DocKey, Sample, StoredDocument, Targets, require_targets
from dynafold.projector.stores.opensearch.calls import Calls
from dynafold.projector.stores.opensearch.errors import missing_index
from dynafold.projector.stores.opensearch.layout import READER_STORED, STORED, Names, reader_body, stored_document
from dynafold.projector.stores.opensearch.mappings import META, NO_TEXT_FIELD, VISIBLE, valid_id
from dynafold.projector.stores.opensearch.query import search_body
from dynafold.projector.stores.search_terms import query_words, text_fields


class Reads:
    """The readers' side of one store: ``targets`` names an aggregate's targets (``UnknownTarget`` for
    one the store never had), ``known`` the aggregates this store prepared."""

    page_size = 500

    def __init__(self, client: Any, calls: Calls, names: Names, *, targets: Callable[[str], Optional[Targets]],
                 known: Mapping[str, Aggregate], refresh: bool) -> None:
        self._client = client
        self._calls = calls
        self._names = names
        self._targets = targets
        self._known = known
        self._refresh = refresh

    def _require(self, aggregate: str) -> Targets:
        found = self._targets(aggregate)
        return require_targets({} if found is None else {aggregate: found}, aggregate)

    def get(self, aggregate: str, doc_id: str) -> Optional[dict[str, Any]]:
        if not valid_id(doc_id):
            self._require(aggregate)
            return None
        hit = self._calls("get", self._client.get, index=self._names.alias(aggregate), id=doc_id, ignore=404,
                          stored_fields=",".join(READER_STORED), _source="true")
        if missing_index(hit):
            self._require(aggregate)  # UnknownTarget for an aggregate the store never had
        if not hit.get("found"):
            return None
        return reader_body(hit)

    def documents(self, aggregate: str) -> Iterator[dict[str, Any]]:
        alias = self._names.alias(aggregate)
        if not self._fresh(alias, aggregate):
            return iter(())
        return (reader_body(hit) or {} for hit in self._scan(alias, "documents", visible_only=True))

    def search(self, aggregate: str, query: str, limit: int = 10) -> list[dict[str, Any]]:
        known = self._known.get(aggregate)
        fields = text_fields(known) if known is not None else None
        terms = query_words(query, len(fields)) if fields is not None else None
        if fields is not None and (not terms or not fields or limit <= 0):
            return []
        alias = self._names.alias(aggregate)
        if not self._fresh(alias, aggregate):
            return []
        if fields is None:  # an aggregate this store never prepared (a read-only command): ask its index
            fields = self._text_fields(alias)
            terms = query_words(query, len(fields))
            if not terms or not fields or limit <= 0:
                return []
        body = {**search_body(terms, fields, limit), "stored_fields": READER_STORED, "_source": True}
        response = self._calls("search", self._client.search, index=alias, body=body, ignore=404)
        if missing_index(response):
            return []
        return [reader_body(hit) or {} for hit in response["hits"]["hits"]]

    def _text_fields(self, alias: str) -> list[str]:
        """The text fields the read target was made with (its ``index.query.default_field``)."""
        response = self._calls("search", self._client.indices.get_settings, index=alias,
                               name="index.query.default_field", ignore=404)
        if missing_index(response):
            return []
        for entry in response.values():
            found = ((entry.get("settings") or {}).get("index") or {}).get("query", {}).get("default_field") or []
            return [name for name in ([found] if isinstance(found, str) else found) if name != NO_TEXT_FIELD]
        return []

    def stored(self, target: str) -> Iterator[StoredDocument]:
        index = self._names.index(target)
        if not self._fresh(index):
            return iter(())
        return (stored_document(DocKey(target, hit["_id"]), hit) for hit in self._scan(index, "stored", visible_only=False))

    def sample(self, target: str, size: int, seed: int) -> Sample:
        """A ``_count`` and one ``_search`` ranked by a seeded random score: the node chooses, so the
        check of a rebuild of millions of documents reads ``size`` of them, not all."""
        index = self._names.index(target)
        if not self._fresh(index):
            return Sample(0, ())
        visible = {"bool": {"filter": VISIBLE}}
        count = self._calls("sample", self._client.count, index=index, body={"query": visible})["count"]
        if size <= 0 or not count:
            return Sample(count, ())
        body = {"size": size, "seq_no_primary_term": True, "stored_fields": STORED, "_source": True,
                "query": {"function_score": {
            "query": visible, "random_score": {"seed": seed, "field": "_seq_no"}, "boost_mode": "replace"}}}
        hits = self._calls("sample", self._client.search, index=index, body=body)["hits"]["hits"]
        return Sample(count, tuple(stored_document(DocKey(target, hit["_id"]), hit) for hit in hits))

    def _fresh(self, index: str, aggregate: Optional[str] = None) -> bool:
        """Refresh ``index`` so a scan sees every write; False when it does not exist."""
        if self._refresh:
            exists = not missing_index(self._calls("refresh", self._client.indices.refresh, index=index, ignore=404))
        else:
            exists = self._calls("refresh", self._client.indices.exists, index=index)
        if not exists and aggregate is not None:
            self._require(aggregate)  # UnknownTarget for an aggregate the store never had
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
            body["stored_fields"] = READER_STORED if visible_only else STORED
            body["_source"] = True
            if not visible_only:
                body["seq_no_primary_term"] = True
            if after is not None:
                body["search_after"] = after
            hits = self._calls(operation, self._client.search, index=index, body=body)["hits"]["hits"]
            yield from hits
            if len(hits) < self.page_size:
                return
            after = hits[-1]["sort"]
