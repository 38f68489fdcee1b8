"""The run comparison widget: a grid of full-fidelity metric charts, a thin class over
:mod:`llmlens.widgets.chart_data`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import traitlets

from llmlens.background import in_background
from llmlens.widgets.base import Widget
from llmlens.widgets.chart_data import (
    SMOOTHING,
    Picked,
    View,
    chart_bands,
    chart_buckets,
    chart_marks,
    param_groups,
    pick,
    wire_table,
)
from llmlens.widgets.token_data import ipc_bytes

if TYPE_CHECKING:
    import pandas as pd


class RunCharts(Widget):
    """Metric charts across runs, one per key, every run a band (lowest to highest value in each bucket) under its
    last-value line, so no spike is ever sampled away. Drag across a chart to zoom (all charts follow, re-queried at
    full resolution), double-click to zoom out; click a legend entry to hide a run; hover for every run's value.

    Make one with :meth:`llmlens.Lens.compare`. ``x`` is ``step``, ``wall_time``, ``relative`` or another metric's
    key; ``smoothing`` is ``none``, ``ema`` (TensorBoard's) or ``twema`` (W&B's time-weighted), with ``weight``;
    ``group_by`` names a param: each chart then shows one band per value of it, mean ± std (``band="std"``) or
    lowest to highest run (``band="range"``) around the mean.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) "
    ...                      "SELECT 'r' || (i % 3), 'loss', i // 3, 1 / (1 + i), i FROM range(3000) t(i)")
    >>> charts = RunCharts(lens.con, "loss")
    >>> charts.metrics, len(charts.series)
    (['loss'], 3)
    >>> charts.zoom = [100, 200]
    >>> bool(charts.buckets.x0.min() >= 100)
    True
    """

    _bundle_name = "charts"

    title = traitlets.Unicode("").tag(sync=True)
    metrics: traitlets.List[str] = traitlets.List(traitlets.Unicode(), help="the metric of each chart").tag(sync=True)
    series: traitlets.List[str] = traitlets.List(traitlets.Unicode(), help="legend: runs or groups").tag(sync=True)
    x = traitlets.Unicode("step", help="x-axis: step, wall_time, relative or a metric key").tag(sync=True)
    smoothing = traitlets.Enum(SMOOTHING, "none").tag(sync=True)
    weight = traitlets.Float(0.6, help="smoothing weight in [0, 1)").tag(sync=True)
    group_by = traitlets.Unicode("", help="a param: one band per value").tag(sync=True)
    band = traitlets.Enum(["std", "range"], "std", help="group bands: mean ± std, or lowest to highest run").tag(
        sync=True
    )
    log_y = traitlets.Bool(False).tag(sync=True)
    hidden: traitlets.List[int] = traitlets.List(traitlets.Int(), help="legend entries hidden").tag(sync=True)
    zoom: traitlets.List[float] = traitlets.List(traitlets.Float(), help="[start, end] of x; [] for all").tag(sync=True)
    pixels = traitlets.Int(400, help="chart width the buckets are cut for (two buckets per pixel)").tag(sync=True)
    _buckets = traitlets.Bytes(b"").tag(sync=True)
    _origin = traitlets.Float(0.0, help="what the buckets' x offsets count from").tag(sync=True)
    _marks = traitlets.Bytes(b"").tag(sync=True)

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        metrics: str | Sequence[str] | None = None,
        runs: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self._con = con
        self._picked: Picked = pick(con, metrics, runs)
        self._table: pa.Table | None = None
        self._marks_table = pa.table({})
        super().__init__(metrics=self._picked.keys, **kwargs)
        self._refresh()
        self._mark()
        self.observe(lambda _: self._refresh(), ["smoothing", "weight", "group_by", "band", "zoom", "pixels"])
        self.observe(lambda _: self._change_axis(), ["x"])

    def _change_axis(self) -> None:
        """A new x-axis: zoomed out, with the marks placed on it."""
        if self.zoom:
            self.zoom = []  # which refreshes
        else:
            self._refresh()
        self._mark()

    def _mark(self) -> None:
        """Find the anomalies to mark in the background (seconds on millions of points), on a cursor of its own;
        the charts show at once and the marks follow. A newer axis supersedes an older search."""
        x = self.x

        def work(cursor: duckdb.DuckDBPyConnection) -> None:
            marks = chart_marks(cursor, self._picked, x=x)
            if self.x == x:
                self._marks_table = marks
                self._marks = ipc_bytes(marks) if marks.num_rows else b""

        self._marked = in_background(self._con, work)

    def wait_for_marks(self, timeout: float | None = None) -> bool:
        """Wait until the anomaly marks of the current axis are found (they are searched in the background);
        False if ``timeout`` seconds passed first."""
        return self._marked.wait(timeout)

    def exported_state(self) -> dict[str, Any]:
        """The state for a kernel-free page, marks included."""
        self.wait_for_marks()
        return super().exported_state()

    def _refresh(self) -> None:
        """Query the buckets for the current axis, zoom, smoothing and grouping, and send them."""
        start, end = (self.zoom[0], self.zoom[1]) if len(self.zoom) == 2 else (None, None)
        view = View(self.x, start, end, self.pixels, self.smoothing, self.weight, self.band)
        if self.group_by:
            groups = param_groups(self._con, self._picked.run_ids, self.group_by)
            table, names = chart_bands(self._con, self._picked, groups, view)
        else:
            table, names = chart_buckets(self._con, self._picked, view), self._picked.names
        self._table = table
        with self.hold_sync():
            self.series = names
            sent, self._origin = wire_table(table, smoothed=self.smoothing != "none")
            self._buckets = ipc_bytes(sent)

    @property
    def run_ids(self) -> list[str]:
        """The ids of the runs compared, in legend order."""
        return list(self._picked.run_ids)

    @property
    def buckets(self) -> pd.DataFrame:
        """The data drawn now: one row per chart, series and bucket, with the metric and series names."""
        assert self._table is not None
        frame: pd.DataFrame = self._table.to_pandas()
        frame.insert(0, "key", [self.metrics[i] for i in frame.pop("chart")])
        frame.insert(1, "series", [self.series[i] for i in frame.pop("run")])
        return frame

    @property
    def marks(self) -> pd.DataFrame:
        """The anomaly marks drawn on the charts (NaN/inf, spikes, stalls, restarts), one row each (waits for the
        background search)."""
        self.wait_for_marks()
        frame: pd.DataFrame = self._marks_table.to_pandas()
        frame.insert(0, "key", [self.metrics[i] if i >= 0 else None for i in frame.pop("chart")])
        frame.insert(1, "run_id", [self._picked.run_ids[i] for i in frame.pop("run")])
        return frame
