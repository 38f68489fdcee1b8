"""Writing staged rows into the store: spans (the latest version of a span wins, and its old child rows go with
it), log records, runs, params and metrics, and the overviews of the metric series written
(:func:`refresh_overviews`).

Staging runs on its own connection, outside the file's transaction, so its temporary tables are freed chunk by
chunk; what is to be written is handed over as Arrow tables (:func:`staged_rows`) and written inside the file's
transaction (:func:`write_staged`).

No INSERT of zero rows runs in that transaction: in DuckDB 2.0, an empty insert followed by one of a row group or
more (122,880 rows) in the same transaction leaves the table reading as empty until the store is reopened.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from llmlens.loaders import otlp_logs
from llmlens.query import holds

CHILD_TABLES = ("messages", "documents", "tokens", "embeddings")
"""Tables whose rows belong to one span; a loader stages each as ``llmlens_stage_<table>`` keyed by span ``n``."""

STAGED_REJECTS = "CREATE OR REPLACE TEMP TABLE llmlens_stage_rejects AS SELECT * FROM rejects LIMIT 0"
"""Where a loader's SQL puts the records it rejects (written to ``rejects`` with the rest)."""

STAGED_ANNOTATIONS = (
    "CREATE OR REPLACE TEMP TABLE llmlens_stage_annotations AS "
    "SELECT * EXCLUDE (annotation_id, source_id) FROM annotations LIMIT 0"
)
"""Where a loader puts the annotations a file carries (scores, labels, human feedback): a loader runs this, then
``INSERT INTO llmlens_stage_annotations BY NAME SELECT ...``. An annotation with an ``external_id`` replaces the
stored one with the same id (so a reload adds nothing); a NULL ``created_at`` becomes the load time."""

_SUPERSEDED_SPANS = """
DELETE FROM llmlens_stage_spans WHERE rowid IN (
    SELECT rowid FROM llmlens_stage_spans
    QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY line DESC, n DESC) > 1
)
"""
"""A span repeated within a chunk keeps its last version (the window reads the keys only, not the wide rows; rows
go by rowid, as some loaders stage one ``n`` for several spans)."""

_CHILD_ROWS = """
SELECT s.trace_id, s.span_id, c.* EXCLUDE (n)
FROM llmlens_stage_{table} c JOIN llmlens_stage_spans s USING (n){order}
"""

_MARK_SUPERSEDED = """
UPDATE metrics SET superseded = true
FROM (
    WITH touched AS (
        SELECT run_id, key, step, seq, superseded FROM metrics
        WHERE run_id IN (SELECT DISTINCT run_id FROM llmlens_rows) AND seq IS NOT NULL
    ), restarts AS (  -- points logged after a higher step of their metric
        SELECT run_id, key, step, seq FROM (
            SELECT run_id, key, step, seq, max(step) OVER (PARTITION BY run_id, key ORDER BY seq
                                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
            FROM touched
        ) WHERE step < before
    )
    SELECT DISTINCT p.run_id, p.key, p.step, p.seq
    FROM touched p JOIN restarts r ON p.run_id = r.run_id AND p.key = r.key AND r.seq > p.seq AND r.step <= p.step
    WHERE NOT p.superseded
) s
WHERE metrics.run_id = s.run_id AND metrics.key = s.key AND metrics.step = s.step AND metrics.seq = s.seq
"""
"""Mark the points a restart superseded, as TensorBoard's purge would drop them: when a metric's step goes back
(a point logged, in ``seq`` order, after one at a higher step), every earlier point of that metric at that step or
above. Per metric, as TensorBoard purges by tag: two writers sharing a folder (train and eval) interleave steps."""

