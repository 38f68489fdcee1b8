from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import llmlens
from llmlens.cli import main


def _llmlens(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmlens.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "team.duckdb"
    with llmlens.open(path) as lens:
        lens.sql(
            "INSERT INTO runs (run_id, name, status) VALUES ('r1', 'baseline', 'finished'), ('r2', 'lr-3e-4', 'failed')"
        )
    return path


@pytest.mark.parametrize("command", [[], ["demo"], ["info"], ["sql"]])
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = _llmlens(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: llmlens" in result.stdout


def test_info_summarises_a_store(store: Path, tmp_path: Path) -> None:
    result = _llmlens("info", str(store), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "team.duckdb (read-only" in result.stdout
    assert "runs" in result.stdout and "2" in result.stdout


def test_info_uses_the_default_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    llmlens.open().close()
    assert main(["info"]) == 0
    assert ".llmlens/lens.duckdb" in capsys.readouterr().out


def test_sql_prints_a_table(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", str(store), "SELECT run_id, name FROM runs ORDER BY run_id"]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "lr-3e-4" in out and "run_id" in out


def test_sql_formats_csv_and_json(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", str(store), "SELECT run_id FROM runs ORDER BY run_id", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["run_id", "r1", "r2"]
    assert main(["sql", str(store), "SELECT run_id FROM runs ORDER BY run_id", "--format", "json"]) == 0
    assert capsys.readouterr().out.split() == ['{"run_id":"r1"}', '{"run_id":"r2"}']


def test_sql_is_read_only_unless_asked(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", str(store), "DELETE FROM runs"]) == 1
    assert "read-only" in capsys.readouterr().err
    assert main(["sql", str(store), "--write", "DELETE FROM runs WHERE run_id = 'r2'"]) == 0
    with llmlens.open(store, read_only=True) as lens:
        assert lens.sql("SELECT run_id FROM runs").run_id.tolist() == ["r1"]


def test_sql_errors_are_short_and_located(store: Path, tmp_path: Path) -> None:
    result = _llmlens("sql", str(store), "SELECT nope FROM runs", cwd=tmp_path)
    assert result.returncode == 1
    assert 'Referenced column "nope" not found' in result.stderr
    assert "LINE 1: SELECT nope FROM runs" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    result = _llmlens("info", str(tmp_path / "nope.duckdb"), cwd=tmp_path)
    assert result.returncode == 1
    assert "no llmlens store at" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_builds_the_workspace_and_serves_the_quickstart(tmp_path: Path) -> None:
    """`llmlens demo --no-browser` builds the store, copies the notebooks, starts JupyterLab and prints its URL."""
    import json
    import re
    import signal
    import urllib.request

    workspace = tmp_path / "demo"
    process = subprocess.Popen(
        [sys.executable, "-m", "llmlens.cli", "demo", "--no-browser", "--dir", str(workspace)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    try:
        url = None
        seen = []
        for line in process.stdout:
            seen.append(line)
            match = re.search(r"(http://127\.0\.0\.1:(\d+)/lab/tree/00-quickstart\.ipynb\?token=(\w+))", line)
            if match:
                url, port, token = match[1], match[2], match[3]
                break
        assert url, "no URL printed:\n" + "".join(seen)
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert "JupyterLab" in response.read().decode()
        api = f"http://127.0.0.1:{port}/api/contents/00-quickstart.ipynb?token={token}&content=0"
        with urllib.request.urlopen(api, timeout=30) as response:
            assert json.loads(response.read())["type"] == "notebook"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    assert (workspace / ".llmlens" / "demo.duckdb").is_file()
    with llmlens.open(workspace / ".llmlens" / "demo.duckdb", read_only=True) as lens:
        assert lens.info().tables["spans"] > 1000
