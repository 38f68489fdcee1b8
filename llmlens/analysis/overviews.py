"""Charts zoomed out on the step axis, answered from the stored overview of each series instead of its points.

Every load keeps ``metric_overviews``: each series (run, key) cut into at most 4,096 equal step ranges, each with its
lowest and highest finite value, its last value and its point counts (the store's ``metric_overview_rows`` defines
a row). A chart of 1,000 runs then reads 1,000 rows of lists, not 10 M points, and merges each series' ranges into
the chart's buckets with numpy, every series at once. A range goes to the chart bucket its first step falls in, so
a bucket's ``low``, ``high``, ``last``, ``points`` and ``non_finite`` are exact for the points of the ranges it
holds, and its ``x_first``/``x_last`` (the steps those ranges span) are within one range of its points' own; a
series of up to 4,096 steps has one step per range, and its buckets are exactly those of its points.

The overviews answer only when they cover every point (they count as many rows as ``metrics`` holds: points
written by hand, outside a load, leave charts to the points until
:func:`llmlens.loaders.writes.refresh_overviews` runs) and when their ranges are no wider than the chart's
buckets; otherwise these functions return None and the caller buckets the points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_COVERS = "SELECT (SELECT sum(n_rows) FROM metric_overviews) = (SELECT count(*) FROM metrics)"
"""Whether the overviews count every row of ``metrics`` (a sum over one row per series, and a row count)."""

_ROWS = """
SELECT run_id, lo, hi, width, {lists} FROM metric_overviews
WHERE key = $key AND n_points > 0 AND ($runs IS NULL OR list_contains($runs, run_id))
"""
"""The overview rows of one key's series (sorted afterwards: sorting rows of long lists costs DuckDB more)."""

_LOOP_UP_TO = 8
"""Merged buckets of at most this many ranges are reduced range by range (a few whole-array operations); longer
ones with ``reduceat`` (slower per bucket)."""

_Array = np.ndarray[Any, Any]


def overview_buckets(
    con: duckdb.DuckDBPyConnection, key: str, *, runs: Sequence[str] | None = None, pixels: int = 1000
) -> pa.Table | None:
    """:func:`llmlens.analysis.buckets.metric_buckets` over the whole step range, from the overviews: the same
    columns (``run_id, bucket, x_first, x_last, low, high, last, points, non_finite``, sorted by run and bucket), or
    None where the overviews cannot answer (see the module's note).

    >>> import llmlens
    >>> from llmlens.loaders.writes import refresh_overviews
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) "
    ...                      "SELECT 'r', 'loss', i, CASE WHEN i = 777 THEN 50 ELSE 1 END, i FROM range(100000) t(i)")
    >>> overview_buckets(lens.con, "loss", pixels=100) is None  # points inserted by hand: not in an overview yet
    True
    >>> refresh_overviews(lens.con)
    >>> table = overview_buckets(lens.con, "loss", pixels=100)
    >>> table.num_rows, max(table.column("high").to_pylist()), sum(table.column("points").to_pylist())
    (200, 50.0, 100000)
    """
    merged = _merge(con, key, runs, pixels, ["bucket", "low", "high", "last", "points", "non_finite"])
    if merged is None:
        return None
    return pa.table({
        "run_id": merged.run_ids(),
        "bucket": pa.array(merged.bucket.astype(np.int32)),
        "x_first": pa.array(merged.x_first.astype(np.float64)),
        "x_last": pa.array(merged.x_last.astype(np.float64)),
        "low": _nullable(merged.extreme(np.fmin, merged.floats("low"))),
        "high": _nullable(merged.extreme(np.fmax, merged.floats("high"))),
        "last": pa.array(merged.floats("last")[merged.final]),
        "points": pa.array(merged.points().astype(np.int32)),
        "non_finite": pa.array(merged.total("non_finite").astype(np.int32)),
    })  # fmt: skip


