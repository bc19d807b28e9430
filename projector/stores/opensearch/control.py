"""The control index and the read alias: where each aggregate's readers and writers point, and who may change it.

``<prefix>dynafold_control`` holds one document per aggregate, ``{read,
write, lease}``: the write targets (more than one while a rebuild
dual-writes) and the lease of whoever may change them (``stores.lease``).
Readers use the alias ``<prefix><aggregate>``, which points at the read
target with the filter ``dynafold.visible: true``, so no search through it
returns a tombstone document.

``update`` rewrites a control document conditioned on the version just
read (``if_seq_no``), retried on a race, after a rule of ``stores.lease``
has said the change may go ahead: targets and lease change together, so a
switch is a compare-and-set under the lease. ``sync_alias`` then moves the
alias, re-reading the control document until alias and document agree, so
two concurrent switches cannot leave them pointing at different targets.
Every step tolerates another projector doing the same at the same time.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, TypeVar

from dynafold.projector.stores.base import StoreUnavailable, Targets, require_targets
from dynafold.projector.stores.lease import Lease
from dynafold.projector.stores.opensearch.calls import Calls
from dynafold.projector.stores.opensearch.errors import error_type
from dynafold.projector.stores.opensearch.layout import Names
from dynafold.projector.stores.opensearch.mappings import CONTROL_ADDITIONS, CONTROL_BODY, VISIBLE

_SYNC_ROUNDS = 10
R = TypeVar("R")
Rule = Callable[[Optional[Targets], Optional[Lease]], tuple[Targets, Optional[Lease], R]]


class Control:
    """Reads and writes the control documents and the aliases that follow them."""

    def __init__(self, client: Any, calls: Calls, names: Names) -> None:
        self._client = client
        self._calls = calls
        self._names = names
        self._ready = False
        self._lease_ready = False

    def ref(self, aggregate: str) -> dict[str, str]:
        """The ``_mget`` entry of an aggregate's control document (loads ask for it with the documents)."""
        return {"_index": self._names.control_index, "_id": aggregate}

    def parse(self, entry: Mapping[str, Any]) -> Optional[Targets]:
        """The targets an ``_mget`` or ``get`` answer holds; None when the aggregate has none yet."""
        if entry.get("found"):
            source = entry.get("_source") or {}
            return Targets(source.get("read"), tuple(source.get("write") or ()), tuple(source.get("kept") or ()))
        error = entry.get("error")
        if error and error_type(error) != "index_not_found_exception":  # no control index: nothing prepared yet
            raise self._calls.unavailable("reading the control index", error_type(error))
        return None

    def read(self, aggregate: str) -> Optional[Targets]:
        return self.parse(self._calls("targets", self._client.get, index=self._names.control_index, id=aggregate,
                                      ignore=404))

    def ensure_index(self) -> None:
        if not self._ready:
            create_index(self._client, self._calls, self._names.control_index, CONTROL_BODY)
            self._ready = True

    def _ensure_lease_field(self) -> None:
        """A control index made before leases (a strict mapping of read and write) gets the lease and kept fields."""
        if not self._lease_ready:
            self.ensure_index()
            self._calls("lease", self._client.indices.put_mapping, index=self._names.control_index,
                        body=CONTROL_ADDITIONS)
            self._lease_ready = True

    def forget(self) -> None:
        """The control index may have vanished (a restored cluster): check it again before the next write."""
        self._ready = False

    def create(self, aggregate: str, targets: Targets) -> None:
        """The first control document of an aggregate; a 409 means another projector created it first."""
        self.ensure_index()
        self._calls("prepare", self._client.create, index=self._names.control_index, id=aggregate,
                    body={"read": targets.read, "write": list(targets.write)}, ignore=409)

    def lease(self, aggregate: str) -> Optional[Lease]:
        entry = self._calls("lease", self._client.get, index=self._names.control_index, id=aggregate, ignore=404)
        source = entry.get("_source") or {} if entry.get("found") else {}
        return Lease.from_json(aggregate, source["lease"]) if source.get("lease") else None

    def leased(self, aggregate: str, change: Callable[[Optional[Lease]], tuple[Optional[Lease], R]]) -> R:
        """Change the aggregate's lease alone, as ``change(current)`` says (the new lease, what to return)."""
        def rule(targets: Optional[Targets], current: Optional[Lease]) -> tuple[Targets, Optional[Lease], R]:
            kept = require_targets({aggregate: targets} if targets is not None else {}, aggregate)
            lease, result = change(current)
            return kept, lease, result

        return self.update(aggregate, rule)

    def update(self, aggregate: str, rule: Rule[R]) -> R:
        """Rewrite the aggregate's control document as ``rule(targets, lease)`` says (new targets, new lease,
        and what to return), conditioned on the version ``rule`` saw; a race reads and asks again."""
        self._ensure_lease_field()
        index = self._names.control_index
        for _ in range(_SYNC_ROUNDS):
            entry = self._calls("set_targets", self._client.get, index=index, id=aggregate, ignore=404)
            source = entry.get("_source") or {}
            current = Lease.from_json(aggregate, source["lease"]) if source.get("lease") else None
            targets, lease, result = rule(self.parse(entry), current)
            body: dict[str, Any] = {"read": targets.read, "write": list(targets.write)}
            if targets.kept:
                body["kept"] = list(targets.kept)
            if lease is not None:
                body["lease"] = lease.to_json()
            if entry.get("found"):
                response = self._calls("set_targets", self._client.index, index=index, id=aggregate, body=body,
                                       if_seq_no=entry["_seq_no"], if_primary_term=entry["_primary_term"], ignore=409)
            else:  # the control document vanished (a restored cluster): this change makes it again
                response = self._calls("set_targets", self._client.create, index=index, id=aggregate, body=body,
                                       ignore=409)
            if "error" not in response:
                return result
        raise StoreUnavailable(f"OpenSearch at {self._calls.where}: the targets of {aggregate!r} kept changing concurrently")

    def sync_alias(self, aggregate: str) -> Optional[Targets]:
        """Point the read alias at the control document's read target, until both agree on a fresh read;
        the targets of that read."""
        alias = self._names.alias(aggregate)
        for _ in range(_SYNC_ROUNDS):
            found = self.read(aggregate)
            read = found.read if found is not None else None
            want = self._names.index(read) if read is not None else None
            response = self._calls("alias", self._client.indices.get_alias, name=alias, ignore=404)
            on = {
                index: entry["aliases"].get(alias) or {}
                for index, entry in response.items()
                if isinstance(entry, Mapping) and isinstance(entry.get("aliases"), Mapping)
            }
            actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": alias}} for i in sorted(on) if i != want]
            if want is not None and (want not in on or not on[want].get("filter")):
                actions.append({"add": {"index": want, "alias": alias, "filter": VISIBLE}})
            if not actions:
                return found
            # a 404 means a concurrent switch moved it first; either way, look again
            self._calls("alias", self._client.indices.update_aliases, body={"actions": actions}, ignore=404)
        raise StoreUnavailable(f"OpenSearch at {self._calls.where}: the alias {alias!r} kept changing concurrently")


def create_index(client: Any, calls: Calls, index: str, body: Mapping[str, Any]) -> None:
    """Create ``index`` unless it exists (another projector may create it at the same moment)."""
    response = calls("create index", client.indices.create, index=index, body=body, ignore=400)
    error = response.get("error")
    if error and error_type(error) != "resource_already_exists_exception":
        raise StoreUnavailable(f"OpenSearch at {calls.where}: creating index {index} failed: {error_type(error)}")
