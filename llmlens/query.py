"""Running SQL with bound parameters, and DuckDB errors shown with the failing position."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeAlias, TypeVar

import duckdb

from llmlens.errors import SQLError

Params: TypeAlias = Sequence[Any] | Mapping[str, Any] | None
T = TypeVar("T")


def run(
    con: duckdb.DuckDBPyConnection, query: str, params: Params, fetch: Callable[[duckdb.DuckDBPyRelation | None], T]
) -> T:
    """Execute ``query`` with ``params`` bound (``?`` takes a sequence, ``$name`` a mapping) and ``fetch`` the result.

    Values are never pasted into the SQL text. A failure raises :class:`SQLError` whose message
    is DuckDB's, followed by the query line with the failing position marked.

    >>> con = duckdb.connect()
    >>> run(con, "SELECT ? + 1 AS x", [41], lambda relation: relation.fetchall())
    [(42,)]
    """
    with _errors_as_json(con):
        try:
            return fetch(con.sql(query, params=params))
        except duckdb.Error as error:
            raise sql_error(_located(con, error, query, params), query) from None


_BIND_TIME_ERRORS = (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException)


def _located(con: duckdb.DuckDBPyConnection, error: duckdb.Error, query: str, params: Params) -> duckdb.Error:
    """The same error with its position: relations report bind-time errors without one.

    A statement that failed to parse or bind never ran, so preparing it again through the DB-API
    path (which honours ``errors_as_json``) has no side effect and yields the located error.
    """
    if not isinstance(error, _BIND_TIME_ERRORS) or str(error).partition(": ")[2].startswith("{"):
        return error
    try:
        con.execute(query, params)
    except type(error) as located:
        return located
    except duckdb.Error:
        return error
    return error


def sql_error(error: duckdb.Error, query: str) -> SQLError:
    """Turn a DuckDB error (plain or ``errors_as_json``) into an :class:`SQLError` with a position marker.

    >>> con = duckdb.connect()
    >>> try:
    ...     con.execute("SELECT 'a'::INTEGER")
    ... except duckdb.Error as error:
    ...     print(sql_error(error, "SELECT 'a'::INTEGER"))
    Conversion Error: Could not convert string 'a' to INT32
    <BLANKLINE>
    LINE 1: SELECT 'a'::INTEGER
                      ^^^^^^^^^
    """
    text = str(error)
    head, _, body = text.partition(": ")
    try:
        detail = json.loads(body)
    except ValueError:
        return SQLError(text, query=query)
    if not isinstance(detail, dict) or "exception_message" not in detail:
        return SQLError(text, query=query)
    kind = str(detail.get("exception_type") or head.removesuffix(" Error"))
    message = f"{head}: {detail['exception_message']}"
    position = _int_or_none(detail.get("position"))
    length = 1
    location = detail.get("location")
    if isinstance(location, str) and location.startswith("["):
        with suppress(ValueError, TypeError):
            position, length = (int(v) for v in json.loads(location))
    if position is not None:
        message += "\n\n" + mark_position(query, position, max(length, 1))
    return SQLError(message, kind=kind, position=position, query=query)


def mark_position(query: str, position: int, length: int = 1) -> str:
    """Show the line of ``query`` holding character ``position``, with ``^`` under the failing part.

    >>> print(mark_position("SELECT\\n  nope FROM t", 9, 4))
    LINE 2:   nope FROM t
              ^^^^
    """
    position = min(max(position, 0), len(query))
    line_start = query.rfind("\n", 0, position) + 1
    line_end = query.find("\n", position)
    line_end = len(query) if line_end == -1 else line_end
    line_no = query.count("\n", 0, position) + 1
    prefix = f"LINE {line_no}: "
    column = position - line_start
    width = max(1, min(length, line_end - position))
    return f"{prefix}{query[line_start:line_end]}\n{' ' * (len(prefix) + column)}{'^' * width}"


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


@contextmanager
def _errors_as_json(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    with suppress(duckdb.Error):  # an aborted transaction refuses SET; errors are then read as plain text
        con.execute("SET errors_as_json = true")
    try:
        yield
    finally:
        with suppress(duckdb.Error):
            con.execute("RESET errors_as_json")


_IDENTIFIER_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENTIFIER_REST = _IDENTIFIER_START | set("0123456789")


def python_references(query: str) -> tuple[str, list[str]]:
    """Replace each ``{name}`` outside literals (``'...'``, ``$$...$$``), quoted identifiers and comments by ``$name``.

    Returns the rewritten query and the referenced names, in first-seen order, so the values can be
    bound as parameters instead of being pasted into the SQL text.

    >>> python_references("SELECT * FROM spans WHERE model = {model} AND name <> '{model}'")
    ("SELECT * FROM spans WHERE model = $model AND name <> '{model}'", ['model'])
    """
    out: list[str] = []
    names: list[str] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char in "'\"":
            end = _closing_quote(query, i)
            out.append(query[i:end])
            i = end
        elif query.startswith("$$", i):
            end = query.find("$$", i + 2)
            end = n if end == -1 else end + 2
            out.append(query[i:end])
            i = end
        elif query.startswith("--", i):
            end = query.find("\n", i)
            end = n if end == -1 else end
            out.append(query[i:end])
            i = end
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            end = n if end == -1 else end + 2
            out.append(query[i:end])
            i = end
        elif char == "{" and i + 1 < n and query[i + 1] in _IDENTIFIER_START:
            j = i + 1
            while j < n and query[j] in _IDENTIFIER_REST:
                j += 1
            if j < n and query[j] == "}":
                name = query[i + 1 : j]
                if name not in names:
                    names.append(name)
                out.append("$" + name)
                i = j + 1
            else:
                out.append(char)
                i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out), names


def _closing_quote(query: str, start: int) -> int:
    """Index just past the literal opened at ``start`` (a doubled quote is an escaped quote)."""
    quote = query[start]
    i = start + 1
    while i < len(query):
        if query[i] == quote:
            if i + 1 < len(query) and query[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return len(query)


def holds(con: duckdb.DuckDBPyConnection, rows: str, params: Params = None) -> bool:
    """Whether ``rows`` (``table [WHERE condition]``, SQL of the caller's own; values bound through ``params``) has
    any row.

    >>> holds(duckdb.connect(), "range(3) WHERE range > ?", [1])
    True
    """
    return bool(con.execute(f"SELECT EXISTS (FROM {rows})", params).fetchall()[0][0])


def run_script(con: duckdb.DuckDBPyConnection, script: str, params: Mapping[str, Any] | None = None) -> None:
    """Run the statements of ``script`` (separated by ``;`` at a line end) in order, binding to each the
    ``$name`` parameters it uses.

    >>> con = duckdb.connect()
    >>> run_script(con, "CREATE TABLE t (x INTEGER);\\nINSERT INTO t VALUES ($x);", {"x": 7})
    >>> con.execute("SELECT x FROM t").fetchall()
    [(7,)]
    """
    for statement in script.split(";\n"):
        if statement.strip():
            used = {name: value for name, value in (params or {}).items() if f"${name}" in statement}
            con.execute(statement, used or None)
