"""Metric overviews: charts zoomed out on the step axis answered from the overview each load keeps of a series,
the same answer as bucketing the points."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import llmlens
from llmlens.analysis.buckets import group_bands, metric_buckets
from llmlens.analysis.overviews import overview_bands, overview_buckets
from llmlens.loaders import metric_tables
from llmlens.loaders.writes import refresh_overviews
from llmlens.store import schema
from llmlens.widgets.chart_data import View, chart_bands, chart_buckets, pick

SHORT_SERIES = """
INSERT INTO metrics (run_id, key, step, value, seq)
SELECT 'a', 'loss', i, CASE WHEN i BETWEEN 100 AND 104 THEN 'nan'::DOUBLE WHEN i = 2000 THEN 'inf'::DOUBLE
                            WHEN i = 2001 THEN '-inf'::DOUBLE ELSE sin(i / 50) END, i FROM range(3000) t(i)
UNION ALL SELECT 'b', 'loss', 500 + i, cos(i / 30) * 2, i FROM range(1000) t(i)
UNION ALL SELECT 'c', 'loss', i * 37, 1 / (1 + i), i FROM range(82) t(i)
UNION ALL SELECT 'd', 'loss', i, i / 1000, i FROM range(2000) t(i)
UNION ALL SELECT 'd', 'loss', 1200 + i, 5 - i / 1000, 2000 + i FROM range(1800) t(i)
UNION ALL SELECT 'e', 'loss', 3990 + i, CASE WHEN i < 5 THEN 'nan'::DOUBLE ELSE i END, i FROM range(10) t(i)
UNION ALL SELECT 'a', 'loss', NULL, 7, 9999
UNION ALL SELECT 'a', 'acc', i, i % 7, i FROM range(100) t(i)
"""
"""Series of up to 4,096 steps (one step per overview range): of different lengths and starts, sparse (c, every
37 steps), with NaN and infinities (a; e starts with NaN only), a restart (d resumed from step 1200: its first
points from there on superseded, as a load marks them), a point without a step, and a second key."""

RESTART = "UPDATE metrics SET superseded = true WHERE run_id = 'd' AND seq < 2000 AND step >= 1200"

LONG_SERIES = """
INSERT INTO metrics (run_id, key, step, value, seq)
SELECT 'long', 'loss', i, CASE WHEN i = 65432 THEN 40 WHEN i BETWEEN 5000 AND 5003 THEN 'nan'::DOUBLE
                               ELSE 2 + sin(i / 700) - i / 200000 END, i FROM range(100000) t(i)
UNION ALL SELECT 'mid', 'loss', 20000 + i, cos(i / 90), i FROM range(10000) t(i)
UNION ALL SELECT 'sparse', 'loss', i * 97, i % 5, i FROM range(1031) t(i)
UNION ALL SELECT 'steps10', 'loss', i * 10, -i, i FROM range(9000) t(i)
UNION ALL SELECT 'restart', 'loss', i, i, i FROM range(30000) t(i)
UNION ALL SELECT 'restart', 'loss', 15000 + i, -i, 30000 + i FROM range(20000) t(i)
"""
"""Series longer than 4,096 steps: 100,000 steps with a spike and NaN, a shorter one starting later, a sparse one
(every 97 steps: most ranges empty), one logged every 10 steps, one resumed from step 15,000."""

_EXACT = """
SELECT count(*) FILTER (WHERE NOT (b.low IS NOT DISTINCT FROM p.low AND b.high IS NOT DISTINCT FROM p.high
                                   AND b.last IS NOT DISTINCT FROM p.last AND b.points = p.points
                                   AND b.non_finite = p.non_finite)) AS wrong,
       count(*) FILTER (WHERE p.first - b.x_first >= o.width OR b.x_last - p.final >= o.width) AS loose,
       count(*) FILTER (WHERE p.back < -1 OR p.ahead > 0) AS misplaced,
       sum(b.points) AS points
