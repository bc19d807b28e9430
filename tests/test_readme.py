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
