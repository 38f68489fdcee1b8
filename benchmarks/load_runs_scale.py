"""Benchmark: loading a long metric table (Parquet) of many runs, against DuckDB's own copy of the same file.

    python benchmarks/load_runs_scale.py                           # 1,000 runs x 10 metrics x 10,000 steps (100 M)
    python benchmarks/load_runs_scale.py --runs 20 --steps 200     # smoke size (what the tests run)

The table (run, key, step, value) is generated with numpy and written to Parquet a few runs at a time (one row
group each), sorted by run, key and step, as trackers export it. Prints (a) DuckDB's own
``CREATE TABLE AS SELECT * FROM read_parquet(...) ORDER BY run, key, step`` into a DuckDB file, (b) ``lens.load``
into a store file (in a fresh process, whose peak memory is reported), the ratio b/a, points per second, and bytes
per point on disk for both (file size / points).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS_PER_GROUP = 1_000_000


def write_table(path: Path, runs: int, metrics: int, steps: int, seed: int = 0) -> int:
    """A long table of ``runs`` x ``metrics`` x ``steps`` points (random walks), streamed to ``path``; its rows."""
    rng = np.random.default_rng(seed)
    keys = np.array([f"train/metric_{k}" for k in range(metrics)], dtype=object)
    per_group = max(1, ROWS_PER_GROUP // (metrics * steps))
    schema = pa.schema([("run", pa.string()), ("key", pa.string()), ("step", pa.int64()), ("value", pa.float64())])
    step = np.tile(np.arange(steps, dtype=np.int64), metrics)
    key = pa.DictionaryArray.from_arrays(pa.array(np.repeat(np.arange(metrics), steps), pa.int32()), pa.array(keys))
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for first in range(0, runs, per_group):
            batches = []
            for run in range(first, min(first + per_group, runs)):
                walk = np.cumsum(rng.normal(0, 0.01, size=metrics * steps)) + 2.0
                batches.append(pa.record_batch({
                    "run": pa.array(np.full(metrics * steps, f"run-{run:05d}", dtype=object), pa.string()),
                    "key": key.cast(pa.string()), "step": pa.array(step), "value": pa.array(walk),
                }, schema=schema))  # fmt: skip
            writer.write_table(pa.Table.from_batches(batches), row_group_size=ROWS_PER_GROUP)
    return runs * metrics * steps


def duckdb_copy(path: Path, database: Path) -> tuple[float, int]:
    """DuckDB's own sorted copy of the table into a file: seconds, file size."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect(str(database))
    con.execute("CREATE TABLE points AS SELECT * FROM read_parquet(?) ORDER BY run, key, step", [str(path)])
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - started, database.stat().st_size


def lens_load_in_subprocess(path: Path, database: Path) -> dict[str, float]:
    """``lens.load`` in a fresh process: seconds, points loaded, peak memory (VmHWM, MB), store size."""
    code = (
        "import json, resource, sys, time, llmlens\n"
        "lens = llmlens.open(sys.argv[2])\n"
        "t = time.perf_counter(); report = lens.load(sys.argv[1], progress=False)\n"
        "lens.con.execute('CHECKPOINT'); t = time.perf_counter() - t\n"
        "lens.close()\n"
        "try:\n"
        "    peak = int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024\n"
        "except (OSError, IndexError):\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'seconds': t, 'points': report.rows_added.get('metrics', 0), 'peak_mb': peak,\n"
        "                  'rejected': report.rejected}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path), str(database)],
                            capture_output=True, text=True, check=True)  # fmt: skip
    numbers: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    numbers["size"] = database.stat().st_size
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, default=None, help="write the files here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        table = folder / "points.parquet"
        started = time.perf_counter()
        points = write_table(table, args.runs, args.metrics, args.steps)
        print(f"generated {args.runs:,} runs x {args.metrics} metrics x {args.steps:,} steps = {points:,} points, "
              f"{table.stat().st_size / 1e6:,.0f} MB of Parquet, in {time.perf_counter() - started:.1f} s")  # fmt: skip
        a, a_size = duckdb_copy(table, folder / "copy.duckdb")
        b = lens_load_in_subprocess(table, folder / "store.duckdb")
    assert b["points"] == points and not b["rejected"], f"loaded {b['points']:,} of {points:,} points"
    print(f"(a) DuckDB read_parquet ORDER BY into a DuckDB file: {a:8.1f} s   {points / a:12,.0f} points/s   "
          f"{a_size / points:5.2f} bytes/point on disk")  # fmt: skip
    print(f"(b) lens.load into a store file:                     {b['seconds']:8.1f} s   "
          f"{points / b['seconds']:12,.0f} points/s   {b['size'] / points:5.2f} bytes/point on disk")  # fmt: skip
    print(f"b/a = {b['seconds'] / a:.2f} (time)   {b['size'] / a_size:.2f} (bytes on disk)")
    print(f"peak memory of the lens.load process: {b['peak_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
