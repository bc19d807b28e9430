"""dynafold's entry points: the ``dynafold`` command (``dynafold.cli``) and the demo.

The packages below import downward only: ``domain`` (pure model, fold and
versions) < ``projector`` (stream side, stores, quarantine, configuration and
wiring) < ``replay`` (scans, rebuilds, verify, re-drive) < ``deploy`` <
``testkit`` < ``dynafold``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dynafold")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
