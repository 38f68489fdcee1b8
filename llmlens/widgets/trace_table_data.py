"""The data behind the trace table: the traces matching a filter and a text search, counted, and one page of
them sorted, with their annotation labels and check results, as Arrow. Every page is one query on ``traces``:
only the rows in view travel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from llmlens.errors import LensError
from llmlens.where import where_clause

COLUMNS: dict[str, tuple[str, str]] = {
    "start_time": ("time", "time"),
    "root_name": ("text", "name"),
    "duration_ms": ("ms", "latency"),
    "total_tokens": ("int", "tokens"),
    "cost_usd": ("usd", "cost"),
    "status": ("status", "status"),
    "model": ("text", "model"),
    "session_id": ("text", "session"),
    "user_id": ("text", "user"),
    "labels": ("labels", "labels"),
    "checks": ("checks", "checks"),
    "input": ("text", "input"),
    "output": ("text", "output"),
}
"""The table's columns: how each is shown (time, text, ms, int, usd, status, labels, checks) and its header."""

SORTABLE = (
    "start_time",
    "root_name",
    "duration_ms",
    "total_tokens",
    "cost_usd",
    "status",
    "model",
    "session_id",
    "user_id",
    "n_spans",
    "n_errors",
)

PREVIEW = 240
"""Characters of a trace's input and output sent per row."""

MAX_PAGE = 1_000


@dataclass(frozen=True)
class TraceQuery:
    """Which traces, in which order: ``where`` is a SQL expression over the columns of ``traces`` (checked to be
    one read-only expression), ``search`` text found (any case) in a trace's input, output, root name or ids,
    ``session`` one session's id (bound as a parameter, never part of the SQL)."""

    where: str | None = None
    search: str | None = None
    sort: str = "start_time"
    descending: bool = True
    session: str | None = None

    def sql(self, con: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, str]]:
        """The FROM-and-WHERE part selecting these traces, and its parameters.

        >>> import llmlens
        >>> TraceQuery(search="refund").sql(llmlens.open(":memory:").con)[1]
        {'pattern': '%refund%', 'text': 'refund'}
        """
        if self.sort not in SORTABLE:
            raise LensError(f"cannot sort traces by {self.sort!r}; sortable: {', '.join(SORTABLE)}")
        conditions: list[str] = []
        params: dict[str, str] = {}
        where = self.where.strip() if self.where else ""
        if where:
            conditions.append(where_clause(con, where, "traces").removeprefix(" WHERE "))
        if self.search:
            text = self.search.strip()
            params |= {"pattern": "%" + _escape_like(text) + "%", "text": text}
            conditions.append(_SEARCH)
        if self.session is not None:
            params["session"] = self.session
            conditions.append("session_id = $session")
        return "FROM traces" + (" WHERE " + " AND ".join(conditions) if conditions else ""), params


_SEARCH = (
    "(input_text ILIKE $pattern ESCAPE '\\' OR output_text ILIKE $pattern ESCAPE '\\' "
    "OR root_name ILIKE $pattern ESCAPE '\\' OR trace_id = $text OR session_id = $text OR user_id = $text)"
)


def _escape_like(text: str) -> str:
    r"""``text`` with LIKE's wildcards escaped, so that it matches itself.

    >>> _escape_like("50%_off\\")
    '50\\%\\_off\\\\'
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def count_traces(con: duckdb.DuckDBPyConnection, query: TraceQuery) -> int:
    """How many traces ``query`` selects.

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> count_traces(lens.con, TraceQuery()) == len(lens.sql("SELECT * FROM traces"))
    True
    """
    body, params = query.sql(con)
    return int(_run(con, f"SELECT count(*) {body}", params, query).fetchall()[0][0])


_PAGE = """
WITH page AS (
    SELECT trace_id, start_time, root_name, duration_ms, total_tokens, cost_usd, status, model, session_id, user_id,
           n_spans, n_errors, left(input_text, {preview}) AS input, left(output_text, {preview}) AS output
    {body}
    ORDER BY {sort} {direction} NULLS LAST, trace_id
    LIMIT $limit OFFSET $offset
), judged AS ({judged})
SELECT p.*, coalesce(j.labels, []) AS labels, coalesce(j.checks_passed, 0) AS checks_passed,
       coalesce(j.checks_failed, 0) AS checks_failed
