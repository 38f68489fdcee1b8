from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parent.parent


def _first_code_block(text: str) -> list[str]:
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block, "the README must open with a bash block"
    return [line.split("  #")[0].strip() for line in block[1].strip().splitlines()]


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    before_block = readme.split("```bash")[0]
    assert "##" not in before_block, "the two commands come before any section"
    install_and_demo, run_tests = _first_code_block(readme)
    assert install_and_demo == "pip install -e . && llmlens demo"
    assert run_tests == 'pip install -e ".[dev]" && python -m pytest'


def test_ci_runs_the_readme_test_command() -> None:
    _, run_tests = _first_code_block((ROOT / "README.md").read_text())
    ci = (ROOT / ".ci" / "run").read_text()
    assert run_tests in ci.splitlines()
    assert "set -euo pipefail" in ci


def test_every_documented_cli_command_exists() -> None:
    from llmlens.cli import _parser

    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`llmlens (\w+)", readme))
    subparsers = _parser()._subparsers
    assert subparsers is not None
    actions = [a for a in subparsers._group_actions if hasattr(a, "choices") and a.choices]
    assert documented <= set(actions[0].choices)


def test_the_tour_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: Any) -> None:
    """Every python and %%lens block of the README's tour runs, in order, in one IPython shell."""
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("## A 60-second tour")[1].split("\n## ")[0]
    blocks = re.findall(r"```(python|sql)\n(.*?)```", tour, re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    for _, source in blocks:
        result = shell.run_cell(source)
        assert result.success, f"README block failed:\n{source}\n{result.error_in_exec or result.error_before_exec}"
    assert len(shell.user_ns["slow"]) > 0
    assert shell.user_ns["vectors"].num_rows == 2_000
    assert len(shell.user_ns["loss"]) > 1_000
