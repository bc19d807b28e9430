"""Opening SQLite files: the URL, one connection per thread, transactions, and what errors mean.

The store, the quarantine and the checkpoints share a file by default and
open it the same way. An error about the file's state is mapped wherever it
happens (at connection setup, in a schema script, in a transaction, in a
quarantine or checkpoint statement), by one rule (``file_error``): what may
pass by itself (busy, locked, an I/O error, out of memory) is
``StoreUnavailable`` (exit 3; the engine retries it, so a cold start racing
others on a fresh file retries instead of raising); what someone must fix
(a read-only or unreadable file, permission denied, a full disk, a damaged
file) is ``StoreUnusable`` (exit 2; never retried). A URL that can never
work (``:memory:``, a directory, a file that is not a database) is a
``ValueError``: a usage error, not something to retry.

Readers (``dump``, ``search``, ``quarantine list|show``) open the file
read-only (``file:…?mode=ro``), so they work on a copy nobody may write to;
when even the WAL's shared-memory file cannot be created there (a read-only
directory, where no writer can run either), the file is read as immutable.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from typing import Iterator, Optional, Sequence, Union
from urllib.parse import quote

from dynafold.projector.errors import ConfigurationError
from dynafold.projector.stores.base import StoreUnavailable, StoreUnusable


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
            raise (file_error(error) or StoreUnavailable(f"sqlite store unavailable: {error}")) from None

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
        with mapped():
            self.get().executescript(script)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# Result codes that say the file cannot be used now but may be soon (busy, locked, I/O, memory): retried,
# exit 3; and those that say someone must act first (read-only, unreadable, permission, full, damaged): exit 2.
# Either way never that a record is at fault: nothing is quarantined.
_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_NOMEM", "SQLITE_INTERRUPT", "SQLITE_PROTOCOL")
_UNUSABLE = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_CORRUPT", "SQLITE_NOTADB",
             "SQLITE_AUTH")


def file_error(error: sqlite3.Error) -> Optional[Union[StoreUnavailable, StoreUnusable]]:
    """What an SQLite error about the file's state means (``StoreUnavailable`` or ``StoreUnusable``), or None
    when it is not about the file's state."""
    name = getattr(error, "sqlite_errorname", None) or ""
    if name.startswith(_UNUSABLE):
        return StoreUnusable(f"sqlite store unusable: {error}")
    if name.startswith(_TRANSIENT) or (not name and "locked" in str(error)):
        return StoreUnavailable(f"sqlite store unavailable: {error}")
    return None


@contextlib.contextmanager
def mapped() -> Iterator[None]:
    """Run statements with SQLite's errors about the file mapped by ``file_error`` (others unchanged)."""
    try:
        yield
    except sqlite3.Error as error:
        raise (file_error(error) or error) from None


class Transaction:
    """One explicit transaction on a connection, SQLite errors about the file mapped by ``file_error``."""

    def __init__(self, conn: sqlite3.Connection, immediate: bool) -> None:
        self.conn = conn
        self.immediate = immediate

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
        except sqlite3.Error as error:
            raise (file_error(error) or StoreUnavailable(f"sqlite store unavailable: {error}")) from None
        return self.conn

    def __exit__(self, kind, error, tb) -> None:
        if kind is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error as commit_error:
                self._rollback()
                raise (file_error(commit_error) or StoreUnavailable(f"sqlite store unavailable: {commit_error}")) from None
        self._rollback()
        meaning = file_error(error) if isinstance(error, sqlite3.Error) else None
        if meaning is not None:
            raise meaning from None
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
