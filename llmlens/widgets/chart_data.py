"""What the run comparison charts show, as plain data: the runs and metric keys picked, and each chart's buckets
(or group bands) as one Arrow table, smoothed, ready to send as binary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmlens.analysis.buckets import group_bands, metric_buckets
from llmlens.analysis.metric_keys import matching_keys
from llmlens.analysis.run_names import run_ids
from llmlens.analysis.smoothing import (
    tensorboard_ema,
    tensorboard_ema_rows,
    time_weighted_ema,
    time_weighted_ema_rows,
)
from llmlens.errors import LensError

SMOOTHING = ("none", "ema", "twema")
"""Smoothing a chart can apply to each run's line: none, TensorBoard's debiased EMA, W&B's time-weighted EMA."""

MAX_CHARTS = 64
"""Most charts one comparison draws; more matching keys are named in the error, to narrow the pattern."""


@dataclass(frozen=True)
class View:
    """What a chart shows of its series: the x-axis, the range (None: all), the width in pixels (two buckets
    each) and the smoothing of each line."""

    x: str = "step"
    start: float | None = None
    end: float | None = None
    pixels: int = 400
    smoothing: str = "none"
    weight: float = 0.6
    band: str = "std"
    """For groups of runs: ``std`` (mean ± one standard deviation) or ``range`` (lowest to highest run)."""


@dataclass(frozen=True)
class Picked:
    """The runs (ids and display names, in legend order) and metric keys a comparison shows."""

    run_ids: list[str]
    names: list[str]
    keys: list[str]


def pick(
    con: duckdb.DuckDBPyConnection,
    metrics: str | Sequence[str] | None,
    runs: Sequence[str] | None = None,
    *,
    max_charts: int = MAX_CHARTS,
) -> Picked:
    """The runs and keys to chart: ``metrics`` are keys or glob patterns (``loss*``, ``layers/*/grad_norm``;
    default: every key with ``loss`` in its name, system metrics left out); ``runs`` are run ids or names (default:
    every run that logged one of the keys).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value) VALUES ('a', 'train/loss', 0, 1), "
    ...                      "('b', 'eval/loss', 0, 1), ('b', 'train/lr', 0, 1)")
    >>> pick(lens.con, "*loss").keys, pick(lens.con, ["train/*", "eval/*"], runs=["b"]).run_ids
    (['eval/loss', 'train/loss'], ['b'])
    >>> pick(lens.con, ["train/loss", "eval/*"]).keys
    ['train/loss', 'eval/loss']
    """
    patterns = [metrics] if isinstance(metrics, str) else list(metrics or [])
    chosen = run_ids(con, runs) if runs is not None else None
    logged = [
        row[0]
        for row in con.execute(
            "SELECT DISTINCT key FROM metrics WHERE $runs IS NULL OR list_contains($runs, run_id) ORDER BY key",
            {"runs": chosen},
        ).fetchall()
    ]
    if patterns:
        keys = matching_keys(logged, patterns)
    else:
        keys = [key for key in logged if "loss" in key.lower() and not key.startswith("system/")]
    if not keys:
        wanted = ", ".join(patterns) or "with 'loss' in its name"
        raise LensError(f"no metric {wanted} in the store{' for these runs' if runs is not None else ''}")
    if len(keys) > max_charts:
        raise LensError(
            f"{len(keys)} metrics match ({', '.join(keys[:5])}, ...): more than {max_charts} charts; narrow the "
            "pattern, or show per-layer keys as a heatmap with lens.heatmap"
        )
    rows = con.execute(
        """SELECT m.run_id, coalesce(any_value(r.name), m.run_id) FROM (
               SELECT DISTINCT run_id FROM metrics WHERE list_contains($keys, key)
                 AND ($runs IS NULL OR list_contains($runs, run_id))) m
           LEFT JOIN runs r USING (run_id) GROUP BY m.run_id ORDER BY min(r.started_at) NULLS LAST, m.run_id""",
        {"keys": keys, "runs": chosen},
    ).fetchall()
    return Picked([row[0] for row in rows], [row[1] for row in rows], keys)


def chart_buckets(
    con: duckdb.DuckDBPyConnection,
    picked: Picked,
    view: View = View(),
    *,
    charts: Sequence[int] | None = None,
) -> pa.Table:
    """The buckets of the ``charts`` (indexes into ``picked.keys``; default all), every picked run in each, as one
    table: ``chart, run`` (index into ``picked.run_ids``), ``x0, x1`` (first and last x in the bucket), ``low, high,
    last, smooth`` (float32), ``points, non_finite``.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) "
    ...                      "SELECT 'r', 'loss', i, i % 2, i FROM range(1000) t(i)")
    >>> table = chart_buckets(lens.con, pick(lens.con, "loss"), View(pixels=10, smoothing="ema"))
    >>> table.num_rows, table.column("high").to_pylist()[:2], table.column_names[:4]
    (20, [1.0, 1.0], ['chart', 'run', 'x0', 'x1'])
    """
    if view.smoothing not in SMOOTHING:
        raise LensError(f"smoothing must be one of {', '.join(SMOOTHING)}, not {view.smoothing!r}")
    run_ids = pa.array(picked.run_ids, pa.string())
    parts = []
    for chart in charts if charts is not None else range(len(picked.keys)):
        table = metric_buckets(
            con, picked.keys[chart], runs=picked.run_ids, x=view.x, start=view.start, end=view.end, pixels=view.pixels
        )
        runs = np.asarray(pc.index_in(table["run_id"], value_set=run_ids).to_numpy(), np.int16)  # legend order
        parts.append(
            pa.table({
                "chart": pa.array(np.full(table.num_rows, chart, np.int16)),
                "run": pa.array(runs),
                "x0": table["x_first"], "x1": table["x_last"],
                "low": table["low"], "high": table["high"], "last": table["last"],
                "smooth": pa.array(_smooth(runs, table, view), pa.float32()),
                "points": table["points"], "non_finite": table["non_finite"],
            })
        )  # fmt: skip
    return pa.concat_tables(parts) if parts else _EMPTY