def overview_bands(
    con: duckdb.DuckDBPyConnection, key: str, groups: Mapping[str, str], *, pixels: int = 1000
) -> pa.Table | None:
    """:func:`llmlens.analysis.buckets.group_bands` over the whole step range, from the overviews: per group and
    bucket, the mean, population standard deviation, lowest and highest of the runs' finite last values, how many
    runs and how many non-finite points (``group, bucket, x_first, x_last, mean, std, low, high, runs, non_finite``,
    sorted by group and bucket), or None where the overviews cannot answer.

    >>> import llmlens
    >>> from llmlens.loaders.writes import refresh_overviews
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value, seq) SELECT 'r' || (i % 4), 'loss', "
    ...                      "i // 4, (i % 4), i FROM range(4000) t(i)")
    >>> refresh_overviews(lens.con)
    >>> bands = overview_bands(lens.con, "loss", {"r0": "a", "r1": "a", "r2": "b", "r3": "b"}, pixels=5)
    >>> bands.select(["group", "bucket", "mean", "std", "low", "high", "runs"]).to_pylist()[0]
    {'group': 'a', 'bucket': 0, 'mean': 0.5, 'std': 0.5, 'low': 0.0, 'high': 1.0, 'runs': 2}
    """
    merged = _merge(con, key, list(groups), pixels, ["bucket", "last", "non_finite"])
    if merged is None:
        return None
    names = sorted({str(name) for name in groups.values()})
    index = {name: i for i, name in enumerate(names)}
    group_of = np.array([index[str(groups[run])] for run in merged.rows.column("run_id").to_pylist()], np.int64)
    slot = group_of[merged.series] * merged.buckets + merged.bucket  # (group, bucket), in the order SQL sorts them
    slots = len(names) * merged.buckets
    last = merged.floats("last")[merged.final].astype(np.float64)
    finite = np.isfinite(last)
    kept, value = slot[finite], last[finite]
    counted = np.bincount(kept, minlength=slots)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(kept, weights=value, minlength=slots) / counted
        std = np.sqrt(np.bincount(kept, weights=(value - mean[kept]) ** 2, minlength=slots) / counted)
    low, high = np.full(slots, np.inf), np.full(slots, -np.inf)
    np.minimum.at(low, kept, value)
    np.maximum.at(high, kept, value)
    x_first, x_last = np.full(slots, np.inf), np.full(slots, -np.inf)
    np.minimum.at(x_first, slot, merged.x_first.astype(np.float64))
    np.maximum.at(x_last, slot, merged.x_last.astype(np.float64))
    runs = np.bincount(slot, minlength=slots)
    present = np.flatnonzero(runs)
    none = counted[present] == 0
    return pa.table({
        "group": pa.array(names).take(pa.array(present // merged.buckets)),
        "bucket": pa.array((present % merged.buckets).astype(np.int32)),
        "x_first": pa.array(x_first[present]),
        "x_last": pa.array(x_last[present]),
        "mean": pa.array(mean[present].astype(np.float32), mask=none),
        "std": pa.array(np.where(none, 0, std[present]).astype(np.float32)),
        "low": pa.array(low[present].astype(np.float32), mask=none),
        "high": pa.array(high[present].astype(np.float32), mask=none),
        "runs": pa.array(runs[present].astype(np.int32)),
        "non_finite": pa.array(
            np.bincount(slot, weights=merged.total("non_finite"), minlength=slots)[present].astype(np.int32)
        ),
    })  # fmt: skip


class _Merged:
    """How the overview rows of the series a chart shows merge into its buckets. Their ranges are flattened, row
    after row as fetched; a merged bucket is the ranges ``first`` to ``final`` of one series (``series``: its
    row) that start in one chart bucket (``bucket``), between steps ``x_first`` and ``x_last``. Merged buckets are
    in run id order, each run's in step order."""

    def __init__(self, rows: pa.Table, buckets: int, parts: list[tuple[int, _Cut]]) -> None:
        self.rows, self.buckets = rows, buckets
        self.size = int(np.sum(_lengths(rows)))
        offsets = np.concatenate([[0], np.cumsum(_lengths(rows))])
        sizes = np.array([len(cut.first) for _, cut in parts], np.int64)
        moved = np.repeat(offsets[[row for row, _ in parts]], sizes)  # each part's positions, in its row's list
        self.series: _Array = np.repeat(np.array([row for row, _ in parts], np.int64), sizes)
        self.first: _Array = np.concatenate([cut.first for _, cut in parts]) + moved
        self.final: _Array = np.concatenate([cut.final for _, cut in parts]) + moved
        self.bucket: _Array = np.concatenate([cut.bucket for _, cut in parts])
        self.x_first: _Array = np.concatenate([cut.x_first for _, cut in parts])
        self.x_last: _Array = np.concatenate([cut.x_last for _, cut in parts])
        self.longest = max(cut.longest for _, cut in parts)

    def floats(self, name: str) -> _Array:
        """A float list column's values, flattened; NULL as NaN (which ``np.fmin`` and ``np.fmax`` pass over)."""
        values: _Array = self.rows.column(name).combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return values

    def extreme(self, pick: np.ufunc, values: _Array) -> _Array:
        """The lowest (``np.fmin``) or highest (``np.fmax``) of ``values`` (one per range) in each merged bucket."""
        if self.longest > _LOOP_UP_TO:  # the ranges of each merged bucket, one bucket after another
            counts = self.final - self.first + 1
            begins = np.concatenate([[0], np.cumsum(counts)[:-1]])
            ranges = np.repeat(self.first - begins, counts) + np.arange(int(counts.sum()))
            return pick.reduceat(values[ranges], begins)
        out = values[self.first]
        for step in range(1, self.longest):  # the last range again where a bucket is shorter: no change
            out = pick(out, values[np.minimum(self.first + step, self.final)])
        return out

    def total(self, name: str) -> _Array:
        """A count list column summed in each merged bucket (0 where the series' list is NULL: none counted)."""
        lists = self.rows.column(name).combine_chunks()
        if lists.null_count == len(lists):
            return np.zeros(len(self.first), np.int64)
        counts = np.asarray(lists.flatten().to_numpy(), np.int64)
        if lists.null_count:
            every = np.zeros(self.size, np.int64)
            every[np.repeat(lists.is_valid().to_numpy(zero_copy_only=False), _lengths(self.rows))] = counts
            counts = every
        sums = np.concatenate([[0], np.cumsum(counts)])
        return sums[self.final + 1] - sums[self.first]  # type: ignore[no-any-return]

    def points(self) -> _Array:
        """Points in each merged bucket: summed from the ``points`` lists; where a series' list is NULL (every range
        holds as many points as it has steps), the steps the merged bucket spans."""
        counts = self.total("points")
        complete = np.logical_not(self.rows.column("points").combine_chunks().is_valid().to_numpy(zero_copy_only=False))
        if complete.any():
            spanned = complete[self.series]
            counts[spanned] = (self.x_last - self.x_first + 1)[spanned]
        return counts

    def run_ids(self) -> pa.Array:
        """The run id of each merged bucket."""
        return self.rows.column("run_id").combine_chunks().take(pa.array(self.series))


class _Cut:
    """How one series' ranges (``fine``: their numbers, ascending) fall into the chart's buckets, positions in its
    list: merged bucket i holds ranges ``first[i]`` to ``final[i]``."""

    def __init__(self, fine: _Array, steps: tuple[int, int, int], origin: int, span: int, buckets: int) -> None:
        lo, hi, width = steps  # the series' first and last step, and steps per range
        start = lo + fine * width
        if span < 2**62 // buckets:  # as the points are cut: (step - origin) * buckets // span, in integers
            chart = (start - origin) * buckets // span
        else:
            chart = np.minimum(((start - origin) / span * buckets).astype(np.int64), buckets - 1)
        cuts = np.flatnonzero(np.diff(chart)) + 1
        self.first: _Array = np.concatenate([[0], cuts])
        self.final: _Array = np.concatenate([cuts - 1, [len(fine) - 1]])
        self.longest = int((self.final - self.first).max()) + 1
        self.bucket: _Array = chart[self.first]
        self.x_first: _Array = start[self.first]
        self.x_last: _Array = np.minimum(start[self.final] + width - 1, hi)


def _merge(
    con: duckdb.DuckDBPyConnection, key: str, runs: Sequence[str] | None, pixels: int, lists: list[str]
) -> _Merged | None:
    """The overview rows of ``key`` (with ``lists``) merged into ``2 * pixels`` buckets over the whole step range,
    cut as the points are cut; None when the overviews do not cover the store or are too coarse for the chart.

    A series whose every range holds points is cut once for all series with the same steps (the runs of a sweep
    share one cut); a series with empty ranges is cut on its own."""
    if not con.execute(_COVERS).fetchall()[0][0]:
        return None
    params = {"key": key, "runs": list(runs) if runs is not None else None}
    rows = con.sql(_ROWS.format(lists=", ".join(lists)), params=params).to_arrow_table()
    if not rows.num_rows:
        return None
    lo, hi, width = (rows.column(name).to_pylist() for name in ("lo", "hi", "width"))
    buckets, origin = 2 * pixels, min(lo)
    span = max(hi) - origin + 1
    if any(w > 1 and w * buckets > span for w in width):
        return None  # a range wider than a chart bucket (a chart of more than about 2,000 pixels)
    given = rows.column("bucket").combine_chunks()  # NULL where every range holds points
    listed = given.is_valid().to_numpy(zero_copy_only=False).tolist()
    fine = np.asarray(given.flatten().to_numpy(), np.int64)
    lengths = _lengths(rows).tolist()
    begins = np.cumsum([0] + [n for n, sparse in zip(lengths, listed, strict=True) if sparse]).tolist()
    at = dict(zip([row for row, sparse in enumerate(listed) if sparse], begins, strict=False))
    shared: dict[tuple[int, int, int], _Cut] = {}
    parts = []
    for row in pc.sort_indices(rows.column("run_id")).to_pylist():
        if listed[row]:
            ranges = fine[at[row] : at[row] + lengths[row]]
            cut = _Cut(ranges, (lo[row], hi[row], width[row]), origin, span, buckets)
        else:
            steps = (lo[row], hi[row], width[row])
            if steps not in shared:
                shared[steps] = _Cut(np.arange((hi[row] - lo[row]) // width[row] + 1), steps, origin, span, buckets)
            cut = shared[steps]
        parts.append((row, cut))
    return _Merged(rows, buckets, parts)


def _lengths(rows: pa.Table) -> _Array:
    """How many ranges each row lists (every row lists ``last``)."""
    return np.asarray(pc.list_value_length(rows.column("last")).to_numpy(), np.int64)


def _nullable(values: _Array) -> pa.Array:
    """float32, NaN (a bucket without a finite value) as NULL, as SQL's ``min(...) FILTER (WHERE isfinite(...))``."""
    return pa.array(values.astype(np.float32), pa.float32(), mask=np.isnan(values))
