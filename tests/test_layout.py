"""The layout a newcomer reads: packages import downward only, modules stay small, ARCHITECTURE.md's map is the tree."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["domain", "projector", "replay", "deploy", "testkit", "dynafold"]
MAX_LINES = 420


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def package_imports() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package in LAYERS:
        for path in _modules(package):
            for imported in _imports(path) & set(LAYERS) - {package}:
                edges[(package, imported)].append(str(path.relative_to(ROOT)))
    return edges


def cycles(edges) -> list[list[str]]:
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    found = []

    def visit(node, path):
        for nxt in graph[node]:
            if nxt == path[0]:
                found.append(path + [nxt])
            elif nxt not in path:
                visit(nxt, path + [nxt])

    for start in list(graph):
        visit(start, [start])
    return found


def test_no_import_cycle_between_packages():
    assert cycles(package_imports()) == []


def test_the_cycle_check_finds_a_cycle():
    assert cycles({("projector", "replay"): [], ("replay", "projector"): []})


def module_imports() -> dict[str, set[str]]:
    """Module -> the modules of this project it imports anywhere (function-local imports included)."""
    modules = {}
    for package in LAYERS:
        for path in _modules(package):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            graph[name] |= {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def test_no_import_cycle_between_modules():
    graph = module_imports()
    assert [c for c in cycles({(a, b): [] for a, targets in graph.items() for b in targets})] == []


def test_every_package_imports_only_the_packages_below_it():
    upward = {edge: files for edge, files in package_imports().items() if LAYERS.index(edge[1]) > LAYERS.index(edge[0])}
    assert upward == {}


def test_the_domain_imports_no_adapter_library():
    adapters = {"boto3", "botocore", "opensearchpy", "sqlite3", "moto", "requests", "urllib3"}
    offending = {str(p.relative_to(ROOT)): sorted(_imports(p) & adapters) for p in _modules("domain")}
    assert {k: v for k, v in offending.items() if v} == {}


def test_no_module_is_far_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for package in LAYERS for p in _modules(package)
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_architecture_map_names_every_module_and_only_modules_that_exist():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    block = text.split("## Map", 1)[1].split("```", 2)[1]
    named: dict[str, set[str]] = defaultdict(set)
    package = None
    for line in block.splitlines():
        head = re.match(r"^([a-z]+)/", line)
        if head:
            package = head.group(1)
        named[package] |= set(re.findall(r"\b([a-z_0-9]+\.(?:py|json))\b", line))
    for package in LAYERS:
        actual = {p.name for p in _modules(package) if p.name not in ("__init__.py", "__main__.py")}
        actual |= {p.name for p in (ROOT / package).rglob("*.json")}
        assert named[package] == actual, (package, sorted(named[package] ^ actual))