FROM page p LEFT JOIN judged j USING (trace_id)
ORDER BY p.{sort} {direction} NULLS LAST, p.trace_id
"""

_JUDGED = """
    SELECT target_id AS trace_id,
           list(DISTINCT name || '=' || coalesce(label, CAST(score AS VARCHAR)) ORDER BY name || '=' ||
                coalesce(label, CAST(score AS VARCHAR))) FILTER (WHERE annotator_kind <> 'check') AS labels,
           count(*) FILTER (WHERE annotator_kind = 'check' AND {passed}) AS checks_passed,
           count(*) FILTER (WHERE annotator_kind = 'check' AND NOT {passed}) AS checks_failed
    FROM annotations
    WHERE target_kind = 'trace' AND target_id IN (SELECT trace_id FROM {rows})
    GROUP BY target_id
"""
"""The labels and check results of the traces in ``rows`` (a CTE's name)."""

PASSED = "coalesce(score > 0, lower(label) IN ('pass', 'passed', 'true', 'yes', 'ok', 'correct'), false)"
"""When a check's annotation counts as passed: a positive score, else a label saying so."""


def trace_page(con: duckdb.DuckDBPyConnection, query: TraceQuery, offset: int, limit: int) -> pa.Table:
    """Rows ``offset`` to ``offset + limit`` of the traces ``query`` selects, in its order: the table's columns,
    with the non-check annotations of each trace as ``name=label`` strings and its passed and failed checks.

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> page = trace_page(lens.con, TraceQuery(sort="duration_ms"), 0, 5)
    >>> page.num_rows, page.column_names[:3]
    (5, ['trace_id', 'start_time', 'root_name'])
    """
    if not 0 < limit <= MAX_PAGE or offset < 0:
        raise LensError(f"a page is 1 to {MAX_PAGE} rows from an offset of 0 or more, not {limit} from {offset}")
    body, params = query.sql(con)
    sql = _PAGE.format(
        body=body,
        sort=query.sort,  # checked against SORTABLE by query.sql
        direction="DESC" if query.descending else "ASC",
        preview=PREVIEW,
        judged=_JUDGED.format(passed=PASSED, rows="page"),
    )
    return _run(con, sql, {**params, "limit": limit, "offset": offset}, query).to_arrow_table()


def selected_traces(con: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> pd.DataFrame:
    """The ``traces`` rows of ``trace_ids``, in that order, with their labels and checks as in a page.

    >>> import llmlens.demo
    >>> lens = llmlens.demo.open()
    >>> ids = lens.sql("SELECT trace_id FROM traces LIMIT 2").trace_id.tolist()
    >>> selected_traces(lens.con, ids[::-1]).trace_id.tolist() == ids[::-1]
    True
    """
    frame: pd.DataFrame = con.sql(
        _SELECTED.format(judged=_JUDGED.format(passed=PASSED, rows="wanted")), params={"ids": list(trace_ids)}
    ).df()
    return frame


_SELECTED = """
WITH wanted AS (SELECT unnest($ids::VARCHAR[]) AS trace_id, unnest(range(len($ids::VARCHAR[]))) AS position)
SELECT t.*, coalesce(j.labels, []) AS labels, coalesce(j.checks_passed, 0) AS checks_passed,
       coalesce(j.checks_failed, 0) AS checks_failed
FROM wanted w JOIN traces t USING (trace_id)
LEFT JOIN ({judged}) j USING (trace_id)
ORDER BY w.position
"""


def _run(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, object], query: TraceQuery
) -> duckdb.DuckDBPyRelation:
    """Run a query over ``traces``; an error the user's ``where`` caused names the columns it can use."""
    try:
        return con.sql(sql, params=params)
    except duckdb.Error as error:
        if not query.where:
            raise
        columns = [row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE traces)").fetchall()]
        raise LensError(f"where {query.where!r} failed: {error}; the columns are {', '.join(columns)}") from error
