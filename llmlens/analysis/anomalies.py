"""What went wrong in training runs, found in SQL inside DuckDB: NaN/inf values, loss spikes, stalls, restarts and
straggler GPUs. Each finder returns one row per finding with the same columns, so a chart can mark them all.

Columns: ``run_id, key`` (NULL for a finding about the whole run), ``kind``, ``step`` (where it starts),
``step_end``, ``wall_time``, ``value``, ``score`` (how strong: a robust z-score, a gap ratio, a deficit) and
``detail``, a sentence for people.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from llmlens.analysis.metric_keys import resolve_keys

COLUMNS = ["run_id", "key", "kind", "step", "step_end", "wall_time", "value", "score", "detail"]

_SCOPE = """
    ($runs IS NULL OR list_contains($runs, run_id))
    AND ($keys IS NULL OR list_contains($keys, key))
"""
"""The runs and keys a scan covers (all when not given)."""

_NON_FINITE = f"""
WITH bad_series AS (
    SELECT DISTINCT run_id, key FROM metrics WHERE NOT isfinite(value) AND NOT superseded AND {_SCOPE}
), points AS (
    SELECT m.run_id, m.key, m.step, m.wall_time, m.value, NOT isfinite(m.value) AS bad,
           row_number() OVER (PARTITION BY m.run_id, m.key ORDER BY m.step, m.seq)
         - row_number() OVER (PARTITION BY m.run_id, m.key, isfinite(m.value) ORDER BY m.step, m.seq) AS island
    FROM metrics m SEMI JOIN bad_series USING (run_id, key) WHERE NOT m.superseded
)
SELECT run_id, key, 'non_finite' AS kind, min(step) AS step, max(step) AS step_end, min(wall_time) AS wall_time,
       arg_min(value, step) AS value, CAST(count(*) AS DOUBLE) AS score,
       CASE WHEN count(DISTINCT CAST(value AS VARCHAR)) = 1 THEN CAST(any_value(value) AS VARCHAR) ELSE 'NaN/inf' END
       || CASE WHEN count(*) = 1 THEN ' at step ' || min(step)
               ELSE ' from step ' || min(step) || ' to ' || max(step) || ' (' || count(*) || ' points)' END AS detail
FROM points WHERE bad GROUP BY run_id, key, island
"""

_SPIKES = f"""
WITH points AS (
    SELECT run_id, key, step, wall_time, value FROM metrics
    WHERE NOT superseded AND isfinite(value) AND key NOT LIKE 'system/%' AND {_SCOPE}
), residuals AS (
    SELECT *, value - avg(value) OVER before AS back, value - avg(value) OVER after AS ahead,
           row_number() OVER (PARTITION BY run_id, key ORDER BY step) AS position
    FROM points
    WINDOW before AS (PARTITION BY run_id, key ORDER BY step ROWS BETWEEN $window PRECEDING AND 1 PRECEDING),
           after AS (PARTITION BY run_id, key ORDER BY step ROWS BETWEEN 1 FOLLOWING AND $window FOLLOWING)
), scales AS (
    SELECT run_id, key, 1.4826 * median(abs(back)) AS noise,
           quantile_cont(value, 0.99) - quantile_cont(value, 0.01) AS spread
    FROM residuals GROUP BY run_id, key HAVING count(*) >= $min_points
), flagged AS (
    SELECT r.*, r.back / greatest(s.noise, 1e-12) AS score,
           CASE WHEN position - lag(position) OVER (PARTITION BY r.run_id, r.key ORDER BY r.step) <= $window
                THEN 0 ELSE 1 END AS starts
    FROM residuals r JOIN scales s USING (run_id, key)
    WHERE s.spread > 0 AND abs(r.back) >= $threshold * s.noise AND abs(r.back) >= $relative * s.spread
      AND sign(r.ahead) = sign(r.back) AND abs(r.ahead) >= $threshold * s.noise
), islands AS (  -- flagged points less than a window apart are one spike
    SELECT *, sum(starts) OVER (PARTITION BY run_id, key ORDER BY step) AS island FROM flagged
)
SELECT run_id, key, 'spike' AS kind, arg_max(step, abs(score)) AS step, max(step) AS step_end,
       arg_max(wall_time, abs(score)) AS wall_time, arg_max(value, abs(score)) AS value,
       arg_max(score, abs(score)) AS score,
       printf('%s to %.4g at step %d, %.1f times the usual step-to-step noise',
              CASE WHEN arg_max(score, abs(score)) > 0 THEN 'up' ELSE 'down' END,
              arg_max(value, abs(score)), arg_max(step, abs(score)), max(abs(score))) AS detail
