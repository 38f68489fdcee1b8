"""Writing staged spans into the store: the latest version of a span wins, and its old child rows go with it."""

from __future__ import annotations

import duckdb

from llmlens.query import run_script

CHILD_TABLES = ("messages", "documents", "tokens", "embeddings")
"""Tables whose rows belong to one span; a loader stages each as ``llmlens_stage_<table>`` keyed by span ``n``."""

_NEW_SPANS = """
CREATE OR REPLACE TEMP TABLE llmlens_new_spans AS
SELECT * FROM llmlens_stage_spans
QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY line DESC, n DESC) = 1;
DELETE FROM spans USING llmlens_new_spans s WHERE spans.trace_id = s.trace_id AND spans.span_id = s.span_id;
DELETE FROM edges USING llmlens_new_spans s WHERE edges.via_trace_id = s.trace_id AND edges.via_span_id = s.span_id;
INSERT INTO spans BY NAME
SELECT $source_id AS source_id, * EXCLUDE (n, line, byte_offset) FROM llmlens_new_spans;
INSERT INTO edges BY NAME SELECT $source_id AS source_id, * FROM llmlens_stage_edges WHERE dst_span_id IS NOT NULL;
"""

_CHILD = """
DELETE FROM {table} USING llmlens_new_spans s WHERE {table}.trace_id = s.trace_id AND {table}.span_id = s.span_id;
INSERT INTO {table} BY NAME
SELECT $source_id AS source_id, s.trace_id, s.span_id, c.* EXCLUDE (n)
FROM llmlens_stage_{table} c JOIN llmlens_new_spans s USING (n){order};
"""


def write_staged(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Move the staged spans, their child rows and edges into the store.

    A loader stages what its format has: ``llmlens_stage_spans`` always, the child tables when it has them.

    Loading a span that is already stored (same trace and span id) replaces it, so loading a file twice,
    or two overlapping exports, leaves one copy of each span.
    """
    staged = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()}
    children = [table for table in CHILD_TABLES if f"llmlens_stage_{table}" in staged]
    if "llmlens_stage_edges" not in staged:
        con.execute("CREATE TEMP TABLE llmlens_stage_edges AS SELECT * EXCLUDE (source_id) FROM edges LIMIT 0")
    # embeddings get surrogate keys from a sequence: insert them in file order, so the same files give the same keys
    script = _NEW_SPANS + "".join(
        _CHILD.format(table=table, order=" ORDER BY c.n" if table == "embeddings" else "") for table in children
    )
    run_script(con, script, {"source_id": source_id})


def rows_added(con: duckdb.DuckDBPyConnection, source_id: int) -> dict[str, int]:
    """Rows in the store that came from ``source_id``, per table."""
    added = {}
    for table in ("spans", *CHILD_TABLES, "edges"):
        row = con.execute(f"SELECT count(*) FROM {table} WHERE source_id = ?", [source_id]).fetchall()[0]
        added[table] = int(row[0]) if row else 0
    return added


def drop_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every staging table, so nothing of one file's (or chunk's) load is seen by the next."""
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name LIKE 'llmlens\\_%' ESCAPE '\\'"
    ).fetchall():
        con.execute(f'DROP TABLE IF EXISTS temp."{name}"')
    con.execute("DROP VIEW IF EXISTS temp.llmlens_records")
