"""Finding the user's model: importing it for generation, and the files the Lambda package must carry.

``dynafold`` runs as a console script, whose ``sys.path`` does not hold the
current directory; a model in the project being deployed
(``myapp.views:MODEL``) is looked up there too, as ``python -m`` would.
The package carries the model module's own package whole, plus the
``__init__.py`` of each package above it, so ``tests.models.crm`` brings
``tests/models/`` and ``tests/__init__.py``, not the whole ``tests`` tree.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Iterator

from dynafold.domain.model import Model
from dynafold.projector.errors import ConfigurationError

LAMBDA_PACKAGES = ("dynafold", "dynafold.domain", "dynafold.projector", "dynafold.replay", "dynafold.handlers")
"""What the Lambda functions import; the CLI, the test kit and the deployment tools stay out of the zip."""


def importable_model(spec: str) -> Model:
    from dynafold.projector.config import load_model

    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    return load_model(spec)


def engine_files() -> Iterator[tuple[Path, str]]:
    """(file on disk, path in the zip) of the installed dynafold the Lambda runs: whether installed from
    the wheel or editable from a checkout (whose folders are mapped into the namespace), each module
    lands where ``import dynafold...`` finds it."""
    import dynafold

    root = Path(dynafold.__file__).parent
    for package in _lambda_packages(root):
        directory = Path(importlib.import_module(package).__path__[0])
        arc = package.replace(".", "/")
        for path in sorted(directory.iterdir()):
            if path.is_file() and path.suffix not in (".pyc", ".pyo"):
                yield path, f"{arc}/{path.name}"


def _lambda_packages(root: Path) -> Iterator[str]:
    import pkgutil

    for top in LAMBDA_PACKAGES:
        yield top
        if top == "dynafold":
            continue
        module = importlib.import_module(top)
        for info in pkgutil.walk_packages(module.__path__, f"{top}."):
            if info.ispkg:
                yield info.name


def model_files(spec: str) -> Iterator[tuple[Path, str]]:
    """(file on disk, path in the package) for everything the model named ``module:attribute`` needs
    beyond the engine; nothing when the model ships with the engine (the sample)."""
    module = spec.partition(":")[0]
    if module.split(".")[0] == "dynafold":
        return
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    found = importlib.util.find_spec(module)
    if found is None or found.origin is None:
        raise ConfigurationError(f"cannot find the model module {module!r} (from {here})")
    origin = Path(found.origin)
    parts = module.split(".")
    if origin.name == "__init__.py":
        package_dir, depth = origin.parent, len(parts)
    elif len(parts) == 1:
        yield origin, origin.name
        return
    else:
        package_dir, depth = origin.parent, len(parts) - 1
    root = package_dir
    for _ in range(depth):
        root = root.parent
    yield from package_tree(package_dir, root)
    parent = package_dir.parent
    while parent != root:
        init = parent / "__init__.py"
        if init.exists():
            yield init, init.relative_to(root).as_posix()
        parent = parent.parent


def package_tree(directory: Path, root: Path) -> Iterator[tuple[Path, str]]:
    """Every source file under ``directory`` (no bytecode), named relative to ``root``."""
    for path in sorted(directory.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
            yield path, path.relative_to(root).as_posix()
