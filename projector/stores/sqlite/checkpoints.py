"""Checkpoints in the SQLite file (the store's own file by default): one table, ``dynafold_checkpoints``."""

from __future__ import annotations

import sqlite3
from typing import Optional

from dynafold.projector.stores.sqlite.connections import ThreadConnections, mapped, path_of


class SQLiteCheckpoints:
    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """``read_only`` creates nothing (``dynafold status``)."""
        self.url = url
        self._connections = ThreadConnections(path_of(url), read_only=read_only)
        if not read_only:
            self._connections.run_script(
                "CREATE TABLE IF NOT EXISTS dynafold_checkpoints (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> "SQLiteCheckpoints":
        return cls(url, read_only=read_only)

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def get(self, key: str) -> Optional[str]:
        with mapped():
            row = self._db().execute("SELECT value FROM dynafold_checkpoints WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, value: str) -> None:
        with mapped():
            self._db().execute(
                "INSERT INTO dynafold_checkpoints VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def delete_prefix(self, prefix: str) -> None:
        with mapped():
            self._db().execute("DELETE FROM dynafold_checkpoints WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))

    def items(self, prefix: str = "") -> list[tuple[str, str]]:
        with mapped():
            db = self._db()
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'dynafold_checkpoints'").fetchone() is None:
                return []
            return db.execute("SELECT key, value FROM dynafold_checkpoints WHERE substr(key, 1, ?) = ? ORDER BY key",
                              (len(prefix), prefix)).fetchall()
