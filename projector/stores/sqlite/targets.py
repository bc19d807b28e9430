"""Where an aggregate's readers and writers point, kept in the SQLite file, and the lease to change them.

``dynafold_targets`` holds per aggregate its read target, write targets and
the targets a rebuild kept (``--keep-old``); ``dynafold_physical`` every
target whose document table was made, so a target the control record names
but the file lacks is found (``physical_targets``); ``dynafold_leases`` the
lease of each aggregate (``stores.lease`` says its rules). The store changes
them inside its ``BEGIN IMMEDIATE`` transactions, so a lease check and the
change it permits are one atomic step.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Optional

from dynafold.projector.stores.base import Targets
from dynafold.projector.stores.lease import Lease


def all_targets(db: sqlite3.Connection) -> dict[str, Targets]:
    try:
        rows = db.execute("SELECT aggregate, read_target, write_targets, kept_targets FROM dynafold_targets").fetchall()
    except sqlite3.OperationalError as error:
        if "no such column" not in str(error):
            raise
        rows = [(*row, "[]") for row in db.execute("SELECT aggregate, read_target, write_targets FROM dynafold_targets")]
    return {aggregate: Targets(read, tuple(json.loads(write)), tuple(json.loads(kept)))
            for aggregate, read, write, kept in rows}


def physical_targets(db: sqlite3.Connection, aggregate: Optional[str] = None) -> set[str]:
    """The targets (of ``aggregate``, or all) whose document table exists."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    rows = db.execute("SELECT target, aggregate FROM dynafold_physical")
    return {target for target, name in rows if ("doc_" + target) in tables and aggregate in (None, name)}


def read_lease(db: sqlite3.Connection, aggregate: str) -> Optional[Lease]:
    try:
        row = db.execute("SELECT lease FROM dynafold_leases WHERE aggregate = ?", (aggregate,)).fetchone()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):  # a file from before leases, opened read-only: nobody holds one
            return None
        raise
    return None if row is None else Lease.from_json(aggregate, json.loads(row[0]))


def put_lease(db: sqlite3.Connection, lease: Lease) -> None:
    db.execute("INSERT INTO dynafold_leases VALUES (?, ?) ON CONFLICT (aggregate) DO UPDATE SET lease = excluded.lease",
               (lease.aggregate, json.dumps(lease.to_json())))


def write_targets(db: sqlite3.Connection, aggregate: str, targets: Targets) -> None:
    db.execute(
        "INSERT INTO dynafold_targets VALUES (?, ?, ?, ?) ON CONFLICT (aggregate) DO UPDATE "
        "SET read_target = excluded.read_target, write_targets = excluded.write_targets, "
        "kept_targets = excluded.kept_targets",
        (aggregate, targets.read, json.dumps(list(targets.write)), json.dumps(list(targets.kept))),
    )
