"""Render ``docs/schema.md`` from the comments the migrations put on every table and column.

Run ``python -m llmlens.store.schema_doc > docs/schema.md`` after changing the schema.
"""

from __future__ import annotations

import duckdb

from llmlens.store.schema import HISTORY_TABLE, latest_version, migrate


def render() -> str:
    """The schema reference as Markdown, one section per table or view.

    >>> render().startswith("# The llmlens store schema")
    True
    """
    con = duckdb.connect()
    migrate(con)
    objects = con.execute(
        "SELECT table_name AS name, 'table' AS kind, comment, 0 AS ord FROM duckdb_tables() "
        f"WHERE table_name <> '{HISTORY_TABLE}' "
        "UNION ALL SELECT view_name, 'view', comment, 1 FROM duckdb_views() WHERE NOT internal "
        "ORDER BY ord, name"
    ).fetchall()
    lines = [
        "# The llmlens store schema",
        "",
        f"Schema version {latest_version()}. Generated from the comments in `llmlens/store/migrations/*.sql` "
        "by `python -m llmlens.store.schema_doc`; the same text is in the store itself "
        "(`SELECT * FROM duckdb_columns()`).",
        "",
        "Times are `TIMESTAMPTZ` instants. Ids are text. JSON columns hold what no column names. "
        "Rows from a loaded file carry its `source_id`, so every row can be traced to the file it came from.",
    ]
    for name, kind, comment, _ in objects:
        lines += ["", f"## `{name}` ({kind})", "", comment or "", "", "| column | type | meaning |", "|---|---|---|"]
        columns = con.execute(
            "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
            [name],
        ).fetchall()
        lines += [f"| `{column}` | `{dtype}` | {text or ''} |" for column, dtype, text in columns]
    macros = con.execute(
        "SELECT function_name, parameters, comment FROM duckdb_functions() "
        "WHERE NOT internal AND function_type = 'table_macro' ORDER BY function_name"
    ).fetchall()
    for name, parameters, comment in macros:
        lines += ["", f"## `{name}({', '.join(parameters)})` (table macro)", "", comment or ""]
    con.close()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
