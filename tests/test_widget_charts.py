"""Run comparison charts: the data they send keeps every extreme, zooming re-queries, smoothing and grouping, and
the kernel-free page draws it in chromium without running anything from the data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import llmlens
from llmlens.analysis.smoothing import tensorboard_ema, time_weighted_ema
from llmlens.errors import LensError

SPIKE_STEP, SPIKE = 654_321, 99.0


def _decode(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


@pytest.fixture
def lens() -> Any:
    with llmlens.open(":memory:") as lens:
        lens.con.execute(
            """INSERT INTO metrics (run_id, key, step, wall_time, value, seq)
               SELECT 'run-' || r, k, s, make_timestamp(1763157600000000 + s * 1000000),
                      CASE WHEN k = 'tokens_seen' THEN s * 4096.0 ELSE 2 - s / 2000 + r / 10 END, s * 2
               FROM range(3) a(r), (VALUES ('train/loss'), ('tokens_seen')) b(k), range(2000) c(s)"""
        )
        lens.con.execute(
            "INSERT INTO params (run_id, key, value) VALUES ('run-0', 'lr', '1e-4'), ('run-1', 'lr', '1e-4'), "
            "('run-2', 'lr', '3e-4')"
        )
        yield lens


def test_a_single_step_spike_in_a_million_steps_is_in_the_data_sent_at_full_zoom_out() -> None:
    with llmlens.open(":memory:") as lens:
        lens.con.execute(
            "INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'long', 'train/loss', i, "
            "CASE WHEN i = $at THEN $spike ELSE 1 + 0.01 * sin(i) END, i FROM range(1000000) t(i)",
            {"at": SPIKE_STEP, "spike": SPIKE},
        )
        charts = lens.compare("train/loss")
        sent = _decode(charts._buckets)
        assert sent.num_rows == 2 * charts.pixels  # two buckets per pixel, not a million points
        assert len(charts._buckets) < 40_000
        spike = int(np.argmax(sent["high"].to_numpy()))
        assert sent["high"][spike].as_py() == SPIKE
        assert sent["x0"][spike].as_py() <= SPIKE_STEP <= sent["x1"][spike].as_py()


def test_zooming_re_queries_the_range_at_finer_buckets(lens: llmlens.Lens) -> None:
    charts = lens.compare("train/loss")
    wide = charts.buckets
    charts.zoom = [500.0, 600.0]
    narrow = charts.buckets
    assert narrow.x0.min() >= 500 and narrow.x1.max() <= 600
    assert (narrow.x1 - narrow.x0).max() < (wide.x1 - wide.x0).max()
    assert len(narrow) == 3 * 101  # every step of the range, per run: finer than two per pixel needs
    charts.x = "wall_time"  # a new axis zooms out
    assert charts.zoom == [] and charts.buckets.x0.min() == pytest.approx(1763157600)


def test_smoothing_is_tensorboards_ema_of_each_runs_line(lens: llmlens.Lens) -> None:
    charts = lens.compare("train/loss", smoothing="ema", weight=0.9)
    frame = charts.buckets
    for _, run in frame.groupby("series"):
        assert np.array_equal(run.smooth.to_numpy(), tensorboard_ema(run["last"].to_numpy(), 0.9).astype(np.float32))
    charts.smoothing = "twema"
    for _, run in charts.buckets.groupby("series"):
        want = time_weighted_ema(run.x1.to_numpy(), run["last"].to_numpy(), 0.9).astype(np.float32)
        assert np.array_equal(run.smooth.to_numpy(), want)
    charts.smoothing = "none"
    assert np.array_equal(charts.buckets.smooth, charts.buckets["last"])


def test_runs_grouped_by_a_param_become_mean_and_std_bands(lens: llmlens.Lens) -> None:
    charts = lens.compare("train/loss", group_by="lr")
    assert charts.series == ["1e-4", "3e-4"]
    first = charts.buckets.iloc[0]
    # runs 0 and 1 (lr 1e-4) are 0.1 apart: mean in the middle, one std (0.05) either side
    assert first.series == "1e-4" and first["last"] == pytest.approx(2.049, abs=1e-5) and first.points == 2
    assert first.low == pytest.approx(1.999, abs=1e-5) and first.high == pytest.approx(2.099, abs=1e-5)
    charts.band = "range"  # lowest to highest run: the same here, two runs one std either side of their mean
    assert charts.buckets.iloc[0].low == pytest.approx(1.999, abs=1e-5)
    assert charts.buckets.iloc[-1].high == pytest.approx(2.0 - 1999 / 2000 + 0.2, abs=1e-5)  # run 2 alone
    with pytest.raises(LensError, match="no run has a param 'nope'"):
        lens.compare("train/loss", group_by="nope")


def test_another_metric_can_be_the_x_axis(lens: llmlens.Lens) -> None:
    charts = lens.compare("train/loss", x="tokens_seen")
    assert charts.buckets.x1.max() == 1999 * 4096
    with pytest.raises(LensError, match="a logged metric"):
        lens.compare("train/loss", x="tokens_sen")


def test_runs_and_metrics_are_picked_by_glob_name_or_id(lens: llmlens.Lens) -> None:
    assert lens.compare("train/*", runs=["run-1"]).series == ["run-1"]
    assert lens.compare().metrics == ["train/loss"]  # by default, the losses
    with pytest.raises(LensError, match="no metric val/"):
        lens.compare("val/*")
    with pytest.raises(LensError, match="no run 'run-9'"):
        lens.compare(runs=["run-9"])


def test_nan_and_restarts_are_marked_on_the_charts() -> None:
    with llmlens.open(":memory:") as lens:
        lens.con.execute(
            "INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r', 'loss', i, "
            "CASE WHEN i >= 300 THEN 'nan'::DOUBLE ELSE 1 END, i FROM range(400) t(i)"
        )
        charts = lens.compare("loss")
        marks = charts.marks
        assert marks[["key", "run_id", "x", "kind"]].values.tolist() == [["loss", "r", 300.0, "non_finite"]]
        assert _decode(charts._buckets)["non_finite"].to_numpy().sum() == 100


HOSTILE = '<img src=x onerror="window.__xss=1">'


def test_the_exported_page_draws_every_chart_and_runs_nothing_from_the_data(page: Any, tmp_path: Path) -> None:
    with llmlens.open(":memory:") as lens:
        lens.con.execute(
            "INSERT INTO metrics (run_id, key, step, value, seq) SELECT r, k, i, sin(i / 10), i "
            "FROM (VALUES ($bad), ('plain')) a(r), (VALUES ($bad), ('loss')) b(k), range(500) t(i)",
            {"bad": HOSTILE},
        )
        lens.con.execute("INSERT INTO runs (run_id, name) VALUES ($bad, $bad)", {"bad": HOSTILE})
        charts = lens.compare(["*"])
        path = tmp_path / "charts.html"
        charts.to_html(path)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-rendered=true]")
    page.wait_for_selector(".ll-charts[data-drawn='2']")
    assert page.locator(".ll-chart-title").all_text_contents() == [HOSTILE, "loss"]
    assert HOSTILE in page.locator(".ll-legend").inner_text()
    assert page.locator(".ll-charts img").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.locator(".ll-chart").first.get_attribute("data-rows") == str(2 * 500)
    canvas = page.locator(".ll-canvas").first
    box = canvas.bounding_box()
    canvas.hover(position={"x": box["width"] / 2, "y": box["height"] / 2})
    assert "plain" in page.locator(".ll-tooltip").inner_text()
    page.locator(".ll-legend-item", has_text="plain").click()  # hidden: one series left on each chart
    assert page.locator(".ll-legend-item[aria-pressed=false]").count() == 1
    assert page.errors == []
