"""Tiny pure-Python wheels written by hand, so packaging tests resolve requirements offline.

A wheel is a zip of the package's files and a ``.dist-info`` folder
(``METADATA``, ``WHEEL``, ``RECORD``); pip installs one from a
``--find-links`` folder like any wheel from PyPI. Also a script, for CI's
smoke test: ``python tests/support/wheels.py DIR NAME VERSION [REQUIREMENT...]``.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import zipfile
from pathlib import Path
from typing import Mapping, Optional, Sequence


def write_wheel(directory: Path, name: str, version: str, *, requires: Sequence[str] = (),
                files: Optional[Mapping[str, str]] = None) -> Path:
    """``directory/NAME-VERSION-py3-none-any.whl`` holding ``files`` (path -> text; by default one module
    ``NAME/__init__.py`` that knows its version)."""
    module = name.replace("-", "_")
    files = dict(files or {f"{module}/__init__.py": f'VERSION = "{version}"\n\n\ndef shout(text):\n    return text.upper() + "!"\n'})
    info = f"{module}-{version}.dist-info"
    files[f"{info}/METADATA"] = "".join([f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                                         *(f"Requires-Dist: {r}\n" for r in requires)])
    files[f"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: tests.support.wheels\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


if __name__ == "__main__":
    print(write_wheel(Path(sys.argv[1]), sys.argv[2], sys.argv[3], requires=sys.argv[4:]))
