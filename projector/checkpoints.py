"""Checkpoints: where a shard reader or a replay segment got to.

A checkpoint is written only after the work before it is durably stored, so
resuming re-reads at most what was in flight. Keys are strings such as
``stream/orders/shardId-…`` or ``replay/customer_v2/orders/3of8``.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Optional, Protocol

from projector.stores.sqlite import ThreadConnections, path_of
from projector.errors import ConfigurationError


class Checkpoints(Protocol):
    def get(self, key: str) -> Optional[str]: ...
    def put(self, key: str, value: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...
    def items(self, prefix: str = "") -> list[tuple[str, str]]:
        """Every checkpoint whose key starts with ``prefix``, sorted by key (``dynafold status``)."""


class MemoryCheckpoints:
    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Optional[str]:
        with self._lock:
            return self._values.get(key)

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._values[key] = value

    def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._values if k.startswith(prefix)]:
                del self._values[key]

    def items(self, prefix: str = "") -> list[tuple[str, str]]:
        with self._lock:
            return sorted((k, v) for k, v in self._values.items() if k.startswith(prefix))


class SQLiteCheckpoints:
    def __init__(self, url: str, *, read_only: bool = False) -> None:
        """``read_only`` creates nothing (``dynafold status``)."""
        self.url = url
        self._connections = ThreadConnections(path_of(url), read_only=read_only)
        if not read_only:
            self._connections.run_script(
                "CREATE TABLE IF NOT EXISTS dynafold_checkpoints (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def _db(self) -> sqlite3.Connection:
        return self._connections.get()

    def get(self, key: str) -> Optional[str]:
        row = self._db().execute("SELECT value FROM dynafold_checkpoints WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, value: str) -> None:
        self._db().execute(
            "INSERT INTO dynafold_checkpoints VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def delete_prefix(self, prefix: str) -> None:
        self._db().execute("DELETE FROM dynafold_checkpoints WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))

    def items(self, prefix: str = "") -> list[tuple[str, str]]:
        db = self._db()
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'dynafold_checkpoints'").fetchone() is None:
            return []
        return db.execute("SELECT key, value FROM dynafold_checkpoints WHERE substr(key, 1, ?) = ? ORDER BY key",
                          (len(prefix), prefix)).fetchall()


def open_checkpoints(url: str, *, read_only: bool = False) -> Checkpoints:
    if url.startswith("memory://"):
        return MemoryCheckpoints()
    if url.startswith("sqlite:///"):
        return SQLiteCheckpoints(url, read_only=read_only)
    if url.startswith("dynamodb://"):
        from projector.control_table import DynamoCheckpoints

        return DynamoCheckpoints.from_url(url)
    raise ConfigurationError(f"unknown checkpoint URL {url.split(':', 1)[0]!r}: use sqlite:///path.db, memory:// or dynamodb://table")
