"""``sqlite:///path.db``: the embedded default store.

One table per physical target with one row per document: the visible body
(NULL for a tombstone document), the fold state and a revision, the
concurrency token. Revisions come from one counter for the whole file, so a
token never repeats, not even after a sweep deleted and a writer re-created
a document. Writes are conditional ``UPDATE … WHERE revision = ?`` /
``INSERT OR IGNORE`` statements in one ``BEGIN IMMEDIATE`` transaction per
batch. An FTS5 table per target, kept by triggers, indexes the aggregate's
text fields of visible documents. The alias row (``dynafold_targets``) names
the read target and the write targets, and is switched in one transaction,
which also checks the lease (``dynafold_leases``, one row per aggregate) and
the targets it expects. A write to a target whose table is gone answers
``Gone`` for its documents; the others are written.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Any, Collection, Iterator, Mapping, Optional, Sequence

from dynafold.domain.aggregate import Aggregate
from dynafold.projector.stores import codec
from dynafold.projector.stores.base import (
    Conflict,
    DocKey,
    DocumentWrite,
    Gone,
    Loaded,
    Outcome,
    Sample,
    StoredDocument,
    StoreUnusable,
    Targets,
    UnknownTarget,
    Written,
    default_target,
    require_targets,
    reservoir,
)
from dynafold.projector.stores.lease import Lease, permit_change, renewed, taken
from dynafold.projector.stores.search_terms import Vocabulary, query_words, text_fields
from dynafold.projector.stores.sqlite.connections import ThreadConnections, Transaction, file_error, path_of
from dynafold.projector.stores.sqlite.search import TOKENIZE, match_expressions, select
from dynafold.projector.stores.sqlite.targets import all_targets, physical_targets, put_lease, read_lease, write_targets
from dynafold.projector.stores.state_format import dump_state, load_state

__all__ = ["SQLiteStore", "ThreadConnections", "file_error", "path_of"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dynafold_targets (
    aggregate TEXT PRIMARY KEY,
    read_target TEXT,
    write_targets TEXT NOT NULL,
    kept_targets TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS dynafold_physical (
    target TEXT PRIMARY KEY,
    aggregate TEXT NOT NULL,
    text_fields TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dynafold_revision (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    last INTEGER NOT NULL
);
INSERT OR IGNORE INTO dynafold_revision VALUES (1, 0);
CREATE TABLE IF NOT EXISTS dynafold_leases (
    aggregate TEXT PRIMARY KEY,
    lease TEXT NOT NULL
);
"""

