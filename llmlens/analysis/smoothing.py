"""Smoothing of metric series, exactly as the trackers users compare against compute it.

Applied after bucketing (to the bucket's last values), so a chart smooths what it shows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float64]]


def tensorboard_ema(values: Any, weight: float) -> Array:
    """TensorBoard's debiased exponential moving average (``classicSmoothing`` in its line chart), edge cases
    included.

    ``s_t = s_{t-1} * w + (1 - w) * x_t`` from ``s_0 = 0``, divided by ``1 - w ** n_t`` where ``n_t`` counts the
    finite points so far; NaN and infinities pass through unsmoothed and do not move the average; a constant
    series is returned as is; ``w`` is clamped to [0, 1] and ``w = 1`` divides by 1. The recurrence runs as a
    linear filter, with the same floating-point operations in the same order as TensorBoard's loop.

    >>> tensorboard_ema([1.0, 2.0, 3.0], 0.5).round(4).tolist()
    [1.0, 1.6667, 2.4286]
    >>> tensorboard_ema([1.0, float("nan"), 3.0], 0.5).round(4).tolist()
    [1.0, nan, 2.3333]
    """
    y = np.asarray(values, dtype=np.float64)
    out = y.copy()
    if not len(y) or bool(np.all(y == y[0])):
        return out
    finite = np.flatnonzero(np.isfinite(y))
    if len(finite):
        out[finite] = tensorboard_ema_rows(y[finite][None, :], weight)[0]
    return out


def tensorboard_ema_rows(rows: Any, weight: float) -> Array:
    """:func:`tensorboard_ema` of many series of equal length at once, one per row, all values finite and no row
    constant (a chart's runs, each cut into the same buckets): one linear filter over the matrix.

    >>> tensorboard_ema_rows([[1.0, 2.0, 3.0], [5.0, 4.0, 5.0]], 0.5).round(4).tolist()
    [[1.0, 1.6667, 2.4286], [5.0, 4.3333, 4.7143]]
    """
    from scipy.signal import lfilter

    y = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    weight = min(max(float(weight), 0.0), 1.0)
    if not y.size:
        return y.copy()
    running = lfilter([1.0 - weight], [1.0, -weight], y, axis=1)
    n = y.shape[1]  # math.pow as TensorBoard's Math.pow: numpy's vectorised power may round differently
    debias = 1.0 if weight == 1 else 1.0 - np.fromiter((math.pow(weight, k) for k in range(1, n + 1)), np.float64, n)
    out: Array = running / debias
    return out


def time_weighted_ema(x: Any, values: Any, smoothing: float, *, viewport_scale: float = 1000.0) -> Array:
    """W&B's time-weighted EMA: the decay follows the spacing of ``x``, so the result does not depend on how densely
    points were logged (or bucketed).

    ``w = min(sqrt(smoothing), 0.999)``; for each point ``a = w ** ((x_i - x_{i-1}) / range(x) * viewport_scale)``,
    ``S = a * S + y``, ``D = a * D + 1``, smoothed ``S / D``. Non-finite values pass through and are skipped.

    >>> time_weighted_ema([0, 1, 2], [1.0, 2.0, 3.0], 0.0).tolist()
    [1.0, 2.0, 3.0]
    >>> series = time_weighted_ema([0, 10, 20], [0.0, 1.0, 1.0], 0.99)
    >>> bool(0 < series[1] < series[2] < 1)
    True
    """
    xs = np.asarray(x, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    out = y.copy()
    kept = np.flatnonzero(np.isfinite(y) & np.isfinite(xs))
    if len(kept) >= 2:
        out[kept] = time_weighted_ema_rows(xs[kept][None, :], y[kept][None, :], smoothing, viewport_scale)[0]
    return out


def time_weighted_ema_rows(x: Any, rows: Any, smoothing: float, viewport_scale: float = 1000.0) -> Array:
    """:func:`time_weighted_ema` of many series of equal length at once (x and values one row per series, all
    finite): the recurrence steps through the columns, each step a vector operation over every series.

    >>> time_weighted_ema_rows([[0, 1, 2]], [[1.0, 2.0, 3.0]], 0.0).tolist()
    [[1.0, 2.0, 3.0]]
    """
    xs = np.atleast_2d(np.asarray(x, dtype=np.float64))
    y = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    weight = min(math.sqrt(max(smoothing, 0.0)), 0.999)
    if y.shape[1] < 2 or weight == 0:
        return y.copy()
    span = xs[:, -1:] - xs[:, :1]
    span[span == 0] = 1.0
    decay = weight ** (np.diff(xs, axis=1, prepend=xs[:, :1]) / span * viewport_scale)
    out = np.empty_like(y)
    total = np.zeros(len(y))
    count = np.zeros(len(y))
    for column in range(y.shape[1]):
        total = decay[:, column] * total + y[:, column]
        count = decay[:, column] * count + 1
        out[:, column] = total / count
    return out
