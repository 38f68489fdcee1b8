"""Metric series reduced to screen resolution inside DuckDB, keeping every extreme.

Each run's series is cut into equal x ranges (about two per pixel); a bucket keeps its lowest and highest finite
value, its last value, how many points it holds and how many are NaN or infinite. Drawn as a band (low to high)
under a line (last), a single-step spike in ten million steps stays visible at any zoom, unlike TensorBoard's
reservoir sample or MLflow's stride. Zooming asks again for the visible range, at full resolution.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

X_AXES = {
    "step": "CAST(step AS DOUBLE)",
    "wall_time": "epoch(wall_time)",
    "relative": "epoch(wall_time) - min(epoch(wall_time)) OVER (PARTITION BY run_id)",
}
"""What a chart's x-axis can be: the step, the wall time (Unix seconds), or seconds since the run's first point."""

_BUCKETS = """
WITH series AS (
    SELECT run_id, {x} AS x, value FROM metrics
    WHERE key = $key AND (NOT $latest OR NOT superseded)
      AND ($runs IS NULL OR list_contains($runs, run_id))
), bounds AS (
    SELECT coalesce($start, min(x)) AS lo, coalesce($end, max(x)) AS hi FROM series
), placed AS (
    SELECT run_id, x, value,
           CASE WHEN hi > lo THEN least(CAST(floor((x - lo) / (hi - lo) * $buckets) AS BIGINT), $buckets - 1)
                ELSE 0 END AS bucket
    FROM series, bounds WHERE x BETWEEN lo AND hi
)
SELECT run_id, CAST(bucket AS INTEGER) AS bucket, min(x) AS x_first, max(x) AS x_last,
       CAST(min(value) FILTER (WHERE isfinite(value)) AS FLOAT) AS low,
       CAST(max(value) FILTER (WHERE isfinite(value)) AS FLOAT) AS high,
       CAST(arg_max(value, x) AS FLOAT) AS last,
       CAST(count(*) AS INTEGER) AS points,
       CAST(count(*) FILTER (WHERE NOT isfinite(value)) AS INTEGER) AS non_finite
FROM placed GROUP BY run_id, bucket ORDER BY run_id, bucket
"""


def metric_buckets(
    con: duckdb.DuckDBPyConnection,
    key: str,
    *,
    runs: Sequence[str] | None = None,
    x: str = "step",
    start: float | None = None,
    end: float | None = None,
    pixels: int = 1000,
    latest: bool = True,
) -> pa.Table:
    """``key``'s series of each run (all, or ``runs``) between ``start`` and ``end`` of ``x`` (default: the whole
    range), reduced to ``2 * pixels`` buckets: ``run_id, bucket, x_first, x_last, low, high, last, points,
    non_finite`` as Arrow, values as float32. ``latest`` leaves out points a restart superseded.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) "
    ...                      "SELECT 'r', 'loss', i, CASE WHEN i = 777 THEN 50 ELSE 1 END, i FROM range(100000) t(i)")
    >>> table = metric_buckets(lens.con, "loss", pixels=100)
    >>> table.num_rows, max(table.column("high").to_pylist())
    (200, 50.0)
    """
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}, not {x!r}")
    if pixels < 1:
        raise ValueError(f"pixels must be at least 1, not {pixels}")
    params = {"key": key, "runs": list(runs) if runs is not None else None, "start": start, "end": end,
              "buckets": 2 * pixels, "latest": latest}  # fmt: skip
    return con.sql(_BUCKETS.format(x=X_AXES[x]), params=params).to_arrow_table()
