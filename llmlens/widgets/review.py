"""The review queue widget: one trace of a queue at a time, shown with the trace explorer, judged by keyboard; a thin
class over :mod:`llmlens.analysis.review`, where every judgement is written to ``annotations`` at once."""

from __future__ import annotations

from typing import Any

import anywidget.experimental
import duckdb
import pandas as pd
import traitlets

from llmlens.analysis import review
from llmlens.errors import LensError
from llmlens.widgets.traces import TraceView

ACTIONS = ("verdict", "tag", "untag", "note", "undo")


class ReviewQueue(TraceView):
    """A review queue: its items one at a time, each shown with the trace explorer (span tree, waterfall, span
    detail with the token viewer) under a bar with the queue, the reviewer, the progress and the judgement of the
    item. Keyboard-first: j / k next and previous item, p pass, f fail (both move on to the next item), 1-9 put on
    or take off the team's tags (most used first), t adds a tag (with autocomplete), n writes a note (Enter saves
    it), u undoes the last judgement. Each judgement is an annotation written at once, so a crash or a kernel
    restart loses nothing and opening the queue again resumes at the first item without a verdict.

    Make one with :meth:`llmlens.Lens.review`.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO traces (trace_id) VALUES ('t1'), ('t2')")
    >>> _ = review.add_items(lens.con, "2026-W47", ["t1", "t2"])
    >>> queue = ReviewQueue(lens.con, "2026-W47", "ana")
    >>> queue.judge("fail", tags=["stale source"], note="cites last year's policy")
    >>> queue.position, queue.judged, queue.items.loc[0, ["verdict", "tags", "note"]].tolist()
    (1, 1, ['fail', ['stale source'], "cites last year's policy"])
    """

    _view = traitlets.Unicode("review").tag(sync=True)
    queue = traitlets.Unicode("", help="the queue's name").tag(sync=True)
    reviewer = traitlets.Unicode("", help="who judges (annotations.annotator)").tag(sync=True)
    position = traitlets.Int(0, help="the item shown, 0-based").tag(sync=True)
    error = traitlets.Unicode("", help="why the last judgement could not be written").tag(sync=True)
    _items: traitlets.List[dict[str, Any]] = traitlets.List(traitlets.Dict()).tag(sync=True)
    _tags: traitlets.List[str] = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self, con: duckdb.DuckDBPyConnection, queue: str, reviewer: str, *, position: int | None = None, **kwargs: Any
    ) -> None:
        items = review.queue_state(con, queue, reviewer)
        if not items:
            raise LensError(f"review queue {queue!r} has no items: add traces with lens.review(n or a sample)")
        tags = review.taxonomy(con).tag.tolist()
        super().__init__(con, queue=queue, reviewer=reviewer, _items=items, _tags=tags, **kwargs)
        start = review.resume_position(con, queue, reviewer) if position is None else position
        self.position = min(max(start, 0), len(items) - 1)
        self._show()

    @traitlets.validate("position")
    def _valid_position(self, proposal: dict[str, Any]) -> int:
        return min(max(int(proposal["value"]), 0), max(len(self._items) - 1, 0))

    @traitlets.observe("position")
    def _moved(self, change: dict[str, Any]) -> None:
        self._show()

    def _show(self) -> None:
        if self._items:
            trace = str(self._items[self.position]["trace_id"])
            if trace != self.trace_id:
                self.trace_id = trace

    def _reload(self, new_tag: str | None = None) -> None:
        self._items = review.queue_state(self._con, self.queue, self.reviewer)
        if new_tag is not None and new_tag not in self._tags:
            self._tags = [*self._tags, new_tag]  # appended: the number keys of the others do not move

    @property
    def items(self) -> pd.DataFrame:
        """The queue's items in order with this reviewer's ``verdict``, ``tags`` and ``note``."""
        return pd.DataFrame(self._items, columns=["trace_id", "reason", "verdict", "tags", "note"])

    @property
    def judged(self) -> int:
        """How many items this reviewer has given a verdict."""
        return sum(item["verdict"] is not None for item in self._items)

    def next(self) -> None:
        """Show the next item."""
        self.position += 1

    def previous(self) -> None:
        """Show the previous item."""
        self.position -= 1

    def judge(
        self,
        verdict: str | None = None,
        *,
        tags: list[str] | tuple[str, ...] = (),
        untag: list[str] | tuple[str, ...] = (),
        note: str | None = None,
    ) -> None:
        """Judge the item shown: put ``tags`` on, take ``untag`` off, write ``note``, then the ``verdict`` (pass or
        fail), each written at once; a verdict moves on to the next item."""
        trace = self.trace_id
        for tag in tags:
            review.judge(self._con, self.queue, self.reviewer, trace, tag=tag)
            self._reload(review.clean_tag(tag))
        for tag in untag:
            review.judge(self._con, self.queue, self.reviewer, trace, untag=tag)
        if note is not None:
            review.judge(self._con, self.queue, self.reviewer, trace, note=note)
        if verdict is not None:
            review.judge(self._con, self.queue, self.reviewer, trace, verdict=verdict)
        self._reload()
        if verdict is not None:
            self.next()

    def undo(self) -> dict[str, Any] | None:
        """Delete this reviewer's last judgement in the queue and show its item; returns what was deleted."""
        undone = review.undo(self._con, self.queue, self.reviewer)
        self._reload()
        if undone is not None:
            ids = [item["trace_id"] for item in self._items]
            if undone["trace_id"] in ids:
                self.position = ids.index(undone["trace_id"])
        return undone

    def agreement(self) -> pd.DataFrame:
        """Cohen's kappa between the reviewers of this queue, on the verdict and on each tag (see
        :func:`llmlens.analysis.review.queue_agreement`)."""
        return review.queue_agreement(self._con, self.queue)

    @anywidget.experimental.command
    def act(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """One judgement from the front end (``action``: verdict, tag, untag, note or undo, on ``trace_id``), written
        at once; the new state arrives in the traits. Replies ``{"ok": ...}`` or ``{"error": ...}``."""
        action = str(msg.get("action", ""))
        trace = str(msg.get("trace_id", ""))
        value = msg.get("value")
        try:
            if action not in ACTIONS:
                raise LensError(f"unknown action {action!r}")
            if action == "undo":
                undone = self.undo()
                self.error = ""
                return {"ok": True, "undone": None if undone is None else undone["trace_id"]}, []
            if not isinstance(value, str):
                raise LensError(f"{action} needs a text value")
            review.judge(self._con, self.queue, self.reviewer, trace, **{action: value})
            self._reload(review.clean_tag(value) if action == "tag" else None)
        except LensError as error:
            self.error = str(error)
            return {"error": str(error)}, []
        self.error = ""
        return {"ok": True}, []