def chart_bands(
    con: duckdb.DuckDBPyConnection,
    picked: Picked,
    groups: Mapping[str, str],
    view: View = View(),
    *,
    charts: Sequence[int] | None = None,
) -> tuple[pa.Table, list[str]]:
    """Like :func:`chart_buckets`, with one series per group of runs (``groups`` maps run id to group name): ``run``
    indexes the returned group names; ``last`` is the group mean, ``low``/``high`` mean ∓ std (or, with
    ``view.band == "range"``, the lowest and highest of the runs).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) "
    ...                      "SELECT 'r' || (i % 2), 'loss', i // 2, i % 2, i FROM range(1000) t(i)")
    >>> table, names = chart_bands(lens.con, pick(lens.con, "loss"), {"r0": "lr=1", "r1": "lr=1"}, View(pixels=10))
    >>> names, table.column("last").to_pylist()[0], table.column("high").to_pylist()[0]
    (['lr=1'], 0.5, 1.0)
    """
    names = sorted(set(groups.values()), key=_natural)
    parts = []
    for chart in charts if charts is not None else range(len(picked.keys)):
        table = group_bands(
            con, picked.keys[chart], groups, x=view.x, start=view.start, end=view.end, pixels=view.pixels
        )
        groups_of = np.asarray(pc.index_in(table["group"], value_set=pa.array(names)).to_numpy(), np.int16)
        mean, std = table["mean"], table["std"]
        last = table.set_column(table.schema.get_field_index("mean"), "last", mean)
        parts.append(
            pa.table({
                "chart": pa.array(np.full(table.num_rows, chart, np.int16)),
                "run": pa.array(groups_of),
                "x0": table["x_first"], "x1": table["x_last"],
                "low": pc.subtract(mean, std) if view.band == "std" else table["low"],
                "high": pc.add(mean, std) if view.band == "std" else table["high"],
                "last": mean,
                "smooth": pa.array(_smooth(groups_of, last, view), pa.float32()),
                "points": table["runs"], "non_finite": table["non_finite"],
            })
        )  # fmt: skip
    return (pa.concat_tables(parts) if parts else _EMPTY), names


def _smooth(series: np.ndarray[Any, Any], table: pa.Table, view: View) -> np.ndarray[Any, Any]:
    """Each series' (rows are grouped by series, in x order) last values, smoothed. Series of one length whose
    values are all finite are smoothed together, as the rows of one matrix; the others one by one."""
    last: np.ndarray[Any, Any] = np.asarray(table.column("last").to_numpy(zero_copy_only=False), np.float64)
    if view.smoothing == "none" or not len(last):
        return last
    x = np.asarray(table.column("x_last").to_numpy(zero_copy_only=False), np.float64)
    out: np.ndarray[Any, Any] = last.copy()
    cuts = (np.flatnonzero(np.diff(series)) + 1).tolist()
    together: dict[int, list[int]] = {}
    for lo, hi in zip([0, *cuts], [*cuts, len(last)], strict=True):
        values = last[lo:hi]
        plain = hi - lo >= 2 and bool(np.isfinite(values).all()) and not bool(np.all(values == values[0]))
        if plain:
            together.setdefault(hi - lo, []).append(lo)
        elif view.smoothing == "ema":
            out[lo:hi] = tensorboard_ema(values, view.weight)
        else:
            out[lo:hi] = time_weighted_ema(x[lo:hi], values, view.weight)
    for length, starts in together.items():
        rows = np.asarray(starts)[:, None] + np.arange(length)
        if view.smoothing == "ema":
            out[rows] = tensorboard_ema_rows(last[rows], view.weight)
        else:
            out[rows] = time_weighted_ema_rows(x[rows], last[rows], view.weight)
    return out


def _natural(name: str) -> tuple[float, str]:
    """Group names that are numbers sort as numbers (1e-4 before 3e-4 before 1e-3)."""
    try:
        return (float(name), "")
    except ValueError:
        return (float("inf"), name)


