"""The quarantine in the SQLite file (the store's own file by default): one table, ``dynafold_quarantine``."""

from __future__ import annotations

import sqlite3
from typing import Iterable, Optional

from dynafold.projector.control.quarantine_entry import QuarantineEntry
from dynafold.projector.stores.sqlite.connections import ThreadConnections, mapped, path_of

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
        with mapped():
            if "summary" not in {row[1] for row in self._db().execute("PRAGMA table_info(dynafold_quarantine)")}:
                self._db().execute("ALTER TABLE dynafold_quarantine ADD COLUMN summary TEXT NOT NULL DEFAULT ''")

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> "SQLiteQuarantine":
        return cls(url, read_only=read_only)

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def put(self, entries: Iterable[QuarantineEntry]) -> None:
        rows = [
            (e.id, e.table, e.position, e.event_id, e.reason, e.raw, e.quarantined_at, e.origin, e.summary)
            for e in entries
        ]
        if rows:
            with mapped():
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
            with mapped():
                return self._db().execute(sql, args).fetchall()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise

    def drop(self, entry_id: str) -> bool:
        with mapped():
            db = self._db()
            dropped = db.execute("DELETE FROM dynafold_quarantine WHERE id = ?", (entry_id,)).rowcount == 1
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return dropped

    def close(self) -> None:
        self._connections.close()
