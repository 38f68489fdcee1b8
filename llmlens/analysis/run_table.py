"""Runs side by side: one row per run with its status, duration, final and best metrics and the params that differ.

Everything is computed by a few set-based statements: a single pass over ``metrics`` grouped by run and key (highest
step, last wall time, final value, lowest and highest finite value of every series), one over ``runs`` that takes
the per-run roll-up of that pass as bound lists, and one over ``params``. Runs that have metric points but no
``runs`` row are listed too, with what their points tell.

The one piece of user text that reaches SQL is ``where``, a predicate over the run columns. It is parsed by DuckDB
first and refused unless it is a single expression: no second statement, no set operation, no subquery, no table
function (nothing that reads files), no sequence or setting functions, no parameters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pandas as pd

from llmlens.analysis.metric_keys import matching_keys
from llmlens.analysis.run_names import run_ids
from llmlens.errors import LensError
from llmlens.where import check_where, where_clause

if TYPE_CHECKING:
    import plotly.graph_objects as go

RUN_COLUMNS = ("run_id", "name", "project", "group_name", "status", "started_at", "duration", "steps")
"""The leading columns of :func:`run_table`, in order."""

WHERE_COLUMNS = (*RUN_COLUMNS, "ended_at", "tags", "attributes", "source_id")
"""The columns a ``where`` predicate can use."""

MAX_LOSS_METRICS = 4
MAX_DEFAULT_METRICS = 6

_MIN_IS_BETTER = re.compile(r"loss|error|perplexity|latency|time|(?:^|[^a-z])(?:ppl|wer|cer)(?:$|[^a-z])")
_ACCURACY = re.compile(r"(?:^|[^a-z])acc")

_SERIES = """
SELECT run_id, key, max(step) AS steps, epoch_us(max(wall_time)) AS last_time, arg_max(value, step) AS last,
       min(CASE WHEN isfinite(value) THEN value END) AS low, max(CASE WHEN isfinite(value) THEN value END) AS high
