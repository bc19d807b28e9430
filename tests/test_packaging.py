"""What a team meets when it installs dynafold beside its own code: the extras say what they bring.

Each check runs in a process of its own, with the extra's packages hidden
(``sys.modules[name] = None`` makes Python, and ``importlib.util.find_spec``,
treat a module as absent), as in an environment that installed ``dynafold``
without ``[testing]``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def without(modules: tuple[str, ...], code: str) -> subprocess.CompletedProcess:
    hide = "".join(f"sys.modules[{name!r}] = None; " for name in modules)
    return subprocess.run([sys.executable, "-c", f"import sys; {hide}\n{code}"], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("missing", [("moto",), ("hypothesis",), ("moto", "hypothesis")])
def test_the_demo_without_its_extra_exits_2_naming_the_extra(missing, tmp_path):
    result = without(missing, f"from dynafold.cli import main; sys.exit(main(['demo', '--db', {str(tmp_path / 'd.db')!r}]))")
    assert result.returncode == 2, result.stderr
    assert "dynafold demo needs the testing extra" in result.stderr
    assert "pip install 'dynafold[testing]'" in result.stderr and missing[0] in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "d.db").exists()


@pytest.mark.parametrize("module, missing", [
    ("dynafold.testing", "hypothesis"),
    ("dynafold.testing", "moto"),
    ("dynafold.testing.store_contract", "pytest"),
])
def test_importing_the_test_kit_without_its_extra_is_an_import_error_naming_the_extra(module, missing):
    result = without((missing,), f"""
try:
    import {module}
except ImportError as error:
    print(type(error).__name__, error.name, error)
else:
    print("imported")
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"MissingExtra {missing} ")
    assert f"needs the testing extra ({missing} not installed): pip install 'dynafold[testing]'" in result.stdout


def test_the_public_api_and_the_handlers_import_without_the_testing_extra():
    result = without(("moto", "hypothesis", "pytest"), """
import dynafold, dynafold.kinds
import dynafold.handlers.stream, dynafold.handlers.replay, dynafold.handlers.failure_queue
print("ok")
""")
    assert result.stdout.strip() == "ok", result.stderr