FROM buckets b JOIN metric_overviews o ON o.run_id = b.run_id AND o.key = $key JOIN (
    SELECT b.run_id, b.bucket, min(m.step) AS first, max(m.step) AS final,
           min(b.bucket - (m.step - $origin) * $buckets // $span) AS back,
           max(b.bucket - (m.step - $origin) * $buckets // $span) AS ahead,
           CAST(min(m.value) FILTER (WHERE isfinite(m.value)) AS FLOAT) AS low,
           CAST(max(m.value) FILTER (WHERE isfinite(m.value)) AS FLOAT) AS high,
           CAST(arg_max(m.value, m.step) AS FLOAT) AS last, CAST(count(*) AS INTEGER) AS points,
           CAST(count(*) FILTER (WHERE NOT isfinite(m.value)) AS INTEGER) AS non_finite
    FROM buckets b JOIN metrics m ON m.run_id = b.run_id AND m.key = $key AND NOT m.superseded
                                  AND m.step BETWEEN b.x_first AND b.x_last
    GROUP BY b.run_id, b.bucket
) p ON p.run_id = b.run_id AND p.bucket = b.bucket
"""
"""Bucket by bucket: how many do not hold exactly the points between their first and last step, how many span
more than a range beyond their first or last point, how many hold a point the points' bucketing puts in a bucket
other than the same or the next, and the points they hold in all."""


def _same(got: pa.Table, want: pa.Table) -> None:
    """Equal tables: the same columns and types, the same values (NULL where NULL, NaN where NaN)."""
    assert got.schema == want.schema
    assert got.num_rows == want.num_rows
    for name in want.column_names:
        a, b = got.column(name), want.column(name)
        assert a.is_null().to_pylist() == b.is_null().to_pylist(), name
        if pa.types.is_floating(b.type):
            x = np.asarray(a.to_numpy(zero_copy_only=False), np.float64)
            y = np.asarray(b.to_numpy(zero_copy_only=False), np.float64)
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert a.to_pylist() == b.to_pylist(), name


def _exactly_their_points(con: duckdb.DuckDBPyConnection, buckets: pa.Table, pixels: int, key: str = "loss") -> int:
    """Check every bucket holds exactly the points of its step span (within a range of them, in the points' bucket
    or the one before), spans of a run not overlapping; return the points they hold."""
    origin, last = con.execute("SELECT min(step), max(step) FROM metrics WHERE key = ? AND NOT superseded",
                               [key]).fetchall()[0]  # fmt: skip
    chart = {"key": key, "origin": origin, "span": last - origin + 1, "buckets": 2 * pixels}
    wrong, loose, misplaced, points = con.execute(_EXACT, chart).fetchall()[0]
    assert (wrong, loose, misplaced) == (0, 0, 0)
    frame = buckets.select(["run_id", "x_first", "x_last"]).to_pandas()
    after = frame.groupby("run_id").x_first.shift(-1)
    assert ((frame.x_last < after) | after.isna()).all() and (frame.x_first <= frame.x_last).all()
    return int(points)


@pytest.fixture
def short() -> llmlens.Lens:
    lens = llmlens.open(":memory:")
    lens.con.execute(SHORT_SERIES)
    lens.con.execute(RESTART)
    return lens


@pytest.mark.parametrize("pixels", [1, 7, 100, 1000, 2048])
def test_short_series_buckets_from_the_overview_equal_the_points_buckets(short: llmlens.Lens, pixels: int) -> None:
    from_points = metric_buckets(short.con, "loss", pixels=pixels)
    refresh_overviews(short.con)
    assert overview_buckets(short.con, "loss", pixels=pixels) is not None  # the overviews answer
    _same(metric_buckets(short.con, "loss", pixels=pixels), from_points)
    refresh_overviews(short.con, runs=["a", "b"])  # their rows now come last: still sorted by run in the answer
    assert short.con.execute("SELECT list(run_id) FROM metric_overviews WHERE key = 'loss'").fetchall()[0][0][-2:] in (
        ["a", "b"], ["b", "a"])  # fmt: skip
    _same(metric_buckets(short.con, "loss", pixels=pixels), from_points)
    for runs in (["d", "b"], ["c"], ["nobody"]):
        refresh_overviews(short.con)
        picked = metric_buckets(short.con, "loss", runs=runs, pixels=pixels)
        short.con.execute("DELETE FROM metric_overviews")
        _same(picked, metric_buckets(short.con, "loss", runs=runs, pixels=pixels))


def test_restarted_points_and_points_without_a_step_stay_out_of_the_overview(short: llmlens.Lens) -> None:
    refresh_overviews(short.con)
    rows = {row[0]: row[1:] for row in short.con.execute(
        "SELECT run_id, n_rows, n_points, lo, hi FROM metric_overviews WHERE key = 'loss'").fetchall()}  # fmt: skip
    assert rows["d"] == (3800, 3000, 0, 2999) and rows["a"] == (3001, 3000, 0, 2999)
    nan_only = short.con.execute("SELECT low[1], high[1], last[1], non_finite[1:2] FROM metric_overviews "
                                 "WHERE run_id = 'e'").fetchall()[0]  # fmt: skip
    assert nan_only[:2] == (None, None) and math.isnan(nan_only[2]) and nan_only[3] == [1, 1]
    listed = "SELECT list(run_id ORDER BY run_id) FROM metric_overviews WHERE {} IS NOT NULL"
    assert short.con.execute(listed.format("bucket")).fetchall() == [(["c"],)]  # the sparse series: ranges listed
    assert short.con.execute(listed.format("points")).fetchall() == [(["c"],)]  # the others: a point every step
    assert short.con.execute(listed.format("non_finite")).fetchall() == [(["a", "e"],)]


@pytest.mark.parametrize("pixels", [3, 400, 1000, 2000])
def test_long_series_buckets_hold_exactly_the_points_of_the_steps_they_span(pixels: int) -> None:
    with llmlens.open(":memory:") as lens:
        lens.con.execute(LONG_SERIES)
        lens.con.execute("UPDATE metrics SET superseded = true WHERE run_id = 'restart' AND seq < 30000 "
                         "AND step >= 15000")  # fmt: skip
        from_points = metric_buckets(lens.con, "loss", pixels=pixels)
        refresh_overviews(lens.con)
        buckets = overview_buckets(lens.con, "loss", pixels=pixels)
        assert buckets is not None
        _same(metric_buckets(lens.con, "loss", pixels=pixels), buckets)
        assert buckets.schema == from_points.schema
        held = _exactly_their_points(lens.con, buckets, pixels)
        assert held == sum(from_points.column("points").to_pylist()) == 155031
        per_run = [t.to_pandas().groupby("run_id").agg(low=("low", "min"), high=("high", "max"), last=("last", "last"))
                   for t in (buckets, from_points)]  # fmt: skip
        pd.testing.assert_frame_equal(per_run[0], per_run[1])  # per run: the same extremes and last value
        assert per_run[0].loc["long", "high"] == 40
        assert abs(buckets.num_rows - from_points.num_rows) <= 0.02 * from_points.num_rows


def test_a_single_step_spike_in_a_million_steps_is_in_the_overview_answer_at_full_zoom_out() -> None:
    with llmlens.open(":memory:") as lens:
        lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'run-' || r, 'train/loss', i, "
                         "CASE WHEN r = 1 AND i = 654321 THEN 9.5 ELSE 1 / (1 + i / 1e5) END, i "
                         "FROM range(2) a(r), range(1000000) t(i)")  # fmt: skip
        refresh_overviews(lens.con)
        table = overview_buckets(lens.con, "train/loss", pixels=500)
        assert table is not None and table.num_rows == 2 * 1000
        spike = [row for row in table.to_pylist() if row["high"] == 9.5]
        assert len(spike) == 1 and spike[0]["run_id"] == "run-1"
        assert spike[0]["x_first"] <= 654321 <= spike[0]["x_last"] and spike[0]["last"] < 9.5
        assert sum(table.column("points").to_pylist()) == 2_000_000
        charted = chart_buckets(lens.con, pick(lens.con, "train/loss"), View(pixels=500))
        assert max(charted.column("high").to_pylist()) == 9.5


def test_bands_from_the_overview_equal_bands_from_the_points(short: llmlens.Lens) -> None:
    short.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'f', 'loss', i, "
                      "CASE WHEN i % 500 = 3 THEN 'nan'::DOUBLE ELSE i / 3000 END, i "
                      "FROM range(2500) t(i)")  # fmt: skip
    groups = {"a": "lr=0.1", "b": "lr=0.1", "c": "lr=0.01", "d": "lr=0.01", "e": "lr=1", "f": "lr=0.1"}
    for pixels in (1, 50, 1000):
        short.con.execute("DELETE FROM metric_overviews")
        from_points = group_bands(short.con, "loss", groups, pixels=pixels)
        refresh_overviews(short.con)
        ours = overview_bands(short.con, "loss", groups, pixels=pixels)
        assert ours is not None
        _same(group_bands(short.con, "loss", groups, pixels=pixels), ours)
        assert ours.schema == from_points.schema and ours.num_rows == from_points.num_rows
        for name in ("group", "bucket", "x_first", "x_last", "runs", "non_finite"):
            assert ours.column(name).to_pylist() == from_points.column(name).to_pylist(), name
        for name in ("mean", "std", "low", "high"):  # float32 sums in another order: the last bit may differ
            got = np.asarray(ours.column(name).to_numpy(zero_copy_only=False), np.float64)
            want = np.asarray(from_points.column(name).to_numpy(zero_copy_only=False), np.float64)
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, equal_nan=True, err_msg=name)


def test_chart_data_is_the_same_from_the_overview_and_from_the_points(short: llmlens.Lens) -> None:
    picked = pick(short.con, ["loss", "acc"])
    view = View(pixels=300, smoothing="ema")
    groups = {"a": "x", "b": "x", "c": "y", "d": "y", "e": "y"}
    from_points = chart_buckets(short.con, picked, view), chart_bands(short.con, picked, groups, view)
    refresh_overviews(short.con)
    _same(chart_buckets(short.con, picked, view), from_points[0])
    bands, names = chart_bands(short.con, picked, groups, view)
    assert names == from_points[1][1] and bands.num_rows == from_points[1][0].num_rows
    np.testing.assert_allclose(bands.column("last").to_numpy(zero_copy_only=False),
                               from_points[1][0].column("last").to_numpy(zero_copy_only=False), rtol=1e-6)  # fmt: skip


def test_points_written_by_hand_leave_charts_to_the_points_until_the_overviews_are_refreshed(
    short: llmlens.Lens,
) -> None:
    refresh_overviews(short.con)
    short.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) VALUES ('b', 'loss', 1600, 99, 5000)")
    assert overview_buckets(short.con, "loss", pixels=10) is None
    assert max(metric_buckets(short.con, "loss", pixels=10).column("high").to_pylist()) == 99
    refresh_overviews(short.con, runs=["b"], keys=["loss"])
    table = overview_buckets(short.con, "loss", pixels=10)
    assert table is not None and max(table.column("high").to_pylist()) == 99


def test_zoomed_views_other_axes_restarted_points_and_wide_charts_bucket_the_points() -> None:
    with llmlens.open(":memory:") as lens:
        lens.con.execute("INSERT INTO metrics (run_id, key, step, wall_time, value, seq) SELECT 'r', 'loss', i, "
                         "make_timestamp(1763157600000000 + i * 1000000), i % 13, i "
                         "FROM range(100000) t(i)")  # fmt: skip
        views = [{"start": 100, "end": 5000}, {"x": "wall_time"}, {"x": "relative"}, {"latest": False}, {}]
        before = [metric_buckets(lens.con, "loss", pixels=3000, **view) for view in views]  # type: ignore[arg-type]
        refresh_overviews(lens.con)
        assert overview_buckets(lens.con, "loss", pixels=3000) is None  # 25-step ranges, 16-step chart buckets
        assert overview_buckets(lens.con, "loss", pixels=2000) is not None
        for view, want in zip(views, before, strict=True):
            _same(metric_buckets(lens.con, "loss", pixels=3000, **view), want)  # type: ignore[arg-type]


def _wandb_export(path: Path, run: str, steps: range, value: float, start: float = 0.0) -> Path:
    """A W&B history export (what ``run.history()`` gives, saved as Parquet by pandas), ``seq`` from ``_timestamp``."""
    frame = pd.DataFrame({"run_id": run, "_step": list(steps),
                          "_timestamp": [start + 1763157600 + i for i in range(len(steps))],
                          "train/loss": [value + math.sin(s / 40) for s in steps]})  # fmt: skip
    frame.to_parquet(path, index=False)
    return path


def test_a_second_load_of_more_points_of_a_run_refreshes_its_overview(tmp_path: Path) -> None:
    with llmlens.open(tmp_path / "store.duckdb") as lens:
        lens.load(_wandb_export(tmp_path / "first.parquet", "p/r1", range(6000), 1.0), progress=False)
        row = lens.con.execute("SELECT n_points, lo, hi, width FROM metric_overviews").fetchall()
        assert row == [(6000, 0, 5999, 2)]
        lens.load(_wandb_export(tmp_path / "more.parquet", "p/r1", range(6000, 12000), 3.0, 6000), progress=False)
        assert lens.con.execute("SELECT n_points, lo, hi, width FROM metric_overviews").fetchall() == [
            (12000, 0, 11999, 3)]  # fmt: skip
        table = overview_buckets(lens.con, "train/loss", pixels=400)
        assert table is not None and max(table.column("high").to_pylist()) > 3.9
        assert _exactly_their_points(lens.con, table, 400, "train/loss") == 12000
        # resumed from step 9000 (later timestamps): the first points from there on are superseded
        lens.load(_wandb_export(tmp_path / "resumed.parquet", "p/r1", range(9000, 10000), -5.0, 20000), progress=False)
        assert lens.con.execute("SELECT n_points, hi FROM metric_overviews").fetchall() == [(10000, 9999)]
        table = overview_buckets(lens.con, "train/loss", pixels=400)
        assert table is not None and table.column("last").to_pylist()[-1] < -4
        assert _exactly_their_points(lens.con, table, 400, "train/loss") == 10000


@pytest.mark.parametrize("by", ["run", "step"])
def test_a_file_loaded_chunk_by_chunk_leaves_every_series_overview_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, by: str
) -> None:
    points = pd.DataFrame([{"run": f"r{r}", "key": f"m{k}", "step": s, "value": r + k + s / 1000}
                           for r in range(3) for k in range(2) for s in range(700)])  # fmt: skip
    path = tmp_path / "long.parquet"
    points.sort_values(["step", "run", "key"] if by == "step" else ["run", "key", "step"]).to_parquet(path, index=False)
    monkeypatch.setattr(metric_tables, "PARQUET_CHUNK_CELLS", 500)  # 1,024 rows a chunk: 5 chunks
    with llmlens.open(":memory:") as lens:
        lens.load(path, progress=False)
        assert lens.con.execute("SELECT count(*), sum(n_points) FROM metric_overviews").fetchall() == [(6, 4200)]
        loaded = metric_buckets(lens.con, "m1", pixels=100)
        lens.con.execute("DELETE FROM metric_overviews")
        _same(loaded, metric_buckets(lens.con, "m1", pixels=100))


def test_opening_an_older_store_fills_its_overviews(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    schema.migrate(con, upto=10)
    con.execute(SHORT_SERIES)
    con.execute(RESTART)
    con.close()
    with llmlens.open(path) as lens:
        assert overview_buckets(lens.con, "loss", pixels=100) is not None
        ours = metric_buckets(lens.con, "loss", pixels=100)
        lens.con.execute("DELETE FROM metric_overviews")
        _same(ours, metric_buckets(lens.con, "loss", pixels=100))
