"""Metric series reduced to screen resolution inside DuckDB, keeping every extreme.

Each run's series is cut into equal x ranges (about two per pixel); a bucket keeps its lowest and highest finite
value, its last value, how many points it holds and how many are NaN or infinite. Drawn as a band (low to high)
under a line (last), a single-step spike in ten million steps stays visible at any zoom, unlike TensorBoard's
reservoir sample or MLflow's stride. Zooming asks again for the visible range, at full resolution.

Zoomed out on the step axis (the whole range, superseded points left out), the buckets come from the overview the
loads keep of each series (:mod:`llmlens.analysis.overviews`), a few times faster over many runs; any other view
buckets the points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from llmlens.analysis.overviews import overview_bands, overview_buckets
from llmlens.errors import LensError
from llmlens.query import holds

X_AXES = {
    "step": "step",
    "wall_time": "epoch(wall_time)",
    "relative": "epoch(wall_time) - min(epoch(wall_time)) OVER (PARTITION BY run_id)",
}
"""What a chart's x-axis can be besides another metric: the step, the wall time (Unix seconds), or seconds since the
run's first point."""

_SERIES = """
    SELECT run_id, {x} AS x, value FROM metrics
    WHERE key = $key AND (NOT $latest OR NOT superseded)
      AND ($runs IS NULL OR list_contains($runs, run_id))
"""

_SERIES_AGAINST_METRIC = """
    SELECT m.run_id, against.value AS x, m.value FROM metrics m
    JOIN (SELECT run_id, step, last(value ORDER BY seq) AS value FROM metrics
          WHERE key = $x_key AND NOT superseded AND ($runs IS NULL OR list_contains($runs, run_id))
          GROUP BY run_id, step) against USING (run_id, step)
    WHERE m.key = $key AND (NOT $latest OR NOT m.superseded) AND isfinite(against.value)
      AND ($runs IS NULL OR list_contains($runs, m.run_id))
"""
"""A metric against another logged at the same steps (``tokens_seen``, ``epoch``): the x of a step is that metric's
value there."""

_BUCKETS = """
WITH series AS ({series})
SELECT run_id, {bucket} AS bucket, CAST(min(x) AS DOUBLE) AS x_first, CAST(max(x) AS DOUBLE) AS x_last, {values}
FROM series WHERE x BETWEEN $lo AND $hi GROUP BY run_id, bucket
"""

_EXTREMES = """
       CAST(min(value) FILTER (WHERE isfinite(value)) AS FLOAT) AS low,
       CAST(max(value) FILTER (WHERE isfinite(value)) AS FLOAT) AS high,
       CAST(arg_max(value, x) AS FLOAT) AS last,
       CAST(count(*) AS INTEGER) AS points,
       CAST(count(*) FILTER (WHERE NOT isfinite(value)) AS INTEGER) AS non_finite"""
"""What a run's bucket keeps for its chart."""

_LAST = "arg_max(value, x) AS last, count(*) FILTER (WHERE NOT isfinite(value)) AS non_finite"
"""What a run's bucket contributes to its group's band: only its last value (a third less work)."""

_STEP_BUCKET = "CAST((x - $lo) * $buckets // ($hi - $lo + 1) AS INTEGER)"
"""Whole steps cut into buckets with integer arithmetic (a third faster than floating point at 10 M points)."""

_BUCKET = "CAST(least(floor((x - $lo) / greatest($hi - $lo, 1e-300) * $buckets), $buckets - 1) AS INTEGER)"

_BOUNDS = "WITH series AS ({series}) SELECT min(x), max(x) FROM series"

