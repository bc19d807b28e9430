"""The lookup port over DynamoDB: consistent batched reads and GSI queries.

``prefetch`` answers every need of a batch up front (one ``BatchGetItem``
per 100 keys, one paginated ``Query`` per distinct index value) so
translators then read from memory. Every error of DynamoDB or of the way to
it (throttling, network, access denied, a missing table) becomes
``LookupUnavailable`` naming its error code: the record is retried later
(and reaches the failure queue if it keeps failing), never quarantined as
poison for what its environment refused.
Reads ask for the attributes the model declares on the table only: nothing
else leaves DynamoDB (a hand-written translator or a route function may read
anything, so models with those get whole items).
"""

from __future__ import annotations

import random
import time
from typing import Any, Iterable, Mapping, Optional

import attrs

from dynafold.domain.lookup import IndexQuery, LookupUnavailable, Need
from dynafold.domain.model import Model
from dynafold.domain.source import SourceItem
from dynafold.projector.errors import environmental, named
from dynafold.projector.intake.dynamodb_json import decode_map
from dynafold.projector.retry import LOOKUPS
from dynafold.projector.table_names import IDENTITY, TableNames


def _typed(value: Any) -> dict:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes):
        return {"B": value}
    return {"N": format(value, "f")}


class DynamoLookup:
    def __init__(self, client: Any, model: Model, *, names: TableNames = IDENTITY,
                 max_unprocessed_rounds: int = LOOKUPS.attempts, sleep=time.sleep,
                 rng: Optional[random.Random] = None) -> None:
        self._client = client
        self._model = model
        self._names = names
        self._items: dict[str, Optional[dict]] = {}
        self._queries: dict[IndexQuery, list[dict]] = {}
        self._backoff = attrs.evolve(LOOKUPS, attempts=max_unprocessed_rounds)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._projections: dict[str, dict] = {}

    def _projection(self, table: str) -> dict:
        """``ProjectionExpression`` arguments for reads of ``table``'s items (none: whole items)."""
        if table not in self._projections:
            model = self._model
            whole = model.translators or any("*" in role.routing_attributes for role in model.plans[table].members)
            names = sorted(model.declared_attributes(table))
            self._projections[table] = {} if whole else {
                "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(names))),
                "ExpressionAttributeNames": {f"#p{i}": name for i, name in enumerate(names)},
            }
        return self._projections[table]

    def prefetch(self, needs: Iterable[Need]) -> None:
        items = {}
        queries = set()
        for need in needs:
            if isinstance(need, SourceItem):
                if need.id not in self._items:
                    items[need.id] = need
            elif need not in self._queries:
                queries.add(need)
        try:
            if items:
                self._batch_get(list(items.values()))
            for query in sorted(queries, key=repr):
                self._queries[query] = self._query(query)
        except Exception as error:
            if environmental(error):
                raise LookupUnavailable(f"DynamoDB lookup failed: {named(error)}") from None
            raise

    def item(self, source: SourceItem) -> Optional[Mapping[str, Any]]:
        if source.id not in self._items:
            self.prefetch([source])
        return self._items[source.id]

    def items(self, sources: Iterable[SourceItem]) -> Mapping[str, Optional[Mapping[str, Any]]]:
        sources = list(sources)
        self.prefetch(sources)
        return {source.id: self._items[source.id] for source in sources}

    def query(self, query: IndexQuery) -> list[Mapping[str, Any]]:
        if query not in self._queries:
            self.prefetch([query])
        return self._queries[query]

    def _batch_get(self, sources: list[SourceItem]) -> None:
        for start in range(0, len(sources), 100):
            chunk = sources[start : start + 100]
            answered: dict[str, Optional[dict]] = {source.id: None for source in chunk}
            request = {}
            for source in chunk:
                physical = self._names.physical(source.table)
                if physical not in request:
                    request[physical] = {"Keys": [], "ConsistentRead": True, **self._projection(source.table)}
                keys = request[physical]["Keys"]
                keys.append({name: _typed(value) for name, value in source.key})
            for _ in self._backoff.rounds(self._rng, self._sleep):
                response = self._client.batch_get_item(RequestItems=request)
                for table, rows in response.get("Responses", {}).items():
                    spec = self._model.table(self._names.logical(table) or table)
                    for row in rows:
                        image = decode_map(row)
                        found = SourceItem.of(spec.name, {k: image[k] for k in spec.key_attributes})
                        answered[found.id] = image
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise LookupUnavailable("DynamoDB left keys unprocessed after repeated BatchGetItem rounds")
            self._items.update(answered)  # only a complete answer says an item is absent

    def query_page(self, query: IndexQuery, start: Optional[dict], limit: int) -> tuple[list[dict], Optional[dict]]:
        """One page of an index query: at most ``limit`` rows from ``start``, and where the next page starts."""
        kwargs = self._query_arguments(query)
        kwargs["Limit"] = limit
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            response = self._client.query(**kwargs)
        except Exception as error:
            if environmental(error):
                raise LookupUnavailable(f"DynamoDB lookup failed: {named(error)}") from None
            raise
        return [decode_map(row) for row in response.get("Items", [])], response.get("LastEvaluatedKey") or None

    def _query_arguments(self, query: IndexQuery) -> dict:
        return dict(
            TableName=self._names.physical(query.table),
            IndexName=query.index,
            KeyConditionExpression=" AND ".join(f"#a{i} = :v{i}" for i in range(len(query.key))),
            ExpressionAttributeNames={f"#a{i}": name for i, (name, _) in enumerate(query.key)},
            ExpressionAttributeValues={f":v{i}": _typed(value) for i, (_, value) in enumerate(query.key)},
        )

    def _query(self, query: IndexQuery) -> list[dict]:
        found = []
        kwargs = self._query_arguments(query)
        while True:
            response = self._client.query(**kwargs)
            found.extend(decode_map(row) for row in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return found
            kwargs["ExclusiveStartKey"] = last

