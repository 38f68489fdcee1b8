"""Benchmark: run comparison charts from the store, against pandas (load the series, group, resample).

    python benchmarks/compare_runs.py                             # 1,000 runs x 10 metrics x 10,000 steps (100 M)
    python benchmarks/compare_runs.py --keep DIR/runs.duckdb      # the same, keeping the store it generates
    python benchmarks/compare_runs.py --store DIR/store.duckdb    # a kept store (or load_runs_scale.py --keep's)
    python benchmarks/compare_runs.py --runs 20 --steps 500       # smoke size (what the tests run)

Without ``--store``, a store of the same shape is generated inside DuckDB (noisy curves, sorted as the loaders
write them, one planted single-step spike), and its metric overviews are built as a load builds them (the same
refresh, over every series; its time is printed). Prints, each against the pandas baseline on the same data where
one applies:
(1) one metric across every run at 1,000 px as min/max/last buckets (Arrow), from the overviews, and from the
    points (what any view but the zoomed-out step axis costs);
(2) a zoom re-query of 10 runs (a tenth of the steps);
(3) mean ± std band across every run, grouped by a param of 10 values, from the overviews and from the points;
(4) the anomaly scan of every point;
(5) bytes sent to the browser per chart (Arrow IPC), for every run and for 10.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import llmlens
from llmlens.analysis.anomalies import anomalies
from llmlens.analysis.buckets import group_bands, metric_buckets
from llmlens.analysis.overviews import overview_buckets
from llmlens.loaders.writes import refresh_overviews
from llmlens.widgets.chart_data import View, chart_buckets, pick, wire_table
from llmlens.widgets.token_data import ipc_bytes

KEY = "train/metric_0"
SPIKE = 1_000.0


def generate(lens: llmlens.Lens, runs: int, metrics: int, steps: int) -> None:
    """The store's runs, params (lr: 10 values) and points, generated in SQL; run 7 of metric 0 spikes once."""
    con = lens.con
    con.execute(
        "INSERT INTO runs (run_id, name, status) SELECT printf('run-%05d', r), printf('run-%05d', r), 'finished' "
        "FROM range(?) t(r)",
        [runs],
    )
    con.execute(
        "INSERT INTO params (run_id, key, value) SELECT printf('run-%05d', r), 'lr', CAST((r % 10 + 1) * 1e-4 AS "
        "VARCHAR) FROM range(?) t(r)",
        [runs],
    )
    con.execute(
        """INSERT INTO metrics (run_id, key, step, wall_time, value, seq)
           SELECT printf('run-%05d', r), 'train/metric_' || k, s,
                  make_timestamp(1763157600000000 + r * 1000000 + s * 1000000),
                  CASE WHEN r = 7 AND k = 0 AND s = $steps // 2 + 1 THEN $spike
                       ELSE 2 + 0.3 * sin(s / 700 + r) - s / ($steps * 2.0) + 0.05 * (random() - 0.5) END,
                  s * $metrics + k
           FROM range($runs) a(r), range($metrics) b(k), range($steps) c(s)
           ORDER BY 1, 2, 3""",
        {"runs": runs, "metrics": metrics, "steps": steps, "spike": SPIKE},
    )
    con.execute("CHECKPOINT")