_WRITES = {  # table -> how its rows are written; `llmlens_written` is the new spans, `llmlens_rows` the table's rows
    "spans": (
        "DELETE FROM spans USING llmlens_written s WHERE spans.trace_id = s.trace_id AND spans.span_id = s.span_id",
        "INSERT INTO spans BY NAME SELECT $source_id AS source_id, * EXCLUDE (n) FROM llmlens_rows",
    ),
    "edges": (
        "DELETE FROM edges USING llmlens_written s "
        "WHERE edges.via_trace_id = s.trace_id AND edges.via_span_id = s.span_id",
        "INSERT INTO edges BY NAME SELECT $source_id AS source_id, * FROM llmlens_rows",
    ),
    "logs": otlp_logs.WRITES,
    # a run's row and params are replaced by the latest load of it, its span of time widened to cover every load
    # (a run resumed into a new file); its points accumulate, each point once (a later checkpoint or an
    # overlapping export repeats earlier points)
    "runs": (
        "CREATE OR REPLACE TEMP TABLE llmlens_merged_runs AS "
        "SELECT r.* REPLACE (least(r.started_at, o.started_at) AS started_at, "
        "greatest(r.ended_at, o.ended_at) AS ended_at) FROM llmlens_rows r LEFT JOIN "
        "(SELECT run_id, min(started_at) AS started_at, max(ended_at) AS ended_at FROM runs GROUP BY run_id) o "
        "USING (run_id)",
        "DELETE FROM runs USING llmlens_merged_runs r WHERE runs.run_id = r.run_id",
        "INSERT INTO runs BY NAME SELECT $source_id AS source_id, * FROM llmlens_merged_runs",
        "DROP TABLE llmlens_merged_runs",
    ),
    "params": (
        "DELETE FROM params USING (SELECT DISTINCT run_id FROM llmlens_rows) r WHERE params.run_id = r.run_id",
        "INSERT INTO params BY NAME SELECT $source_id AS source_id, * FROM llmlens_rows",
    ),
    "metrics": (
        "CREATE OR REPLACE TEMP TABLE llmlens_new_points AS SELECT r.* FROM llmlens_rows r "
        "WHERE NOT EXISTS (SELECT 1 FROM metrics m WHERE m.run_id = r.run_id AND m.key = r.key "
        "AND m.step IS NOT DISTINCT FROM r.step AND m.seq IS NOT DISTINCT FROM r.seq)",
        # the anti-join does not keep the rows' order: sorted here
        "INSERT INTO metrics BY NAME SELECT $source_id AS source_id, * FROM llmlens_new_points "
        "ORDER BY run_id, key, step, seq",
        "DROP TABLE llmlens_new_points",
        _MARK_SUPERSEDED,
    ),
    # the points of runs the store holds none of yet: nothing to compare them with
    "new metrics": (
        "INSERT INTO metrics BY NAME SELECT $source_id AS source_id, * FROM llmlens_rows "
        "ORDER BY run_id, key, step, seq",
        _MARK_SUPERSEDED,
    ),
    "annotations": (
        "DELETE FROM annotations USING llmlens_rows r WHERE annotations.external_id = r.external_id",
        "INSERT INTO annotations BY NAME SELECT $source_id AS source_id, "
        "* REPLACE (coalesce(created_at, now()) AS created_at) FROM llmlens_rows",
    ),
    "rejects": ("INSERT INTO rejects BY NAME SELECT * FROM llmlens_rows",),
}
_CHILD_WRITES = (
    "DELETE FROM {table} USING llmlens_written s WHERE {table}.trace_id = s.trace_id AND {table}.span_id = s.span_id",
    "INSERT INTO {table} BY NAME SELECT $source_id AS source_id, * FROM llmlens_rows",
)


