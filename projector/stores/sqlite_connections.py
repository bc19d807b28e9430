"""Opening SQLite files: the URL, one connection per thread, transactions, and what errors mean.

The store, the quarantine and the checkpoints share a file by default and
open it the same way. An error about the file's state (busy, locked, full,
I/O, read-only, damaged) is ``StoreUnavailable`` wherever it happens: at
connection setup, in a schema script or in a transaction, so a cold start
racing others on a fresh file retries instead of raising.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Optional, Sequence

from projector.stores.base import StoreUnavailable


def path_of(url: str) -> str:
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite store URL: {url!r} (expected sqlite:///relative.db or sqlite:////absolute.db)")
    path = url[len("sqlite:///"):]
    if not path:
        raise ValueError("sqlite store URL names no file")
    return path


class ThreadConnections:
    """One connection per thread to one SQLite file, in autocommit mode (transactions are explicit).

    The store, the quarantine and the checkpoints share a file by default;
    each opens it this way so threads never share a connection.
    """

    def __init__(self, path: str, timeout_s: float = 30.0, pragmas: Sequence[str] = ()) -> None:
        """``pragmas`` are run on every new connection (after WAL mode and full sync)."""
        self.path = path
        self.timeout = timeout_s
        self.pragmas = tuple(pragmas)
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        """This thread's connection; a file that cannot be opened or set up now is ``StoreUnavailable``."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                for pragma in self.pragmas:
                    conn.execute(f"PRAGMA {pragma}")
            except sqlite3.Error as error:
                conn.close()
                raise (unavailable(error) or error) from None
            self._local.conn = conn
        return conn

    def run_script(self, script: str) -> None:
        """A schema script, with the store's error mapping (many cold starts race on it)."""
        try:
            self.get().executescript(script)
        except sqlite3.Error as error:
            raise (unavailable(error) or error) from None

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# Result codes that say the file cannot be used now (busy, full, I/O, read-only, damaged), never that a
# record is at fault: the batch is retried, nothing is quarantined.
_UNAVAILABLE = (
    "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN",
    "SQLITE_NOMEM", "SQLITE_INTERRUPT", "SQLITE_PROTOCOL", "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_PERM",
)


def unavailable(error: sqlite3.Error) -> Optional[StoreUnavailable]:
    """The ``StoreUnavailable`` an SQLite error means, or None when it is not about the file's state."""
    name = getattr(error, "sqlite_errorname", None) or ""
    if name.startswith(_UNAVAILABLE) or (not name and "locked" in str(error)):
        return StoreUnavailable(f"sqlite store unavailable: {error}")
    return None


class Transaction:
    """One explicit transaction on a connection, SQLite errors about the file mapped to ``StoreUnavailable``."""

    def __init__(self, conn: sqlite3.Connection, immediate: bool) -> None:
        self.conn = conn
        self.immediate = immediate

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
        except sqlite3.Error as error:
            raise (unavailable(error) or StoreUnavailable(f"sqlite store unavailable: {error}")) from None
        return self.conn

    def __exit__(self, kind, error, tb) -> None:
        if kind is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error as commit_error:
                self._rollback()
                raise StoreUnavailable(f"sqlite store unavailable: {commit_error}") from None
        self._rollback()
        mapped = unavailable(error) if isinstance(error, sqlite3.Error) else None
        if mapped is not None:
            raise mapped from None

    def _rollback(self) -> None:
        """Roll back what is left: on SQLITE_FULL, IOERR or BUSY, SQLite may have rolled back already."""
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error being handled says more than this one
