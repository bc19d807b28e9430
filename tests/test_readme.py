"""The README's two commands are the ones that work, and CI runs the second."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands_demo_then_tests():
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("dynafold demo")
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    test_command = readme_commands()[1].split("&&")[-1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text()


def python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [block.split("```", 1)[0] for block in text.split("```python\n")[1:]]


RUNNER = """
import pathlib, runpy, sys
from hypothesis import HealthCheck, settings
settings.register_profile("readme", max_examples=3, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))
settings.load_profile("readme")
sys.path.insert(0, ".")
for path in sys.argv[1:]:
    names = runpy.run_path(path, run_name=path)
    for name, test in sorted(names.items()):
        if name.startswith("test_") and callable(test):
            test()
            print(f"{path}: {name} passed")
"""


def test_every_python_block_of_the_readme_runs_as_written(tmp_path):
    """In a scratch project, in order: a block that starts with ``# path.py`` is that file (later blocks
    import it), and every ``test_*`` function a block defines is called (hypothesis at 3 examples)."""
    import subprocess
    import sys

    paths = []
    for number, block in enumerate(python_blocks()):
        first = block.splitlines()[0]
        name = first[2:].strip() if first.startswith("# ") and first.endswith(".py") else f"block_{number}.py"
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for package in path.relative_to(tmp_path).parents:
            if package != Path("."):
                (tmp_path / package / "__init__.py").touch()
        path.write_text(block)
        paths.append(name)
    assert len(paths) >= 3 and "myapp/views.py" in paths
    result = subprocess.run([sys.executable, "-c", RUNNER, *paths], cwd=tmp_path, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests/test_views.py: test_my_views_converge passed" in result.stdout


def test_the_tested_versions_the_readme_names_are_the_locks():
    import re

    from dynafold.deploy.lock import pins

    paragraph = (ROOT / "README.md").read_text().split("**Tested versions.**", 1)[1].split("\n\n", 1)[0]
    named: dict[str, str] = {}
    for name, version in re.findall(r"([a-z][a-z0-9-]+) (\d+(?:\.\d+)+)\b", paragraph):
        named.setdefault(name, version)  # the first mention is the pin
    locked = pins()
    assert {name: version for name, version in named.items() if name in locked} == \
        {name: locked[name] for name in named if name in locked}
    assert {"boto3", "botocore", "opensearch-py", "aws-lambda-powertools", "attrs", "orjson", "tqdm"} <= set(named)
