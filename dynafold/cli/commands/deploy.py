"""``dynafold deploy template|parameters|package|lock``: what a deployment is made of, from a model (``deploy/``)."""

from __future__ import annotations

import sys
from pathlib import Path

from dynafold.projector.errors import EXIT_OK


def deploy(args) -> int:
    return {"template": _template, "parameters": _parameters, "package": _package, "lock": _lock}[args.action](args)


def _template(args) -> int:
    from dynafold.deploy.template import write

    write(args.model, args.out, store_service=args.store_service, package=args.code_uri)
    print(f"dynafold deploy: wrote {args.out} for {args.model} (code: {args.code_uri})", file=sys.stderr)
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


def _package(args) -> int:
    from dynafold.deploy.build import build
    from dynafold.deploy.lock import LOCK
    from dynafold.deploy.packaging import importable_model

    importable_model(args.model)  # a model that cannot load is refused before anything is installed
    built = build(Path(args.out), args.arch, args.model, lock=Path(args.lock) if args.lock else LOCK,
                  requirements=Path(args.requirements) if args.requirements else None)
    packages = sorted({name.split("/")[0] for name in built.model})
    print(f"{args.out}  sha256 {built.sha256}  {built.size:,} bytes  ({args.arch}; model package "
          f"{', '.join(packages) or 'shipped with dynafold'}; requirements {', '.join(built.requirements) or 'none'})")
    return EXIT_OK


def _lock(args) -> int:
    from dynafold.deploy.lock import write

    count = write(Path(args.out))
    print(f"dynafold deploy: wrote {args.out}: {count} pinned distributions", file=sys.stderr)
    return EXIT_OK
