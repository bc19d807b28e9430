"""Switching an aggregate's targets on OpenSearch: the control document and the read alias.

``set_targets`` (in ``opensearch``) writes the control document with
``_put_control``, conditioned on the version just read and retried on a
race, and then moves the alias with ``_sync_alias``, re-reading the control
document until alias and document agree, so two concurrent switches cannot
leave them pointing at different targets.
"""

from __future__ import annotations

from typing import Any, Mapping

from dynafold.projector.stores.base import StoreUnavailable, Targets
from dynafold.projector.stores.opensearch.mappings import VISIBLE

_SYNC_ROUNDS = 10


class OpenSearchSwitch:
    """Mixed into ``OpenSearchStore``, whose names, targets and request wrapper it uses."""

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
