"""Arize Phoenix: its SQLite database (``phoenix.db``) and its span DataFrames saved as Parquet.

What loads:

- ``phoenix-sqlite``: the database Phoenix keeps in its working directory (``PHOENIX_WORKING_DIR``, SQLite by
  default), opened read-only with Python's ``sqlite3`` (no DuckDB extension, which would need a download) and read
  in one read transaction, a batch of spans at a time. Every span of every project; the project's name is the
  resource attribute ``openinference.project.name`` and the span's ``service_name``; the cost Phoenix priced a
  span at (``span_costs.total_cost``) is its ``cost_usd`` where its attributes state none. The four annotation tables
  (``span_annotations``, ``trace_annotations``, ``document_annotations`` at a document's position,
  ``project_session_annotations``) become ``annotations``: label, score, ``explanation`` as the note, ``annotator_kind``
  (HUMAN human, LLM llm, CODE check), the user's name as annotator, ``metadata`` with Phoenix's ``identifier``,
  ``source`` and ``updated_at`` in it, and ``external_id`` ``phoenix:<table>:<id>`` (so a reload replaces them).
  The tables and columns read are checked first: a database without them, or with a schema version
  (``alembic_version``) this module does not know, is refused with a :class:`LoadError` that names what is
  missing (set :data:`ACCEPT_UNKNOWN_VERSIONS` to read a newer Phoenix's database through the same tables).
- ``phoenix-parquet``: ``client.spans.get_spans_dataframe()`` (or the older ``px.Client().get_spans_dataframe()``)
  saved with ``DataFrame.to_parquet``: ``context.span_id``, ``context.trace_id``, ``parent_id``, ``name``,
  ``span_kind``, ``start_time``, ``end_time``, ``status_code``, ``status_message``, ``events`` and one
  ``attributes.<key>`` column per attribute (lists of messages and documents as lists of flat-keyed objects).
  Read a row group at a time.

How it maps: Phoenix stores a span's OpenInference attributes nested (``{"llm": {"input_messages": [{"message":
{"role": ...}}]}}``; the DataFrame nests lists under the semantic convention's key). Both are flattened back to the
keys an OTLP exporter sends (``llm.input_messages.0.message.role``), lists of values kept as lists and the
attributes Phoenix parses out of JSON strings (``metadata``, ``document.metadata``, ``tool.parameters``,
``llm.prompt_template.variables``) written back as JSON strings, and each span is handed to the OTLP loader as the
OTLP span it was (see :mod:`llmlens.loaders.otlp_json`): the same kinds, columns, messages, documents, embeddings,
tokens recovered from raw OpenAI responses, agent edges and events as for the spans Phoenix received.

A span whose attributes or events are not JSON, and a span without a usable trace or span id, is rejected with its
row (``spans row N``: its ``id`` in the database; ``row N`` of the Parquet file), and the rest loads.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from llmlens.loaders import otlp_json, sqlite_files
from llmlens.loaders.files import LoadError, Records
from llmlens.loaders.writes import STAGED_ANNOTATIONS
from llmlens.query import run_script

SQLITE = "phoenix-sqlite"
PARQUET = "phoenix-parquet"

BATCH = 50_000
"""Spans read per chunk (from SQLite, as Python tuples first; from Parquet, per record batch)."""

ACCEPT_UNKNOWN_VERSIONS = False
"""Read a database whose ``alembic_version`` is not in :data:`KNOWN_VERSIONS` (a newer Phoenix) when the tables
and columns read are there; by default such a database is refused, naming its version."""

KNOWN_VERSIONS = (
    "cf03bd6bae1d", "10460e46d750", "3be8647b87d8", "cd164e83824f", "4ded9e43755f", "bc8fea3c2bc8", "2f9d1a65945f",
    "bb8139330879", "8a3764fe7f1a", "6a88424799fe", "a20694b15f82", "272b66ff50f8", "735d3d93c33e", "0df286449799",
    "01a8342c9cdf", "ab513d89518b", "d0690a79ea51", "699f655af132", "58228d933c91", "e76cbd66ffc3", "deb2c81c0bb2",
    "02463bd83119", "3f53d82a1b7e", "a1b2c3d4e5f6", "f1a6b2f0c9d5", "9c5c1f6bd0d2", "aba52fffe1a1", "575aa27302ee",
    "0ff41b5b118f", "d4e5f6a7b8c9", "eaf1907ae453", "132d988c5bef", "c9d0e1f2a3b4", "e767d3c57f32", "4aad9107d196",
)  # fmt: skip
"""Phoenix's schema revisions, oldest (``init``) to newest (Phoenix 20.26)."""

