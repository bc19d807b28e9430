"""``dynafold deploy lock``: pin the Lambda package's dependencies, with hashes, for both architectures.

The requirements are the installed dynafold's own (its metadata,
``importlib.metadata.requires``: the runtime dependencies, no extra), so the
command works the same from a wheel as from a checkout. pip's own resolver
picks the wheels (``pip install --dry-run --report``) for CPython 3.13 on
manylinux x86_64 and aarch64, the two Lambda architectures; the report
names each wheel and its SHA-256. The lock lists every distribution once,
with the hashes of its wheel for each architecture (``grpcio`` differs;
pure-Python wheels are the same file). ``dynafold deploy package`` installs
from it with ``--require-hashes``, so a build a month later gets the same
bytes or fails; nothing newer can slip in. The lock shipped in the package
(``requirements.lock`` beside this module) is the one the tests run
against; re-lock only to upgrade, and pass the new file to ``deploy package
--lock``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from importlib.metadata import requires
from pathlib import Path

from dynafold.projector.errors import ConfigurationError, Unavailable

LOCK = Path(__file__).with_name("requirements.lock")
PYTHON = "3.13"
ARCHITECTURES = ("x86_64", "aarch64")
_EXTRA = re.compile(r"\bextra\s*==")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.M)
_UNREACHABLE = re.compile(r"NewConnectionError|Max retries exceeded|Temporary failure in name resolution|"
                          r"Connection (refused|reset)|Network is unreachable|timed out")


def platforms(arch: str) -> list[str]:
    """Wheel tags Lambda's python3.13 (Amazon Linux 2023, glibc 2.34) runs, for ``arch`` (x86_64 or aarch64)."""
    return [f"manylinux2014_{arch}", f"manylinux_2_28_{arch}", f"manylinux_2_34_{arch}"]


def pip_target_options(arch: str) -> list[str]:
    options = ["--implementation", "cp", "--python-version", PYTHON, "--only-binary=:all:"]
    for tag in platforms(arch):
        options += ["--platform", tag]
    return options


def pip(*arguments: str) -> subprocess.CompletedProcess:
    """pip in this interpreter, its output kept; an index it could not reach is ``Unavailable`` (exit 3)."""
    result = subprocess.run([sys.executable, "-m", "pip", *arguments, "--disable-pip-version-check"],
                            capture_output=True, text=True)
    if result.returncode and _UNREACHABLE.search(result.stdout + result.stderr):
        raise Unavailable(f"pip could not reach the package index: {pip_errors(result)}")
    return result


def pip_errors(result: subprocess.CompletedProcess) -> str:
    """pip's last two ``ERROR:`` lines, for a message."""
    errors = [line.removeprefix("ERROR: ") for line in (result.stdout + "\n" + result.stderr).splitlines()
              if line.startswith("ERROR: ")]
    return "; ".join(errors[-2:]) or f"pip exited {result.returncode}"


def requirements() -> list[str]:
    """The runtime dependencies of the installed dynafold, as its metadata declares them (extras left out)."""
    return [r.strip() for r in requires("dynafold") or [] if not _EXTRA.search(r.partition(";")[2])]


def normalized(name: str) -> str:
    """A distribution name as the lock writes it (PEP 503: lower case, runs of ``-_.`` as ``-``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: Path = LOCK) -> dict[str, str]:
    """name -> version of every distribution ``lock`` pins."""
    try:
        text = lock.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"cannot read the lock {lock}: {error.strerror or error}") from None
    found = {normalized(name): version for name, version in _PIN.findall(text)}
    if not found:
        raise ConfigurationError(f"{lock} pins nothing: not a lock written by `dynafold deploy lock`")
    return found


def resolve(arch: str) -> dict[str, tuple[str, str]]:
    """name -> (version, sha256 of the wheel pip chose) for ``arch``."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        result = pip("install", "--quiet", "--dry-run", "--ignore-installed", "--target", str(Path(tmp) / "t"),
                     "--report", str(report), *pip_target_options(arch), *requirements())
        if result.returncode:
            raise ConfigurationError(f"pip could not resolve dynafold's requirements for {arch}: {pip_errors(result)}")
        found = {}
        for item in json.loads(report.read_text())["install"]:
            name = normalized(item["metadata"]["name"])
            found[name] = (item["metadata"]["version"], item["download_info"]["archive_info"]["hashes"]["sha256"])
        return found


def render(resolved: dict[str, dict[str, tuple[str, str]]]) -> str:
    names = sorted(set().union(*resolved.values()))
    lines = [f"# The Lambda package's dependencies for CPython {PYTHON} on {' and '.join(ARCHITECTURES)}.",
             "# Generated by `dynafold deploy lock` from the installed dynafold's requirements; "
             "`dynafold deploy package` installs with --require-hashes."]
    for name in names:
        versions = {arch: found[name][0] for arch, found in resolved.items() if name in found}
        if len(set(versions.values())) != 1 or len(versions) != len(resolved):
            raise ConfigurationError(f"{name}: the architectures resolve differently ({versions}); "
                                     "pin it in dynafold's requirements")
        hashes = sorted({found[name][1] for found in resolved.values()})
        lines.append(f"{name}=={next(iter(versions.values()))} \\")
        lines.extend(f"    --hash=sha256:{digest}" + (" \\" if i < len(hashes) - 1 else "") for i, digest in enumerate(hashes))
    return "\n".join(lines) + "\n"


def write(output: Path) -> int:
    """Re-resolve the lock into ``output``; the number of distributions pinned."""
    text = render({arch: resolve(arch) for arch in ARCHITECTURES})
    output.write_text(text, encoding="utf-8")
    return text.count("==")
