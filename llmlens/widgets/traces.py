"""The trace explorer widgets: :class:`TraceView` (one trace: span tree, waterfall, span detail) and
:class:`TraceTable` (every trace, paged by query, with the opened trace under it); thin classes over
:mod:`llmlens.widgets.trace_data` and :mod:`llmlens.widgets.trace_table_data`."""

from __future__ import annotations

import base64
import json
from typing import Any

import anywidget.experimental
import duckdb
import pandas as pd
import traitlets

from llmlens.errors import LensError
from llmlens.widgets.agents import AgentGraph
from llmlens.widgets.base import Widget
from llmlens.widgets.token_data import ipc_bytes, span_tokens
from llmlens.widgets.trace_data import (
    attribute_value,
    find_trace,
    span_detail,
    span_details,
    trace_meta,
    trace_spans,
)
from llmlens.widgets.trace_table_data import COLUMNS, SORTABLE, TraceQuery, count_traces, selected_traces, trace_page

EXPORT_DETAILS_BYTES = 2_000_000
"""Budget for the span details a kernel-free page embeds (the first spans in tree order, until it is spent)."""

EXPORT_DETAILS_SPANS = 500
"""At most this many spans' details are embedded in a kernel-free page (each is a few queries)."""

PAGE_ROWS = 100
"""Rows of the trace table sent with the widget (and embedded in an exported page)."""


_OF_SPAN = "trace_id = $trace AND span_id = $span"
_SPAN_ROWS = {
    **dict.fromkeys(("spans", "messages", "documents", "tokens", "embeddings"), _OF_SPAN),
    "edges": "(src_trace_id = $trace AND src_span_id = $span) OR (dst_trace_id = $trace AND dst_span_id = $span)",
    "annotations": "target_kind <> 'trace' AND target_id = $span",
}
"""How each table's rows of one span are found."""


