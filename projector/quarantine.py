"""The quarantine: where records that can never be projected are kept.

A poison record (undecodable, untranslatable) is written here with its
identity and its declared attributes (``raw``, as ``projector.sanitize``
keeps it: never an undeclared attribute), its table, its shard position,
the error and the time, and then skipped so the shard moves on. Entries
are keyed by (table, position), so a redelivered poison record is stored
once. ``dynafold quarantine`` lists (summaries, never the full reason),
shows, re-drives and drops them.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Iterable, Optional, Protocol


from projector.quarantine_entry import QuarantineEntry
from projector.stores.sqlite import ThreadConnections, path_of, unavailable
from projector.errors import ConfigurationError


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


class MemoryQuarantine:
    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._entries: dict[str, QuarantineEntry] = {}
        self._lock = threading.Lock()

    def put(self, entries: Iterable[QuarantineEntry]) -> None:
        with self._lock:
            for entry in entries:
                self._entries.setdefault(entry.id, entry)

    def list(self, table: Optional[str] = None) -> list[QuarantineEntry]:
        with self._lock:
            return sorted(
                (e for e in self._entries.values() if table is None or e.table == table), key=lambda e: e.id
            )

    def get(self, entry_id: str) -> Optional[QuarantineEntry]:
        with self._lock:
            return self._entries.get(entry_id)

    def drop(self, entry_id: str) -> bool:
        with self._lock:
            return self._entries.pop(entry_id, None) is not None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS dynafold_quarantine (
    id TEXT PRIMARY KEY,
    source_table TEXT NOT NULL,
    position TEXT NOT NULL,
    event_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    quarantined_at REAL NOT NULL,
    source TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT ''
)
"""
_COLUMNS = "source_table, position, event_id, reason, raw, quarantined_at, source, summary"


class SQLiteQuarantine:
    """A table in the SQLite file (the store's own file by default).

    Its connections delete securely (``secure_delete``: freed content is
    overwritten with zeros), and ``drop`` then checkpoints and truncates the
    WAL, whose older frames still hold the entry: a dropped entry leaves no
    bytes behind (unless another connection reads at that moment and the
    checkpoint cannot finish; the next drop completes it).
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """``read_only``: for list and show, on a file nobody may write (no schema is created)."""
        self.url = url
        self._connections = ThreadConnections(path_of(url), pragmas=("secure_delete=ON",), read_only=read_only)
        if read_only:
            return
        self._connections.run_script(_SCHEMA)
        try:
            if "summary" not in {row[1] for row in self._db().execute("PRAGMA table_info(dynafold_quarantine)")}:
                self._db().execute("ALTER TABLE dynafold_quarantine ADD COLUMN summary TEXT NOT NULL DEFAULT ''")
        except sqlite3.Error as error:
            raise (unavailable(error) or error) from None

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def put(self, entries: Iterable[QuarantineEntry]) -> None:
        rows = [
            (e.id, e.table, e.position, e.event_id, e.reason, e.raw, e.quarantined_at, e.origin, e.summary)
            for e in entries
        ]
        if rows:
            self._db().executemany(
                f"INSERT OR IGNORE INTO dynafold_quarantine (id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )

    def list(self, table: Optional[str] = None) -> list[QuarantineEntry]:
        sql = f"SELECT {_COLUMNS} FROM dynafold_quarantine"
        args: tuple = ()
        if table is not None:
            sql += " WHERE source_table = ?"
            args = (table,)
        return [QuarantineEntry(*row) for row in self._rows(sql + " ORDER BY id", args)]

    def get(self, entry_id: str) -> Optional[QuarantineEntry]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM dynafold_quarantine WHERE id = ?", (entry_id,))
        return QuarantineEntry(*rows[0]) if rows else None

    def _rows(self, sql: str, args: tuple) -> list[tuple]:
        """The rows of a query; none from a file (opened read-only) that never had a quarantine."""
        try:
            return self._db().execute(sql, args).fetchall()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise (unavailable(error) or error) from None

    def drop(self, entry_id: str) -> bool:
        db = self._db()
        dropped = db.execute("DELETE FROM dynafold_quarantine WHERE id = ?", (entry_id,)).rowcount == 1
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dropped

    def close(self) -> None:
        self._connections.close()


def open_quarantine(url: str, *, read_only: bool = False) -> Quarantine:
    """The quarantine at ``url``; ``read_only`` opens an SQLite file for reading only (list, show)."""
    if url.startswith("memory://"):
        return MemoryQuarantine(url)
    if url.startswith("sqlite:///"):
        return SQLiteQuarantine(url, read_only=read_only)
    if url.startswith("dynamodb://"):
        from projector.control_table import DynamoQuarantine

        return DynamoQuarantine.from_url(url)
    raise ConfigurationError(f"unknown quarantine URL {url.split(':', 1)[0]!r}: use memory://, sqlite:///path.db or dynamodb://table")
