"""What a team meets when it installs dynafold beside its own code: the extras say what they bring.

Each check runs in a process of its own, with the extra's packages hidden
(``sys.modules[name] = None`` makes Python, and ``importlib.util.find_spec``,
treat a module as absent), as in an environment that installed ``dynafold``
without ``[testing]``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

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


# --- the wheel, installed where a user installs it ------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("dynafold", "domain", "projector", "replay", "deploy", "pyproject.toml", "README.md", "LICENSE")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtualenv holding the wheel built from this checkout (its dependencies are this environment's,
    through a ``.pth`` file: they are installed already); its ``bin`` folder. The wheel is built from a copy
    of the sources, offline (``--no-build-isolation``: the dev group brings the build backend)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    for name in SOURCES:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copyfile
        copy(ROOT / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree else {}))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(work / "dist"), str(source)], check=True, timeout=300)
    (wheel,) = (work / "dist").glob("dynafold-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    "--no-index", str(wheel)], check=True, timeout=300)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def test_the_installed_wheel_is_the_one_imported(installed):
    where = subprocess.run([str(installed / "python"), "-c", "import dynafold; print(dynafold.__file__)"],
                           capture_output=True, text=True, check=True, cwd="/").stdout.strip()
    assert where.startswith(str(installed.parent)), where


def test_every_handler_the_generated_template_names_imports_from_the_installed_package(installed, tmp_path):
    template = tmp_path / "template.yaml"
    subprocess.run([str(installed / "dynafold"), "deploy", "template", "--model", "tests.models.single_table:MODEL",
                    "--out", str(template)], cwd=ROOT, check=True, capture_output=True, timeout=120)
    handlers = sorted(set(re.findall(r"^\s+Handler: (\S+)$", template.read_text(), re.M)))
    assert handlers == ["dynafold.handlers.failure_queue.handler", "dynafold.handlers.replay.handler",
                        "dynafold.handlers.stream.handler"]
    code = ("import importlib, sys\n"
            "for path in sys.argv[1:]:\n"
            "    module, _, name = path.rpartition('.')\n"
            "    found = importlib.import_module(module)\n"
            "    assert callable(getattr(found, name)), path\n"
            "    print(found.__file__)\n")
    result = subprocess.run([str(installed / "python"), "-c", code, *handlers], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert all(line.startswith(str(installed.parent)) for line in result.stdout.splitlines())


def test_mypy_strict_finds_nothing_on_dynafolds_side_of_a_typed_user_model(installed, tmp_path):
    """A user file declaring a model and calling check_model, checked against the installed wheel as a
    user's project is: ``py.typed`` ships, and the public API is annotated (``MODEL.aggregates`` is a
    ``Mapping[str, Aggregate]``, not ``Any``: ``assert_type`` in the file would fail otherwise)."""
    user = tmp_path / "views.py"
    shutil.copyfile(ROOT / "tests" / "models" / "typed.py", user)
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable",
                             str(installed / "python"), str(user)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found in 1 source file")


# --- the versions the Lambda ships are the versions the suite runs -----------------------------------------


def test_the_suite_runs_the_lock_s_versions_of_every_package_the_lambda_ships():
    """``.ci/run`` installs with the lock as constraints and sets ``DYNAFOLD_LOCKED=1``, so CI proves the
    Streams clients (poller, failure-queue re-drive) and everything else ran on the boto3/botocore the Lambda
    ships; a developer's own environment may be newer, and is told so."""
    import os
    from importlib.metadata import PackageNotFoundError, version

    from dynafold.deploy.lock import pins

    differ = {}
    for name, locked in sorted(pins().items()):
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != locked:
            differ[name] = f"{installed} installed, {locked} locked"
    if differ and os.environ.get("DYNAFOLD_LOCKED") != "1" and os.environ.get("CI", "").lower() != "true":
        pytest.skip(f"this environment is not the lock's ({differ}); CI installs with the lock as constraints "
                    "(.ci/run) and sets DYNAFOLD_LOCKED=1")
    assert differ == {}
    assert {"boto3", "botocore", "opensearch-py", "aws-lambda-powertools"} <= set(pins())