class TraceView(Widget):
    """One trace: its span tree (collapsible, virtualised: 100,000 spans scroll smoothly) beside a waterfall with
    the critical path marked, and the selected span's detail: messages by role with tool calls, retrieved
    documents with score and rank, the token viewer for LLM spans with logprobs, attributes and events.

    Keys: up/down move, left/right collapse/expand, Enter selects. Make one with :meth:`llmlens.Lens.trace`.

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> trace = lens.sql("SELECT trace_id FROM traces WHERE root_name = 'rag_pipeline' LIMIT 1").trace_id[0]
    >>> view = TraceView(lens.con, trace[:8])
    >>> view.trace_id == trace, int(view.spans.depth.iloc[0])
    (True, 0)
    >>> view.selected_span = view.spans.span_id.iloc[1]
    >>> view.span_rows().span_id.tolist() == [view.selected_span]
    True
    """

    _bundle_name = "traces"

    _view = traitlets.Unicode("trace").tag(sync=True)
    trace_id = traitlets.Unicode("", help="the trace shown; '' for none").tag(sync=True)
    selected_span = traitlets.Unicode("", help="the span whose detail is shown; '' for none").tag(sync=True)
    _trace_meta: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)
    _spans = traitlets.Bytes(b"").tag(sync=True)
    _details: traitlets.Dict[str, Any] = traitlets.Dict().tag(sync=True)  # filled only in an exported page

    def __init__(self, con: duckdb.DuckDBPyConnection, trace_id: str | None = None, **kwargs: Any) -> None:
        self._con = con
        self._span_table = trace_spans(con, "")[0]
        super().__init__(**kwargs)
        if trace_id:
            self.trace_id = find_trace(con, trace_id)

    @traitlets.observe("trace_id")
    def _open(self, change: dict[str, Any]) -> None:
        trace = change["new"]
        if trace and trace != find_trace(self._con, trace):
            self.trace_id = find_trace(self._con, trace)  # a prefix: opened again under the full id
            return
        spans = trace_spans(self._con, trace)[0]
        self._span_table = spans
        self.selected_span = ""
        self._trace_meta = trace_meta(self._con, trace, spans.num_rows) if trace else {}
        self._spans = ipc_bytes(spans) if trace else b""

    @property
    def spans(self) -> pd.DataFrame:
        """The spans shown, in tree order: id, parent row, depth, subtree end, name, kind, timing, status, model,
        tokens, cost, agent, critical path, orphan, and whether the span has tokens."""
        frame: pd.DataFrame = self._span_table.to_pandas()
        return frame

    def span_rows(self, table: str = "spans", span_id: str | None = None) -> pd.DataFrame:
        """The rows of ``table`` (spans, messages, documents, tokens, embeddings, edges or annotations) for the
        selected span (or ``span_id``)."""
        span = span_id or self.selected_span
        if not span:
            raise LensError("no span selected: click one in the tree, or pass span_id=...")
        where = _SPAN_ROWS.get(table)
        if where is None:
            raise LensError(f"no span rows in {table!r}: use one of {', '.join(_SPAN_ROWS)}")
        frame: pd.DataFrame = self._con.sql(
            f"SELECT * FROM {table} WHERE {where}", params={"trace": self.trace_id, "span": span}
        ).df()  # table and where come from the fixed mapping above
        return frame

    def agents(self) -> AgentGraph:
        """The agent network of this trace: who handed to whom (a loop shows as a cycle), which tools they called."""
        return AgentGraph(self._con, trace_ids=[self.trace_id], title=f"agents of trace {self.trace_id}")

    @anywidget.experimental.command
    def span_detail(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, Any], list[bytes]]:
        """A span's detail for the view (tokens and alternatives as Arrow IPC when it has them)."""
        span = str(msg.get("span_id", ""))
        detail = span_detail(self._con, self.trace_id, span)
        if not detail["tokens"]:
            return detail, []
        data = span_tokens(self._con, span, self.trace_id)
        return detail, [ipc_bytes(data.tokens), ipc_bytes(data.alternatives)]

    @anywidget.experimental.command
    def attribute_value(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, str], list[bytes]]:
        """The full text of a value the detail cut."""
        path = [step for step in msg.get("path", []) if isinstance(step, str | int)]
        return {"value": attribute_value(self._con, self.trace_id, str(msg.get("span_id", "")), path)}, []

    def exported_state(self) -> dict[str, Any]:
        """The state for a kernel-free page: with the details of the first spans embedded (tokens as base64 Arrow),
        up to :data:`EXPORT_DETAILS_SPANS` spans and :data:`EXPORT_DETAILS_BYTES`."""
        state = super().exported_state()
        details: dict[str, Any] = {}
        spent = 0
        spans = self._span_table["span_id"].to_pylist()[:EXPORT_DETAILS_SPANS]
        for span, detail in span_details(self._con, self.trace_id, spans).items():
            if detail["tokens"]:
                data = span_tokens(self._con, span, self.trace_id)
                detail["tokens"]["tokens_b64"] = base64.b64encode(ipc_bytes(data.tokens)).decode("ascii")
                detail["tokens"]["alternatives_b64"] = base64.b64encode(ipc_bytes(data.alternatives)).decode("ascii")
            spent += len(json.dumps(detail, default=str))
            if spent > EXPORT_DETAILS_BYTES:
                break
            details[span] = json.loads(json.dumps(detail, default=str))
        state["_details"] = details
        return state


