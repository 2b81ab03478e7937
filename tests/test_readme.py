"""The README's two set-up commands stay true: CI runs the test one word for word."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [
        line.strip() for line in text.splitlines() if line.strip().startswith("python3 -m venv")
    ]


def test_readme_gives_a_run_command_and_a_test_command() -> None:
    run, test = _commands()
    assert run.endswith(".venv/bin/gdviz")
    assert test.endswith(".venv/bin/python -m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert _commands()[1] in ci.splitlines()