_SCAN_BYTES = 16 * 1024 * 1024
_TABLE_MARKERS = (b"CREATE TABLE spans (", b"span_kind VARCHAR", b"alembic_version", b"span_annotations")
"""What a damaged Phoenix database's own bytes still show: its schema's text (SQLite keeps it as written)."""
_NEEDED = {
    "alembic_version": ("version_num",),
    "projects": ("id", "name"),
    "traces": ("id", "project_rowid", "trace_id"),
    "spans": ("id", "trace_rowid", "span_id", "parent_id", "name", "span_kind", "start_time", "end_time",
              "attributes", "events", "status_code", "status_message"),
}  # fmt: skip
"""The tables and columns every span read needs."""

_ANNOTATION_COLUMNS = ("id", "name", "label", "score", "explanation", "metadata", "annotator_kind")
_ANNOTATIONS = {  # table -> (target kind, the column naming the target's row, the target's table and id column)
    "span_annotations": ("span", "span_rowid", "spans", "span_id"),
    "trace_annotations": ("trace", "trace_rowid", "traces", "trace_id"),
    "document_annotations": ("document", "span_rowid", "spans", "span_id"),
    "project_session_annotations": ("session", "project_session_id", "project_sessions", "session_id"),
}
_PARQUET_NEEDED = ("context.span_id", "context.trace_id", "span_kind")

_SPAN_SCHEMA = pa.schema([("row", pa.int64()), ("trace_id", pa.string()), ("span_id", pa.string()),
                          ("parent_id", pa.string()), ("name", pa.string()), ("span_kind", pa.string()),
                          ("start_time", pa.string()), ("end_time", pa.string()), ("status_code", pa.string()),
                          ("status_message", pa.string()), ("attributes", pa.string()), ("events", pa.string()),
                          ("project", pa.string()), ("cost", pa.float64())])  # fmt: skip
"""What both readers hand the staging: one span per row, attributes and events as Phoenix's JSON, times as UTC,
and the cost Phoenix worked out for the span (``span_costs``; the DataFrame has none)."""

_ANNOTATION_SCHEMA = pa.schema([("annotation_table", pa.string()), ("id", pa.int64()), ("target_kind", pa.string()),
                                ("target_id", pa.string()), ("position", pa.int64()), ("name", pa.string()),
                                ("label", pa.string()), ("score", pa.float64()), ("explanation", pa.string()),
                                ("metadata", pa.string()), ("annotator_kind", pa.string()),
                                ("created_at", pa.string()), ("updated_at", pa.string()), ("identifier", pa.string()),
                                ("source", pa.string()), ("username", pa.string())])  # fmt: skip


def could_be(path: Path, head: bytes) -> bool:
    """True for a SQLite file holding Phoenix's tables (opened read-only to list them).

    >>> could_be(Path("notes.txt"), b"not a database")
    False
    """
    if not head.startswith(sqlite_files.HEADER):
        return False
    tables = sqlite_files.table_names(path)
    if tables is None:
        return _names_phoenix_tables(path)
    return {"alembic_version", "projects", "traces", "spans"} <= tables and (
        "span_annotations" in tables or "project_sessions" in tables
    )


