"""``dynafold deploy template|parameters``: files generated from a model (``deploy/``)."""

from __future__ import annotations

import sys

from dynafold.projector.errors import EXIT_OK


def deploy(args) -> int:
    if args.action == "parameters":
        return _parameters(args)
    from dynafold.deploy.template import write

    write(args.model, args.out, store_service=args.store_service)
    print(f"dynafold deploy: wrote {args.out} for {args.model}", file=sys.stderr)
    return EXIT_OK


def _parameters(args) -> int:
    from dynafold.deploy.packaging import importable_model
    from dynafold.deploy.parameters import overrides, stack_parameters
    from dynafold.projector.aws import clients as aws
    from dynafold.projector.config import Settings

    model = importable_model(args.model)
    names = Settings.load(tables=getattr(args, "table_names", None)).table_names(model)
    values = stack_parameters(model, aws.client("dynamodb"), names, args.store_url, args.domain_arn)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(overrides(values))
    print(f"dynafold deploy: wrote {len(values)} parameters to {args.out}", file=sys.stderr)
    return EXIT_OK