_EMPTY = pa.table({
    "chart": pa.array([], pa.int16()), "run": pa.array([], pa.int16()),
    "x0": pa.array([], pa.float64()), "x1": pa.array([], pa.float64()),
    "low": pa.array([], pa.float32()), "high": pa.array([], pa.float32()), "last": pa.array([], pa.float32()),
    "smooth": pa.array([], pa.float32()), "points": pa.array([], pa.int32()), "non_finite": pa.array([], pa.int32()),
})  # fmt: skip


def param_groups(con: duckdb.DuckDBPyConnection, run_ids: Sequence[str], param: str) -> dict[str, str]:
    """Each run's value of ``param`` (``"(none)"`` where it has none), to group runs by.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO params (run_id, key, value) VALUES ('a', 'lr', '0.1'), ('b', 'lr', '0.2')")
    >>> param_groups(lens.con, ["a", "b", "c"], "lr")
    {'a': '0.1', 'b': '0.2', 'c': '(none)'}
    """
    rows = con.execute(
        "SELECT run_id, any_value(value) FROM params WHERE key = ? AND list_contains(?, run_id) GROUP BY run_id",
        [param, list(run_ids)],
    ).fetchall()
    found = dict(rows)
    if not found:
        raise LensError(f"no run has a param {param!r}")
    return {run_id: found.get(run_id) or "(none)" for run_id in run_ids}


def chart_marks(con: duckdb.DuckDBPyConnection, picked: Picked, *, x: str = "step") -> pa.Table:
    """The anomalies of the picked runs placed on the charts: ``chart`` (-1 for a run-level mark such as a restart,
    drawn on every chart), ``run``, ``x``, ``kind``, ``detail``. Empty when ``x`` is another metric.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r', 'loss', i, "
    ...                      "CASE WHEN i >= 90 THEN 'nan'::DOUBLE ELSE 1 END, i FROM range(100) t(i)")
    >>> chart_marks(lens.con, pick(lens.con, "loss")).select(["chart", "run", "x", "kind"]).to_pylist()
    [{'chart': 0, 'run': 0, 'x': 90.0, 'kind': 'non_finite'}]
    """
    from llmlens.analysis import anomalies

    scope = {"runs": picked.run_ids, "keys": picked.keys}  # exact keys: named as they are, the store not listed
    finders = (anomalies.non_finite, anomalies.spikes, anomalies.stalls, anomalies.restarts)
    found = anomalies.combined([finder(con, **scope) for finder in finders])  # the charts' own points only
    if x == "step":
        position = found["step"].astype("float64")
    elif x in ("wall_time", "relative"):
        position = found["wall_time"].map(lambda moment: moment.timestamp() if moment is not None else None)
        if x == "relative":
            starts = dict(
                con.execute(
                    "SELECT run_id, min(epoch(wall_time)) FROM metrics WHERE list_contains(?, run_id) GROUP BY run_id",
                    [list(picked.run_ids)],
                ).fetchall()
            )
            position = position - found["run_id"].map(starts)
    else:
        found = found.iloc[:0]
        position = found["step"].astype("float64")
    chart_of = {key: i for i, key in enumerate(picked.keys)}
    run_of = {run_id: i for i, run_id in enumerate(picked.run_ids)}
    keep = position.notna().to_numpy()
    return pa.table({
        "chart": pa.array([chart_of.get(k, -1) if isinstance(k, str) else -1 for k in found["key"][keep]], pa.int16()),
        "run": pa.array([run_of[r] for r in found["run_id"][keep]], pa.int16()),
        "x": pa.array(position[keep].to_numpy(dtype=np.float64)),
        "kind": pa.array(found["kind"][keep].tolist(), pa.string()),
        "detail": pa.array(found["detail"][keep].fillna("").tolist(), pa.string()),
    })  # fmt: skip


def wire_table(table: pa.Table, *, smoothed: bool) -> tuple[pa.Table, float]:
    """What the browser needs of ``chart_buckets``' table, narrowed: x as float32 offsets from an origin (returned;
    exact for whole steps up to 16 million past it), no point counts, the smoothed line only when smoothing, NaN/inf
    counts as int16. About 26 bytes a bucket instead of 44.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) "
    ...                      "SELECT 'r', 'loss', 1000000 + i, i % 2, i FROM range(1000) t(i)")
    >>> sent, origin = wire_table(chart_buckets(lens.con, pick(lens.con, "loss"), View(pixels=10)), smoothed=False)
    >>> origin, sent.column("x0").to_pylist()[:2], sent.column_names
    (1000000.0, [0.0, 50.0], ['chart', 'run', 'x0', 'x1', 'low', 'high', 'last', 'non_finite'])
    """
    x0 = table.column("x0")
    origin = float(pc.min(x0).as_py() or 0.0) if table.num_rows else 0.0
    columns = {
        "chart": table["chart"],
        "run": table["run"],
        "x0": pc.subtract(x0, origin).cast(pa.float32()),
        "x1": pc.subtract(table["x1"], origin).cast(pa.float32()),
        "low": table["low"],
        "high": table["high"],
        "last": table["last"],
        "non_finite": pc.min_element_wise(table["non_finite"], 32767).cast(pa.int16()),
    }
    if smoothed:
        columns["smooth"] = table["smooth"]
    return pa.table(columns), origin