def _names_phoenix_tables(path: Path) -> bool:
    """True for a SQLite file SQLite cannot read (cut or damaged) whose first :data:`_SCAN_BYTES` still hold the
    definitions of Phoenix's span and annotation tables: so that loading it says what is wrong with it."""
    try:
        with path.open("rb") as file:
            text = file.read(_SCAN_BYTES)
    except OSError:
        return False
    return all(marker in text for marker in _TABLE_MARKERS)


def parquet_format(path: Path) -> str | None:
    """``phoenix-parquet`` for a Parquet file whose columns are a Phoenix span DataFrame's, else None.

    >>> import pyarrow as pa, pyarrow.parquet as pq, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "spans.parquet"
    >>> pq.write_table(pa.table({"context.span_id": ["a"], "context.trace_id": ["b"], "span_kind": ["LLM"]}), path)
    >>> parquet_format(path)
    'phoenix-parquet'
    """
    try:
        names = set(pq.read_schema(path).names)
    except (OSError, pa.ArrowException):
        return None
    return PARQUET if names.issuperset(_PARQUET_NEEDED) else None


def covers(path: Path) -> list[Path]:
    """The database's write-ahead log, when there is one (it holds what Phoenix wrote last, until SQLite moves it
    into the file).

    >>> covers(Path("/nowhere/phoenix.db"))
    []
    """
    wal = path.with_name(path.name + "-wal")
    return [wal] if wal.is_file() else []


