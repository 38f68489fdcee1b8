"""Benchmarks run at smoke size: they must work; their timings are recorded by hand in benchmarks/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def test_load_otlp_benchmark_runs_at_smoke_size() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "load_otlp.py"), "--spans", "400"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for label in ("(a) DuckDB read_json", "(b) lens.load", "b/a =", "(c) Python json.loads loop", "peak memory"):
        assert label in result.stdout
