"""The user's own requirements in the Lambda package, resolved for the Lambda and held to the engine's lock.

A model may import third-party packages (``requirements.txt``, pinned or
not, hash-pinned or not; its ``--find-links``/``--index-url`` lines work as
in any pip requirements file). pip's own resolver installs them for the
Lambda's interpreter (CPython 3.13, manylinux, the function's
architecture, wheels only) with the engine's lock as **constraints**: a
package both need (``six``, ``urllib3``) resolves to the version the lock
pins, which the engine's hash-checked install already put in the zip, and a
requirement that cannot accept that version is refused, naming both sides,
instead of silently replacing a package the engine was tested with. Only
the distributions the lock does not pin are copied into the package; a
``dynafold`` the requirements name (an application's requirements often
do) must be the installed version, and the installed copy is the one packaged.
"""

from __future__ import annotations

import subprocess
import tempfile
from importlib.metadata import distributions
from pathlib import Path

import dynafold
from dynafold.deploy.lock import PYTHON, normalized, pins, pip, pip_errors, pip_target_options
from dynafold.deploy.packaging import place
from dynafold.projector.errors import ConfigurationError

ENGINE = "dynafold"


def install_requirements(requirements: Path, staging: Path, arch: str, lock: Path) -> list[str]:
    """Install ``requirements`` for ``arch`` (aarch64 or x86_64) into ``staging`` beside the engine's locked
    dependencies; ``name==version`` of each distribution added."""
    if not requirements.is_file():
        raise ConfigurationError(f"--requirements {requirements}: no such file")
    pinned = {**pins(lock), ENGINE: dynafold.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pinned.items())))
        target = Path(tmp) / "target"
        result = pip("install", "--no-compile", "--target", str(target), *pip_target_options(arch),
                     "-r", str(requirements), "-c", str(constraints))
        if result.returncode:
            raise ConfigurationError(_refusal(result, requirements, arch))
        added = []
        for found in sorted(distributions(path=[str(target)]), key=lambda d: normalized(d.metadata["Name"])):
            name = normalized(found.metadata["Name"])
            if name in pinned:  # the lock's version (the engine's hash-checked copy is there) or dynafold itself
                continue
            for file in found.files or ():
                if file.parts[0] in ("..", "bin") or "__pycache__" in file.parts:
                    continue
                place(target / file, staging, file.as_posix(), f"your requirement {name}")
            added.append(f"{name}=={found.version}")
        return added


def _refusal(result: subprocess.CompletedProcess, requirements: Path, arch: str) -> str:
    """pip's reason, in a sentence: the conflict with the lock named on both sides, else pip's last errors."""
    lines = result.stdout.splitlines()
    if "The conflict is caused by:" in lines:
        caused = []
        for line in lines[lines.index("The conflict is caused by:") + 1:]:
            if not line.strip():
                break
            caused.append(line.strip().replace("The user requested (constraint) ", "the engine's lock pins ")
                          .replace("The user requested ", "you require "))
        if any(f"pins {ENGINE}==" in line for line in caused):
            return (f"{requirements}: {ENGINE} itself is packaged from the installed copy ({ENGINE} "
                    f"{dynafold.__version__}), so leave it out of {requirements} or accept that version: "
                    f"{'; '.join(caused)}")
        if any("the engine's lock pins" in line for line in caused):
            return (f"{requirements}: your requirements conflict with the engine's lock, whose versions the Lambda "
                    f"runs and the tests ran: {'; '.join(caused)}. Accept the lock's version, or re-lock "
                    "(dynafold deploy lock --out FILE) and pass --lock FILE")
        return f"{requirements}: your requirements conflict with each other: {'; '.join(caused)}"
    return (f"pip could not install {requirements} for the Lambda (CPython {PYTHON}, manylinux {arch}, wheels "
            f"only: a package published only as source needs a wheel you build and name with --find-links): "
            f"{pip_errors(result)}")
