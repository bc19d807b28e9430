"""Opening SQLite files: the URL, one connection per thread, transactions, and what errors mean.

The store, the quarantine and the checkpoints share a file by default and
open it the same way. An error about the file's state (busy, locked, full,
I/O, read-only, damaged) is ``StoreUnavailable`` wherever it happens: at
connection setup, in a schema script or in a transaction, so a cold start
racing others on a fresh file retries instead of raising. A URL that can
never work (``:memory:``, a directory, a file that is not a database) is a
``ValueError``: a usage error, not something to retry.

Readers (``dump``, ``search``, ``quarantine list|show``) open the file
read-only (``file:…?mode=ro``), so they work on a copy nobody may write to;
when even the WAL's shared-memory file cannot be created there (a read-only
directory, where no writer can run either), the file is read as immutable.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Optional, Sequence
from urllib.parse import quote

from dynafold.projector.errors import ConfigurationError
from dynafold.projector.stores.base import StoreUnavailable


class NotADatabase(ConfigurationError, ValueError):
    """The URL names a file that is not an SQLite database."""


class NotAViewsFile(ConfigurationError):
    """An SQLite database without dynafold's tables (opened read-only, nothing was created)."""


def _file_of(conn: sqlite3.Connection) -> str:
    try:
        return next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "") or "the file"
    except sqlite3.Error:
        return "the file"


def path_of(url: str) -> str:
    if not url.startswith("sqlite:///"):
        raise ConfigurationError(f"not a sqlite store URL: {url!r} (expected sqlite:///relative.db or sqlite:////absolute.db)")
    path = url[len("sqlite:///"):]
    if not path:
        raise ConfigurationError("sqlite store URL names no file")
    if path == ":memory:":
        raise ConfigurationError(
            "sqlite:///:memory: is refused: an in-memory database vanishes with the process (quarantined records "
            "with it) and other threads see none of its tables; name a file, or use memory:// for tests"
        )
    if os.path.isdir(path):
        raise ConfigurationError(f"sqlite URL names a directory, not a database file: {path}")
    return path


class ThreadConnections:
    """One connection per thread to one SQLite file, in autocommit mode (transactions are explicit).

    The store, the quarantine and the checkpoints share a file by default;
    each opens it this way so threads never share a connection.
    """

    def __init__(self, path: str, timeout_s: float = 30.0, pragmas: Sequence[str] = (), read_only: bool = False) -> None:
        """``pragmas`` are run on every new connection (after WAL mode and full sync) unless ``read_only``."""
        self.path = path
        self.timeout = timeout_s
        self.pragmas = tuple(pragmas)
        self.read_only = read_only
        self._local = threading.local()

    def get(self) -> sqlite3.Connection:
        """This thread's connection; a file that cannot be opened or set up now is ``StoreUnavailable``."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self) -> sqlite3.Connection:
        if self.read_only and not os.path.exists(self.path):
            raise ConfigurationError(f"no SQLite file at {self.path}: nothing has been projected there")
        conn = None
        try:
            conn = self._open()
            conn.execute("PRAGMA schema_version")  # reads the header: a file that is not a database says so here
            if not self.read_only:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                for pragma in self.pragmas:
                    conn.execute(f"PRAGMA {pragma}")
            return conn
        except sqlite3.Error as error:
            if conn is not None:
                conn.close()
            if (getattr(error, "sqlite_errorname", None) or "").startswith("SQLITE_NOTADB"):
                raise NotADatabase(f"{self.path} is not an SQLite database") from None
            raise (unavailable(error) or StoreUnavailable(f"sqlite store unavailable: {error}")) from None

    def _open(self) -> sqlite3.Connection:
        options = dict(timeout=self.timeout, isolation_level=None, check_same_thread=False)
        if not self.read_only:
            return sqlite3.connect(self.path, **options)
        uri = "file:" + quote(os.path.abspath(self.path)) + "?mode=ro"
        conn = sqlite3.connect(uri, uri=True, **options)
        try:
            conn.execute("PRAGMA schema_version")
        except sqlite3.OperationalError as error:
            if not (getattr(error, "sqlite_errorname", None) or "").startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY")):
                raise
            conn.close()  # no shared-memory file can be made beside it: nothing can write it either
            conn = sqlite3.connect(uri + "&immutable=1", uri=True, **options)
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
        if isinstance(error, sqlite3.OperationalError) and "no such table: dynafold_" in str(error):
            raise NotAViewsFile(f"{_file_of(self.conn)} is not a dynafold views file ({error}); "
                                "project or replay into it first, or name the right file") from None

    def _rollback(self) -> None:
        """Roll back what is left: on SQLITE_FULL, IOERR or BUSY, SQLite may have rolled back already."""
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error being handled says more than this one