def _columns(sqlite: sqlite3.Connection) -> dict[str, set[str]]:
    """Every table's columns."""
    tables = [row[0] for row in sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {
        table: {row[0] for row in sqlite.execute("SELECT name FROM pragma_table_info(?)", [table])} for table in tables
    }


def check_schema(path: Path, columns: dict[str, set[str]], version: str | None) -> None:
    """Refuse a database that lacks a table or column the loader reads, or whose schema version is unknown
    (unless :data:`ACCEPT_UNKNOWN_VERSIONS`), naming what is missing.

    >>> check_schema(Path("phoenix.db"), {"alembic_version": {"version_num"}, "spans": {"id"}}, "4aad9107d196")
    Traceback (most recent call last):
    ...
    llmlens.loaders.files.LoadError: phoenix.db: not a Phoenix database llmlens can read: missing tables projects, \
traces; missing columns spans.trace_rowid, spans.span_id, spans.parent_id, spans.name, spans.span_kind, \
spans.start_time, spans.end_time, spans.attributes, spans.events, spans.status_code, spans.status_message
    """
    tables = [table for table in _NEEDED if table not in columns]
    missing = [f"{table}.{column}" for table, needed in _NEEDED.items() if table in columns
               for column in needed if column not in columns[table]]  # fmt: skip
    for table, (_, target, target_table, _) in _ANNOTATIONS.items():
        if table in columns:
            missing += [f"{table}.{column}" for column in (*_ANNOTATION_COLUMNS, target)
                        if column not in columns[table]]  # fmt: skip
            if target_table not in columns:
                tables.append(target_table)
    if tables or missing:
        what = "; ".join(part for part in (
            "missing tables " + ", ".join(tables) if tables else "",
            "missing columns " + ", ".join(missing) if missing else "") if part)  # fmt: skip
        raise LoadError(f"{path}: not a Phoenix database llmlens can read: {what}")
    if version not in KNOWN_VERSIONS and not ACCEPT_UNKNOWN_VERSIONS:
        raise LoadError(
            f"{path}: Phoenix schema version {version!r} (alembic_version) is not one llmlens knows (it knows "
            f"{KNOWN_VERSIONS[0]} to {KNOWN_VERSIONS[-1]}, Phoenix up to 20.26). To read it through the tables and "
            "columns llmlens reads, which are all there, set llmlens.loaders.phoenix_store.ACCEPT_UNKNOWN_VERSIONS "
            "= True and load it again."
        )


_SPANS = """
SELECT s.id, t.trace_id, s.span_id, s.parent_id, s.name, s.span_kind, CAST(s.start_time AS TEXT),
       CAST(s.end_time AS TEXT), s.status_code, s.status_message, CAST(s.attributes AS TEXT), CAST(s.events AS TEXT),
       p.name, {COST}
FROM spans s LEFT JOIN traces t ON t.id = s.trace_rowid LEFT JOIN projects p ON p.id = t.project_rowid
ORDER BY s.id
"""
_COST = "(SELECT sum(CAST(c.total_cost AS REAL)) FROM span_costs c WHERE c.span_rowid = s.id)"
"""A span's cost as Phoenix priced it (``span_costs``, Phoenix 11 and later; one row per span in newer schemas)."""


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """A Phoenix database's spans, :data:`BATCH` at a time, then its annotations, read in one read transaction (a
    consistent snapshot while Phoenix writes); or a span DataFrame's rows, a record batch at a time."""
    with path.open("rb") as file:
        head = file.read(16)
    if head.startswith(b"PAR1"):
        yield from _read_parquet(path)
        return
    size = path.stat().st_size
    with contextlib.closing(sqlite_files.connect_read_only(path)) as sqlite:
        try:
            sqlite.execute("BEGIN")
            columns = _columns(sqlite)
            version = None
            if "version_num" in columns.get("alembic_version", set()):
                found = sqlite.execute("SELECT version_num FROM alembic_version").fetchone()
                version = found[0] if found else None
            check_schema(path, columns, version)
            (total,) = sqlite.execute("SELECT count(*) FROM spans").fetchone()
            priced = {"span_rowid", "total_cost"} <= columns.get("span_costs", set())
            cursor = sqlite.execute(_SPANS.replace("{COST}", _COST if priced else "NULL"))
            done = reported = 0
            while rows := cursor.fetchmany(BATCH):
                done += len(rows)
                covered = int(size * 0.99 * min(1.0, done / max(total, 1))) - reported
                reported += covered
                yield Records(_table(path, rows, _SPAN_SCHEMA), []), covered
            annotations = _annotations(sqlite, columns)
        except sqlite3.Error as error:
            raise LoadError(f"{path}: cannot read Phoenix's tables ({error}; a cut or damaged file?)") from error
    yield Records(_table(path, annotations, _ANNOTATION_SCHEMA), []), size - reported


def _table(path: Path, rows: list[tuple[object, ...]], schema: pa.Schema) -> pa.Table:
    try:  # tuples to a struct array, then its fields (as mlflow_sqlite reads its points)
        return pa.Table.from_struct_array(pa.array(rows, pa.struct(list(schema))))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
        raise LoadError(f"{path}: a Phoenix table holds a value Phoenix does not write ({error})") from error


def _annotations(sqlite: sqlite3.Connection, columns: dict[str, set[str]]) -> list[tuple[object, ...]]:
    """The rows of the annotation tables there are; the columns older schemas lack read as NULL (the SQL is built
    from this module's names only)."""
    users = "username" in columns.get("users", set())
    rows: list[tuple[object, ...]] = []
    for table, (kind, target, target_table, target_id) in _ANNOTATIONS.items():
        if table not in columns:
            continue
        have = columns[table]

        def column(name: str, have: set[str] = have) -> str:
            return f"a.{name}" if name in have else "NULL"

        position = "a.document_position" if kind == "document" else "NULL"
        username = ("(SELECT u.username FROM users u WHERE u.id = a.user_id)"
                    if users and "user_id" in have else "NULL")  # fmt: skip
        query = (
            f"SELECT '{table}', a.id, '{kind}', CAST(x.{target_id} AS TEXT), {position}, a.name, a.label, "
            f"CAST(a.score AS REAL), a.explanation, CAST(a.metadata AS TEXT), a.annotator_kind, "
            f"CAST({column('created_at')} AS TEXT), CAST({column('updated_at')} AS TEXT), {column('identifier')}, "
            f"{column('source')}, {username} "
            f"FROM {table} a LEFT JOIN {target_table} x ON x.id = a.{target} ORDER BY a.id"
        )
        rows.extend(sqlite.execute(query))
    return rows


def _read_parquet(path: Path) -> Iterator[tuple[Records, int]]:
    """The rows of a span DataFrame, in the shape the database's spans are read in: the ``attributes.*`` columns
    gathered into one object (keys as the DataFrame names them), events and times as Phoenix stores them."""
    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
    except (OSError, pa.ArrowException) as error:
        raise LoadError(f"{path}: not a Parquet file llmlens can read ({error})") from None
    missing = [name for name in _PARQUET_NEEDED if name not in names]
    if missing:
        raise LoadError(f"{path}: not a Phoenix span DataFrame: no column {', '.join(missing)}")
    attributes = [name for name in names if name.startswith("attributes.")]
    size, done, reported = path.stat().st_size, 0, 0
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    try:
        for batch in parquet.iter_batches(batch_size=BATCH):
            fields = {
                "row": pa.array(range(done + 1, done + batch.num_rows + 1), pa.int64()),
                "attributes": pa.StructArray.from_arrays(
                    [batch.column(name) for name in attributes],
                    [name.removeprefix("attributes.") for name in attributes],
                ) if attributes else pa.nulls(batch.num_rows, pa.string()),
            }  # fmt: skip
            for name in ("context.trace_id", "context.span_id", "parent_id", "name", "span_kind", "start_time",
                         "end_time", "status_code", "status_message", "events"):  # fmt: skip
                fields[name] = batch.column(name) if name in names else pa.nulls(batch.num_rows)
            llmlens_px_batch = pa.table(fields)  # read by name below
            table = con.sql(_PARQUET_ROWS).to_arrow_table()
            del llmlens_px_batch
            done += batch.num_rows
            covered = int(size * min(1.0, done / max(parquet.metadata.num_rows, 1))) - reported
            reported += covered
            yield Records(table.cast(_SPAN_SCHEMA), []), covered
    except (duckdb.Error, pa.ArrowException) as error:
        raise LoadError(f"{path}: cannot read the span DataFrame ({str(error).splitlines()[0]})") from None
    finally:
        con.close()


_PARQUET_ROWS = """
SELECT "row", CAST("context.trace_id" AS VARCHAR) AS trace_id, CAST("context.span_id" AS VARCHAR) AS span_id,
       CAST(parent_id AS VARCHAR) AS parent_id, CAST(name AS VARCHAR) AS name, CAST(span_kind AS VARCHAR) AS span_kind,
       CAST(TRY_CAST(start_time AS TIMESTAMPTZ) AS TIMESTAMP)::VARCHAR AS start_time,
       CAST(TRY_CAST(end_time AS TIMESTAMPTZ) AS TIMESTAMP)::VARCHAR AS end_time,
       CAST(status_code AS VARCHAR) AS status_code, CAST(status_message AS VARCHAR) AS status_message,
       CAST(to_json(attributes) AS VARCHAR) AS attributes,
       CAST(to_json(events) AS VARCHAR) AS events, NULL::VARCHAR AS project,
       NULL::DOUBLE AS cost
FROM llmlens_px_batch
"""
"""A DataFrame batch as span rows (times in UTC: the connection's zone)."""

JSON_STRING_KEYS = r"(metadata|llm\.prompt_template\.variables|tool\.parameters)"
"""Attributes that OpenInference sends as JSON strings and Phoenix stores parsed (a key ending so)."""

STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_px_spans AS
SELECT "row", trace_id, span_id, parent_id, name, span_kind, start_time, end_time, status_code, status_message,
       project, cost, TRY_CAST(attributes AS JSON) AS attrs, TRY_CAST(events AS JSON) AS evts,
       attributes IS NOT NULL AND TRY_CAST(attributes AS JSON) IS NULL AS bad_attributes,
       events IS NOT NULL AND TRY_CAST(events AS JSON) IS NULL AS bad_events,
       CASE WHEN attributes IS NOT NULL AND TRY_CAST(attributes AS JSON) IS NULL THEN attributes ELSE events END
           AS raw
FROM llmlens_records_arrow;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, $row_word || "row" || coalesce(', span ' || name, ''), "row", NULL,
       CASE WHEN bad_attributes THEN 'its attributes are not valid JSON' ELSE 'its events are not valid JSON' END,
       left(raw, 200), encode(coalesce(raw, ''))
FROM llmlens_px_spans WHERE bad_attributes OR bad_events;

DELETE FROM llmlens_px_spans WHERE bad_attributes OR bad_events;

-- what to flatten: each span's attributes (event 0) and each of its events' attributes (event i)
CREATE OR REPLACE TEMP TABLE llmlens_px_objects AS
SELECT "row", 0 AS event, attrs AS obj FROM llmlens_px_spans WHERE json_type(attrs) = 'OBJECT'
UNION ALL
SELECT "row", i, json_extract(e, '$.attributes') FROM (
    SELECT "row", unnest(from_json(evts, '["JSON"]')) AS e, generate_subscripts(from_json(evts, '["JSON"]'), 1) AS i
    FROM llmlens_px_spans WHERE json_type(evts) = 'ARRAY'
)
WHERE json_type(e, '$.attributes') = 'OBJECT';

-- the OTLP attributes: a key per leaf, nested objects joined with '.', lists of objects by index; lists of values
-- stay lists, and the attributes Phoenix parsed out of JSON strings are JSON strings again
CREATE OR REPLACE TEMP TABLE llmlens_px_leaves AS
WITH nodes AS (
    SELECT o."row", o.event, t.type, t.value, t.fullkey,
           regexp_replace(regexp_replace(regexp_replace(t.fullkey, '\[(\d+)\]', '.\1', 'g'), '"', '', 'g'),
                          '^\$\.?', '') AS key
    FROM llmlens_px_objects o, json_tree(o.obj) t
    WHERE t.type <> 'NULL' AND t.fullkey <> '$'
)
SELECT "row", event, '{"key":' || CAST(to_json(key) AS VARCHAR) || ',"value":' || CASE
        WHEN type = 'VARCHAR' THEN '{"stringValue":' || CAST(value AS VARCHAR) || '}'
        WHEN type = 'BOOLEAN' THEN '{"boolValue":' || CAST(value AS VARCHAR) || '}'
        WHEN type IN ('BIGINT', 'UBIGINT') THEN '{"intValue":"' || CAST(value AS VARCHAR) || '"}'
        WHEN type = 'DOUBLE' THEN '{"doubleValue":' || CAST(value AS VARCHAR) || '}'
        WHEN type = 'ARRAY' AND NOT regexp_matches(key, '(^|\.){JSON_STRING_KEYS}$') THEN
            '{"arrayValue":{"values":[' || array_to_string(list_transform(from_json(value, '["JSON"]'), lambda e:
                CASE json_type(e) WHEN 'VARCHAR' THEN '{"stringValue":' || CAST(e AS VARCHAR) || '}'
                                  WHEN 'BOOLEAN' THEN '{"boolValue":' || CAST(e AS VARCHAR) || '}'
                                  WHEN 'DOUBLE' THEN '{"doubleValue":' || CAST(e AS VARCHAR) || '}'
                                  WHEN 'NULL' THEN '{}'
                                  ELSE '{"intValue":"' || CAST(e AS VARCHAR) || '"}' END), ',') || ']}}'
        ELSE '{"stringValue":' || CAST(to_json(CAST(value AS VARCHAR)) AS VARCHAR) || '}' END || '}' AS kv
FROM nodes
WHERE NOT regexp_matches(key, '(^|\.){JSON_STRING_KEYS}\.')
  AND CASE WHEN type = 'OBJECT' THEN regexp_matches(key, '(^|\.){JSON_STRING_KEYS}$')
           WHEN type = 'ARRAY' THEN regexp_matches(key, '(^|\.){JSON_STRING_KEYS}$')
                                    OR coalesce(json_type(value, '$[0]') NOT IN ('OBJECT', 'ARRAY'), true)
           ELSE NOT ends_with(fullkey, ']') END;

CREATE OR REPLACE TEMP TABLE llmlens_px_kvs AS
SELECT "row", event, string_agg(kv, ',') AS kvs FROM llmlens_px_leaves GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE llmlens_px_events AS
SELECT e."row", string_agg('{"timeUnixNano":' || coalesce('"' || epoch_ns(TRY_CAST(e.e->>'timestamp' AS TIMESTAMPTZ))
                                                          || '"', 'null')
                           || ',"name":' || CAST(to_json(e.e->>'name') AS VARCHAR)
                           || ',"attributes":[' || coalesce(k.kvs, '') || ']}', ',' ORDER BY e.i) AS events
FROM (SELECT "row", unnest(from_json(evts, '["JSON"]')) AS e, generate_subscripts(from_json(evts, '["JSON"]'), 1) AS i
      FROM llmlens_px_spans WHERE json_type(evts) = 'ARRAY') e
LEFT JOIN llmlens_px_kvs k ON k."row" = e."row" AND k.event = e.i
GROUP BY e."row";

-- each span as the OTLP document it was sent in, read by the OTLP staging as its records
CREATE OR REPLACE TEMP TABLE llmlens_px_documents AS
SELECT s."row" AS line, NULL::BIGINT AS byte_offset,
       '{"resourceSpans":[{"resource":{"attributes":['
       || coalesce('{"key":"openinference.project.name","value":{"stringValue":' || CAST(to_json(s.project) AS VARCHAR)
                   || '}}', '')
       || ']},"scopeSpans":[{"spans":[{"traceId":' || CAST(to_json(s.trace_id) AS VARCHAR)
       || ',"spanId":' || CAST(to_json(s.span_id) AS VARCHAR)
       || coalesce(',"parentSpanId":' || CAST(to_json(nullif(s.parent_id, '')) AS VARCHAR), '')
       || ',"name":' || CAST(to_json(coalesce(s.name, '')) AS VARCHAR)
       || coalesce(',"startTimeUnixNano":"' || epoch_ns(timezone('UTC', TRY_CAST(s.start_time AS TIMESTAMP)))
                   || '"', '')
       || coalesce(',"endTimeUnixNano":"' || epoch_ns(timezone('UTC', TRY_CAST(s.end_time AS TIMESTAMP))) || '"', '')
       || ',"attributes":[' || concat_ws(',', k.kvs,
           CASE WHEN json_extract(s.attrs, '$.openinference.span.kind') IS NULL AND s.span_kind IS NOT NULL
           THEN '{"key":"openinference.span.kind","value":{"stringValue":' || CAST(to_json(s.span_kind) AS VARCHAR)
                || '}}' END)
       || '],"events":[' || coalesce(v.events, '') || ']'
       || ',"status":{"code":' || CAST(to_json(coalesce(s.status_code, 'UNSET')) AS VARCHAR)
       || coalesce(',"message":' || CAST(to_json(nullif(s.status_message, '')) AS VARCHAR), '') || '}}]}]}]}'
       AS text
FROM llmlens_px_spans s
LEFT JOIN llmlens_px_kvs k ON k."row" = s."row" AND k.event = 0
LEFT JOIN llmlens_px_events v ON v."row" = s."row";

CREATE OR REPLACE TEMP VIEW llmlens_records AS
SELECT line, byte_offset, text, text AS json_text FROM llmlens_px_documents;
"""

FINISH = """
UPDATE llmlens_stage_spans SET service_name = resource->>'openinference.project.name'
WHERE service_name IS NULL AND resource->>'openinference.project.name' IS NOT NULL;

UPDATE llmlens_stage_spans s SET cost_usd = p.cost
FROM llmlens_px_spans p
WHERE s.cost_usd IS NULL AND p.cost IS NOT NULL AND s.trace_id = p.trace_id AND s.span_id = p.span_id;

UPDATE llmlens_stage_rejects SET location = $row_word || line || substr(location, strpos(location, ','))
WHERE location LIKE 'line %';
"""
"""After the OTLP staging: the project as ``service_name``, Phoenix's cost where the span states none; rejects
located by row, not line."""

ANNOTATIONS = r"""
INSERT INTO llmlens_stage_annotations BY NAME
SELECT target_kind, target_id, CAST(position AS INTEGER) AS target_position, name, label, score,
       explanation AS note, username AS annotator,
       CASE upper(annotator_kind) WHEN 'HUMAN' THEN 'human' WHEN 'LLM' THEN 'llm' WHEN 'CODE' THEN 'check'
            ELSE lower(annotator_kind) END AS annotator_kind,
       timezone('UTC', TRY_CAST(created_at AS TIMESTAMP)) AS created_at,
       json_merge_patch(CASE WHEN json_type(TRY_CAST(metadata AS JSON)) = 'OBJECT' THEN TRY_CAST(metadata AS JSON)
                             ELSE json_object('metadata', metadata) END,
                        json_object('phoenix', json_object('table', annotation_table, 'id', id,
                                                           'identifier', identifier, 'source', source,
                                                           'annotator_kind', annotator_kind,
                                                           'updated_at', updated_at))) AS metadata,
       'phoenix:' || annotation_table || ':' || id AS external_id
FROM llmlens_records_arrow
WHERE target_id IS NOT NULL;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, annotation_table || ' row ' || id, NULL, NULL,
       'an annotation whose ' || target_kind || ' is not in the database', left(name, 200), encode(name)
FROM llmlens_records_arrow
WHERE target_id IS NULL;
"""
"""The annotation tables' rows as ``annotations`` (a row whose target row is gone is rejected)."""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage one chunk: spans (through the OTLP staging, see the module's description) or annotations.

    >>> import llmlens, pyarrow as pa, pyarrow.parquet as pq, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "spans.parquet"
    >>> pq.write_table(pa.table({
    ...     "context.span_id": ["eee19b7ec3c1b174"], "context.trace_id": ["5b8efff798038103d269b633813fc60c"],
    ...     "name": ["ChatCompletion"], "span_kind": ["LLM"], "attributes.llm.model_name": ["gpt-4o"],
    ...     "attributes.llm.input_messages": [[{"message.role": "user", "message.content": "Hi"}]]}), path)
    >>> with llmlens.open(":memory:") as lens:
    ...     lens.load(path, progress=False).files[0].format
    ...     lens.con.execute("SELECT kind, model FROM spans").fetchall()
    ...     lens.con.execute("SELECT side, role, content FROM messages").fetchall()
    'phoenix-parquet'
    [('LLM', 'gpt-4o')]
    [('input', 'user', 'Hi')]
    """
    names = {row[0] for row in con.execute("SELECT column_name FROM (DESCRIBE llmlens_records_arrow)").fetchall()}
    ((uri,),) = con.execute("SELECT uri FROM llmlens_source").fetchall()
    try:
        with Path(uri).open("rb") as file:
            parquet = file.read(4) == b"PAR1"
    except OSError:
        parquet = False
    params = {"source_id": source_id, "row_word": "row " if parquet else "spans row "}
    if "annotation_table" in names:
        con.execute(STAGED_ANNOTATIONS)
        run_script(con, ANNOTATIONS, params)
        return
    run_script(con, STAGE.replace("{JSON_STRING_KEYS}", JSON_STRING_KEYS), params)
    otlp_json.stage(con, source_id)
    run_script(con, FINISH, params)
