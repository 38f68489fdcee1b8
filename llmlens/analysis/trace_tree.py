"""A trace's spans as a tree: depth-first order, subtree ranges and the critical path, in linear time (plus one
sort of the spans by start), safe against parents that never arrived and parent cycles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Tree:
    """The spans in depth-first order (children by start time). Arrays are indexed by ROW of that order, except
    ``order``, which maps a row to the span's index in the input."""

    order: npt.NDArray[np.int64]
    parent: npt.NDArray[np.int32]
    """Row of the parent; -1 for a root."""
    depth: npt.NDArray[np.int32]
    end: npt.NDArray[np.int32]
    """Row just past the span's last descendant: its subtree is rows ``[row, end)``."""
    orphan: npt.NDArray[np.bool_]
    """A root that should not be one: its parent is not in the trace, or a cycle of parents was cut at it."""
    critical: npt.NDArray[np.bool_]
    """On the critical path: from each root, the chain of children that, one after the other, ended last."""


def span_tree(
    span_ids: Sequence[str],
    parent_ids: Sequence[str | None],
    starts: npt.ArrayLike,
    ends: npt.ArrayLike,
) -> Tree:
    """The tree of one trace's spans. ``starts``/``ends`` are numbers (NaN when unknown).

    A span whose parent is missing becomes a root marked orphan; a cycle of parents (a malformed export) is cut
    at its earliest span, which becomes a root marked orphan, so every span shows once and walking always ends.

    >>> tree = span_tree(["a", "b", "c", "d"], [None, "a", "a", "zz"], [0, 1, 5, 2], [10, 4, 9, 3])
    >>> tree.order.tolist(), tree.depth.tolist(), tree.end.tolist()
    ([0, 1, 2, 3], [0, 1, 1, 0], [3, 2, 3, 4])
    >>> tree.orphan.tolist(), tree.critical.tolist()
    ([False, False, False, True], [True, True, True, True])
    >>> span_tree(["x", "y"], ["y", "x"], [0, 1], [1, 2]).orphan.tolist()  # a cycle
    [True, False]
    """
    count = len(span_ids)
    start = np.asarray(starts, dtype=np.float64).reshape(count)
    finish = np.asarray(ends, dtype=np.float64).reshape(count)
    index = {span_id: i for i, span_id in enumerate(span_ids)}
    parent_of = np.array([index.get(p, -1) if p is not None else -1 for p in parent_ids], dtype=np.int64)
    missing = np.array([p is not None and p not in index for p in parent_ids], dtype=bool)
    # children in start order: one stable sort of every span, then each span appended to its parent's list
    by_start = np.lexsort((np.arange(count), np.nan_to_num(start, nan=np.inf)))
    children: list[list[int]] = [[] for _ in range(count)]
    roots: list[int] = []
    for i in by_start.tolist():
        p = int(parent_of[i])
        (roots if p < 0 else children[p]).append(i)
    rows = _Rows(count)
    for root in roots:
        rows.walk(root, children, orphan=bool(missing[root]))
    for i in by_start.tolist():  # what no root reached sits in a cycle: shown from its earliest span
        if rows.row_of[i] < 0:
            rows.walk(i, children, orphan=True)
    critical = _critical(rows, children, start, finish)
    return Tree(
        order=np.asarray(rows.order, dtype=np.int64),
        parent=np.asarray(rows.parent, dtype=np.int32),
        depth=np.asarray(rows.depth, dtype=np.int32),
        end=np.asarray(rows.end, dtype=np.int32),
        orphan=np.asarray(rows.orphan, dtype=bool),
        critical=critical,
    )


class _Rows:
    """The depth-first walk, filled row by row."""

    def __init__(self, count: int) -> None:
        self.row_of = [-1] * count
        self.order: list[int] = []
        self.parent: list[int] = []
        self.depth: list[int] = []
        self.end: list[int] = []
        self.orphan: list[bool] = []

    def walk(self, root: int, children: list[list[int]], *, orphan: bool) -> None:
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]  # (span, parent row, depth); a negative span closes
        while stack:
            span, parent_row, depth = stack.pop()
            if span < 0:
                self.end[~span] = len(self.order)
                continue
            if self.row_of[span] >= 0:  # reached twice: only through a cycle
                continue
            row = len(self.order)
            self.row_of[span] = row
            self.order.append(span)
            self.parent.append(parent_row)
            self.depth.append(depth)
            self.end.append(row + 1)
            self.orphan.append(orphan and parent_row < 0)
            stack.append((~row, 0, 0))
            stack.extend((child, row, depth + 1) for child in reversed(children[span]) if self.row_of[child] < 0)


def _critical(
    rows: _Rows, children: list[list[int]], start: npt.NDArray[np.float64], finish: npt.NDArray[np.float64]
) -> npt.NDArray[np.bool_]:
    """Rows on the critical path: from each root, the child that ended last, then the child that ended last
    before that one started, and so on, each followed down the same way (spans without times are skipped)."""
    marked = np.zeros(len(rows.order), dtype=bool)
    timed = ~(np.isnan(start) | np.isnan(finish))
    stack = [span for span, parent in zip(rows.order, rows.parent, strict=True) if parent < 0 and timed[span]]
    while stack:
        span = stack.pop()
        marked[rows.row_of[span]] = True
        cursor = np.inf
        kids = [c for c in children[span] if timed[c] and rows.parent[rows.row_of[c]] == rows.row_of[span]]
        for child in sorted(kids, key=lambda c: -finish[c]):
            if finish[child] <= cursor:
                stack.append(child)
                cursor = start[child]
    return marked