def timed(action: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """The best of ``repeat`` runs (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - started)
    return best, result


def pandas_buckets(lens: llmlens.Lens, runs: list[str] | None, start: float | None, end: float | None) -> Any:
    """The baseline: load the series into pandas, cut x into 2,000 buckets, group by run and bucket."""
    frame = lens.con.execute(
        "SELECT run_id, step, value FROM metrics WHERE key = ? AND (? IS NULL OR list_contains(?, run_id))",
        [KEY, runs, runs],
    ).df()
    if start is not None:
        frame = frame[(frame.step >= start) & (frame.step <= end)]
    lo, hi = frame.step.min(), frame.step.max()
    frame["bucket"] = np.minimum(((frame.step - lo) / (hi - lo) * 2000).astype(int), 1999)
    return frame.sort_values(["run_id", "step"]).groupby(["run_id", "bucket"]).value.agg(["min", "max", "last"])


def pandas_bands(lens: llmlens.Lens) -> Any:
    """The baseline band: per-run buckets in pandas, then mean and std across the runs of each lr."""
    last = pandas_buckets(lens, None, None, None)["last"].reset_index()
    lr = lens.con.execute("SELECT run_id, value AS lr FROM params WHERE key = 'lr'").df()
    return last.merge(lr, on="run_id").groupby(["lr", "bucket"])["last"].agg(["mean", "std"])


def report(label: str, ours: float, baseline: float | None = None, target: float | None = None) -> None:
    versus = f"   pandas {baseline:7.3f} s   pandas/ours = {baseline / ours:6.1f}x" if baseline else ""
    goal = f"   target <= {target} s: {'met' if ours <= target else 'MISSED'}" if target else ""
    print(f"{label:<52} {ours:7.3f} s{versus}{goal}")


def report_points(points: float, ours: float) -> None:
    """The same answer bucketed from the points (no overviews), against the overviews' time."""
    print(f"    bucketing the points instead: {points:.3f} s (points/overviews = {points / ours:.1f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--store", type=Path, default=None, help="an existing store (load_runs_scale.py --keep)")
    parser.add_argument("--keep", type=Path, default=None, help="generate the store at this path and keep it")
    args = parser.parse_args()
    if args.keep is not None and args.keep.exists():
        parser.error(f"{args.keep} exists: measure it with --store, or --keep another path")
    with tempfile.TemporaryDirectory() as scratch:
        path = args.store or args.keep or Path(scratch) / "runs.duckdb"
        if args.store is None:
            started = time.perf_counter()
            with llmlens.open(path) as lens:
                generate(lens, args.runs, args.metrics, args.steps)
                print(f"generated {args.runs:,} runs x {args.metrics} metrics x {args.steps:,} steps in "
                      f"{time.perf_counter() - started:.1f} s")  # fmt: skip
                started = time.perf_counter()
                refresh_overviews(lens.con)  # what every load does for the series it wrote
                lens.con.execute("CHECKPOINT")
                print(f"built the overviews of {args.runs * args.metrics:,} series in "
                      f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        with llmlens.open(path, read_only=True) as lens:
            measure(lens)


def measure(lens: llmlens.Lens) -> None:
    con = lens.con
    points, runs, steps = con.execute("SELECT count(*), count(DISTINCT run_id), max(step) FROM metrics").fetchall()[0]
    run_ids = [row[0] for row in con.execute("SELECT DISTINCT run_id FROM metrics ORDER BY 1 LIMIT 10").fetchall()]
    print(f"store: {points:,} points, {runs:,} runs, steps 0-{steps:,}")
    zoom = (steps * 0.45, steps * 0.55)

    if overview_buckets(con, KEY, pixels=1000) is None:
        print("    (the overviews do not cover this store: (1) and (3) bucket the points)")
    t, table = timed(lambda: metric_buckets(con, KEY, pixels=1000))
    from_points, _ = timed(lambda: metric_buckets(con, KEY, pixels=1000, overviews=False))
    base, _ = timed(lambda: pandas_buckets(lens, None, None, None), repeat=1)
    report(f"(1) 1 metric x {runs:,} runs at 1,000 px, min/max/last", t, base, 0.3)
    report_points(from_points, t)
    print(f"    {table.num_rows:,} buckets; the planted spike is kept: max = {max(table['high'].to_pylist())}")
    t, _ = timed(lambda: metric_buckets(con, KEY, runs=run_ids, start=zoom[0], end=zoom[1], pixels=1000), repeat=5)
    base, _ = timed(lambda: pandas_buckets(lens, run_ids, *zoom), repeat=1)
    report("(2) zoom re-query, 10 runs, a tenth of the steps", t, base, 0.05)
    lr = dict(con.execute("SELECT run_id, value FROM params WHERE key = 'lr'").fetchall())
    t, _ = timed(lambda: group_bands(con, KEY, lr, pixels=1000))
    from_points, _ = timed(lambda: group_bands(con, KEY, lr, pixels=1000, overviews=False))
    base, _ = timed(lambda: pandas_bands(lens), repeat=1)
    report(f"(3) mean +- std band across {runs:,} runs (10 groups)", t, base, 0.3)
    report_points(from_points, t)
    t, found = timed(lambda: anomalies(con), repeat=1)
    report(f"(4) anomaly scan of all {points:,} points", t)
    print(f"    {len(found):,} findings: {pd.Series(found['kind']).value_counts().to_dict()}")
    every = pick(con, KEY)
    few = pick(con, KEY, runs=run_ids)
    for label, picked in ((f"{runs:,} runs", every), ("10 runs", few)):
        size = len(ipc_bytes(wire_table(chart_buckets(con, picked, View(pixels=400)), smoothed=False)[0]))
        print(f"(5) bytes to the browser per chart, {label} at 400 px: {size:,} ({size / len(picked.run_ids):,.0f}"
              " per run)")  # fmt: skip


if __name__ == "__main__":
    main()
