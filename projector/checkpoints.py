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


class Checkpoints(Protocol):
    def get(self, key: str) -> Optional[str]: ...
    def put(self, key: str, value: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...


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


class SQLiteCheckpoints:
    def __init__(self, url: str) -> None:
        self.url = url
        self._connections = ThreadConnections(path_of(url))
        self._connections.run_script("CREATE TABLE IF NOT EXISTS dynafold_checkpoints (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

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


def open_checkpoints(url: str) -> Checkpoints:
    if url.startswith("memory://"):
        return MemoryCheckpoints()
    if url.startswith("sqlite:///"):
        return SQLiteCheckpoints(url)
    if url.startswith("dynamodb://"):
        from projector.control_table import DynamoCheckpoints

        return DynamoCheckpoints.from_url(url)
    raise ValueError(f"unknown checkpoint URL {url.split(':', 1)[0]!r}: use sqlite:///path.db, memory:// or dynamodb://table")
