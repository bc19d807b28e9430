"""Build the Lambda artifact: ``python -m deploy.build [--output dist/dynafold-lambda.zip]``.

Installs dynafold and its dependencies for the Lambda runtime into a
staging folder (``pip install --target``, manylinux wheels, no bytecode),
then writes a zip whose bytes depend only on the files: entries sorted,
timestamps fixed at 1980-01-01, permissions normalised. Building twice from
the same versions gives the same SHA-256 (printed at the end), so a
deployment can be traced to its inputs.
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

ROOT = Path(__file__).resolve().parents[1]
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo")


def install(staging: Path, python_version: str, platform: str) -> None:
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(staging),
            "--implementation", "cp", "--python-version", python_version, "--platform", platform,
            "--only-binary=:all:", "--upgrade", str(ROOT),
        ],
        check=True,
    )


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.build", description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "dist" / "dynafold-lambda.zip"))
    parser.add_argument("--python-version", default="3.13", help="Lambda runtime version (default: %(default)s)")
    parser.add_argument("--platform", default="manylinux2014_x86_64", help="wheel platform (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "package"
        install(staging, args.python_version, args.platform)
        for leftover in ("bin",):
            shutil.rmtree(staging / leftover, ignore_errors=True)
        digest = write_zip(staging, Path(args.output))
    print(f"{args.output}  sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
