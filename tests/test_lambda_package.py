"""``dynafold deploy package`` for a user's project, offline: the engine's lock install is replaced by a
stand-in (its wheels come from PyPI), while the user's requirements are resolved by pip for real, from
wheels written into the test's own folder (``--no-index --find-links`` in the requirements file).

The project has its own ``domain`` and ``deploy`` packages, as domain-driven code often does, and a
model that imports a third-party package and its own ``domain``.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from dynafold.cli import main
from dynafold.deploy import build
from dynafold.deploy.lock import LOCK, pins
from tests.support import cfn
from tests.support.wheels import write_wheel

VIEWS = """
import tinyfmt
from domain.rules import shout_name

from dynafold import Aggregate, Model, Table
from dynafold.kinds import keyword, text

people = Table("people", "person_id")
MODEL = Model([Aggregate("person", people, fields=dict(name=text, team=keyword),
                         derive=lambda p: {"shout": shout_name(p.name)}, derived=dict(shout=text))])
"""
OWN_MODULES = ("myapp", "domain", "deploy", "tinyfmt")
SIX = pins()["six"]  # a dependency the engine's lock pins, which a user's requirement may share


def engine_lock_stand_in(staging: Path, arch: str, lock: Path = LOCK) -> None:
    """What installing the lock leaves in the staging folder, for one of its distributions (six)."""
    (staging / "six.py").write_text("# the engine's six\n")
    (staging / f"six-{SIX}.dist-info").mkdir()
    (staging / f"six-{SIX}.dist-info" / "METADATA").write_text(f"Name: six\nVersion: {SIX}\n")
    (staging / f"six-{SIX}.dist-info" / "RECORD").write_text("six.py,,\n")


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A user's project directory, current while the test runs; its modules forgotten afterwards."""
    root = tmp_path / "project"
    for package in ("myapp", "domain", "deploy"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
    (root / "myapp" / "views.py").write_text(VIEWS)
    (root / "domain" / "rules.py").write_text("import tinyfmt\n\n\ndef shout_name(name):\n"
                                              "    return tinyfmt.shout(name or '')\n")
    (root / "deploy" / "pipeline.py").write_text("STAGES = ['build', 'ship']\n")
    wheels = root / "wheels"
    write_wheel(wheels, "tinyfmt", "1.0", requires=["six>=1.0"])
    write_wheel(wheels, "six", "1.16.0", files={"six.py": "# a user's six 1.16.0\n"})
    write_wheel(wheels, "six", SIX, files={"six.py": f"# a user's six {SIX}\n"})
    with zipfile.ZipFile(write_wheel(tmp_path / "local", "tinyfmt", "1.0")) as wheel:
        wheel.extractall(tmp_path / "site")  # installed where the developer runs dynafold
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.chdir(root)
    monkeypatch.setattr(build, "install", engine_lock_stand_in)
    forget = lambda: [sys.modules.pop(n) for n in list(sys.modules) if n.split(".")[0] in OWN_MODULES]  # noqa: E731
    forget()
    yield root
    forget()


def requirements(root: Path, *lines: str) -> None:
    (root / "requirements.txt").write_text("\n".join(["--no-index", "--find-links wheels", *lines]) + "\n")


def package(*extra: str) -> int:
    return main(["deploy", "package", "--model", "myapp.views:MODEL", "--requirements", "requirements.txt",
                 "--out", "dist/lambda.zip", *extra])


def test_the_zip_holds_the_models_package_the_projects_modules_it_imports_its_requirement_and_the_handlers(
        project, capsys):
    requirements(project, "tinyfmt==1.0")
    assert package() == 0
    names = set(zipfile.ZipFile(project / "dist" / "lambda.zip").namelist())
    assert {"myapp/__init__.py", "myapp/views.py", "domain/__init__.py", "domain/rules.py"} <= names
    assert {"tinyfmt/__init__.py", "tinyfmt-1.0.dist-info/METADATA"} <= names
    assert {"dynafold/handlers/stream.py", "dynafold/handlers/replay.py", "dynafold/handlers/failure_queue.py",
            "dynafold/domain/model.py", "dynafold/replay/state_machine.json"} <= names
    assert not [n for n in names if n.startswith(("deploy/", "wheels/", "dynafold/cli/", "dynafold/testing/",
                                                  "dynafold/deploy/"))], "only what the Lambda imports"
    assert not [n for n in names if n.endswith(".pyc") or n.endswith("/RECORD")]
    out = capsys.readouterr().out
    assert out.startswith("dist/lambda.zip  sha256 ") and "model package domain, myapp" in out
    assert "requirements tinyfmt==1.0" in out


def test_two_builds_of_the_same_inputs_are_byte_identical(project, capsys):
    requirements(project, "tinyfmt==1.0")
    assert package() == 0
    first = (project / "dist" / "lambda.zip").read_bytes()
    (project / "myapp" / "views.py").touch()
    assert package() == 0
    assert (project / "dist" / "lambda.zip").read_bytes() == first


def test_a_requirement_the_lock_also_pins_resolves_to_the_lock_and_the_engines_copy_stays(project, capsys):
    requirements(project, "tinyfmt==1.0", "six>=1.0")
    assert package() == 0
    with zipfile.ZipFile(project / "dist" / "lambda.zip") as archive:
        assert archive.read("six.py") == b"# the engine's six\n"
    assert "requirements tinyfmt==1.0)" in capsys.readouterr().out, "six is the engine's, not the user's"


def test_a_requirement_that_would_replace_an_engine_locked_package_is_refused_naming_both(project, capsys):
    requirements(project, "tinyfmt==1.0", "six==1.16.0")
    assert package() == 2
    err = capsys.readouterr().err
    assert "your requirements conflict with the engine's lock" in err
    assert f"you require six==1.16.0; the engine's lock pins six=={SIX}" in err
    assert not (project / "dist" / "lambda.zip").exists()


def test_a_requirement_pip_cannot_find_for_the_lambda_is_a_clear_error(project, capsys):
    requirements(project, "nosuchpackage==1.0")
    assert package() == 2
    err = capsys.readouterr().err
    assert "pip could not install requirements.txt for the Lambda (CPython 3.13, manylinux aarch64" in err
    assert "nosuchpackage" in err and "Traceback" not in err


def test_a_missing_requirements_file_is_a_usage_error(project, capsys):
    assert package() == 2
    assert "--requirements requirements.txt: no such file" in capsys.readouterr().err


def test_the_architecture_chooses_the_platform_pip_resolves_for(project, monkeypatch, capsys):
    requirements(project, "tinyfmt==1.0")
    seen = []
    real = build.install_requirements
    monkeypatch.setattr(build, "install_requirements", lambda r, s, arch, lock: seen.append(arch) or real(r, s, arch, lock))
    assert package("--arch", "x86_64") == 0 and seen == ["x86_64"]


def test_the_templates_code_uri_is_where_the_package_was_written(project, capsys):
    assert main(["deploy", "template", "--model", "myapp.views:MODEL", "--out", "template.yaml"]) == 0
    assert cfn.load((project / "template.yaml").read_text())["Globals"]["Function"]["CodeUri"] == "dist/lambda.zip"
    (project / "infra").mkdir()
    assert main(["deploy", "template", "--model", "myapp.views:MODEL", "--out", "infra/template.yaml",
                 "--code-uri", "build/views.zip"]) == 0
    nested = cfn.load((project / "infra" / "template.yaml").read_text())
    assert nested["Globals"]["Function"]["CodeUri"] == "../build/views.zip", "SAM reads it from the template's folder"
    assert "DefinitionUri" not in nested["Resources"]["ReplayStateMachine"]["Properties"], \
        "the state machine is inline: no file of dynafold's source tree has to sit beside the template"


def test_dynafold_in_the_requirements_is_the_installed_copy_never_a_second_one(project, capsys):
    import dynafold

    write_wheel(project / "wheels", "dynafold", dynafold.__version__, files={"dynafold/__init__.py": "SECOND = 1\n"})
    requirements(project, "tinyfmt==1.0", "dynafold")
    assert package() == 0
    with zipfile.ZipFile(project / "dist" / "lambda.zip") as archive:
        assert b"SECOND" not in archive.read("dynafold/__init__.py")
    assert "requirements tinyfmt==1.0)" in capsys.readouterr().out


def test_a_dynafold_pip_cannot_find_is_explained(project, capsys):
    import dynafold

    requirements(project, "tinyfmt==1.0", "dynafold")
    assert package() == 2
    assert f"dynafold itself is packaged from the installed copy (dynafold {dynafold.__version__}), so leave it " \
           "out of requirements.txt or accept that version" in capsys.readouterr().err
