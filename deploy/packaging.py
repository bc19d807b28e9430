"""Finding the user's model: importing it for generation, and the files the Lambda package must carry.

``dynafold`` runs as a console script, whose ``sys.path`` does not hold the
current directory; a model in the project being deployed
(``myapp.views:MODEL``) is looked up there too, as ``python -m`` would
(``projector.config.load_model``). The package carries the model module's
own package whole, plus the ``__init__.py`` of each package above it, so
``tests.models.crm`` brings ``tests/models/`` and ``tests/__init__.py``, not
the whole ``tests`` tree; and every other module of the project the model
imports, with the ``__init__.py`` above it (``from domain.rules import
...``: the project's own ``domain/rules.py``), found by the stdlib's
``modulefinder`` reading the imports, not running them. Third-party
imports come from ``--requirements``.
"""

from __future__ import annotations

import importlib
import modulefinder
import os
import shutil
import sys
from pathlib import Path
from typing import Iterator

from dynafold.domain.model import Model
from dynafold.projector.errors import ConfigurationError

LAMBDA_PACKAGES = ("dynafold", "dynafold.domain", "dynafold.projector", "dynafold.replay", "dynafold.handlers")
"""What the Lambda functions import; the CLI, the test kit and the deployment tools stay out of the zip."""


def importable_model(spec: str) -> Model:
    from dynafold.projector.config import load_model

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
    beyond the engine and its requirements; nothing when the model ships with the engine (the sample)."""
    module = spec.partition(":")[0]
    if module.split(".")[0] == "dynafold":
        return
    importable_model(spec)
    origin = sys.modules[module].__file__
    if origin is None:
        raise ConfigurationError(f"the model module {module!r} has no file to package")
    root = _import_root(module, Path(origin))
    own = Path(origin).parent if "." in module or Path(origin).name == "__init__.py" else None
    files = list(package_tree(own, root)) if own is not None else []
    finder = modulefinder.ModuleFinder(path=list(dict.fromkeys([str(root), os.getcwd()])), excludes=["dynafold"])
    finder.import_hook(module)
    for name, found in sorted(finder.modules.items()):
        if found.__file__ is not None and name != "__main__":
            files.extend(_module_alone(name, Path(found.__file__)))
    yield from dict((arc, (path, arc)) for path, arc in files).values()


def _import_root(module: str, origin: Path) -> Path:
    """The ``sys.path`` entry ``module`` was imported from (the zip's root holds what is below it)."""
    depth = len(module.split(".")) - (0 if origin.name != "__init__.py" else -1)
    root = origin
    for _ in range(depth):
        root = root.parent
    return root


def _module_alone(module: str, origin: Path) -> Iterator[tuple[Path, str]]:
    """A module's file and the ``__init__.py`` of every package above it."""
    root = _import_root(module, origin)
    yield origin, origin.relative_to(root).as_posix()
    parent = origin.parent
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


def place(source: Path, staging: Path, name: str, what: str) -> None:
    """Copy one file into the package at ``name``; a different file already there (the engine's, a
    dependency's) is refused rather than silently replaced."""
    destination = staging / name
    if destination.exists() and destination.read_bytes() != source.read_bytes():
        raise ConfigurationError(f"{what} would replace {name} in the Lambda package with another file; "
                                 "they cannot share one Lambda")
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)
