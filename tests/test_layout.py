"""The layout a newcomer reads: one namespace, layers that import downward only, the map in ARCHITECTURE.md.

The wheel's one import package is ``dynafold``; the repository keeps its
top-level folders, mapped into it by ``pyproject.toml``'s ``package-dir``.
Modules are named here by their dotted names in that namespace.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FOLDERS = {"dynafold": "dynafold", **PYPROJECT["tool"]["setuptools"]["package-dir"]}

# lowest first; a module may import its own layer and the layers below it
LAYERS = [
    ("dynafold.domain",),
    ("dynafold.projector.errors", "dynafold.projector.config", "dynafold.projector.retry",
     "dynafold.projector.table_names"),
    ("dynafold.projector.observability",),
    ("dynafold.projector.intake",),
    ("dynafold.projector.control",),
    ("dynafold.projector.aws",),
    ("dynafold.projector.stores",),
    ("dynafold.projector.engine",),
    ("dynafold.projector.runtime", "dynafold.projector.poller"),
    ("dynafold.replay",),
    ("dynafold.deploy",),
    ("dynafold", "dynafold.kinds", "dynafold.sample"),
    ("dynafold.handlers",),
    ("dynafold.testing",),
    ("dynafold.cli", "dynafold.__main__"),
]
LONG_MODULE = 400


def modules() -> dict[str, Path]:
    """Every module of the namespace, by dotted name (packages by their own name)."""
    found: dict[str, Path] = {}
    for package, folder in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            if package == "dynafold" and parts and parts[0] in {p.split(".")[1] for p in FOLDERS if "." in p}:
                continue
            found.setdefault(name, path)
    return found


MODULES = modules()


def layer(module: str) -> int:
    best = None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    assert best is not None, f"{module} is in no layer of tests/test_layout.py"
    return best[0]


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of every absolute import, function-local ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, names in imports(path):
            targets = [module] + [f"{module}.{n}" for n in names]
            edges[name] |= {t for t in targets if t in MODULES and t != name and not name.startswith(t + ".")}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found = []

    def visit(node, path):
        for nxt in sorted(edges.get(node, ())):
            if nxt == path[0]:
                found.append(path + [nxt])
            elif nxt not in path and len(path) < 12:
                visit(nxt, path + [nxt])

    for start in edges:
        visit(start, [start])
    return found


def test_the_wheel_has_one_import_package_and_every_folder_in_it_is_listed():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert packages == listed
    assert {name.split(".")[0] for name in listed} == {"dynafold"}


def test_no_import_cycle_between_modules():
    assert cycles(graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"a"}})


def test_every_module_imports_only_its_layer_and_the_layers_below():
    upward = sorted(f"{a} -> {b}" for a, targets in graph().items() for b in targets if layer(b) > layer(a))
    assert upward == []


def test_the_layer_check_finds_an_upward_import():
    assert layer("dynafold.projector.engine.batch") > layer("dynafold.projector.stores.base") > layer("dynafold.domain.fold")


def test_no_module_imports_another_packages_private_names():
    private = []
    for name, path in MODULES.items():
        package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
        for module, names in imports(path):
            if module in MODULES and not module.startswith(package + ".") and module != package:
                private += [f"{name}: {module}.{n}" for n in names if n.startswith("_") and not n.startswith("__")]
    assert private == []


def test_the_domain_imports_no_adapter_library():
    adapters = {"boto3", "botocore", "opensearchpy", "sqlite3", "moto", "requests", "urllib3"}
    offending = {name: sorted({m.split(".")[0] for m, _ in imports(path)} & adapters)
                 for name, path in MODULES.items() if name.startswith("dynafold.domain")}
    assert {k: v for k, v in offending.items() if v} == {}


def test_every_package_says_its_job_in_a_line():
    silent = [name for name, path in MODULES.items()
              if path.name == "__init__.py" and not ast.get_docstring(ast.parse(path.read_text()))]
    assert silent == []


def test_a_long_module_says_why_it_is_one_module():
    unexplained = []
    for name, path in MODULES.items():
        text = path.read_text()
        if len(text.splitlines()) > LONG_MODULE and "One module, not several:" not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(name)
    assert unexplained == []


def test_a_projector_is_built_only_by_the_wiring_module():
    built = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Projector":
                built.append(f"{name}:{node.lineno}")
    assert {b.split(":")[0] for b in built} == {"dynafold.projector.runtime"}, built


def test_the_architecture_map_names_every_module_and_only_modules_that_exist():
    """Each line of the map's block starts with a folder (``projector/engine/``) or continues the last one;
    the files it names are that folder's modules and JSON files."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    block = text.split("## Map", 1)[1].split("```", 2)[1]
    named: dict[str, set[str]] = defaultdict(set)
    folder = None
    for line in block.splitlines():
        head = re.match(r"^([a-z_]+(?:/[a-z_]+)*)/\s", line)
        if head:
            folder = head.group(1)
        named[folder] |= set(re.findall(r"\b([a-z_0-9]+\.(?:py|json))\b", line))
    actual: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        if path.name not in ("__init__.py", "__main__.py"):
            actual[path.parent.relative_to(ROOT).as_posix()].add(path.name)
    for folder in FOLDERS.values():
        for path in (ROOT / folder).rglob("*.json"):
            actual[path.parent.relative_to(ROOT).as_posix()].add(path.name)
    assert {k: sorted(v) for k, v in named.items() if v} == {k: sorted(v) for k, v in actual.items() if v}