FROM islands GROUP BY run_id, key, island
"""

_STALLS = """
WITH moments AS (
    SELECT DISTINCT run_id, wall_time FROM metrics
    WHERE wall_time IS NOT NULL AND {scope}
), gaps AS (
    SELECT run_id, wall_time AS stopped, lead(wall_time) OVER (PARTITION BY run_id ORDER BY wall_time) AS resumed
    FROM moments
), timed AS (
    SELECT *, epoch(resumed) - epoch(stopped) AS seconds FROM gaps WHERE resumed IS NOT NULL
), usual AS (SELECT run_id, median(seconds) AS typical FROM timed GROUP BY run_id HAVING count(*) >= 10)
SELECT t.run_id, NULL AS key, 'stall' AS kind,
       (SELECT min(step) FROM metrics m WHERE m.run_id = t.run_id AND m.wall_time = t.resumed) AS step,
       NULL AS step_end, t.resumed AS wall_time, NULL AS value, t.seconds / greatest(u.typical, 1e-9) AS score,
       printf('no point for %s (usually %s between points), resumed %s', {gap}, {typical},
              strftime(t.resumed, '%Y-%m-%d %H:%M')) AS detail
FROM timed t JOIN usual u USING (run_id)
WHERE t.seconds > greatest($gap_factor * u.typical, $min_gap)
"""


def _duration(seconds: str) -> str:
    """SQL text that writes a number of seconds as ``3.2 s``, ``21.0 min`` or ``5.5 h``."""
    return (
        f"CASE WHEN {seconds} < 120 THEN printf('%.1f s', {seconds}) WHEN {seconds} < 7200 "
        f"THEN printf('%.1f min', {seconds} / 60) ELSE printf('%.1f h', {seconds} / 3600) END"
    )


_STALLS = (
    _STALLS.replace("{gap}", _duration("t.seconds"))
    .replace("{typical}", _duration("u.typical"))
    .replace("{scope}", _SCOPE)
)

_RESTARTS = """
WITH main_key AS (  -- the key each run logged most often: the one its restarts show on
    SELECT run_id, arg_max(key, points) AS key FROM (
        SELECT run_id, key, count(*) AS points FROM metrics
        WHERE {scope} AND (seq IS NOT NULL OR wall_time IS NOT NULL)
        GROUP BY run_id, key)
    GROUP BY run_id
), ordered AS (
    SELECT m.run_id, m.step, m.wall_time,
           lag(m.step) OVER logged AS previous,
           max(m.step) OVER (logged ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reached
    FROM metrics m SEMI JOIN main_key USING (run_id, key)
    WINDOW logged AS (PARTITION BY m.run_id ORDER BY m.seq, m.wall_time)
)
SELECT run_id, NULL AS key, 'restart' AS kind, step, reached AS step_end, wall_time, NULL AS value,
       CAST(reached - step AS DOUBLE) AS score,
       printf('resumed from step %d after reaching step %d (%d steps logged again)', step, reached,
              reached - step + 1) AS detail
FROM ordered WHERE step < previous
"""

_STRAGGLERS = """
WITH gpus AS (
    SELECT run_id, CAST(regexp_extract(key, '^system/gpu\\.(\\d+)\\.', 1) AS INTEGER) AS gpu, step, wall_time, value
    FROM metrics
    WHERE key GLOB 'system/gpu.*.' || $metric AND isfinite(value) AND NOT superseded
      AND ($runs IS NULL OR list_contains($runs, run_id))
), spans AS (SELECT run_id, min(step) AS lo, max(step) AS hi FROM gpus GROUP BY run_id),
windows AS (
    SELECT g.run_id, g.gpu,
           CAST(least(floor((g.step - s.lo) / greatest(s.hi - s.lo, 1) * $windows), $windows - 1) AS INTEGER) AS slot,
           avg(g.value) AS value, min(g.step) AS step, min(g.wall_time) AS wall_time
    FROM gpus g JOIN spans s USING (run_id) GROUP BY ALL
), peers AS (
    SELECT *, median(value) OVER (PARTITION BY run_id, slot) AS peer,
              count(*) OVER (PARTITION BY run_id, slot) AS devices
    FROM windows
), per_gpu AS (
    SELECT run_id, gpu, count(*) AS windows, count(*) FILTER (WHERE peer - value > $margin) AS behind,
           avg(value) AS value, avg(peer) AS peer, min(step) AS step, min(wall_time) AS wall_time
    FROM peers WHERE devices >= 3 GROUP BY run_id, gpu
)
SELECT run_id, 'system/gpu.' || gpu || '.' || $metric AS key, 'straggler' AS kind, step, NULL AS step_end,
       wall_time, value, peer - value AS score,
       printf('GPU %d at %.0f%% %s vs %.0f%% for its peers, behind in %d of %d windows', gpu, value, $metric, peer,
              behind, windows) AS detail
FROM per_gpu WHERE windows >= 5 AND behind >= $share * windows
"""


_RESTARTS = _RESTARTS.replace("{scope}", _SCOPE)


def _frame(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any]) -> pd.DataFrame:
    """The findings of ``query`` with the shared columns and types, sorted by run and step."""
    frame: pd.DataFrame = con.sql(
        f"SELECT run_id, CAST(key AS VARCHAR) AS key, kind, CAST(step AS BIGINT) AS step, "
        f"CAST(step_end AS BIGINT) AS step_end, CAST(wall_time AS TIMESTAMPTZ) AS wall_time, "
        f"CAST(value AS DOUBLE) AS value, CAST(score AS DOUBLE) AS score, detail FROM ({query}) "
        "ORDER BY run_id, step NULLS LAST, key",
        params=params,
    ).df()
    return frame


def _scope(con: duckdb.DuckDBPyConnection, runs: Sequence[str] | None, keys: Sequence[str] | None) -> dict[str, Any]:
    """The bound parameters of :data:`_SCOPE`: the globs resolved to the keys they match once, so the scan of the
    points compares each with a list instead of matching every pattern."""
    matching = resolve_keys(con, keys) if keys is not None else None
    return {"runs": list(runs) if runs is not None else None, "keys": matching}


def non_finite(
    con: duckdb.DuckDBPyConnection, *, runs: Sequence[str] | None = None, keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """Runs of consecutive NaN or infinite values of a metric, one finding each (first and last step, count).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r', 'loss', i, "
    ...                      "CASE WHEN i BETWEEN 50 AND 59 THEN 'nan'::DOUBLE ELSE 1 END, i FROM range(100) t(i)")
    >>> non_finite(lens.con).detail.tolist()
    ['nan from step 50 to 59 (10 points)']
    """
    return _frame(con, _NON_FINITE, _scope(con, runs, keys))


def spikes(
    con: duckdb.DuckDBPyConnection,
    *,
    runs: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    threshold: float = 8.0,
    relative: float = 0.25,
    window: int = 20,
    min_points: int = 30,
) -> pd.DataFrame:
    """Points far from their series' recent trend, and from what follows (a spike, not a step change).

    A point's residual is its distance from the mean of the ``window`` points before it. It is a spike when that
    residual is at least ``threshold`` times the series' usual step-to-step noise (1.4826 × the median absolute
    residual, a robust standard deviation) and at least ``relative`` times the series' spread (1st to 99th
    percentile), so smooth schedules (a learning-rate warmup) do not count; and when the point also stands out,
    in the same direction, from the ``window`` points after it. Flagged points less than ``window`` apart are one
    spike, reported at the strongest. System metrics are left to :func:`stragglers`; series under ``min_points``
    are skipped.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r', 'loss', i, "
    ...                      "CASE WHEN i = 500 THEN 9 ELSE 2 - i / 1000 + 0.01 * sin(i * 7) END, i "
    ...                      "FROM range(1000) t(i)")
    >>> spikes(lens.con)[["key", "step", "value"]].values.tolist()
    [['loss', 500, 9.0]]
    """
    params = _scope(con, runs, keys) | {"threshold": threshold, "relative": relative, "window": window,
                                   "min_points": min_points}  # fmt: skip
    return _frame(con, _SPIKES, params)


def stalls(
    con: duckdb.DuckDBPyConnection,
    *,
    runs: Sequence[str] | None = None,
    keys: Sequence[str] | None = None,
    gap_factor: float = 20.0,
    min_gap: float = 300.0,
) -> pd.DataFrame:
    """Gaps in a run's wall time (a crash, a preemption, a hung job): longer than ``gap_factor`` times the run's
    median time between points and than ``min_gap`` seconds. The step is where logging resumed. ``keys`` (globs)
    limits the points looked at (a chart's keys: a gap in them).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, wall_time, value, seq) SELECT 'r', 'loss', i, "
    ...                      "make_timestamp(1763157600000000 + (i + CASE WHEN i >= 60 THEN 3600 ELSE 0 END) "
    ...                      "* 1000000), 1, i FROM range(100) t(i)")
    >>> stalls(lens.con).detail.tolist()
    ['no point for 60.0 min (usually 1.0 s between points), resumed 2025-11-14 23:01']
    """
    params = _scope(con, runs, keys) | {"gap_factor": gap_factor, "min_gap": min_gap}
    return _frame(con, _STALLS, params)


def restarts(
    con: duckdb.DuckDBPyConnection, *, runs: Sequence[str] | None = None, keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """Where a run's step went back (it resumed from a checkpoint and logged steps again), in the order it logged
    its points, on the key it logged most (of ``keys``, globs, when given).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r', 'loss', "
    ...                      "CASE WHEN i < 80 THEN i ELSE i - 30 END, 1, i FROM range(120) t(i)")
    >>> restarts(lens.con).detail.tolist()
    ['resumed from step 50 after reaching step 79 (30 steps logged again)']
    """
    return _frame(con, _RESTARTS, _scope(con, runs, keys))


def stragglers(
    con: duckdb.DuckDBPyConnection,
    *,
    runs: Sequence[str] | None = None,
    metric: str = "utilization",
    margin: float = 15.0,
    share: float = 0.8,
    windows: int = 100,
) -> pd.DataFrame:
    """GPUs persistently behind their peers: ``system/gpu.<i>.<metric>`` is averaged in ``windows`` step ranges;
    a GPU more than ``margin`` below the median of the run's GPUs in at least ``share`` of them is a straggler
    (a slow or throttled device holds every other back in synchronous training). Needs three GPUs or more.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r', "
    ...                      "'system/gpu.' || g || '.utilization', s, CASE WHEN g = 2 THEN 60 ELSE 95 END, s "
    ...                      "FROM range(4) a(g), range(200) b(s)")
    >>> stragglers(lens.con).detail.tolist()
    ['GPU 2 at 60% utilization vs 95% for its peers, behind in 100 of 100 windows']
    """
    params = {"runs": list(runs) if runs is not None else None, "metric": metric, "margin": margin,
              "share": share, "windows": windows}  # fmt: skip
    return _frame(con, _STRAGGLERS, params)


def anomalies(
    con: duckdb.DuckDBPyConnection, *, runs: Sequence[str] | None = None, keys: Sequence[str] | None = None
) -> pd.DataFrame:
    """Every finding of :func:`non_finite`, :func:`spikes`, :func:`stalls`, :func:`restarts` and
    :func:`stragglers` for ``runs`` (ids; default all), NaN and spikes on ``keys`` (globs; default all).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r', 'loss', i, "
    ...                      "CASE WHEN i >= 90 THEN 'inf'::DOUBLE ELSE 1 END, i FROM range(100) t(i)")
    >>> anomalies(lens.con)[["kind", "step", "detail"]].values.tolist()
    [['non_finite', 90, 'inf from step 90 to 99 (10 points)']]
    """
    parts = [
        non_finite(con, runs=runs, keys=keys),
        spikes(con, runs=runs, keys=keys),
        stalls(con, runs=runs),
        restarts(con, runs=runs),
        stragglers(con, runs=runs),
    ]
    return combined(parts)


def combined(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Findings of several finders as one frame, sorted by run and step.

    >>> combined([pd.DataFrame(columns=COLUMNS)]).columns.tolist() == COLUMNS
    True
    """
    found = [part for part in parts if len(part)]
    if not found:
        return parts[0]
    frame = pd.concat(found, ignore_index=True)
    return frame.sort_values(["run_id", "step", "kind"], na_position="last", kind="stable").reset_index(drop=True)