_BANDS = """
WITH buckets AS ({buckets}), groups AS (SELECT unnest($group_runs) AS run_id, unnest($group_names) AS grp)
SELECT grp AS "group", bucket, min(x_first) AS x_first, max(x_last) AS x_last,
       CAST(avg(last) FILTER (WHERE isfinite(last)) AS FLOAT) AS mean,
       CAST(coalesce(stddev_pop(last) FILTER (WHERE isfinite(last)), 0) AS FLOAT) AS std,
       CAST(min(last) FILTER (WHERE isfinite(last)) AS FLOAT) AS low,
       CAST(max(last) FILTER (WHERE isfinite(last)) AS FLOAT) AS high,
       CAST(count(*) AS INTEGER) AS runs, CAST(sum(non_finite) AS INTEGER) AS non_finite
FROM buckets JOIN groups USING (run_id) GROUP BY grp, bucket ORDER BY grp, bucket
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
    overviews: bool = True,
) -> pa.Table:
    """``key``'s series of each run (all, or ``runs``) between ``start`` and ``end`` of ``x`` (default: the whole
    range; ``x`` is ``step``, ``wall_time``, ``relative`` or another metric's key, such as ``tokens_seen``),
    reduced to ``2 * pixels`` buckets: ``run_id, bucket, x_first, x_last, low, high, last, points, non_finite`` as
    Arrow, values as float32. ``latest`` leaves out points a restart superseded. ``overviews=False`` buckets the
    points even where the series' overviews could answer.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) "
    ...                      "SELECT 'r', 'loss', i, CASE WHEN i = 777 THEN 50 ELSE 1 END, i FROM range(100000) t(i)")
    >>> table = metric_buckets(lens.con, "loss", pixels=100)
    >>> table.num_rows, max(table.column("high").to_pylist())
    (200, 50.0)
    """
    if overviews and _zoomed_out_on_steps(x, start, end, pixels, latest):
        table = overview_buckets(con, key, runs=runs, pixels=pixels)
        if table is not None:
            return table
    query, params = _bucket_query(con, key, runs=runs, x=x, start=start, end=end, pixels=pixels, latest=latest)
    return con.sql(query + " ORDER BY run_id, bucket", params=params).to_arrow_table()


def group_bands(
    con: duckdb.DuckDBPyConnection,
    key: str,
    groups: Mapping[str, str],
    *,
    x: str = "step",
    start: float | None = None,
    end: float | None = None,
    pixels: int = 1000,
    latest: bool = True,
    overviews: bool = True,
) -> pa.Table:
    """``key`` across groups of runs (``groups`` maps run id to group name, e.g. its learning rate): per group and
    bucket, the mean and standard deviation of the runs' last values, their min and max (the band), how many runs
    and how many non-finite points: ``group, bucket, x_first, x_last, mean, std, low, high, runs, non_finite``.
    ``overviews=False`` buckets the points even where the series' overviews could answer.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r' || (i % 4), 'loss', "
    ...                      "i // 4, (i % 4), i FROM range(4000) t(i)")
    >>> bands = group_bands(lens.con, "loss", {"r0": "a", "r1": "a", "r2": "b", "r3": "b"}, pixels=5)
    >>> bands.select(["group", "bucket", "mean", "low", "high", "runs"]).to_pylist()[0]
    {'group': 'a', 'bucket': 0, 'mean': 0.5, 'low': 0.0, 'high': 1.0, 'runs': 2}
    """
    if overviews and _zoomed_out_on_steps(x, start, end, pixels, latest):
        table = overview_bands(con, key, groups, pixels=pixels)
        if table is not None:
            return table
    query, params = _bucket_query(con, key, runs=list(groups), x=x, start=start, end=end, pixels=pixels, latest=latest)
    params |= {"group_runs": list(groups), "group_names": [str(name) for name in groups.values()]}
    return con.sql(_BANDS.format(buckets=query), params=params).to_arrow_table()


def _zoomed_out_on_steps(x: str, start: float | None, end: float | None, pixels: int, latest: bool) -> bool:
    """Whether a view is one the overviews may answer: the whole step range, superseded points left out."""
    return x == "step" and start is None and end is None and latest and pixels >= 1


def _bucket_query(
    con: duckdb.DuckDBPyConnection,
    key: str,
    *,
    runs: Sequence[str] | None,
    x: str,
    start: float | None,
    end: float | None,
    pixels: int,
    latest: bool,
    values: str = _EXTREMES,
) -> tuple[str, dict[str, Any]]:
    """The bucketing query and its parameters; ``x`` is an axis of :data:`X_AXES` or the key of another metric."""
    if x not in X_AXES and not holds(con, "metrics WHERE key = ?", [x]):
        raise LensError(f"x must be one of {', '.join(X_AXES)} or a logged metric's key, not {x!r}")
    if pixels < 1:
        raise LensError(f"pixels must be at least 1, not {pixels}")
    params: dict[str, Any] = {"key": key, "runs": list(runs) if runs is not None else None,
                              "buckets": 2 * pixels, "latest": latest}  # fmt: skip
    if x in X_AXES:
        series = _SERIES.format(x=X_AXES[x])
    else:
        series, params["x_key"] = _SERIES_AGAINST_METRIC, x
    if start is None or end is None:  # the whole range: found first, so the bucketing works on constants
        bound_params = {name: params[name] for name in ("key", "runs", "latest", "x_key") if name in params}
        lo, hi = con.execute(_BOUNDS.format(series=series), bound_params).fetchall()[0]
        start, end = (lo if start is None else start), (hi if end is None else end)
    if x == "step" and start is not None and end is not None:
        params |= {"lo": math.ceil(start), "hi": math.floor(end)}
        return _BUCKETS.format(series=series, bucket=_STEP_BUCKET, values=values), params
    params |= {"lo": start, "hi": end}
    return _BUCKETS.format(series=series, bucket=_BUCKET, values=values), params


_HEATMAP = """
WITH series AS (
    SELECT key, CAST(step AS DOUBLE) AS x, value FROM metrics
    WHERE run_id = $run AND key GLOB $pattern AND NOT superseded AND isfinite(value)
), bounds AS (SELECT min(x) AS lo, max(x) AS hi FROM series)
SELECT key, CAST(CASE WHEN hi > lo THEN least(floor((x - lo) / (hi - lo) * $buckets), $buckets - 1) ELSE 0 END
                 AS INTEGER) AS bucket,
       min(x) AS x_first, max(x) AS x_last, CAST(avg(value) AS FLOAT) AS value
FROM series, bounds GROUP BY ALL ORDER BY key, bucket
"""


def key_heatmap(con: duckdb.DuckDBPyConnection, pattern: str, run_id: str, *, buckets: int = 200) -> pa.Table:
    """Many keys of one run side by side (per-layer gradient norms, per-GPU utilisation): the keys matching the glob
    ``pattern``, each cut into ``buckets`` step ranges holding their mean finite value: ``key, bucket, x_first,
    x_last, value``.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value) SELECT 'r', 'grad/layer_' || (i % 3), "
    ...                      "i // 3, i % 3, FROM range(300) t(i)")
    >>> table = key_heatmap(lens.con, "grad/layer_*", "r", buckets=10)
    >>> table.num_rows, table.column("value").to_pylist()[-1]
    (30, 2.0)
    """
    params = {"run": run_id, "pattern": pattern, "buckets": buckets}
    return con.sql(_HEATMAP, params=params).to_arrow_table()
