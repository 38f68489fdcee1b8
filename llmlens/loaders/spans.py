"""Writing staged spans into the store: the latest version of a span wins, and its old child rows go with it."""

from __future__ import annotations

import duckdb

from llmlens.query import run_script

REPLACE = """
CREATE OR REPLACE TEMP TABLE llmlens_new_spans AS
SELECT * FROM llmlens_stage_spans
QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY line DESC, n DESC) = 1;
DELETE FROM spans USING llmlens_new_spans s WHERE spans.trace_id = s.trace_id AND spans.span_id = s.span_id;
DELETE FROM edges USING llmlens_new_spans s WHERE edges.src_trace_id = s.trace_id AND edges.src_span_id = s.span_id;
DELETE FROM messages USING llmlens_new_spans s
WHERE messages.trace_id = s.trace_id AND messages.span_id = s.span_id;
DELETE FROM documents USING llmlens_new_spans s
WHERE documents.trace_id = s.trace_id AND documents.span_id = s.span_id;
DELETE FROM tokens USING llmlens_new_spans s WHERE tokens.trace_id = s.trace_id AND tokens.span_id = s.span_id;
DELETE FROM embeddings USING llmlens_new_spans s
WHERE embeddings.trace_id = s.trace_id AND embeddings.span_id = s.span_id;
INSERT INTO spans BY NAME
SELECT $source_id AS source_id, * EXCLUDE (n, line, byte_offset) FROM llmlens_new_spans;
INSERT INTO edges BY NAME SELECT $source_id AS source_id, * FROM llmlens_stage_edges WHERE dst_span_id IS NOT NULL;
INSERT INTO messages BY NAME
SELECT $source_id AS source_id, s.trace_id, s.span_id, m.* EXCLUDE (n)
FROM llmlens_stage_messages m JOIN llmlens_new_spans s USING (n);
INSERT INTO documents BY NAME
SELECT $source_id AS source_id, s.trace_id, s.span_id, d.* EXCLUDE (n)
FROM llmlens_stage_documents d JOIN llmlens_new_spans s USING (n);
INSERT INTO tokens BY NAME
SELECT $source_id AS source_id, s.trace_id, s.span_id, t.* EXCLUDE (n)
FROM llmlens_stage_tokens t JOIN llmlens_new_spans s USING (n);
INSERT INTO embeddings BY NAME
SELECT $source_id AS source_id, s.trace_id, s.span_id, e.* EXCLUDE (n)
FROM llmlens_stage_embeddings e JOIN llmlens_new_spans s USING (n);
"""


def write_staged(con: duckdb.DuckDBPyConnection, source_id: int) -> dict[str, int]:
    """Move the staged spans and their messages, documents, embeddings and edges into the store.

    Returns rows added per table.

    Loading a span that is already stored (same trace and span id) replaces it, so loading a file twice,
    or two overlapping exports, leaves one copy of each span.
    """
    run_script(con, REPLACE, {"source_id": source_id})
    added = {}
    for table in ("spans", "messages", "tokens", "documents", "embeddings", "edges"):
        row = con.execute(f"SELECT count(*) FROM {table} WHERE source_id = ?", [source_id]).fetchall()[0]
        added[table] = int(row[0]) if row else 0
    return added
