"""The quarantine: where records that can never be projected are kept.

A poison record (undecodable, untranslatable) is written here with its
identity and its declared attributes (``raw``, as ``dynafold.projector.control.sanitize``
keeps it: never an undeclared attribute), its table, its shard position,
the error and the time, and then skipped so the shard moves on. Entries
are keyed by (table, position), so a redelivered poison record is stored
once. ``dynafold quarantine`` lists (summaries, never the full reason),
shows, re-drives and drops them. Each technology keeps them in its own way
(``stores.memory``, ``stores.sqlite``, ``stores.dynamodb``), opened by URL
(``stores.open_quarantine``).
"""

from __future__ import annotations

from typing import Iterable, Optional, Protocol

from dynafold.projector.control.quarantine_entry import QuarantineEntry


class Quarantine(Protocol):
    url: str

    def put(self, entries: Iterable[QuarantineEntry]) -> None: ...
    def list(self, table: Optional[str] = None) -> list[QuarantineEntry]: ...
    def get(self, entry_id: str) -> Optional[QuarantineEntry]: ...
    def drop(self, entry_id: str) -> bool: ...


class ScratchQuarantine:
    """Keeps nothing: verify's private replay only needs to know a record would be quarantined."""

    url = "scratch://"
    durable = False

    def put(self, entries: Iterable[QuarantineEntry]) -> None:
        pass

    def list(self, table: Optional[str] = None) -> list[QuarantineEntry]:
        return []

    def get(self, entry_id: str) -> Optional[QuarantineEntry]:
        return None

    def drop(self, entry_id: str) -> bool:
        return False
