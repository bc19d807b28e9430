"""``dynafold dashboards export``: OpenSearch Dashboards saved objects generated from a model (``deploy/dashboards``)."""

from __future__ import annotations

import sys

from dynafold.projector.errors import EXIT_OK


def dashboards(args) -> int:
    from dynafold.deploy.dashboards import export
    from dynafold.deploy.packaging import importable_model

    model = importable_model(args.model)
    text = export(model, args.prefix)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text)
    print(f"dynafold dashboards: wrote {text.count(chr(10)) - 1} saved objects for {len(model.aggregates)} aggregates "
          f"to {args.out}; import them in Dashboards (Management, Saved objects, Import)", file=sys.stderr)
    return EXIT_OK