FROM metrics WHERE superseded IS NOT TRUE {run_and}
GROUP BY run_id, key
"""

_RUNS = """
WITH point_lists AS (
    SELECT unnest(CAST($point_runs AS VARCHAR[])) AS run_id, unnest(CAST($point_steps AS BIGINT[])) AS steps,
           unnest(CAST($point_times AS BIGINT[])) AS last_us
), points AS (
    SELECT run_id, steps, TIMESTAMPTZ '1970-01-01 00:00:00+00' + to_microseconds(last_us) AS last_time
    FROM point_lists
), listed AS (
    SELECT coalesce(r.run_id, p.run_id) AS run_id, r.name, r.project, r.group_name, r.status, r.started_at,
           CASE WHEN r.ended_at IS NULL OR r.status = 'running' THEN coalesce(p.last_time, r.ended_at)
                ELSE r.ended_at END - r.started_at AS duration,
           p.steps, r.ended_at, r.tags, r.attributes, r.source_id
    FROM (SELECT * FROM runs {run_filter}) AS r FULL OUTER JOIN points AS p ON r.run_id = p.run_id
)
SELECT run_id, name, project, group_name, status, started_at, duration, steps FROM listed AS runs"""

_PARAMS = """
WITH p AS (
    SELECT run_id, key, min(value) AS value FROM params {run_filter} GROUP BY run_id, key
), spread AS (
    SELECT key, count(DISTINCT value) AS distinct_values, count(value) AS present,
           coalesce(bool_and(TRY_CAST(value AS DOUBLE) IS NOT NULL) FILTER (WHERE value IS NOT NULL), false) AS numeric
    FROM p GROUP BY key
), with_params AS (
    SELECT count(DISTINCT run_id) AS n FROM p
)
SELECT p.run_id, p.key, p.value, TRY_CAST(p.value AS DOUBLE) AS number, s.numeric
FROM p JOIN spread AS s ON p.key = s.key, with_params AS w
WHERE NOT $differing OR s.distinct_values > 1 OR s.present < w.n
ORDER BY p.key, p.run_id
"""

_PARAM_RUNS = """
SELECT p.run_id FROM (SELECT DISTINCT run_id FROM params) AS p LEFT JOIN runs AS r ON p.run_id = r.run_id
ORDER BY r.started_at NULLS LAST, p.run_id
"""

ParamsMode = Literal["differing", "all"] | None


def run_table(
    con: duckdb.DuckDBPyConnection,
    *,
    where: str | None = None,
    metrics: Sequence[str] | None = None,
    best: Mapping[str, str] | None = None,
    params: ParamsMode = "differing",
) -> pd.DataFrame:
    """One row per run: ``run_id, name, project, group_name, status, started_at, duration, steps``, then
    ``<key> last`` and ``<key> best`` for each metric, then one column per param.

    ``duration`` is ``ended_at - started_at``, or the last point's wall time minus ``started_at`` while the run is
    running (or has no end); ``steps`` the highest step. ``last`` is the value at the highest step of the run as it
    finally stands (points a restart superseded left out), ``best`` the lowest or highest finite value.

    ``metrics`` are keys or glob patterns (``"eval/*"``); by default the ``loss`` keys most runs share (at most 4)
    and accuracy-like keys (``acc``), at most 6, ``system/*`` left out. ``best`` maps a key to ``"min"`` or
    ``"max"``; by default a key naming loss, error, perplexity, ppl, wer, cer, time or latency is better low,
    any other high. ``params`` is ``"differing"`` (the params whose value is not the same in every listed run
    that has params), ``"all"`` or ``None``; a param whose every value is a number becomes a number column.
    ``where`` is a SQL predicate over :data:`WHERE_COLUMNS`, e.g. ``"status = 'failed'"`` or
    ``"name LIKE 'lr1e-3%'"``; it must be a single expression (see :func:`check_where`).
    ``frame.attrs`` keeps the chosen ``metrics`` and their ``best`` directions.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO runs (run_id, name, status, started_at, ended_at) VALUES "
    ...     "('a', 'lr-1', 'finished', '2025-01-01 00:00Z', '2025-01-01 01:00Z'), "
    ...     "('b', 'lr-2', 'running', '2025-01-01 00:00Z', NULL)")
    >>> _ = lens.con.execute("INSERT INTO params (run_id, key, value) VALUES "
    ...     "('a', 'lr', '1e-3'), ('b', 'lr', '2e-3'), ('a', 'opt', 'adam'), ('b', 'opt', 'adam')")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, wall_time, value, seq) "
    ...     "SELECT r, 'loss', i, TIMESTAMPTZ '2025-01-01 00:00Z' + to_minutes(i), 10 - i, i "
    ...     "FROM (VALUES ('a'), ('b')) v(r), range(10) t(i)")
    >>> table = run_table(lens.con)
    >>> table[["name", "status", "steps", "loss last", "loss best", "lr"]].values.tolist()
    [['lr-1', 'finished', 9, 1.0, 1.0, 0.001], ['lr-2', 'running', 9, 1.0, 1.0, 0.002]]
    >>> str(table.duration[1])
    '0 days 00:09:00'
    >>> run_table(lens.con, where="status = 'running'", params=None).name.tolist()
    ['lr-2']
    """
    if params not in ("differing", "all", None):
        raise ValueError(f"params must be 'differing', 'all' or None, not {params!r}")
    directions = _check_best(best)
    if where is not None:
        check_where(con, where, "runs")
    series = _series(con, None)
    frame = _runs_frame(con, series, where=where)
    if where is not None:
        series = series[series.run_id.isin(frame.run_id)]
    keys = _choose_metrics(metrics, series)
    directions = {key: directions.get(key) or better(key) for key in keys}
    frame = frame.join(_metric_columns(keys, series, directions), on="run_id")
    if params is not None:
        frame = _join_params(frame, _param_columns(con, frame.run_id.tolist(), differing=params == "differing"))
    frame.attrs["metrics"] = keys
    frame.attrs["best"] = directions
    return frame


def better(key: str) -> Literal["min", "max"]:
    """Whether ``key`` is better low (``"min"``: loss, error, perplexity, ppl, wer, cer, time, latency) or high.

    >>> better("eval/loss"), better("eval/accuracy"), better("val_wer"), better("answer_rate")
    ('min', 'max', 'min', 'max')
    """
    return "min" if _MIN_IS_BETTER.search(key.lower()) else "max"


def params_diff(con: duckdb.DuckDBPyConnection, runs: Sequence[str] | None = None) -> pd.DataFrame:
    """The params that differ between ``runs`` (run ids, or names where a name is unique; default: every run):
    one row per param key (sorted), one column per run, labelled by its name where unique, else its id; values as
    text, ``None`` where a run lacks the param. Runs that have no params at all do not make every param differ.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO runs (run_id, name) VALUES ('a', 'small'), ('b', 'large')")
    >>> _ = lens.con.execute("INSERT INTO params (run_id, key, value) VALUES ('a', 'lr', '0.1'), ('b', 'lr', '0.2'), "
    ...     "('a', 'seed', '1'), ('b', 'seed', '1'), ('b', 'dropout', '0.5')")
    >>> params_diff(lens.con, ["small", "b"]).to_dict("index")
    {'dropout': {'small': None, 'large': '0.5'}, 'lr': {'small': '0.1', 'large': '0.2'}}
    """
    ids, labels = _resolve_runs(con, runs)
    long = _param_values(con, ids, differing=True)
    if ids is None:
        ids = [run_id for (run_id,) in con.sql(_PARAM_RUNS).fetchall()]
    labels = labels if labels is not None else _labels(con, ids)
    wide = long.pivot(index="key", columns="run_id", values="value") if len(long) else pd.DataFrame()
    wide = wide.reindex(index=sorted(set(long.key)), columns=ids).astype(object)
    wide = wide.where(wide.notna(), None)
    wide.columns = pd.Index([labels[run_id] for run_id in ids])
    wide.index.name = "param"
    return wide


def differing_params(con: duckdb.DuckDBPyConnection, runs: Sequence[str] | None = None) -> list[str]:
    """The keys of the params whose value is not the same in all of ``runs`` (ids or unique names; default: every
    run), sorted; a missing param counts as a different value.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO params (run_id, key, value) VALUES ('a', 'lr', '0.1'), ('b', 'lr', '0.2'), "
    ...     "('a', 'seed', '1'), ('b', 'seed', '1'), ('b', 'dropout', '0.5')")
    >>> differing_params(lens.con, ["a", "b"])
    ['dropout', 'lr']
    """
    ids, _ = _resolve_runs(con, runs)
    return sorted(set(_param_values(con, ids, differing=True).key))


def parallel_coordinates_frame(
    con: duckdb.DuckDBPyConnection,
    runs: Sequence[str] | None = None,
    metric: str | None = None,
    params: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per run (ids or unique names; default: every run) for a parallel-coordinates plot: ``run_id``,
    ``name``, one column per param (default: those that differ), then ``metric``'s final value (default: the loss
    most runs share). Number params stay numbers; text params become integer codes (in sorted order) whose labels
    are in ``frame.attrs["categories"][param]``. ``frame.attrs["metric"]`` names the metric.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO params (run_id, key, value) VALUES ('a', 'lr', '0.1'), ('b', 'lr', '0.2'), "
    ...     "('a', 'opt', 'sgd'), ('b', 'opt', 'adam')")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) "
    ...     "VALUES ('a', 'loss', 1, 0.5, 1), ('b', 'loss', 1, 0.4, 1)")
    >>> frame = parallel_coordinates_frame(lens.con)
    >>> frame[["run_id", "lr", "opt", "loss"]].values.tolist(), frame.attrs["categories"]
    ([['a', 0.1, 1, 0.5], ['b', 0.2, 0, 0.4]], {'opt': ['adam', 'sgd']})
    """
    ids, labels = _resolve_runs(con, runs)
    series = _series(con, ids)
    if metric is None:
        chosen = _choose_metrics(None, series)
        if not chosen:
            raise LensError("no metric to colour by: the runs have no loss or accuracy keys; pass metric=")
        metric = chosen[0]
    frame = _runs_frame(con, series, ids=ids)[["run_id", "name"]]
    series = series[series.key == metric]
    if not len(series):
        raise LensError(f"none of the runs has the metric {metric!r}")
    if labels is not None:
        frame = frame.set_index("run_id").loc[list(labels)].reset_index()
    keys = list(dict.fromkeys(params)) if params is not None else None
    wide = _pivot_params(_param_values(con, frame.run_id.tolist(), differing=keys is None, keys=keys))
    if keys is not None:
        unknown = [key for key in keys if key not in wide.columns]
        if unknown:
            raise LensError(f"none of the runs has the param {', '.join(map(repr, unknown))}")
        wide = wide[keys]
    frame = _join_params(frame, wide)
    categories: dict[str, list[str]] = {}
    for column in frame.columns[2:]:
        if frame[column].dtype == object:
            values = sorted({str(value) for value in frame[column].dropna()})
            categories[column] = values
            codes = frame[column].map({value: code for code, value in enumerate(values)})
            frame[column] = codes.astype("Int64")
    frame[metric] = frame.run_id.map(series.set_index("run_id")["last"]).astype(float)
    frame.attrs["categories"] = categories
    frame.attrs["metric"] = metric
    return frame


def parallel_coordinates(
    con: duckdb.DuckDBPyConnection,
    runs: Sequence[str] | None = None,
    metric: str | None = None,
    params: Sequence[str] | None = None,
) -> go.Figure:
    """A plotly parallel-coordinates figure of :func:`parallel_coordinates_frame`: one axis per param (text params
    with their labels as ticks), the last axis and the line colour the metric's final value.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO params (run_id, key, value) VALUES ('a', 'lr', '0.1'), ('b', 'lr', '0.2')")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) "
    ...     "VALUES ('a', 'loss', 1, 0.5, 1), ('b', 'loss', 1, 0.4, 1)")
    >>> figure = parallel_coordinates(lens.con)
    >>> [dimension.label for dimension in figure.data[0].dimensions]
    ['lr', 'loss']
    """
    import plotly.graph_objects as go

    frame = parallel_coordinates_frame(con, runs, metric=metric, params=params)
    metric_name: str = frame.attrs["metric"]
    categories: dict[str, list[str]] = frame.attrs["categories"]
    dimensions: list[dict[str, Any]] = []
    for column in frame.columns[2:]:
        values = frame[column].astype(float).tolist()
        dimension: dict[str, Any] = {"label": str(column), "values": values}
        if column in categories:
            labels = categories[column]
            dimension |= {"tickvals": list(range(len(labels))), "ticktext": labels}
        dimensions.append(dimension)
    colour = frame[metric_name].astype(float)
    line: dict[str, Any] = {
        "color": colour.tolist(),
        "colorscale": "Viridis",
        "reversescale": better(metric_name) == "min",
        "showscale": True,
        "colorbar": {"title": {"text": metric_name}},
    }
    if not colour.notna().any():
        line = {"color": "gray"}
    figure = go.Figure(go.Parcoords(dimensions=dimensions, line=line))
    figure.update_layout(title={"text": f"{metric_name} by params"})
    return figure


def _check_best(best: Mapping[str, str] | None) -> dict[str, str]:
    directions = dict(best or {})
    wrong = {key: value for key, value in directions.items() if value not in ("min", "max")}
    if wrong:
        raise ValueError(f"best maps metric keys to 'min' or 'max', not {wrong!r}")
    return directions


def _run_filter(ids: Sequence[str] | None, *, where: bool = True) -> str:
    """Fixed SQL text that keeps the rows of ``$runs`` (bound separately), or nothing when every run is wanted."""
    if ids is None:
        return ""
    return "WHERE run_id = ANY($runs)" if where else "AND run_id = ANY($runs)"


def _series(con: duckdb.DuckDBPyConnection, ids: Sequence[str] | None) -> pd.DataFrame:
    """Every series of the runs (all, or ``ids``) in one pass: ``run_id, key, steps, last_time`` (Unix µs),
    ``last, low, high``, over the points no restart superseded."""
    params = None if ids is None else {"runs": list(ids)}
    series: pd.DataFrame = con.sql(_SERIES.format(run_and=_run_filter(ids, where=False)), params=params).df()
    return series


def _runs_frame(
    con: duckdb.DuckDBPyConnection,
    series: pd.DataFrame,
    *,
    where: str | None = None,
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The leading columns, one row per run (``runs`` rows and runs only seen in ``metrics``), sorted by start.

    The runs' highest step and last point time (from ``series``) are bound as lists, so ``where`` sees them too.
    """
    points = series.groupby("run_id", sort=False).agg(steps=("steps", "max"), last_time=("last_time", "max"))
    params: dict[str, Any] = {
        "point_runs": points.index.tolist(),
        "point_steps": _nullable(points.steps),
        "point_times": _nullable(points.last_time),
    }
    if ids is not None:
        params["runs"] = list(ids)
    query = _RUNS.format(run_filter=_run_filter(ids))
    if where is not None:
        query += where_clause(con, where, "runs")
    try:
        frame: pd.DataFrame = con.sql(query, params=params).df()
    except duckdb.Error as error:
        if where is None:
            raise
        raise LensError(f"where {where!r} failed: {error}; the columns are {', '.join(WHERE_COLUMNS)}") from error
    frame = frame.sort_values(["started_at", "run_id"], na_position="last", kind="stable").reset_index(drop=True)
    frame["steps"] = frame.steps.astype("Int64")
    return frame


def _nullable(column: pd.Series[Any]) -> list[int | None]:
    """Integers as a list, missing ones as None (bound as SQL NULL)."""
    values: list[int | None] = column.astype(object).where(column.notna(), None).tolist()
    return values


def _choose_metrics(metrics: Sequence[str] | None, series: pd.DataFrame) -> list[str]:
    """The metric keys to show: ``metrics`` (globs expanded over the keys in ``series``), or the default ones."""
    present = sorted(set(series.key))
    if isinstance(metrics, str):
        metrics = [metrics]
    if metrics is not None:
        return matching_keys(present, metrics)
    counts = series.groupby("key").run_id.nunique()
    shared = {str(key): int(count) for key, count in counts.items()}
    total = series.run_id.nunique()
    losses = [key for key in present if "loss" in key.lower() and not key.startswith("system/")]
    accuracies = [
        key for key in present if _ACCURACY.search(key.lower()) and key not in losses and not key.startswith("system/")
    ]
    keys = _most_shared(losses, shared, total, MAX_LOSS_METRICS)
    return keys + _most_shared(accuracies, shared, total, MAX_DEFAULT_METRICS - len(keys))


def _most_shared(keys: Sequence[str], shared: Mapping[str, int], total: int, limit: int) -> list[str]:
    """Up to ``limit`` of ``keys`` that at least half the runs have (else the most shared one), most shared first."""
    ranked = sorted((key for key in keys if shared.get(key)), key=lambda key: (-shared[key], key))
    kept = [key for key in ranked if 2 * shared[key] >= total] or ranked[:1]
    return kept[: max(limit, 0)]


def _metric_columns(keys: Sequence[str], series: pd.DataFrame, directions: Mapping[str, str]) -> pd.DataFrame:
    """``<key> last`` and ``<key> best`` per key, indexed by run_id."""
    columns: dict[str, pd.Series[float]] = {}
    by_key = {key: part.set_index("run_id") for key, part in series.groupby("key")}
    for key in keys:
        part = by_key.get(key)
        empty = pd.Series(dtype=float)
        columns[f"{key} last"] = empty if part is None else part["last"].astype(float)
        extreme = "low" if directions[key] == "min" else "high"
        columns[f"{key} best"] = empty if part is None else part[extreme].astype(float)
    frame = pd.DataFrame(columns)
    frame.index.name = "run_id"
    return frame


def _param_values(
    con: duckdb.DuckDBPyConnection,
    ids: Sequence[str] | None,
    *,
    differing: bool,
    keys: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Long ``run_id, key, value, number, numeric`` rows of the params of ``ids`` (all, or those that differ)."""
    params: dict[str, Any] = {"differing": differing} | ({} if ids is None else {"runs": list(ids)})
    long: pd.DataFrame = con.sql(_PARAMS.format(run_filter=_run_filter(ids)), params=params).df()
    if keys is not None:
        long = long[long.key.isin(keys)]
    return long


def _param_columns(con: duckdb.DuckDBPyConnection, ids: Sequence[str], *, differing: bool) -> pd.DataFrame:
    return _pivot_params(_param_values(con, ids, differing=differing))


def _pivot_params(long: pd.DataFrame) -> pd.DataFrame:
    """Wide params indexed by run_id, sorted by key: numbers where every value is one (integers as Int64)."""
    columns: dict[str, pd.Series[Any]] = {}
    for key, part in long.groupby("key", sort=True):
        rows = part.set_index("run_id")
        if bool(rows.numeric.iloc[0]):
            number = rows.number.astype(float)
            finite = number[number.map(math.isfinite)]
            integral = bool(
                (finite == finite.round()).all() and (finite.abs() < 2**53).all() and len(finite) == len(number)
            )
            columns[str(key)] = number.astype("Int64") if integral else number
        else:
            columns[str(key)] = rows.value.astype(object)
    frame = pd.DataFrame(columns)
    frame.index.name = "run_id"
    return frame


def _join_params(frame: pd.DataFrame, wide: pd.DataFrame) -> pd.DataFrame:
    """Join param columns to ``frame`` on run_id (a text param a run lacks is None); a param named like a column
    already there gets `` (param)``."""
    wide = wide.rename(columns={key: f"{key} (param)" for key in wide.columns if key in frame.columns})
    joined = frame.join(wide, on="run_id")
    for column in wide.columns:
        if joined[column].dtype == object:
            joined[column] = joined[column].where(joined[column].notna(), None)
    return joined


def _resolve_runs(
    con: duckdb.DuckDBPyConnection, runs: Sequence[str] | None
) -> tuple[list[str] | None, dict[str, str] | None]:
    """Run ids for ``runs`` (see :func:`~llmlens.analysis.run_names.run_ids`) and their column labels;
    ``(None, None)`` for all."""
    if runs is None:
        return None, None
    ids = run_ids(con, [runs] if isinstance(runs, str) else runs)
    return ids, _labels(con, ids)


def _labels(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, str]:
    rows = con.sql("SELECT run_id, name FROM runs WHERE list_contains($runs, run_id)", params={"runs": list(ids)})
    return _unique_labels(ids, dict(rows.fetchall()))


def _unique_labels(ids: Sequence[str], names: Mapping[str, str | None]) -> dict[str, str]:
    """Each run's name where no other of ``ids`` has it (and it is no other run's id), else its id."""
    counts: dict[str, int] = {}
    for run_id in ids:
        name = names.get(run_id)
        if name:
            counts[name] = counts.get(name, 0) + 1
    labels = {}
    for run_id in ids:
        name = names.get(run_id)
        clash = name in ids and name != run_id
        labels[run_id] = name if name and counts[name] == 1 and not clash else run_id
    return labels