def staged_rows(stager: duckdb.DuckDBPyConnection) -> dict[str, pa.Table]:
    """What the staged tables on ``stager`` add to the store, as Arrow tables by name: ``spans``, the child tables
    a loader staged, ``edges`` and ``logs`` for traces; ``runs``, ``params`` and ``metrics`` for run logs;
    ``annotations``; and ``rejects``. Duplicates of a span within the chunk keep the last."""
    staged = {row[0] for row in stager.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    rows = _span_rows(stager, staged) if "llmlens_stage_spans" in staged else {}
    if "llmlens_stage_runs" in staged:
        rows["runs"] = stager.sql("SELECT DISTINCT ON (run_id) * FROM llmlens_stage_runs").to_arrow_table()
        rows["params"] = stager.sql("SELECT DISTINCT ON (run_id, key) * FROM llmlens_stage_params").to_arrow_table()
        rows["metrics"] = stager.sql(_STAGED_METRICS).to_arrow_table()
    if "llmlens_stage_annotations" in staged:
        rows["annotations"] = stager.sql(_STAGED_ANNOTATIONS_ROWS).to_arrow_table()
    rows["rejects"] = stager.sql("SELECT * FROM llmlens_stage_rejects").to_arrow_table()
    return rows


_STAGED_ANNOTATIONS_ROWS = """
SELECT * FROM llmlens_stage_annotations
QUALIFY external_id IS NULL OR row_number() OVER (PARTITION BY external_id) = 1
"""
"""Annotations; one repeated within the chunk (same external id) counts once."""


_STAGED_METRICS = """
SELECT * FROM llmlens_stage_metrics
QUALIFY row_number() OVER (PARTITION BY run_id, key, step, seq) = 1
"""
"""Metric points; a point repeated within the file counts once (they are sorted as they are written)."""


def _span_rows(stager: duckdb.DuckDBPyConnection, staged: set[str]) -> dict[str, pa.Table]:
    stager.execute(_SUPERSEDED_SPANS)
    rows = {"spans": stager.sql("SELECT * EXCLUDE (line, byte_offset) FROM llmlens_stage_spans").to_arrow_table()}
    for table in CHILD_TABLES:
        if f"llmlens_stage_{table}" in staged:
            # embeddings get surrogate keys from a sequence: keep file order, so the same files give the same keys
            query = _CHILD_ROWS.format(table=table, order=" ORDER BY c.n" if table == "embeddings" else "")
            rows[table] = stager.sql(query).to_arrow_table()
    edges = "SELECT * FROM llmlens_stage_edges WHERE dst_span_id IS NOT NULL"
    rows["edges"] = stager.sql(
        edges if "llmlens_stage_edges" in staged else "SELECT * EXCLUDE (source_id) FROM edges LIMIT 0"
    ).to_arrow_table()
    if "llmlens_stage_logs" in staged:
        rows["logs"] = stager.sql(otlp_logs.STAGED).to_arrow_table()
    return rows


def write_staged(con: duckdb.DuckDBPyConnection, source_id: int, rows: dict[str, pa.Table]) -> None:
    """Write ``rows`` (from :func:`staged_rows`) into the store: a span already stored (same trace and span id)
    is replaced with its child rows and edges, so loading a file twice, or overlapping exports, keeps one copy.

    The Arrow tables are read by name from this function's variables (DuckDB's replacement scan), not registered:
    a registered view would live, with its rows, until the file's transaction ends.
    """
    written = rows.get("spans", _NO_SPANS)
    for table, table_rows in rows.items():
        if not table_rows.num_rows:
            continue  # never an empty INSERT in the load's transaction (DuckDB 2.0 then misreads the table)
        kind = "new metrics" if table == "metrics" and not _holds_runs_of(con, table_rows) else table
        statements = _WRITES.get(kind) or tuple(sql.format(table=table) for sql in _CHILD_WRITES)
        for statement in statements:
            _execute(con, statement, table_rows, written, source_id)
    if "spans" in rows:
        otlp_logs.write_messages(con, rows["spans"], rows.get("logs"))
    if written.num_rows:
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_TOUCHED} (trace_id VARCHAR)")
        touched = f"INSERT INTO {_TOUCHED} SELECT DISTINCT trace_id FROM llmlens_written"
        _execute(con, touched, written, written, source_id)
    if "metrics" in rows and rows["metrics"].num_rows:
        _pend_overviews(con, rows["metrics"])


_TOUCHED = "llmlens_touched_traces"
"""The traces a file's chunks wrote spans of (a temporary table on the load's connection): their rows of ``traces``
are computed once, at the end of the file, not once per chunk (each of which read the traces' spans again)."""

_TRACE_WRITES = (
    f"DELETE FROM traces USING (SELECT DISTINCT trace_id FROM {_TOUCHED}) t WHERE traces.trace_id = t.trace_id",
    f"INSERT INTO traces BY NAME SELECT * FROM trace_rows((SELECT list(DISTINCT trace_id) FROM {_TOUCHED}))",
    f"DROP TABLE {_TOUCHED}",
)
"""The rows of ``traces`` for the traces whose spans were written, computed again from all their spans (and only
theirs: the cost of a load does not grow with the store)."""

_PENDING = "llmlens_pending_series"
"""The series (run, key) a file's last chunk wrote points of, their overviews still to refresh (a temporary table
on the load's connection)."""


def refresh_overviews(
    con: duckdb.DuckDBPyConnection, runs: list[str] | None = None, keys: list[str] | None = None
) -> None:
    """Compute again the overview rows (``metric_overviews``) of the series of ``runs`` and ``keys`` (default: all)
    from their points. Every load does it for the series it wrote; run it after writing points into ``metrics`` by
    hand, or charts keep bucketing the points (a little slower, the same answer).

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> _ = lens.con.execute("INSERT INTO metrics (run_id, key, step, value) "
    ...                      "SELECT 'r', 'loss', i, i FROM range(9000) t(i)")
    >>> refresh_overviews(lens.con, runs=["r"])
    >>> lens.con.execute("SELECT n_points, width, len(low), high[-1] FROM metric_overviews").fetchall()
    [(9000, 3, 3000, 8999.0)]
    """
    params = {"runs": runs, "keys": keys}
    con.execute(
        "DELETE FROM metric_overviews WHERE ($runs IS NULL OR list_contains($runs, run_id)) "
        "AND ($keys IS NULL OR list_contains($keys, key))",
        params,
    )
    con.execute("INSERT INTO metric_overviews BY NAME SELECT * FROM metric_overview_rows($runs, $keys)", params)


def finish_writes(con: duckdb.DuckDBPyConnection) -> None:
    """At the end of a file's load (in its transaction): the rows of ``traces`` for the traces it wrote spans of, and
    the overviews of the metric series its last chunks wrote."""
    if holds(con, "duckdb_tables() WHERE temporary AND table_name = ?", [_TOUCHED]):
        for statement in _TRACE_WRITES:
            con.execute(statement)
    if holds(con, "duckdb_tables() WHERE temporary AND table_name = ?", [_PENDING]):
        _refresh_pairs(con, *con.execute(_PAIRS.format(series=f"FROM {_PENDING}")).fetchall()[0])
        con.execute(f"DROP TABLE {_PENDING}")


