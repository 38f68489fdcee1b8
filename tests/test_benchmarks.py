"""Benchmarks run at smoke size: they must work; their timings are recorded by hand in benchmarks/RESULTS.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


@pytest.mark.parametrize(
    ("script", "size", "labels"),
    [
        ("load_otlp.py", ["--spans", "400"],
         ("(a) DuckDB read_json", "(b) lens.load", "b/a =", "(c) Python json.loads loop", "peak memory")),
        ("load_tensorboard.py", ["--events", "3000"],
         ("(a) EventAccumulator", "(b) lens.load", "speed b/a =", "(c) lens.load, TF2")),
        ("token_view.py", ["--tokens", "2000"],
         ("bytes to the browser", "JSON list", "JupyterLab, cell to first paint", "exported page")),
        ("compare_runs.py", ["--runs", "20", "--steps", "500"],
         ("(1) 1 metric", "(2) zoom re-query", "(3) mean +- std band", "(4) anomaly scan", "(5) bytes to the browser",
          "the planted spike is kept: max = 1000.0")),
        ("trace_view.py", ["--spans", "500"],
         ("bytes to the browser for the spans", "(a) lens.trace(trace_id) in Python",
          "(b) exported page, script start to tree ready", "(b) exported page, scrolled to the bottom",
          "(b) exported page, scrolled to the middle", "(c) JupyterLab, cell to tree ready")),
        ("trace_table.py", ["--traces", "2000"],
         ("(1) count + first page", "(3) sort by latency", "(4) search 'quasar'", "(5) where",
          "(6) bytes to the browser")),
        ("load_runs_scale.py", ["--runs", "20", "--steps", "200"],
         ("(a) DuckDB read_parquet", "(b) lens.load", "b/a =", "bytes/point on disk", "peak memory")),
        ("review_queue.py", ["--items", "5"],
         ("keypress to next item shown", "p90", "labelled: 5 verdicts pressed, 5 judged", "exported HTML of")),
        ("embedding_map.py", ["--queries", "300", "--chunks", "1200"],
         ("(1) first picture", "(2) umap_layout", "plain umap.UMAP(random_state=0).fit_transform", "ours / plain =",
          "(3) re-open cached map", "(4) browser columns", "(5) lens.map(): first picture", "traits sent")),
        ("map_render.py", ["--points", "20000", "--steps", "30", "--hovers", "3"],
         ("(1) ready: navigation to data-state=ready", "(2) pan: median", "(3) zoom: median", "(4) lasso",
          "(5) hover: pointer move to data-hover", "reference: one bare gl.POINTS draw",
          "target: pan/zoom frame median <= 33 ms (30 fps) at 1,000,000 points", "network requests blocked: 0")),
        ("ingest_formats.py", ["--spans", "400", "--all-shapes"],
         ("| otlp-json | JSON Lines (baseline) |", "| langsmith | runs |", "| langfuse | parquet |",
          "| inspect_eval | .json, own reader |", "| agents_sdk | batches |", "| phoenix | parquet |",
          "spans/s | vs OTLP")),
    ],
)  # fmt: skip
def test_benchmark_runs_at_smoke_size(script: str, size: list[str], labels: tuple[str, ...]) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *size], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    for label in labels:
        assert label in result.stdout
