"""``dynafold deploy package``: the Lambda zip, from the installed dynafold and the user's project.

The zip holds, at its root as Lambda imports them:

- the engine's dependencies pinned in the lock shipped with dynafold
  (``requirements.lock``, or ``--lock``), every wheel checked against its
  SHA-256 with ``--require-hashes``, for the Lambda's CPython 3.13 and
  architecture;
- the user's own requirements (``--requirements``), resolved for the same
  interpreter and held to the lock (``dynafold.deploy.user_requirements``);
- the installed dynafold's runtime packages (``dynafold.deploy.packaging.engine_files``:
  from a wheel or from a checkout alike) and the model module's package.

Its bytes depend only on the files: entries sorted, timestamps fixed at
1980-01-01, permissions normalised, no bytecode, and none of the install
records pip writes about itself (``RECORD``, ``INSTALLER``, ``REQUESTED``:
another pip version would word them differently). Two builds of the same
inputs, a month apart, give the same SHA-256, so a deployment can be traced
to its inputs (pin your own requirements for that to hold for them too).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Optional

import attrs

from dynafold.deploy.lock import LOCK, pip, pip_errors, pip_target_options
from dynafold.deploy.packaging import engine_files, model_files, place
from dynafold.deploy.user_requirements import install_requirements
from dynafold.projector.errors import ConfigurationError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo")
PIP_RECORDS = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}


@attrs.frozen
class Package:
    """What ``build`` wrote: the zip's SHA-256 and size, the model's files and the user's distributions."""

    sha256: str
    size: int
    model: tuple[str, ...]
    requirements: tuple[str, ...]


def install(staging: Path, arch: str, lock: Path = LOCK) -> None:
    """The locked dependencies, hash-checked, as wheels for Lambda's CPython on ``arch``."""
    result = pip("install", "--quiet", "--no-compile", "--no-deps", "--require-hashes", "--target", str(staging),
                 *pip_target_options(ARCHES[arch]), "-r", str(lock))
    if result.returncode:
        raise ConfigurationError(f"installing the engine's lock {lock} for {arch} failed: {pip_errors(result)}")


def _drop_install_records(staging: Path) -> None:
    shutil.rmtree(staging / "bin", ignore_errors=True)
    for record in staging.glob("*.dist-info/*"):
        if record.name in PIP_RECORDS:
            record.unlink()


def add_sources(staging: Path, model: Optional[str]) -> tuple[list[str], list[str]]:
    """The engine's packages and the model's files; the paths of each added."""
    engine, own = list(engine_files()), list(model_files(model)) if model else []
    for source, name in engine:
        place(source, staging, name, "dynafold")
    for source, name in own:
        place(source, staging, name, f"the model's file {source}")
    return [name for _, name in engine], [name for _, name in own]


def write_zip(source: Path, output: Path) -> str:
    """Zip ``source`` deterministically; return the SHA-256 of the result."""
    files = []
    for directory, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in names:
            if not name.endswith(SKIP_SUFFIXES):
                files.append(Path(directory, name))
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(files, key=lambda p: p.relative_to(source).as_posix()):
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=FIXED_TIME)
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return hashlib.sha256(output.read_bytes()).hexdigest()


def build(output: Path, arch: str, model: Optional[str] = None, *, requirements: Optional[Path] = None,
          lock: Path = LOCK) -> Package:
    """Write the Lambda zip for ``model`` (``module:attribute``, found from the current directory) to ``output``."""
    if arch not in ARCHES:
        raise ValueError(f"architecture {arch!r}: one of {sorted(ARCHES)}")
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "package"
        staging.mkdir()
        install(staging, arch, lock)
        added = install_requirements(requirements, staging, ARCHES[arch], lock) if requirements else []
        _drop_install_records(staging)
        _, own = add_sources(staging, model)
        digest = write_zip(staging, output)
    return Package(digest, output.stat().st_size, tuple(own), tuple(added))