class TraceTable(TraceView):
    """Every trace in the store, one row each: time, root name, latency, tokens, cost, status, model, session,
    user, annotation labels and check results, input and output. Paging, sorting (click a header) and text search
    run as queries, so a million traces scroll smoothly: only the rows in view travel. Selecting rows (click,
    shift-click, ctrl-click) sets ``selected_ids``; :attr:`selected` returns them as a DataFrame. Enter or a
    double-click opens the trace under the table.

    ``where`` is a SQL condition on the columns of ``traces`` (``"n_errors > 0 AND model LIKE 'gpt-4%'"``),
    checked to be one read-only expression; ``search`` is text found in a trace's input, output, root name or ids.
    Make one with :meth:`llmlens.Lens.traces`.

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> table = TraceTable(lens.con, search="refund")
    >>> 0 < table.count < table.total
    True
    >>> table.selected_ids = table.page(0, 2).trace_id.tolist()
    >>> len(table.selected)
    2
    """

    _view = traitlets.Unicode("table").tag(sync=True)
    columns: traitlets.List[dict[str, Any]] = traitlets.List(traitlets.Dict()).tag(sync=True)
    where = traitlets.Unicode("", help="SQL condition on the traces' columns").tag(sync=True)
    search = traitlets.Unicode("", help="text to find in inputs, outputs, names and ids").tag(sync=True)
    sort = traitlets.Unicode("start_time").tag(sync=True)
    descending = traitlets.Bool(True).tag(sync=True)
    count = traitlets.Int(0, help="traces matching where and search").tag(sync=True)
    total = traitlets.Int(0, help="traces in the store").tag(sync=True)
    error = traitlets.Unicode("", help="why where or search could not run").tag(sync=True)
    generation = traitlets.Int(0, help="bumped whenever the rows change").tag(sync=True)
    session = traitlets.Unicode(None, allow_none=True, help="the one session shown, if any").tag(sync=True)
    selected_ids: traitlets.List[str] = traitlets.List(traitlets.Unicode(), help="selected trace ids").tag(sync=True)
    _first_page = traitlets.Bytes(b"").tag(sync=True)

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        where: str | None = None,
        search: str | None = None,
        sort: str = "start_time",
        descending: bool = True,
        session: str | None = None,
        **kwargs: Any,
    ) -> None:
        query = TraceQuery(where or None, search or None, sort, descending, session)
        count = count_traces(con, query)  # a bad where or sort raises here, before any widget exists
        columns = [
            {"name": name, "type": kind, "label": label, "sortable": name in SORTABLE}
            for name, (kind, label) in COLUMNS.items()
        ]
        super().__init__(con, columns=columns, **kwargs)
        with self.hold_trait_notifications():
            self.where, self.search, self.sort, self.descending = where or "", search or "", sort, descending
            self.session = session
        self._refresh(count)

    @property
    def query(self) -> TraceQuery:
        """The traces shown, as a :class:`~llmlens.widgets.trace_table_data.TraceQuery`."""
        return TraceQuery(self.where or None, self.search or None, self.sort, self.descending, self.session)

    @traitlets.observe("where", "search", "sort", "descending", "session")
    def _query_changed(self, change: dict[str, Any]) -> None:
        try:
            count = count_traces(self._con, self.query)
        except (LensError, duckdb.Error) as error:
            self.error = str(error)
            return
        self._refresh(count)

    def _refresh(self, count: int) -> None:
        first = trace_page(self._con, self.query, 0, PAGE_ROWS)
        total = int(self._con.execute("SELECT count(*) FROM traces").fetchall()[0][0])
        with self.hold_trait_notifications():
            self.error = ""
            self.count, self.total = count, total
            self._first_page = ipc_bytes(first)
            self.generation += 1

    def page(self, offset: int = 0, limit: int = PAGE_ROWS) -> pd.DataFrame:
        """Rows ``offset`` to ``offset + limit`` of the table as it is sorted and filtered now, as a DataFrame.

        >>> import llmlens.demo
        >>> table = llmlens.demo.open().traces(sort="duration_ms", descending=True)
        >>> slowest = table.page(limit=5)
        >>> len(slowest), bool(slowest.duration_ms.is_monotonic_decreasing)
        (5, True)
        """
        frame: pd.DataFrame = trace_page(self._con, self.query, offset, limit).to_pandas()
        return frame

    @property
    def selected(self) -> pd.DataFrame:
        """The selected traces (``selected_ids``), their ``traces`` rows with labels and checks."""
        return selected_traces(self._con, self.selected_ids)

    @anywidget.experimental.command
    def rows(self, msg: Any, buffers: list[bytes]) -> tuple[dict[str, int], list[bytes]]:
        """A page of rows for the table (Arrow IPC), tagged with the generation it was cut for."""
        offset, limit = int(msg.get("offset", 0)), int(msg.get("limit", PAGE_ROWS))
        generation = self.generation
        return {"offset": offset, "generation": generation}, [
            ipc_bytes(trace_page(self._con, self.query, offset, limit))
        ]
