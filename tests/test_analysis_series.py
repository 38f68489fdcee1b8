"""Metric series analysis: bucketing that keeps extremes, and smoothing as the trackers compute it."""

from __future__ import annotations

import math

import numpy as np
import pytest

import llmlens
from llmlens.analysis.buckets import metric_buckets
from llmlens.analysis.smoothing import tensorboard_ema, time_weighted_ema


def _tensorboard_loop(values: list[float], weight: float) -> list[float]:
    """TensorBoard's classicSmoothing (tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts), line by line."""
    last, count, out = (0.0 if values else math.nan), 0, []
    constant = all(v == values[0] for v in values)
    for value in values:
        if constant or not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        out.append(last / (1.0 if weight == 1 else 1.0 - math.pow(weight, count)))
    return out


@pytest.mark.parametrize("weight", [0.0, 0.6, 0.9, 0.999, 1.0])
def test_tensorboard_smoothing_matches_its_formula_bit_for_bit(weight: float) -> None:
    rng = np.random.default_rng(3)
    values = (np.exp(-np.arange(3000) / 700) + rng.normal(0, 0.05, 3000)).tolist()
    values[100], values[2000], values[2001] = math.nan, math.inf, -math.inf
    got = tensorboard_ema(values, weight)
    want = _tensorboard_loop(values, weight)
    assert np.array_equal(got, np.array(want), equal_nan=True)
    assert tensorboard_ema([2.5] * 10, 0.9).tolist() == [2.5] * 10


def test_time_weighted_smoothing_does_not_depend_on_how_densely_points_were_logged() -> None:
    x = np.arange(0, 1000, 1.0)
    y = np.sin(x / 80)
    dense = time_weighted_ema(x, y, 0.9)
    sparse = time_weighted_ema(x[::4], y[::4], 0.9)
    assert np.abs(dense[::4][50:] - sparse[50:]).max() < 0.05
    assert np.isnan(time_weighted_ema([0, 1, 2], [1.0, math.nan, 2.0], 0.9)[1])


def test_a_single_step_spike_in_a_million_steps_survives_bucketing(tmp_path: object) -> None:
    with llmlens.open(":memory:") as lens:
        lens.con.execute(
            "INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'run-' || r, 'loss', i, "
            "CASE WHEN r = 1 AND i = 654321 THEN 9.5 WHEN i = 1000 THEN 'nan'::DOUBLE ELSE 1 / (1 + i / 1e5) END, i "
            "FROM range(2) a(r), range(1000000) t(i)"
        )
        table = metric_buckets(lens.con, "loss", pixels=500)
        assert table.num_rows == 2 * 1000
        rows = table.to_pylist()
        spike = [row for row in rows if row["high"] == 9.5]
        assert len(spike) == 1 and spike[0]["run_id"] == "run-1" and spike[0]["x_first"] <= 654321 <= spike[0]["x_last"]
        assert sum(row["non_finite"] for row in rows) == 2 and sum(row["points"] for row in rows) == 2_000_000
        zoomed = metric_buckets(lens.con, "loss", runs=["run-1"], start=654000, end=654600, pixels=300)
        assert zoomed.num_rows <= 600 and sum(zoomed.column("points").to_pylist()) == 601  # every step, none lost
        assert max(zoomed.column("high").to_pylist()) == 9.5


def test_buckets_leave_out_superseded_points_unless_asked(tmp_path: object) -> None:
    with llmlens.open(":memory:") as lens:
        lens.con.execute(
            "INSERT INTO metrics (run_id, key, step, value, seq, superseded) VALUES "
            "('r', 'loss', 1, 1.0, 1, true), ('r', 'loss', 1, 2.0, 2, false), ('r', 'loss', 2, 3.0, 3, false)"
        )
        assert metric_buckets(lens.con, "loss", pixels=1).column("points").to_pylist() == [1, 1]
        assert sum(metric_buckets(lens.con, "loss", pixels=1, latest=False).column("points").to_pylist()) == 3
        with pytest.raises(llmlens.LensError, match="x must be one of"):
            metric_buckets(lens.con, "loss", x="epoch; DROP TABLE metrics")


def test_many_series_smoothed_together_match_each_smoothed_alone() -> None:
    from llmlens.analysis.smoothing import tensorboard_ema_rows, time_weighted_ema_rows

    rng = np.random.default_rng(5)
    rows = rng.normal(size=(40, 300)).cumsum(axis=1)
    x = np.sort(rng.uniform(0, 1e6, size=(40, 300)), axis=1)
    assert np.array_equal(tensorboard_ema_rows(rows, 0.9), np.array([tensorboard_ema(r, 0.9) for r in rows]))
    together = time_weighted_ema_rows(x, rows, 0.8)
    alone = np.array([time_weighted_ema(a, r, 0.8) for a, r in zip(x, rows, strict=True)])
    assert np.array_equal(together, alone)
