"""Build the Lambda package: ``python -m dynafold.deploy.build [--model myapp.views:MODEL] [--arch arm64|x86_64]``.

Installs the locked dependencies (``deploy/requirements.lock``, every wheel
checked against its SHA-256 with ``--require-hashes``) for the Lambda
runtime and architecture into a staging folder, adds the engine's packages
(``domain``, ``projector``, ``replay``) and the user's model package, then
writes a zip whose bytes depend only on the files: entries sorted,
timestamps fixed at 1980-01-01, permissions normalised, no bytecode, and
none of the install records pip writes about itself (``RECORD``,
``INSTALLER``, ``REQUESTED``: another pip version would word them
differently). Two builds of the same commit, a month apart, give the same
SHA-256 (printed at the end), so a deployment can be traced to its inputs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable, Optional

from dynafold.deploy.lock import LOCK, pip_target_options
from dynafold.deploy.packaging import engine_files, model_files, package_tree

ROOT = Path(__file__).resolve().parents[1]
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo")
PIP_RECORDS = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}


def install(staging: Path, arch: str, lock: Path = LOCK) -> None:
    """The locked dependencies, hash-checked, as wheels for Lambda's CPython on ``arch``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--no-deps", "--require-hashes",
         "--target", str(staging), *pip_target_options(ARCHES[arch]), "-r", str(lock)],
        check=True,
    )
    shutil.rmtree(staging / "bin", ignore_errors=True)
    for record in staging.glob("*.dist-info/*"):
        if record.name in PIP_RECORDS:
            record.unlink()


def add_sources(staging: Path, model: Optional[str], model_package: Optional[str]) -> list[str]:
    """The engine's packages and the model's files; the package paths added, for the summary line."""
    files: list[tuple[Path, str]] = list(engine_files())
    if model_package:
        directory = Path(model_package).resolve()
        if not (directory / "__init__.py").exists():
            raise SystemExit(f"--model-package {model_package}: not a Python package (no __init__.py)")
        files.extend(package_tree(directory, directory.parent))
    elif model:
        files.extend(model_files(model))
    added = []
    for source, name in files:
        target = staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        added.append(name)
    return added


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


def build(output: Path, arch: str, model: Optional[str] = None, model_package: Optional[str] = None,
          dependencies: bool = True) -> tuple[str, Iterable[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "package"
        staging.mkdir()
        if dependencies:
            install(staging, arch)
        added = add_sources(staging, model, model_package)
        return write_zip(staging, output), added


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dynafold.deploy.build", description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "dist" / "dynafold-lambda.zip"),
                        help="the zip the template's CodeUri names (default: %(default)s)")
    parser.add_argument("--arch", choices=sorted(ARCHES), default="arm64",
                        help="Lambda architecture, as the template's Architecture parameter (default: %(default)s)")
    parser.add_argument("--model", help="module:attribute of the model; its package goes into the zip "
                                        "(looked up from the current directory)")
    parser.add_argument("--model-package", help="a package directory to add instead (e.g. src/myapp)")
    args = parser.parse_args(argv)
    digest, added = build(Path(args.output), args.arch, args.model, args.model_package)
    extra = sorted({name.split("/")[0] for name in added} - {"dynafold"})
    print(f"{args.output}  sha256 {digest}  ({args.arch}{'; model package ' + ', '.join(extra) if extra else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
