"""Filters written by the user as SQL: one read-only expression over a table's columns, checked before it runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb

from llmlens.errors import LensError

# Read-only and side-effect free is not enough: these read files, sequences or settings, or change state.
_DENIED_FUNCTIONS = frozenset(
    {"nextval", "currval", "setseed", "getenv", "current_setting", "query", "query_table", "glob", "sniff_csv"}
)
_DENIED_PREFIXES = ("read_", "parquet_", "iceberg_", "delta_", "sqlite_", "postgres_", "mysql_", "duckdb_")

_TAIL = " WHERE (\n{where}\n)"
"""What follows the query, in the check and in the query that runs: the user's text sits inside this bracket."""

_NOUN = {"runs": "run", "traces": "trace"}


def check_where(con: duckdb.DuckDBPyConnection, where: str, table: str) -> None:
    """Raise :class:`~llmlens.errors.LensError` unless ``where`` is a single read-only SQL expression over the
    columns of ``table``.

    DuckDB parses ``SELECT 1 FROM <table> WHERE (<where>)``; refused: a ``;``, anything but one plain SELECT with
    exactly that WHERE clause (a ``UNION``, ``ORDER BY`` or ``LIMIT`` smuggled in by closing the bracket),
    subqueries, parameters, table functions (``read_csv``, ``glob``, ...) and functions that touch sequences or
    settings. Column names are checked when the query runs.

    >>> import llmlens
    >>> lens = llmlens.open(":memory:")
    >>> check_where(lens.con, "status = 'failed' AND name LIKE 'lr%'", "runs")
    >>> check_where(lens.con, "true) UNION (SELECT 'x'", "traces")
    Traceback (most recent call last):
    ...
    llmlens.errors.LensError: where must be one expression over the trace columns, not a query: ...
    """
    noun = _NOUN.get(table, table)
    if ";" in where:
        raise LensError(f"where must be one SQL expression over the {noun} columns; ';' is not allowed: {where!r}")
    if not where.strip():
        raise LensError(f"where is empty; pass None to list every {noun}")
    text = f"SELECT 1 FROM {table}" + _TAIL.format(where=where)
    rows = con.sql("SELECT json_serialize_sql($text)", params={"text": text}).fetchall()
    tree = json.loads(rows[0][0]) if rows and rows[0][0] else {}
    if tree.get("error", True):
        message = tree.get("error_message", "it could not be parsed")
        raise LensError(f"where is not a valid SQL expression ({message}): {where!r}")
    statements = tree.get("statements", [])
    node = statements[0].get("node", {}) if len(statements) == 1 else {}
    plain = (
        node.get("type") == "SELECT_NODE"
        and not node.get("modifiers")
        and not node.get("cte_map", {}).get("map")
        and len(node.get("select_list", [])) == 1
        and node.get("from_table", {}).get("type") == "BASE_TABLE"
        and node.get("from_table", {}).get("table_name") == table
        and not node.get("group_expressions")
        and not node.get("group_sets")
        and node.get("having") is None
        and node.get("sample") is None
        and node.get("qualify") is None
        and node.get("where_clause") is not None
        and not statements[0].get("named_param_map")
    )
    if not plain:
        raise LensError(f"where must be one expression over the {noun} columns, not a query: {where!r}")
    functions = set()
    for part in _walk(node["where_clause"]):
        kind = part.get("class")
        if kind == "SUBQUERY" or "subquery" in part or "from_table" in part or str(part.get("type")).endswith("_NODE"):
            raise LensError(f"where cannot hold a subquery: {where!r}")
        if kind == "PARAMETER":
            raise LensError(f"where cannot hold parameters ($name or ?): {where!r}")
        if kind == "FUNCTION":
            functions.add(str(part.get("function_name", "")).lower())
    denied = sorted(name for name in functions if name in _DENIED_FUNCTIONS or name.startswith(_DENIED_PREFIXES))
    if functions and not denied:
        tables = con.sql(
            "SELECT function_name FROM duckdb_functions() WHERE list_contains($names, function_name) "
            "GROUP BY function_name HAVING bool_and(function_type IN ('table', 'table_macro', 'pragma'))",
            params={"names": sorted(functions)},
        ).fetchall()
        denied = sorted(name for (name,) in tables)
    if denied:
        raise LensError(f"where cannot call {', '.join(denied)}: it must be an expression over the {noun} columns")


def where_clause(con: duckdb.DuckDBPyConnection, where: str, table: str) -> str:
    """``where`` checked (:func:`check_where`) and wrapped as the WHERE clause to append to a query on ``table``.

    >>> import llmlens
    >>> where_clause(llmlens.open(":memory:").con, "n_errors > 0", "traces")
    ' WHERE (\\nn_errors > 0\\n)'
    """
    check_where(con, where, table)
    return _TAIL.format(where=where)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a serialized expression tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
