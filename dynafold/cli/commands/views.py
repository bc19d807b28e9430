"""Read commands: ``dump``, ``search``, ``status`` (they open the store read-only), and ``demo``."""

from __future__ import annotations

import json
import sys

from dynafold.cli import flags
from dynafold.projector.errors import EXIT_OK, EXIT_PROBLEM

ID = "_id"
"""The key ``dump`` shows each document's id under, first: the id is what a reader needs first, and it is
not always a field (a root keyed by ``PK``, or an id of several attributes); no field can be named ``_id``
(OpenSearch's metadata name, refused when a model loads), so it never hides one."""


def dump(args) -> int:
    from dynafold.projector.stores.codec import dumps

    runtime = flags.runtime(args, read_only=True)
    runtime.model.aggregate(args.aggregate)
    store = runtime.store
    for document in store.stored(store.targets(args.aggregate).read):
        if document.body is not None:  # a tombstone: no root item, nothing visible
            sys.stdout.write(dumps({ID: document.key.id, **document.body}) + "\n")
    return EXIT_OK


def search(args) -> int:
    from dynafold.projector.stores.codec import dumps

    query = " ".join(args.query)
    runtime = flags.runtime(args, read_only=True)
    runtime.model.aggregate(args.aggregate)
    for document in runtime.store.search(args.aggregate, query, limit=args.limit):
        sys.stdout.write(dumps(document) + "\n")
    return EXIT_OK


def status(args) -> int:
    from dynafold.cli.status import collect, problems, render

    runtime = flags.runtime(args, read_only=True)
    report = collect(runtime, checkpoints_url=args.checkpoints)
    print(json.dumps(report, indent=2, sort_keys=True) if args.format == "json" else render(report))
    return EXIT_PROBLEM if problems(report) else EXIT_OK


def demo(args) -> int:
    from dynafold.cli.demo import run_demo

    return run_demo(db=args.db, customers=args.customers, seed=args.seed)
