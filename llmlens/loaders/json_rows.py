"""Files of rows (JSON Lines, a JSON array, CSV, Parquet) read as one JSON object per record, with DuckDB's readers.

Web tools export the same rows in several containers (Langfuse: JSON, JSON Lines, CSV or Parquet). Each is read
here into records whose ``text`` is one row as JSON, so that one staging SQL reads them all:

- JSON Lines, or a JSON document that is not an array: lines, as
  :func:`~llmlens.loaders.files.json_record_chunks` reads them (a document is one record).
- A JSON array: its elements, with DuckDB's ``read_json_objects``. An array that does not parse (a cut file, a
  broken element, bytes that are not UTF-8) is read element by element instead: each element that parses loads,
  and what does not is rejected with its line and byte offset.
- CSV: DuckDB's reader, every column as text, the header's names as keys (the columns named in ``json_columns``
  as the JSON they hold, where they hold an object or array). A row it cannot read (a broken quote, a cut last
  row, bytes that are not UTF-8, more or fewer cells than the header) is rejected with its line, byte offset and
  bytes, and the rows around it load. An empty cell is null.
- Parquet: DuckDB's reader (built in); maps as objects, lists as arrays, times as text in UTC, binary as text.

Records have the columns ``line`` and ``byte_offset`` (null where a row has no line of its own: CSV and Parquet
rows, elements of an array read in one piece), ``text`` and ``llmlens_row`` (the row or element, from 1; null for
JSON Lines).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Collection, Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from llmlens.loaders.files import LoadError, Records, in_batches, json_record_chunks

ROWS_PER_CHUNK = 100_000
"""Rows staged at once from CSV, Parquet and JSON arrays."""

MAX_ROW_BYTES = 32 * 1024 * 1024
"""The longest CSV row read (DuckDB's reader holds buffers of twice this); a longer one is rejected with its line.
JSON array elements longer than this are read by :func:`array_elements`."""

_SCHEMA = pa.schema([("line", pa.int64()), ("byte_offset", pa.int64()), ("text", pa.large_string()),
                     ("llmlens_row", pa.int64())])  # fmt: skip
_PARQUET_MAGIC = b"PAR1"
_BOM = b"\xef\xbb\xbf"

Chunks = Iterator[tuple[Records, int]]


def source_container(con: duckdb.DuckDBPyConnection) -> str:
    """The :func:`container` of the file being staged (``llmlens_source``); ``json`` when it cannot be read."""
    ((uri,),) = con.execute("SELECT uri FROM llmlens_source").fetchall()
    try:
        with Path(uri).open("rb") as file:
            return container(file.read(64))
    except OSError:
        return "json"


def row_word(kind: str) -> str:
    """How a reject names a record without a line of its own, in a file of container ``kind``: an element of a JSON
    array, else a row (of CSV or Parquet); bound as ``$row_word`` in the loaders' SQL.

    >>> row_word("array"), row_word("csv")
    ('element ', 'row ')
    """
    return "element " if kind == "array" else "row "


JSON_DOCS = r"""
CREATE OR REPLACE TEMP TABLE {DOCS} AS
SELECT *, CASE WHEN NOT valid OR first NOT IN ('{', '[') THEN rtrim(text, E' \t\r\n') END AS bad
FROM (SELECT line, byte_offset, llmlens_row AS "row", text,  -- with its line end (rtrim reads the whole text)
             coalesce(json_valid(text), false) AS valid, left(ltrim(text), 1) AS first
      FROM llmlens_records_arrow);

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, coalesce('line ' || line, $row_word || "row"), line, byte_offset,
       CASE WHEN NOT valid THEN 'not valid JSON (truncated or corrupt record)'
            ELSE 'not {WHAT}: a JSON ' || lower(json_type(text)) END,
       left(bad, 200), encode(bad)
FROM {DOCS} WHERE bad IS NOT NULL;
"""


def json_docs(table: str, what: str) -> str:
    """SQL putting the records into ``table`` (line, byte_offset, row, text; ``valid`` JSON; its ``first``
    character; ``bad``: the trimmed text of a record that is not a JSON object or array) and rejecting the bad ones
    as not being ``what`` (a constant of the loader's, never data). Binds ``$source_id`` and ``$row_word``."""
    return JSON_DOCS.replace("{DOCS}", table).replace("{WHAT}", what.replace("'", "''"))


def container(head: bytes) -> str:
    """What a file starting with ``head`` holds: ``parquet``, ``array`` (a JSON array), ``json`` (JSON Lines or one
    JSON document) or ``csv``.

    >>> [container(h) for h in (b"PAR1...", b'\\n [{"a": 1}]', b'{"a": 1}\\n', b'"id","name"\\n')]
    ['parquet', 'array', 'json', 'csv']
    """
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    first = head.removeprefix(_BOM).lstrip()[:1]
    return "array" if first == b"[" else "json" if first == b"{" else "csv"


def read(path: Path, chunk_bytes: int, json_columns: Collection[str] = ()) -> Chunks:
    """The rows of ``path`` as records of JSON objects, chunk by chunk, with the bytes each chunk covers (JSON Lines
    are read ``chunk_bytes`` at a time; the CSV columns named in ``json_columns`` are parsed as JSON).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.csv"
    >>> _ = path.write_text('"id","input"\\n"a","x\\ny"\\n"b","broken "quote"\\n"c",""\\n')
    >>> chunks = list(read(path, 1 << 20))
    >>> [row for records, _ in chunks for row in records.table.column("text").to_pylist()]
    ['{"id":"a","input":"x\\\\ny"}', '{"id":"c","input":null}']
    >>> [(line, offset) for records, _ in chunks for line, offset, _, _ in records.rejected]
    [(4, 23)]
    """
    with path.open("rb") as file:
        head = file.read(64)
    kind = container(head)
    if kind == "parquet":
        yield from _parquet(path)
    elif kind == "array":
        yield from _array(path)
    elif kind == "json":
        yield from _json_lines(path, chunk_bytes)
    else:
        yield from _csv(path, json_columns)


def read_json(path: Path, chunk_bytes: int) -> Chunks:
    """The records of a JSON file: the elements of an array (a cut array keeps its whole elements), else JSON Lines
    or one JSON document (anything else is rejected line by line).

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.json"
    >>> _ = path.write_text('[{"id": "a"}, {"id": "b"}]')
    >>> [text for records, _ in read_json(path, 1 << 20) for text in records.table.column("text").to_pylist()]
    ['{"id": "a"}', '{"id": "b"}']
    """
    with path.open("rb") as file:
        head = file.read(64)
    if container(head) == "array":
        yield from _array(path)
    else:
        yield from _json_lines(path, chunk_bytes)


def _json_lines(path: Path, chunk_bytes: int) -> Chunks:
    """JSON Lines ``chunk_bytes`` at a time, with the (empty) ``llmlens_row`` column that array elements have."""
    for records, covered in json_record_chunks(path, chunk_bytes):
        table = records.table.append_column("llmlens_row", pa.nulls(records.table.num_rows, pa.int64()))
        yield Records(table, records.rejected), covered


def _connection() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB for reading one file (times as UTC text, no progress bar)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def _batches(reader: pa.RecordBatchReader, size: int) -> Chunks:
    """The rows of record batches of one ``text`` column as records of at most ``ROWS_PER_CHUNK`` rows, numbered
    from 1; the last chunk covers the file's ``size`` bytes."""
    done = 0
    pieces = (piece for batch in reader for piece in pa.Table.from_batches([batch]).to_batches(ROWS_PER_CHUNK))
    pending = next(pieces, None)
    while pending is not None:
        batch, pending = pending, next(pieces, None)
        rows = np.arange(done + 1, done + batch.num_rows + 1, dtype=np.int64)
        done += batch.num_rows
        table = pa.table([pa.nulls(batch.num_rows, pa.int64()), pa.nulls(batch.num_rows, pa.int64()),
                          batch.column(0).cast(pa.large_string()), pa.array(rows)], schema=_SCHEMA)  # fmt: skip
        yield Records(in_batches(table), []), size if pending is None else 0


def _parquet(path: Path) -> Chunks:
    con = _connection()
    try:
        relation = con.sql(
            "SELECT CAST(to_json(t) AS VARCHAR) AS text FROM read_parquet(?, binary_as_string = true) t",
            params=[str(path)],
        )
        yield from _batches(relation.to_arrow_reader(ROWS_PER_CHUNK), path.stat().st_size)
    except duckdb.Error as error:
        raise LoadError(f"{path}: not a Parquet file llmlens can read ({str(error).splitlines()[0]})") from None
    finally:
        con.close()


def _array(path: Path) -> Chunks:
    con = _connection()
    try:
        relation = con.sql(
            "SELECT CAST(json AS VARCHAR) AS text "
            f"FROM read_json_objects(?, format = 'array', maximum_object_size = {MAX_ROW_BYTES})",
            params=[str(path)],
        )
        table = relation.to_arrow_table()  # all of it before any is staged: a file that breaks is read again
    except duckdb.Error:
        yield array_elements(path.read_bytes()), path.stat().st_size
        return
    finally:
        con.close()
    yield from _batches(table.to_reader(max_chunksize=ROWS_PER_CHUNK), path.stat().st_size)


_NEXT_ELEMENT = re.compile(r"\}\s*,\s*(?=\{)")
_SPACE = " \t\r\n"


def array_elements(data: bytes) -> Records:
    """The elements of a JSON array that does not parse as a whole, each with its line and byte offset: every
    element that parses is a record; what does not (a cut last element, a broken one, bytes that are not UTF-8) is
    rejected, and reading goes on at the next element that starts after a ``},``.

    >>> records = array_elements(b'[{"a": 1},\\n {"b": 2 oops},\\n {"c": 3}, {"d"')
    >>> records.table.select(["line", "byte_offset", "text"]).to_pylist()  # doctest: +NORMALIZE_WHITESPACE
    [{'line': 1, 'byte_offset': 1, 'text': '{"a": 1}'}, {'line': 3, 'byte_offset': 28, 'text': '{"c": 3}'}]
    >>> [(line, offset, raw) for line, offset, raw, _ in records.rejected]
    [(2, 12, b'{"b": 2 oops}'), (3, 38, b'{"d"')]
    """
    body = data.removeprefix(_BOM)
    text = body.decode("utf-8", errors="surrogateescape")
    lines, offsets, texts, rows = [], [], [], []
    rejected: list[tuple[int, int, bytes, str]] = []
    line, offset, done = 1, len(data) - len(body), 0  # the line and byte offset of text[done:]
    for number, (begin, end, broken) in enumerate(_array_pieces(text), start=1):
        piece = text[done:begin]
        line, offset, done = line + piece.count("\n"), offset + len(piece.encode("utf-8", "surrogateescape")), begin
        element, why = text[begin:end], broken
        try:
            element.encode("utf-8")
        except UnicodeEncodeError:
            why = why or "not valid UTF-8 text"
        if why:
            rejected.append((line, offset, element.encode("utf-8", "surrogateescape"), why))
        else:
            lines.append(line)
            offsets.append(offset)
            texts.append(element)
            rows.append(number)
    table = pa.table([pa.array(lines, pa.int64()), pa.array(offsets, pa.int64()), pa.array(texts, pa.large_string()),
                      pa.array(rows, pa.int64())], schema=_SCHEMA)  # fmt: skip
    return Records(table, rejected)


def _array_pieces(text: str) -> Iterator[tuple[int, int, str | None]]:
    """(start, end, why not) of the elements of the JSON array ``text``, and of the stretches that are not elements
    (``why not`` says what is wrong with them; None for an element that parses).

    >>> for piece in _array_pieces('[{"a": 1}, {"b" 2}, {"c": 3}] x'):
    ...     print(piece)
    (1, 9, None)
    (11, 18, 'not valid JSON (truncated or corrupt element of the array)')
    (20, 28, None)
    (30, 31, 'text after the end of the JSON array')
    """
    decoder = json.JSONDecoder()
    position = len(text) - len(text.lstrip(_SPACE))
    if not text.startswith("[", position):
        return
    position += 1
    while True:
        while position < len(text) and text[position] in _SPACE + ",":
            position += 1
        if position >= len(text):
            return
        if text[position] == "]":
            rest = text[position + 1 :]
            if rest.strip(_SPACE):
                start = position + 1 + len(rest) - len(rest.lstrip(_SPACE))
                yield start, len(text.rstrip(_SPACE)), "text after the end of the JSON array"
            return
        try:
            _, end = decoder.raw_decode(text, position)
        except ValueError:
            found = _NEXT_ELEMENT.search(text, position)
            end = found.start() + 1 if found else len(text.rstrip(_SPACE))
            yield position, end, "not valid JSON (truncated or corrupt element of the array)"
        else:
            yield position, end, None
        position = end


def header(data: bytes) -> list[str]:
    """The column names of a CSV file starting with ``data`` (a byte-order mark dropped; a repeated name numbered).

    >>> header(b'\\xef\\xbb\\xbf"id","name","name"\\r\\n"1","a","b"\\n')
    ['id', 'name', 'name_2']
    """
    first = data.removeprefix(_BOM).split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    try:
        found = next(csv.reader([first]), [])
    except csv.Error:  # not CSV (a carriage return or NUL byte inside the first line)
        return []
    names: list[str] = []
    for name in found:
        unique, number = name, 1
        while unique in names:
            number += 1
            unique = f"{name}_{number}"
        names.append(unique)
    return names


def _csv(path: Path, json_columns: Collection[str]) -> Chunks:
    with path.open("rb") as file:
        names = header(file.read(1024 * 1024))
    size = path.stat().st_size
    if not names:
        return
    replace = ", ".join(_as_json(name) for name in json_columns if name in names)
    con = _connection()
    try:
        relation = con.sql(
            f"SELECT CAST(to_json(t) AS VARCHAR) AS text FROM (SELECT * {f'REPLACE ({replace})' if replace else ''} "
            "FROM read_csv(?, columns = ?, auto_detect = false, header = false, skip = 1, delim = ',', quote = '\"', "
            "escape = '\"', encoding = 'utf-8', store_rejects = true, "
            f"max_line_size = {MAX_ROW_BYTES}, buffer_size = {2 * MAX_ROW_BYTES})) t",
            params=[str(path), dict.fromkeys(names, "VARCHAR")],
        )
        for records, _ in _batches(relation.to_arrow_reader(ROWS_PER_CHUNK), size):
            yield records, 0
        errors = con.execute(
            "SELECT line_byte_position, min(byte_position), string_agg(DISTINCT error_message || CASE WHEN "
            "column_name IS NULL THEN '' ELSE ' (column ' || column_name || ')' END, '; '), "
            "octet_length(encode(any_value(csv_line))) "
            "FROM reject_errors GROUP BY line_byte_position ORDER BY line_byte_position"
        ).fetchall()
    except duckdb.Error as error:
        raise LoadError(f"{path}: not a CSV file llmlens can read ({str(error).splitlines()[0]})") from None
    finally:
        con.close()
    yield Records(_SCHEMA.empty_table(), _csv_rejects(path, errors)), size


def _as_json(name: str) -> str:
    """SQL for the text of CSV column ``name`` (a fixed name of the caller's, never one read from a file) as JSON:
    the object or array it holds, else the text as a JSON string.

    >>> print(_as_json("tags"))  # doctest: +NORMALIZE_WHITESPACE
    CASE WHEN regexp_matches("tags", '^\\s*[\\[{]') THEN coalesce(TRY_CAST("tags" AS JSON), to_json("tags"))
    ELSE to_json("tags") END AS "tags"
    """
    assert name.isidentifier()
    column = f'"{name}"'
    return (f"CASE WHEN regexp_matches({column}, '^\\s*[\\[{{]') THEN coalesce(TRY_CAST({column} AS JSON), "
            f"to_json({column})) ELSE to_json({column}) END AS {column}")  # fmt: skip


_QUOTE_OR_NEWLINE = re.compile(rb'["\n]')


def _csv_rejects(path: Path, errors: list[tuple[int, int, str, int]]) -> list[tuple[int, int, bytes, str]]:
    """Rejected CSV rows as (line, byte offset, raw bytes, reason): the line counted in the file (a row's cells can
    hold line breaks), the bytes from the row's start to the end of its line or of what DuckDB read of it.

    DuckDB gives (from 1) the start of the row it was reading and the place of the error; past a row longer than
    ``max_line_size`` the row start is the previous row's, so the row is found again: the one, from that start,
    that holds the error (row ends are line breaks outside quotes).
    """
    if not errors:
        return []
    data = path.read_bytes()
    rejected = []
    line, counted = 1, 0
    for row_position, error_position, why, length in errors:  # in order of their place in the file
        start = row_position - 1
        start += data[start : start + 1] == b"\n"  # after a CR LF, DuckDB's row starts at the LF
        start = _row_start(data, start, max(start, (error_position or row_position) - 1))
        line += data.count(b"\n", counted, start)
        counted = start
        end = data.find(b"\n", start)
        end = max(len(data) if end == -1 else end, start + (length or 0))
        long = f"a row longer than {MAX_ROW_BYTES >> 20} MiB " if end - start >= MAX_ROW_BYTES else ""
        rejected.append((line, start, data[start:end].rstrip(b"\r\n"), f"not a readable CSV row: {long}{why}"))
    return rejected


def _row_start(data: bytes, start: int, position: int) -> int:
    """The start of the CSV row holding byte ``position``, reading rows from ``start`` (a row's start).

    >>> data = b'"a","x\\ny"\\n"b","broken "quote"\\n'
    >>> _row_start(data, 0, 7), _row_start(data, 0, 16), _row_start(data, 10, 22)  # in a cell, after it, a broken one
    (0, 10, 10)
    """
    quoted = False
    for found in _QUOTE_OR_NEWLINE.finditer(data, start, position):
        if found.group() == b'"':
            quoted = not quoted
        elif not quoted:
            start = found.end()
    return start
