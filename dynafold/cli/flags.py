"""From parsed flags to a ``Runtime``: flags over ``DYNAFOLD_*`` variables, read in ``dynafold.projector.config``."""

from __future__ import annotations

import argparse
import os

from dynafold.projector.config import Settings
from dynafold.projector.errors import ConfigurationError
from dynafold.projector.runtime import Runtime


def settings(args: argparse.Namespace) -> Settings:
    return Settings.load(model=getattr(args, "model", None), store=getattr(args, "store", None),
                         quarantine=getattr(args, "quarantine", None), tables=getattr(args, "table_names", None),
                         log_level=getattr(args, "log_level", None))


def runtime(args: argparse.Namespace, *, read_only: bool = False, existing: bool = False) -> Runtime:
    """The runtime of a command; ``read_only`` commands never create or refresh anything, and
    ``existing`` ones (they change views that must already be there) refuse to create a new SQLite
    file at a mistyped path."""
    chosen = settings(args)
    if existing and chosen.store.startswith("sqlite:///"):
        from dynafold.projector.stores.sqlite.connections import path_of

        path = path_of(chosen.store)
        if not os.path.exists(path):
            raise ConfigurationError(f"no SQLite file at {path}: nothing has been projected there")
    return Runtime.open(chosen, read_only=read_only)


def aggregates(runtime: Runtime, names) -> list[str]:
    """The aggregates named (each checked against the model), else all of them."""
    return [runtime.model.aggregate(name).name for name in names] if names else sorted(runtime.model.aggregates)