_CHUNK = 500


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SQLiteStore:
    def __init__(self, url: str, *, busy_timeout_s: float = 30.0, read_only: bool = False) -> None:
        """``read_only`` opens the file for reading only (``sqlite_connections``) and creates nothing."""
        self.url = url
        self.path = path_of(url)
        self._connections = ThreadConnections(self.path, busy_timeout_s, read_only=read_only)
        self._aggregates: dict[str, Aggregate] = {}
        self._vocabularies: dict[str, tuple[int, Vocabulary]] = {}  # per target, at a store revision
        if read_only:
            return
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        except OSError as error:
            raise StoreUnusable(f"sqlite store {self.path}: cannot create its directory ({error.strerror})") from None
        self._connections.run_script(_SCHEMA)
        with self._transaction() as db:  # a file from before kept targets gets the column
            if "kept_targets" not in {row[1] for row in db.execute("PRAGMA table_info(dynafold_targets)")}:
                db.execute("ALTER TABLE dynafold_targets ADD COLUMN kept_targets TEXT NOT NULL DEFAULT '[]'")

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> "SQLiteStore":
        return cls(url, read_only=read_only)

    def _transaction(self, immediate: bool = False):
        return Transaction(self._connections.get(), immediate)

    def prepare(self, aggregates: Collection[Aggregate]) -> None:
        for aggregate in aggregates:
            self._aggregates[aggregate.name] = aggregate
            with self._transaction(immediate=True) as db:
                row = db.execute("SELECT 1 FROM dynafold_targets WHERE aggregate = ?", (aggregate.name,)).fetchone()
                if row is None:
                    target = default_target(aggregate)
                    _create_target(db, aggregate, target)
                    write_targets(db, aggregate.name, Targets(target, (target,)))

    def load(self, wanted: Mapping[str, Collection[str]]) -> Loaded:
        with self._transaction() as db:
            known = all_targets(db)
            targets = {name: require_targets(known, name).write for name in wanted}
            keys = [DocKey(t, doc_id) for name, ids in wanted.items() for t in targets[name] for doc_id in ids]
            return Loaded(targets, _read(db, keys))

    def reload(self, keys: Collection[DocKey]) -> Mapping[DocKey, StoredDocument]:
        with self._transaction() as db:
            return _read(db, keys)

    def write(self, writes: Sequence[DocumentWrite]) -> Mapping[DocKey, Outcome]:
        outcomes: dict[DocKey, Outcome] = {}
        if not writes:
            return outcomes
        with self._transaction(immediate=True) as db:
            (last,) = db.execute("SELECT last FROM dynafold_revision").fetchone()
            revision = last
            for w in writes:
                table = _quote("doc_" + w.key.target)
                body = None if w.body is None else codec.dumps(w.body)
                state = codec.dumps(dump_state(w.state))
                try:
                    if w.expected is None:
                        cursor = db.execute(
                            f"INSERT OR IGNORE INTO {table} (id, revision, body, state) VALUES (?, ?, ?, ?)",
                            (w.key.id, revision + 1, body, state),
                        )
                    else:
                        cursor = db.execute(
                            f"UPDATE {table} SET revision = ?, body = ?, state = ? WHERE id = ? AND revision = ?",
                            (revision + 1, body, state, w.key.id, w.expected),
                        )
                except sqlite3.OperationalError as error:
                    if "no such table" in str(error):
                        outcomes[w.key] = Gone(f"no target {w.key.target!r}")
                        continue
                    raise
                revision += 1
                outcomes[w.key] = Written(revision) if cursor.rowcount == 1 else Conflict()
            db.execute("UPDATE dynafold_revision SET last = ?", (revision,))
        return outcomes

    def targets(self, aggregate: str) -> Targets:
        with self._transaction() as db:
            return require_targets(all_targets(db), aggregate)

    def create_target(self, aggregate: Aggregate, target: str) -> None:
        self._aggregates[aggregate.name] = aggregate
        with self._transaction(immediate=True) as db:
            _create_target(db, aggregate, target)

    def set_targets(self, aggregate: str, targets: Targets, *, expected: Optional[Targets] = None,
                    lease: Optional[Lease] = None) -> None:
        with self._transaction(immediate=True) as db:
            permit_change(aggregate, all_targets(db).get(aggregate), read_lease(db, aggregate), expected=expected,
                          lease=lease)
            known = physical_targets(db)
            for target in (targets.read, *targets.write):
                if target is not None and target not in known:
                    raise UnknownTarget(f"no target {target!r}")
            write_targets(db, aggregate, targets)

    def differences(self, aggregate: Aggregate, target: str) -> list[str]:
        """The search index is all SQLite makes from the model: its text columns and its tokenizer."""
        with self._transaction() as db:
            row = db.execute("SELECT text_fields FROM dynafold_physical WHERE target = ?", (target,)).fetchone()
            if row is None:
                raise UnknownTarget(f"no target {target!r}")
            table = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", ("fts_" + target,)).fetchone()
        found = []
        have, want = json.loads(row[0]), text_fields(aggregate)
        if have != want:
            found.append(f"search columns: {have} here; the model's text fields are {want}")
        if want and (table is None or TOKENIZE not in table[0]):
            found.append(f"search index: an older tokenizer here; the model's splits and folds words as {TOKENIZE!r}")
        return found

    def drop_target(self, target: str) -> None:
        with self._transaction(immediate=True) as db:
            self._vocabularies.pop(target, None)
            db.execute(f"DROP TABLE IF EXISTS {_quote('fts_' + target)}")
            db.execute(f"DROP TABLE IF EXISTS {_quote('doc_' + target)}")
            db.execute("DELETE FROM dynafold_physical WHERE target = ?", (target,))

    def physical(self, aggregate: str) -> frozenset[str]:
        with self._transaction() as db:
            return frozenset(physical_targets(db, aggregate))

    def lease(self, aggregate: str) -> Optional[Lease]:
        with self._transaction() as db:
            return read_lease(db, aggregate)

    def take_lease(self, aggregate: str, holder: str, ttl_s: float, *, work: Mapping[str, Any] = {},
                   replaces: Optional[str] = None, now: Optional[float] = None) -> tuple[Lease, Optional[Lease]]:
        with self._transaction(immediate=True) as db:
            lease, previous = taken(read_lease(db, aggregate), aggregate, holder, ttl_s, work=work, replaces=replaces,
                                    now=time.time() if now is None else now)
            put_lease(db, lease)
            return lease, previous

    def renew_lease(self, lease: Lease, ttl_s: float, *, work: Optional[Mapping[str, Any]] = None,
                    now: Optional[float] = None) -> Lease:
        with self._transaction(immediate=True) as db:
            renewal = renewed(read_lease(db, lease.aggregate), lease, ttl_s, work=work,
                              now=time.time() if now is None else now)
            put_lease(db, renewal)
            return renewal

    def release_lease(self, lease: Lease) -> None:
        with self._transaction(immediate=True) as db:
            current = read_lease(db, lease.aggregate)
            if current is not None and current.id == lease.id:
                db.execute("DELETE FROM dynafold_leases WHERE aggregate = ?", (lease.aggregate,))

    def _read_target(self, db: sqlite3.Connection, aggregate: str) -> Optional[str]:
        return require_targets(all_targets(db), aggregate).read

    def get(self, aggregate: str, doc_id: str) -> Optional[dict[str, Any]]:
        with self._transaction() as db:
            read = self._read_target(db, aggregate)
            if read is None:
                return None
            row = db.execute(
                f"SELECT body FROM {_quote('doc_' + read)} WHERE id = ? AND body IS NOT NULL", (doc_id,)
            ).fetchone()
        return None if row is None else codec.loads(row[0])

    def documents(self, aggregate: str) -> Iterator[dict[str, Any]]:
        with self._transaction() as db:
            read = self._read_target(db, aggregate)
        if read is None:
            return
        for _, body in self._by_id(f"SELECT id, body FROM {_quote('doc_' + read)} WHERE body IS NOT NULL AND"):
            yield codec.loads(body)

    def search(self, aggregate: str, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """The search rule (``search_terms``) on the read target's FTS5 table (``sqlite.search``)."""
        with self._transaction() as db:
            read = self._read_target(db, aggregate)
            row = None if read is None else db.execute(
                "SELECT text_fields FROM dynafold_physical WHERE target = ?", (read,)).fetchone()
            fields = json.loads(row[0]) if row else []
            terms = query_words(query, len(fields))
            if not terms or not fields or limit <= 0:
                return []
            expression, exact = match_expressions(terms, self._vocabulary(db, read))
            fts, docs = _quote("fts_" + read), _quote("doc_" + read)
            parameters = {"q": expression, "limit": limit, **{f"e{i}": e for i, e in enumerate(exact)}}
            rows = db.execute(select(fts, docs, len(exact)), parameters).fetchall()
        return [codec.loads(body) for (body,) in rows]

    def _vocabulary(self, db: sqlite3.Connection, target: str) -> Vocabulary:
        """The terms of a target's FTS5 table, loaded again when the file's revision has moved."""
        (revision,) = db.execute("SELECT last FROM dynafold_revision").fetchone()
        cached = self._vocabularies.get(target)
        if cached is not None and cached[0] == revision:
            return cached[1]
        vocab = _quote("vocab_" + target)
        db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{vocab} USING fts5vocab(main, {_quote('fts_' + target)}, row)")
        # a lone combining accent is a term FTS5 folds to nothing, which fts5vocab lists as NULL
        vocabulary = Vocabulary(term for (term,) in db.execute(f"SELECT term FROM temp.{vocab}") if term)
        self._vocabularies[target] = (revision, vocabulary)
        return vocabulary

    def stored(self, target: str) -> Iterator[StoredDocument]:
        for doc_id, revision, state, body in self._by_id(f"SELECT id, revision, state, body FROM {_quote('doc_' + target)} WHERE"):
            yield _document(DocKey(target, doc_id), revision, state, body)

    def sample(self, target: str, size: int, seed: int) -> Sample:
        return reservoir(self.stored(target), size, seed)

    def _by_id(self, select: str) -> Iterator[tuple]:
        """Rows of ``select … WHERE`` in id order, a chunk per short transaction (bounded memory).

        Each chunk seeks on the primary key (``id > ?``), so paging a whole
        target costs one pass, not one pass per chunk.
        """
        after: Optional[str] = None
        while True:
            with self._transaction() as db:
                if after is None:
                    rows = db.execute(f"{select} 1 ORDER BY id LIMIT ?", (_CHUNK,)).fetchall()
                else:
                    rows = db.execute(f"{select} id > ? ORDER BY id LIMIT ?", (after, _CHUNK)).fetchall()
            if not rows:
                return
            yield from rows
            after = rows[-1][0]

    def delete(self, key: DocKey, expected: Any) -> bool:
        """Delete a document if it still has the expected revision (the sweep)."""
        with self._transaction(immediate=True) as db:
            cursor = db.execute(
                f"DELETE FROM {_quote('doc_' + key.target)} WHERE id = ? AND revision = ?", (key.id, expected)
            )
            return cursor.rowcount == 1

    def close(self) -> None:
        self._connections.close()


def _create_target(db: sqlite3.Connection, aggregate: Aggregate, target: str) -> None:
    fields = text_fields(aggregate)
    docs, fts = _quote("doc_" + target), _quote("fts_" + target)
    if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", ("doc_" + target,)).fetchone() is None:
        db.execute(f"DROP TABLE IF EXISTS {fts}")  # the index of a target whose documents were dropped by hand
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {docs} (id TEXT PRIMARY KEY, revision INTEGER NOT NULL, body TEXT, state TEXT NOT NULL)"
    )
    db.execute(
        "INSERT OR IGNORE INTO dynafold_physical VALUES (?, ?, ?)", (target, aggregate.name, json.dumps(fields))
    )
    if not fields:
        return
    columns = ", ".join(_quote(f) for f in fields)
    values = ", ".join(f"json_extract(new.body, '$.{f}')" for f in fields)
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({columns}, tokenize = \"{TOKENIZE}\")")
    db.execute(
        f"CREATE TRIGGER IF NOT EXISTS {_quote('ins_' + target)} AFTER INSERT ON {docs} WHEN new.body IS NOT NULL "
        f"BEGIN INSERT INTO {fts} (rowid, {columns}) VALUES (new.rowid, {values}); END"
    )
    db.execute(
        f"CREATE TRIGGER IF NOT EXISTS {_quote('upd_' + target)} AFTER UPDATE ON {docs} "
        f"BEGIN DELETE FROM {fts} WHERE rowid = old.rowid; "
        f"INSERT INTO {fts} (rowid, {columns}) SELECT new.rowid, {values} WHERE new.body IS NOT NULL; END"
    )
    db.execute(
        f"CREATE TRIGGER IF NOT EXISTS {_quote('del_' + target)} AFTER DELETE ON {docs} "
        f"BEGIN DELETE FROM {fts} WHERE rowid = old.rowid; END"
    )


def _read(db: sqlite3.Connection, keys: Collection[DocKey]) -> dict[DocKey, StoredDocument]:
    by_target: dict[str, list[str]] = {}
    for key in keys:
        by_target.setdefault(key.target, []).append(key.id)
    found = {}
    for target, ids in by_target.items():
        table = _quote("doc_" + target)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            try:
                rows = db.execute(
                    f"SELECT id, revision, state, body FROM {table} WHERE id IN ({marks})", chunk
                ).fetchall()
            except sqlite3.OperationalError as error:
                if "no such table" in str(error):
                    raise UnknownTarget(f"no target {target!r}") from None
                raise
            for doc_id, revision, state, body in rows:
                key = DocKey(target, doc_id)
                found[key] = _document(key, revision, state, body)
    return found


def _document(key: DocKey, revision: int, state: str, body: Optional[str]) -> StoredDocument:
    return StoredDocument(
        key, revision, load_state(codec.loads(state)), None if body is None else codec.loads(body)
    )