def _pend_overviews(con: duckdb.DuckDBPyConnection, llmlens_rows: pa.Table) -> None:
    """After a chunk's points are written: refresh the overviews of the series earlier chunks wrote and this one did
    not (done, when the file is sorted by run or key), and keep this chunk's series for later. A series that
    every chunk writes (a file sorted by step) is refreshed once, at the end, not once per chunk."""
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_PENDING} (run_id VARCHAR, key VARCHAR)")
    done = f"SELECT run_id, key FROM {_PENDING} EXCEPT SELECT run_id, key FROM llmlens_rows"
    _refresh_pairs(con, *con.execute(_PAIRS.format(series=f"FROM ({done})")).fetchall()[0])
    con.execute(f"DELETE FROM {_PENDING}")
    con.execute(f"INSERT INTO {_PENDING} SELECT DISTINCT run_id, key FROM llmlens_rows")


_PAIRS = "SELECT list(DISTINCT run_id), list(DISTINCT key) {series}"
"""The runs and the keys of some series, as two lists."""


def _refresh_pairs(con: duckdb.DuckDBPyConnection, runs: list[str] | None, keys: list[str] | None) -> None:
    """Refresh the overviews of every series of ``runs`` and ``keys`` (a few more than those written, at most);
    each written series is in ``metrics``, so the refresh never inserts zero rows in the load's transaction."""
    if runs:
        refresh_overviews(con, runs, keys)


def _holds_runs_of(con: duckdb.DuckDBPyConnection, llmlens_rows: pa.Table) -> bool:
    """Whether the store holds points of any run of ``llmlens_rows`` (read by name, as in :func:`_execute`)."""
    return bool(
        con.execute(
            "SELECT EXISTS (SELECT 1 FROM metrics WHERE run_id IN (SELECT DISTINCT run_id FROM llmlens_rows))"
        ).fetchall()[0][0]
    )


_NO_SPANS = pa.table({"trace_id": pa.array([], pa.string()), "span_id": pa.array([], pa.string())})


def _execute(
    con: duckdb.DuckDBPyConnection, sql: str, llmlens_rows: pa.Table, llmlens_written: pa.Table, source_id: int
) -> None:
    """Run one write; the SQL reads the two tables by these argument names (prefixed, so that no table of the
    user's can shadow them: DuckDB looks in the catalog before it looks at Python variables). An INSERT whose
    SELECT finds no rows is not run (see the module's note on DuckDB 2.0)."""
    params = {"source_id": source_id} if "$source_id" in sql else None
    if sql.startswith("INSERT INTO "):  # checked here, where the statement's tables are read by name
        exists = f"SELECT EXISTS ({sql[sql.index('SELECT') :]})"
        if not con.execute(exists, params).fetchall()[0][0]:
            return
    con.execute(sql, params)


def rows_added(con: duckdb.DuckDBPyConnection, source_id: int) -> dict[str, int]:
    """Rows in the store that came from ``source_id``, per table."""
    added = {}
    for table in ("spans", *CHILD_TABLES, "edges", "logs", "annotations", "runs", "params", "metrics"):
        row = con.execute(f"SELECT count(*) FROM {table} WHERE source_id = ?", [source_id]).fetchall()[0]
        added[table] = int(row[0]) if row else 0
    return added


def metric_notes(con: duckdb.DuckDBPyConnection, source_id: int) -> list[str]:
    """What a reader of a run log should know about the points ``source_id`` added: values that are NaN or infinite
    (kept as logged), and points of its runs that a restart superseded (kept, and marked)."""
    ((odd, superseded),) = con.execute(
        "SELECT count(*) FILTER (WHERE source_id = $source AND NOT isfinite(value)), "
        "count(*) FILTER (WHERE superseded) FROM metrics "
        "WHERE run_id IN (SELECT DISTINCT run_id FROM metrics WHERE source_id = $source)",
        {"source": source_id},
    ).fetchall()
    notes = [f"{odd:,} points are NaN or infinite (kept as logged)"] if odd else []
    return notes + ([f"{superseded:,} points superseded by a restart (kept, marked superseded)"] if superseded else [])


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every staging table, so nothing of one file's (or chunk's) load is seen by the next."""
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE 'llmlens\\_%' ESCAPE '\\'"
    ).fetchall():
        con.execute(f'DROP TABLE IF EXISTS temp."{name}"')
    con.execute("DROP VIEW IF EXISTS temp.llmlens_records")
