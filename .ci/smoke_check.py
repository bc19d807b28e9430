"""What .ci/smoke.sh checks, run by the fresh virtualenv's Python from the scratch project directory.

``without-extra``: the API and the handlers import without ``[testing]``; ``dynafold demo`` exits 2 and
``import dynafold.testing`` raises an ImportError, both naming the extra.

``project WHEEL SDIST``: a user project with its own ``domain`` and ``deploy`` packages and a model that
imports its ``domain`` and a third-party package (``tinyfmt``, a wheel written beside it); the public API
imported as the README writes it, ``dynafold --version``, ``dynafold demo``, ``deploy template`` and
``deploy package`` (the zip holds the model's package, its requirement and every handler the template
names, each importable by that path), ``check_model`` on a small example count, and the wheel itself:
``dynafold`` its only top-level package, with its licence and ``py.typed``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

BIN = Path(sys.executable).parent

VIEWS = '''
import tinyfmt
from domain.rules import person_label

from dynafold import Aggregate, Model, Table
from dynafold.kinds import keyword, text

people = Table("people", "person_id")
MODEL = Model([Aggregate("person", people, fields=dict(name=text, team=keyword),
                         derive=lambda p: {"label": person_label(p.name, p.team)}, derived=dict(label=text))])
'''
RULES = '''
import tinyfmt


def person_label(name, team):
    return tinyfmt.shout(f"{name or '?'} of {team or 'no team'}")
'''


def run(*words: str, expect: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run([str(BIN / words[0]), *words[1:]], capture_output=True, text=True, timeout=900)
    assert result.returncode == expect, f"{' '.join(words)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"smoke: FAILED: {what}")
    print(f"smoke: ok: {what}")


def without_extra() -> None:
    import dynafold
    import dynafold.handlers.failure_queue
    import dynafold.handlers.replay
    import dynafold.handlers.stream  # noqa: F401
    import dynafold.kinds  # noqa: F401

    check(dynafold.__file__.startswith(sys.prefix), f"dynafold is imported from the virtualenv ({dynafold.__file__})")
    demo = run("dynafold", "demo", expect=2)
    check("pip install 'dynafold[testing]'" in demo.stderr, "dynafold demo without its extra exits 2 naming it")
    try:
        import dynafold.testing  # noqa: F401
    except ImportError as error:
        check("dynafold[testing]" in str(error), "import dynafold.testing without its extra names the extra")
    else:
        check(False, "import dynafold.testing without its extra fails")


def write_project() -> None:
    for package, modules in {"myapp": {"views.py": VIEWS}, "domain": {"rules.py": RULES},
                             "deploy": {"pipeline.py": "STAGES = ['build', 'ship']\n"}}.items():
        Path(package).mkdir()
        Path(package, "__init__.py").write_text("")
        for name, text in modules.items():
            Path(package, name).write_text(text)
    Path("requirements.txt").write_text("--find-links wheels\ntinyfmt==1.0\n")


def handlers_of(template: str) -> list[str]:
    return sorted(set(re.findall(r"^\s+Handler: (\S+)$", template, re.M)))


def defines(source: bytes, name: str) -> bool:
    tree = ast.parse(source)
    return any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets)
               or isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name for node in tree.body)


def project(wheel: Path, sdist: Path) -> None:
    write_project()
    sys.path.insert(0, str(Path.cwd()))
    import deploy.pipeline
    import domain.rules

    import dynafold
    from dynafold import Aggregate, Children, Entity, Join, Model, ModelError, Table, Translator, prefix  # noqa: F401
    from dynafold.kinds import boolean, datetime, decimal, integer, keyword, keywords, object_, objects, text  # noqa: F401
    from dynafold.testing import assert_fold_converges, check_model, check_threads  # noqa: F401
    check(domain.rules.person_label("Ada", "x") == "ADA OF X!" and deploy.pipeline.STAGES == ["build", "ship"],
          "the project's own domain and deploy packages import beside dynafold")
    check(run("dynafold", "--version").stdout.strip() == f"dynafold {dynafold.__version__}",
          f"dynafold --version says dynafold.__version__ ({dynafold.__version__})")

    demo = run("dynafold", "demo", "--db", "demo.db", "--customers", "12")
    checked = re.search(r"^check: (\d+)/(\d+) documents equal what the final tables imply; 0 record", demo.stdout, re.M)
    check(checked is not None and checked.group(1) == checked.group(2), "dynafold demo converges")

    run("dynafold", "deploy", "template", "--model", "myapp.views:MODEL", "--out", "template.yaml")
    template = Path("template.yaml").read_text()
    handlers = handlers_of(template)
    check(handlers == ["dynafold.handlers.failure_queue.handler", "dynafold.handlers.replay.handler",
                       "dynafold.handlers.stream.handler"], f"the template names the three handlers {handlers}")
    check(re.search(r"^\s+CodeUri: dist/lambda.zip$", template, re.M) is not None,
          "the template's CodeUri is where deploy package writes")

    packaged = run("dynafold", "deploy", "package", "--model", "myapp.views:MODEL", "--requirements",
                   "requirements.txt", "--out", "dist/lambda.zip")
    print(f"smoke: {packaged.stdout.strip()}")
    with zipfile.ZipFile("dist/lambda.zip") as archive:
        names = set(archive.namelist())
        check({"myapp/views.py", "domain/rules.py", "tinyfmt/__init__.py"} <= names,
              "the zip holds the model's package, the project's domain module it imports and its requirement")
        check(not [n for n in names if n.startswith("deploy/")], "the project's deploy package stays out of the zip")
        for handler in handlers:
            module, _, name = handler.rpartition(".")
            path = module.replace(".", "/") + ".py"
            check(path in names and defines(archive.read(path), name), f"the zip holds {path} defining {name}")
    for handler in handlers:
        module, _, name = handler.rpartition(".")
        found = __import__(module, fromlist=[name])
        check(callable(getattr(found, name)) and found.__file__.startswith(sys.prefix),
              f"{handler} imports from the installed package")

    from hypothesis import HealthCheck, settings
    from myapp.views import MODEL
    check_model(MODEL, settings=settings(max_examples=5, stateful_step_count=10, deadline=None, database=None,
                                         suppress_health_check=list(HealthCheck)))
    check(True, "check_model passes on the project's model")

    with zipfile.ZipFile(wheel) as built:
        names = built.namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    check(tops == {"dynafold"}, f"the wheel's only top-level package is dynafold ({sorted(tops)})")
    check("dynafold/py.typed" in names, "the wheel holds py.typed")
    check(any(re.fullmatch(r"dynafold-[^/]+\.dist-info/licenses/LICENSE", n) for n in names), "the wheel holds LICENSE")
    check({"dynafold/deploy/requirements.lock", "dynafold/replay/state_machine.json"} <= set(names),
          "the wheel holds the lock and the state machine")
    with tarfile.open(sdist) as source:
        check(any(n.endswith("/LICENSE") for n in source.getnames()), "the sdist holds LICENSE")


if __name__ == "__main__":
    if sys.argv[1] == "without-extra":
        without_extra()
    else:
        project(Path(sys.argv[2]), Path(sys.argv[3]))
