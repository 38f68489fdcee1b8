"""Plotly figures where plotly serves: heatmaps of many keys, parallel coordinates of params against a metric."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import plotly.graph_objects as go
    import pyarrow as pa


def natural_key(text: str) -> list[int | str]:
    """Sort key that orders numbers inside names by value: ``layer_2`` before ``layer_10``, ``gpu.2`` before ``gpu.10``.

    >>> sorted(["layer_10", "layer_2", "layer_1"], key=natural_key)
    ['layer_1', 'layer_2', 'layer_10']
    """
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def heatmap_figure(table: pa.Table, *, title: str = "", metric: str = "value") -> go.Figure:
    """A heatmap of ``key_heatmap``'s table: one row per key (in natural order), one column per step bucket.

    >>> import pyarrow as pa
    >>> table = pa.table({"key": ["l_10", "l_2"], "bucket": [0, 0], "x_first": [0.0, 0.0], "x_last": [9.0, 9.0],
    ...                   "value": [1.0, 2.0]})
    >>> heatmap_figure(table).data[0].y
    ('l_2', 'l_10')
    """
    import plotly.graph_objects as go

    keys = sorted(set(table.column("key").to_pylist()), key=natural_key)
    row = {key: i for i, key in enumerate(keys)}
    buckets = table.column("bucket").to_numpy()
    width = int(buckets.max()) + 1 if len(buckets) else 0
    grid = np.full((len(keys), width), np.nan)
    steps = np.full(width, np.nan)
    grid[[row[k] for k in table.column("key").to_pylist()], buckets] = table.column("value").to_numpy(
        zero_copy_only=False
    )
    steps[buckets] = table.column("x_first").to_numpy()
    figure = go.Figure(go.Heatmap(z=grid, x=steps, y=keys, colorscale="Viridis", colorbar={"title": metric},
                                  hovertemplate="%{y}<br>step %{x}<br>%{z:.4g}<extra></extra>"))  # fmt: skip
    figure.update_layout(title=title, xaxis_title="step", height=max(260, 16 * len(keys) + 120),
                         margin={"l": 10, "r": 10, "t": 40, "b": 40})  # fmt: skip
    return figure
