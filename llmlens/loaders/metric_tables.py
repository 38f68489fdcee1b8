"""Metric tables: long tables (one point per row: run, key, step, value, time) and wide tables (a step column and
one column per metric), as CSV, JSON Lines or Parquet; W&B history exports are wide tables with ``_step``.

Columns are found by name (case and surrounding spaces ignored):

======  ==============================================  ==========================================
role    names                                           meaning
======  ==============================================  ==========================================
run     ``run``, ``run_id``, ``run_name``               the run a row belongs to
key     ``key``, ``metric``, ``name``, ``tag``          the metric's name (long tables)
step    ``step``, ``iteration``, ``global_step``        the step, a whole number (``_step`` in W&B)
value   ``value``                                       the value (long tables)
time    ``time``, ``timestamp``, ``wall_time``          when it was logged (``_timestamp`` in W&B)
======  ==============================================  ==========================================

``columns={"run": "experiment", "step": "iter"}`` (``lens.load(..., columns=...)``) names them where the names
differ. A table with key and value columns is long; one with ``_step`` is a W&B history export; one with a step
column is wide (a CSV with ``step`` and ``epoch`` columns and no run column is Lightning's ``CSVLogger`` file, see
:mod:`llmlens.loaders.lightning_csv`). Every other column of a wide table is a metric. A cell that is not a number
is rejected with its line (or Parquet row) and column, and the rest of its row loads; a column with no number at
all in it (W&B media, notes) is not a metric: it is skipped, and named in the run's ``attributes.skipped_columns``
with the other columns not read (lists, structs and times in Parquet; a long table's extra columns; W&B's
``_runtime``, the wall time less the run's start, and ``_wandb``).
NaN and infinities are kept; empty cells are not points (pandas writes missing values as empty cells).

Times are ISO 8601 (UTC unless they carry an offset) or unix times in seconds, ms, µs or ns (told apart by size).
``seq`` is the row's place in its file, so a step that goes back marks the points it supersedes (a run's points
are best kept in one file: the rows of two files are not ordered against each other). In W&B exports ``seq`` is
``_timestamp`` in microseconds, as for a run read from its ``.wandb`` file, so a point loaded from both, or from
two overlapping exports, is stored once.

A run is named by its run column (in W&B exports ``wandb:<value>``: a value ``<project>/<run id>`` names the run
as its ``.wandb`` file does), else it is the file (``table:<path>``, ``wandb:<path>``). A table has no run
metadata: it adds a ``runs`` row only for a run the store does not hold yet, and never replaces one.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from llmlens.loaders.files import LoadError, Records, json_record_chunks, line_chunks, read_after
from llmlens.query import run_script

LONG = "metrics-long"
WIDE = "metrics-wide"
WANDB = "wandb-export"
"""W&B history exports: ``run.history()`` / ``scan_history()`` frames saved as CSV or Parquet, and the server's
Parquet history exports (``run.download_history_exports``)."""
LIGHTNING = "lightning-csv"

ROLES = ("run", "key", "step", "value", "time")
SYNONYMS: dict[str, tuple[str, ...]] = {
    "run": ("run", "run_id", "run_name"),
    "key": ("key", "metric", "name", "tag"),
    "step": ("step", "iteration", "global_step", "_step"),
    "value": ("value",),
    "time": ("time", "timestamp", "wall_time", "_timestamp"),
}
"""Column names each role is found under, in order of preference (``_step`` and ``_timestamp`` are W&B's)."""

TEXT_CHUNK_BYTES = 32 * 1024 * 1024
"""How much of a CSV or JSON Lines table is staged at once (a wide table's cells take many times its bytes)."""

PARQUET_CHUNK_CELLS = 2_000_000
"""About how many cells of a Parquet table are staged at once: rows × (columns less three), which is the rows of a
long table (run, key, step, value) and about the cells of a wide one. Larger chunks load a little faster and take
more memory (2 M rows: about 1 GB at the peak, with DuckDB's own 1 GB)."""

_PARQUET_MAGIC = b"PAR1"
_IGNORED = re.compile(r"(Unnamed: \d+)?")  # the index column pandas writes: no name, or "Unnamed: 0" read back
_WANDB_RESERVED = ("_runtime", "_wandb")  # _runtime is the wall time less the run's start; _wandb W&B's own


@dataclass(frozen=True)
class Layout:
    """Which column plays which role in a table, and which columns are metrics (wide tables)."""

    kind: str
    roles: dict[str, str]
    metrics: tuple[str, ...] = ()
    ignored: tuple[str, ...] = field(default=())


def layout(names: list[str], columns: Mapping[str, str] | None = None, *, kind: str | None = None) -> Layout | None:
    """The layout of a table with these column ``names``: ``kind`` forced, else told from the names; None when the
    names fit no table. ``columns`` maps roles to column names where they are not the usual ones.

    >>> layout(["run", "key", "step", "value"]).kind
    'metrics-long'
    >>> layout(["", "_step", "_runtime", "_timestamp", "train/loss"]).roles
    {'step': '_step', 'time': '_timestamp'}
    >>> wide = layout(["experiment", "iter", "loss"], {"run": "experiment", "step": "iter"})
    >>> wide.kind, wide.metrics
    ('metrics-wide', ('loss',))
    >>> layout(["epoch", "step", "train_loss"]).kind, layout(["lr: 0.1"]) is None
    ('lightning-csv', True)
    """
    mapping = dict(columns or {})
    unknown = sorted(set(mapping) - set(ROLES))
    if unknown:
        raise LoadError(f"columns=: unknown role {unknown[0]!r}; the roles are {', '.join(ROLES)}")
    missing = [name for name in mapping.values() if name not in names]
    if missing:
        raise LoadError(f"columns=: no column {missing[0]!r} (the columns are {', '.join(map(repr, names[:20]))})")
    found = {role: _find(names, role) for role in ROLES if role not in mapping}
    roles = {**{role: name for role, name in found.items() if name is not None}, **mapping}
    if kind is None:
        kind = _kind(names, roles, mapping)
        if kind is None:
            return None
    if kind == WANDB:  # W&B's own coordinates, whatever else the run logged under the usual names
        wandb = {"step": _find(names, "step", ("_step",)), "time": _find(names, "time", ("_timestamp",))}
        roles = {**{r: n for r, n in roles.items() if r == "run"}, **{r: n for r, n in wandb.items() if n}, **mapping}
    if kind == LONG:
        for role in ("key", "value"):
            if role not in roles:
                raise LoadError(f"a long metric table needs a {role} column ({', '.join(SYNONYMS[role])})")
        return Layout(kind, roles, ignored=tuple(n for n in names if n not in roles.values()))
    roles.pop("key", None)
    roles.pop("value", None)
    if kind == LIGHTNING:  # every column but step is a metric, as Lightning logged it
        roles.pop("run", None)
        roles.pop("time", None)
    if "step" not in roles:
        raise LoadError(f"a wide metric table needs a step column ({', '.join(SYNONYMS['step'])})")
    reserved = _WANDB_RESERVED if kind == WANDB else ()
    ignored = tuple(n for n in names if (_IGNORED.fullmatch(n.strip()) or n in reserved) and n not in roles.values())
    metrics = tuple(n for n in names if n not in roles.values() and n not in ignored)
    return Layout(kind, roles, metrics, ignored)


def _find(names: list[str], role: str, synonyms: tuple[str, ...] = ()) -> str | None:
    folded = {name.strip().lower(): name for name in reversed(names)}
    return next((folded[synonym] for synonym in synonyms or SYNONYMS[role] if synonym in folded), None)


def _kind(names: list[str], roles: dict[str, str], mapping: dict[str, str]) -> str | None:
    if "step" not in mapping and _find(names, "step", ("_step",)):
        return WANDB
    if "step" not in roles:  # a table of names and values without steps is not told to be metrics
        return None
    if "key" in roles and "value" in roles:
        return LONG
    lightning = "run" not in roles and {"step", "epoch"} <= {n.strip().lower() for n in names} and not mapping
    return LIGHTNING if lightning else WIDE


def sniff(head: bytes, columns: Mapping[str, str] | None = None) -> str | None:
    """The table format of a file starting with ``head`` (a CSV header line, or a JSON object per line), or None.

    >>> sniff(b"run,key,step,value\\nr1,loss,1,0.5\\n"), sniff(b'{"_step": 0, "loss": 1.5}\\n')
    ('metrics-long', 'wandb-export')
    >>> sniff(b"# notes, not a table\\n") is None
    True
    """
    names = header_names(head)
    if names is None:
        return None
    try:
        found = layout(names, columns)
    except LoadError:
        return None  # the names given in columns= are not this file's
    if found is None or (found.kind == LIGHTNING and head.lstrip()[:1] == b"{"):
        return None if found is None else WIDE
    return found.kind


def header_names(head: bytes) -> list[str] | None:
    """The column names of a table starting with ``head``: its CSV header, or the keys of its first JSON object.

    >>> header_names(b'\\xef\\xbb\\xbf"run", step ,loss\\n'), header_names(b'{"step": 1, "loss": 2}\\n')
    (['run', 'step', 'loss'], ['step', 'loss'])
    """
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    first = text.split("\n", 1)[0].rstrip("\r")
    if first.startswith("{"):
        try:
            row = json.loads(first)
        except ValueError:
            return None
        return [str(key) for key in row] if isinstance(row, dict) else None
    if "," not in first or len(first) > 100_000 or "\x00" in first:
        return None
    names = next(csv.reader([first]))
    return [name.strip() for name in names]


def parquet_names(path: Path) -> list[str] | None:
    """The column names of a Parquet file (from its footer), or None when it is not one that can be read."""
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (pa.ArrowException, OSError):
        return None


def parquet_format(path: Path, columns: Mapping[str, str] | None = None) -> str | None:
    """The table format of a Parquet file, told from its column names (neptune-exporter's first), or None.

    >>> import pathlib, tempfile, pyarrow.parquet as pq
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> pq.write_table(pa.table({"run_id": ["a"], "metric": ["loss"], "step": [1], "value": [0.5]}), path)
    >>> parquet_format(path)
    'metrics-long'
    """
    from llmlens.loaders import neptune_export

    names = parquet_names(path)
    if names is None:
        return None
    if neptune_export.is_export(names):
        return neptune_export.NAME
    try:
        found = layout(names, columns)
    except LoadError:
        return None
    if found is None:
        return None
    return WIDE if found.kind == LIGHTNING else found.kind


# ---- reading: text tables line by line (a CSV's header repeated in every chunk); Parquet in batches of rows


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """A table's records, chunk by chunk: lines of a CSV (each chunk starts with the header line) or of JSON
    Lines, or rows of Parquet (columns renamed ``c0``, ``c1``, ... with ``llmlens_row``, the row from 1).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("step,loss\\n1,0.5\\n")
    >>> [records.table.column("text").to_pylist() for records, _ in read(path)]
    [['step,loss\\n', '1,0.5\\n']]
    """
    with path.open("rb") as file:
        head = file.read(len(_PARQUET_MAGIC))
    if head == _PARQUET_MAGIC:
        yield from _parquet_chunks(path)
    elif head.lstrip()[:1] == b"{":
        yield from json_record_chunks(path, TEXT_CHUNK_BYTES)
    else:
        yield from _csv_chunks(path)


def _csv_chunks(path: Path) -> Iterator[tuple[Records, int]]:
    header: pa.Table | None = None
    with path.open("rb") as file:
        for records, covered in line_chunks(file, TEXT_CHUNK_BYTES, read_after(b"", file, TEXT_CHUNK_BYTES)):
            table = records.table
            if header is None:
                header = table.slice(0, 1)
            elif header.num_rows:
                table = pa.concat_tables([header, table.cast(header.schema)])
            yield Records(table, records.rejected), covered
            del records, table


def _parquet_chunks(path: Path) -> Iterator[tuple[Records, int]]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        # text read as dictionaries: a run or metric name repeated on every row is decoded once per page
        text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        parquet = pq.ParquetFile(path, read_dictionary=text)
    except (pa.ArrowException, OSError) as error:
        raise LoadError(f"{path}: not a readable Parquet file ({error})") from error
    total, size = parquet.metadata.num_rows, path.stat().st_size
    width = len(parquet.schema_arrow.names)
    rows_per_chunk = max(1024, PARQUET_CHUNK_CELLS // max(1, width - 3))
    names = [f"c{i}" for i in range(width)]
    done, covered = 0, 0
    pending: list[pa.RecordBatch] = []
    batches = parquet.iter_batches(batch_size=min(rows_per_chunk, 1_000_000))
    while True:
        batch = next(batches, None)
        if batch is not None:
            pending.append(batch)
        rows = sum(b.num_rows for b in pending)
        if pending and (rows >= rows_per_chunk or batch is None):
            table = pa.Table.from_batches(pending).rename_columns(names)
            table = table.append_column("llmlens_row", pa.array(np.arange(done + 1, done + rows + 1, dtype=np.int64)))
            done += rows
            end = size if done >= total else size * done // max(total, 1)
            pending = []
            yield Records(table, []), end - covered
            covered = end
        if batch is None:
            break


# ---- staging: each container gives cells (run, key, step, time, value as read), normalised here in SQL

MACROS = r"""
CREATE OR REPLACE TEMP MACRO llmlens_whole(d) AS CASE WHEN isfinite(d) AND d = trunc(d) THEN TRY_CAST(d AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO llmlens_epoch(x) AS CASE
    WHEN NOT isfinite(x) THEN NULL
    WHEN abs(x) < 1e11 THEN make_timestamptz(CAST(round(x * 1e6) AS BIGINT))
    WHEN abs(x) < 1e14 THEN make_timestamptz(CAST(round(x * 1e3) AS BIGINT))
    WHEN abs(x) < 1e17 THEN make_timestamptz(CAST(round(x) AS BIGINT))
    ELSE make_timestamptz(CAST(round(x / 1e3) AS BIGINT)) END;
CREATE OR REPLACE TEMP MACRO llmlens_text_time(x) AS CASE
    WHEN regexp_matches(x, '\d[T ]\d\d:\d\d(:\d\d(\.\d*)?)?\s*([Zz]|[+-]\d\d(:?\d\d)?)$')
        THEN TRY_CAST(x AS TIMESTAMPTZ)
    ELSE coalesce(timezone('UTC', TRY_CAST(x AS TIMESTAMP)), llmlens_epoch(TRY_CAST(x AS DOUBLE))) END;
CREATE OR REPLACE TEMP MACRO llmlens_json_text(v) AS CASE
    WHEN v IS NULL OR json_type(v) = 'NULL' THEN NULL WHEN json_type(v) = 'VARCHAR' THEN v->>'$'
    ELSE CAST(v AS VARCHAR) END;
CREATE OR REPLACE TEMP MACRO llmlens_csv_split(t) AS CASE
    WHEN NOT contains(t, '"') THEN string_split(t, ',')
    ELSE list_transform(regexp_extract_all(t, '(?:^|,)("(?:[^"]|"")*"|[^,]*)', 1),
                        lambda c: CASE WHEN length(c) >= 2 AND c[1] = '"' AND c[-1] = '"'
                                  THEN replace(c[2:-2], '""', '"') ELSE c END) END;
"""
"""Reading cells: a whole number, a unix time of any unit, a time in text, a JSON value as text, a CSV line."""

_TEXT, _INT, _FLOAT, _TIME, _TIME_TZ, _OTHER = "text", "int", "float", "time", "time_tz", "other"


def _number(x: str, cls: str) -> tuple[str, str]:
    """SQL for (the cell ``x`` as a DOUBLE, whether it is a cell that is not a number)."""
    if cls == _TEXT:
        return f"TRY_CAST({x} AS DOUBLE)", f"TRY_CAST({x} AS DOUBLE) IS NULL"
    return f"CAST({x} AS DOUBLE)", "false"


def _step(x: str, cls: str) -> tuple[str, str]:
    if cls == _TEXT:
        value = f"CASE WHEN llmlens_whole(TRY_CAST({x} AS DOUBLE)) IS NOT NULL THEN TRY_CAST({x} AS BIGINT) END"
        return value, f"(nullif(trim({x}), '') IS NOT NULL AND ({value}) IS NULL)"
    if cls == _INT:
        return f"CAST({x} AS BIGINT)", "false"
    value = f"CASE WHEN {x} = trunc({x}) THEN TRY_CAST({x} AS BIGINT) END"
    return value, f"({x} IS NOT NULL AND ({value}) IS NULL)"


def _time(x: str, cls: str) -> tuple[str, str]:
    if cls == _TEXT:
        value = f"llmlens_text_time(trim({x}))"
        return value, f"(nullif(trim({x}), '') IS NOT NULL AND ({value}) IS NULL)"
    if cls == _TIME:
        return f"timezone('UTC', CAST({x} AS TIMESTAMP))", "false"
    if cls == _TIME_TZ:
        return f"CAST({x} AS TIMESTAMPTZ)", "false"
    return f"llmlens_epoch(CAST({x} AS DOUBLE))", "false"


def _class(kind: pa.DataType) -> str:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return _TEXT
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        return _INT
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _FLOAT
    if pa.types.is_timestamp(kind):
        return _TIME_TZ if kind.tz else _TIME
    if pa.types.is_date(kind):
        return _TIME
    return _OTHER


@dataclass(frozen=True)
class _Cells:
    """A SELECT giving cells (line, byte_offset, row, seq, run, key, col, step, time, cell; each role as read),
    the class of what it gives for run, step, time and cell, and the values it binds."""

    sql: str
    classes: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)


_NORMALISE = """
SELECT line, byte_offset, "row", seq, run, key, col, step, wall_time, value, value_bad, bad_cell,
       CASE WHEN run_bad THEN 'no run: the run column is empty'
            WHEN key_bad THEN 'no metric name: the key column is empty'
            WHEN step_bad THEN 'step is not a whole number: ' || left(step_text, 80)
            WHEN time_bad THEN 'not a time (ISO 8601, or unix seconds, ms, µs or ns): ' || left(time_text, 80) END
           AS problem,
       CASE WHEN run_bad THEN $run_col WHEN key_bad THEN $key_col WHEN step_bad THEN $step_col
            WHEN time_bad THEN $time_col END AS problem_col,
       CASE WHEN step_bad THEN step_text WHEN time_bad THEN time_text ELSE '' END AS problem_text
FROM (
    SELECT line, byte_offset, "row", seq, {run} AS run, {key} AS key, col, {step} AS step, {time} AS wall_time,
           {value} AS value, {value_bad} AS value_bad, {step_bad} AS step_bad, {time_bad} AS time_bad,
           {run_bad} AS run_bad, {key_bad} AS key_bad,
           CASE WHEN {value_bad} THEN CAST(cell AS VARCHAR) END AS bad_cell,
           CASE WHEN {step_bad} THEN CAST(step AS VARCHAR) END AS step_text,
           CASE WHEN {time_bad} THEN CAST(time AS VARCHAR) END AS time_text
    FROM ({cells})
    WHERE {present}
)
"""
"""Cells as points: typed, with what is wrong with them (a cell that is not a number; or its row's run, key, step
or time, which rejects the row)."""


def _normalised(cells: _Cells, *, has_run: bool, has_key: bool) -> str:
    classes = cells.classes
    value, value_bad = _number("cell", classes["cell"])
    step, step_bad = _step("step", classes["step"])
    time, time_bad = _time("time", classes["time"])
    run = "nullif(trim(CAST(run AS VARCHAR)), '')"
    key = "nullif(trim(CAST(key AS VARCHAR)), '')"
    return _NORMALISE.format(
        cells=cells.sql, run=run, key=key, step=step, time=time, value=value, value_bad=value_bad,
        step_bad=step_bad, time_bad=time_bad, run_bad=f"{run} IS NULL" if has_run else "false",
        key_bad=f"{key} IS NULL" if has_key else "false",
        present="cell IS NOT NULL" + (" AND trim(cell) <> ''" if classes["cell"] == _TEXT else ""),
    )  # fmt: skip


_SPLIT = """
CREATE OR REPLACE TEMP TABLE llmlens_stage_metrics AS
SELECT coalesce($prefix || run, $file_run) AS run_id, key, step, wall_time, value, {seq} AS seq
FROM ({cells}) WHERE problem IS NULL AND NOT value_bad;

CREATE OR REPLACE TEMP TABLE llmlens_table_bad AS
SELECT line, byte_offset, "row", col, bad_cell, problem, problem_col, problem_text
FROM ({cells}) WHERE problem IS NOT NULL OR value_bad
"""
"""The cells, read twice (cheaper than keeping them all): the points, and the cells with something wrong."""

_TEXT_COLUMNS = """
CREATE OR REPLACE TEMP TABLE llmlens_table_text AS
SELECT DISTINCT col FROM llmlens_table_bad
WHERE problem IS NULL AND NOT $long AND col NOT IN (SELECT DISTINCT key FROM llmlens_stage_metrics)
"""
"""Columns of a wide table with no number in them (in this chunk): not metrics, and their cells not rejects."""

_STAGE = r"""
INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, place || ', column ' || problem_col, line, byte_offset, problem, left(problem_text, 200),
       encode(problem_text)
FROM (SELECT DISTINCT ON (line, "row") *, coalesce('line ' || line, 'row ' || "row") AS place
      FROM llmlens_table_bad WHERE problem IS NOT NULL ORDER BY line, "row");

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, coalesce('line ' || line, 'row ' || "row") || ', column ' || col, line, byte_offset,
       'not a number: ' || left(bad_cell, 80), left(bad_cell, 200), encode(bad_cell)
FROM llmlens_table_bad
WHERE problem IS NULL AND col NOT IN (SELECT col FROM llmlens_table_text);

CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
SELECT run_id, CASE WHEN run_id = $file_run THEN regexp_extract(uri, '([^/\\]+)[/\\][^/\\]+$', 1) END AS project,
       CASE WHEN run_id = $file_run THEN regexp_extract(uri, '([^/\\]+?)(\.[^./\\]*)?$', 1)
            ELSE substr(run_id, length($prefix) + 1) END AS name,
       NULL::VARCHAR AS group_name, started_at, ended_at, NULL::VARCHAR AS status, []::VARCHAR[] AS tags,
       json_object('file', uri, 'format', $format,
                   'skipped_columns', list_concat($skipped, (SELECT list(col ORDER BY col) FROM llmlens_table_text)))
           AS attributes
FROM (SELECT run_id, min(wall_time) AS started_at, max(wall_time) AS ended_at
      FROM llmlens_stage_metrics GROUP BY run_id), llmlens_source
WHERE run_id NOT IN (SELECT run_id FROM runs);

CREATE OR REPLACE TEMP TABLE llmlens_stage_params AS
SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS key, NULL::VARCHAR AS value LIMIT 0;
"""
"""Rejects (a row's problem once, then each cell that is not a number), and a row for each run the store does not
hold yet (a table knows nothing of a run beyond its name and the times of its points)."""


def stage_long(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage a long table: each row one point."""
    stage_table(con, source_id, LONG)


def stage_wide(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage a wide table: each cell of a metric column one point at its row's step."""
    stage_table(con, source_id, WIDE)


def stage_wandb(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage a W&B history export: a wide table with ``_step``, and ``_timestamp`` (unix seconds) as wall time;
    ``_runtime`` and every other numeric column are metrics."""
    stage_table(con, source_id, WANDB)


def stage_table(con: duckdb.DuckDBPyConnection, source_id: int, kind: str, *, file_run: str | None = None) -> Layout:
    """Stage the registered chunk of a table of ``kind``: its points, its rejects, and the runs it adds; return
    its layout. ``file_run`` is the run of a table without a run column (by default the file: ``table:<path>``,
    or ``wandb:<path>``)."""
    source = dict(zip(("uri", "options"), con.execute("SELECT * FROM llmlens_source").fetchall()[0], strict=False))
    uri = str(source["uri"])
    options = json.loads(source["options"]) if isinstance(source.get("options"), str) else source.get("options")
    mapping = (options or {}).get("columns") if isinstance(options, dict) else None
    run_script(con, MACROS)
    path = Path(uri)
    columns = {row[0] for row in con.execute("DESCRIBE llmlens_records_arrow").fetchall()}
    if "text" not in columns:
        cells, found = _parquet_cells(path, mapping, kind)
    elif con.execute("SELECT ltrim(text)[1] = '{' FROM llmlens_records ORDER BY line LIMIT 1").fetchall() == [(True,)]:
        cells, found = _json_cells(con, source_id, path, mapping, kind)
    else:
        cells, found = _csv_cells(con, source_id, path, mapping, kind)
    roles = found.roles
    params: dict[str, Any] = {f"{role}_col": roles.get(role) for role in ROLES}
    union = " UNION ALL ".join(
        _normalised(c, has_run="run" in roles, has_key=found.kind == LONG) for c in cells
    )  # fmt: skip
    for c in cells:
        params.update(c.params)
    # W&B: the time in microseconds, as a run read from its .wandb file has it (the same point then loads once)
    seq = ("epoch_us(wall_time)" if "time" in roles else "step") if found.kind == WANDB else "seq"
    params |= {
        "source_id": source_id, "prefix": "wandb:" if found.kind == WANDB else "", "format": found.kind,
        "file_run": file_run or f"{'wandb' if found.kind == WANDB else 'table'}:{uri}", "long": found.kind == LONG,
        "skipped": [name for name in found.ignored if not _IGNORED.fullmatch(name.strip())],
    }  # fmt: skip
    for statement in (_SPLIT.replace("{cells}", union).replace("{seq}", seq), _TEXT_COLUMNS, _STAGE):
        for part in statement.split(";\n"):
            if part.strip():
                _execute(con, part, params)
    return found


def _execute(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any]) -> None:
    """Run ``sql`` with those of ``params`` it names (as ``$name``)."""
    used = {name: value for name, value in params.items() if re.search(rf"\${name}\b", sql)}
    con.execute(sql, used or None)


def _layout(path: Path, names: list[str], mapping: Mapping[str, str] | None, kind: str) -> Layout:
    try:
        found = layout(names, mapping, kind=kind)
    except LoadError as error:
        raise LoadError(f"{path}: {error}") from None
    assert found is not None  # a forced kind always gives a layout, or says why it cannot
    return found


_TEXT_ROLES = {"run": _TEXT, "step": _TEXT, "time": _TEXT, "cell": _TEXT}


def _csv_cells(
    con: duckdb.DuckDBPyConnection, source_id: int, path: Path, mapping: Mapping[str, str] | None, kind: str
) -> tuple[list[_Cells], Layout]:
    ((header_line, header),) = con.execute("SELECT line, text FROM llmlens_records ORDER BY line LIMIT 1").fetchall()
    names = header_names(str(header).encode()) or [str(header).strip()]
    found = _layout(path, names, mapping, kind)
    roles = found.roles
    index = {name: i for i, name in reversed(list(enumerate(names, start=1)))}
    width = len(names)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE llmlens_table_rows AS "
        "SELECT line, byte_offset, list_transform(llmlens_csv_split(text), lambda c: trim(c)) AS cells "
        "FROM llmlens_records WHERE line > ?",
        [header_line],
    )
    con.execute(
        "INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw) "
        "SELECT ?, 'line ' || line, line, byte_offset, "
        "'more cells (' || len(cells) || ') than the header has columns (' || ? || ')', "
        "left(array_to_string(cells, ','), 200), encode(array_to_string(cells, ',')) "
        "FROM llmlens_table_rows WHERE len(cells) > ?",
        [source_id, width, width],
    )

    def cell(role: str) -> str:
        return f"cells[{index[roles[role]]}]" if role in roles else "NULL"

    common = (f"line, byte_offset, NULL::BIGINT AS \"row\", line - {int(header_line) + 1} AS seq, "
              f"{cell('run')} AS run, {cell('step')} AS step, {cell('time')} AS time")  # fmt: skip
    rows = f"(SELECT * FROM llmlens_table_rows WHERE len(cells) <= {width})"
    if found.kind == LONG:
        sql = f"SELECT {common}, {cell('key')} AS key, $value_col AS col, {cell('value')} AS cell FROM {rows}"
        return [_Cells(sql, _TEXT_ROLES)], found
    sql = (f"SELECT {common}, m.name AS key, m.name AS col, cells[m.i] AS cell "
           f"FROM {rows}, (SELECT unnest($metric_index) AS i, unnest($metric_names) AS name) m")  # fmt: skip
    params = {"metric_index": [index[m] for m in found.metrics], "metric_names": list(found.metrics)}
    return [_Cells(sql, _TEXT_ROLES, params)], found


def _json_cells(
    con: duckdb.DuckDBPyConnection, source_id: int, path: Path, mapping: Mapping[str, str] | None, kind: str
) -> tuple[list[_Cells], Layout]:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE llmlens_table_rows AS "
        "SELECT line, byte_offset, text, TRY_CAST(text AS JSON) AS doc FROM llmlens_records"
    )
    con.execute(
        "INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw) "
        "SELECT ?, 'line ' || line, line, byte_offset, "
        "CASE WHEN doc IS NULL THEN 'not valid JSON' ELSE 'not a JSON object' END, left(text, 200), encode(text) "
        "FROM llmlens_table_rows WHERE doc IS NULL OR json_type(doc) <> 'OBJECT'",
        [source_id],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE llmlens_table_objects AS "
        "SELECT line, byte_offset, TRY_CAST(doc AS MAP(VARCHAR, JSON)) AS m FROM llmlens_table_rows "
        "WHERE json_type(doc) = 'OBJECT'"
    )
    keys = con.execute(
        "SELECT k FROM (SELECT unnest(map_keys(m)) AS k, line FROM llmlens_table_objects) GROUP BY k ORDER BY min(line)"
    ).fetchall()
    found = _layout(path, [str(k) for (k,) in keys], mapping, kind)
    roles = found.roles
    get = {role: f"llmlens_json_text(m[$json_{role}])" if role in roles else "NULL" for role in ROLES}
    common = (f"line, byte_offset, NULL::BIGINT AS \"row\", line - 1 AS seq, {get['run']} AS run, "
              f"{get['step']} AS step, {get['time']} AS time")  # fmt: skip
    params: dict[str, Any] = {f"json_{role}": name for role, name in roles.items()}
    if found.kind == LONG:
        sql = (f"SELECT {common}, {get['key']} AS key, $value_col AS col, {get['value']} AS cell "
               "FROM llmlens_table_objects")  # fmt: skip
        return [_Cells(sql, _TEXT_ROLES, params)], found
    sql = (f"SELECT {common}, e.key AS key, e.key AS col, llmlens_json_text(e.value) AS cell "
           "FROM (SELECT *, unnest(map_entries(m)) AS e FROM llmlens_table_objects) "
           "WHERE list_contains($metric_names, e.key)")  # fmt: skip
    return [_Cells(sql, _TEXT_ROLES, {**params, "metric_names": list(found.metrics)})], found


def _parquet_cells(path: Path, mapping: Mapping[str, str] | None, kind: str) -> tuple[list[_Cells], Layout]:
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    names = list(schema.names)
    found = _layout(path, names, mapping, kind)
    roles = found.roles
    column = {name: f"c{i}" for i, name in reversed(list(enumerate(names)))}
    classes = {name: _class(schema.field(i).type) for i, name in reversed(list(enumerate(names)))}
    for role, name in roles.items():
        allowed = {_TEXT, _INT, _FLOAT, _TIME, _TIME_TZ} if role == "time" else {_TEXT, _INT, _FLOAT}
        if classes[name] not in allowed:
            kind_text = schema.field(names.index(name)).type
            raise LoadError(f"{path}: column {name!r} (the {role}) holds {kind_text}, which llmlens cannot read")

    def cell(role: str) -> str:
        return column[roles[role]] if role in roles else "NULL"

    role_classes = {role: classes[roles[role]] if role in roles else _TEXT for role in ("run", "step", "time")}
    common = (f"NULL::BIGINT AS line, NULL::BIGINT AS byte_offset, llmlens_row AS \"row\", llmlens_row - 1 AS seq, "
              f"{cell('run')} AS run, {cell('step')} AS step, {cell('time')} AS time")  # fmt: skip
    if found.kind == LONG:
        value = roles["value"]
        sql = (f"SELECT {common}, {cell('key')} AS key, $value_col AS col, {column[value]} AS cell "
               "FROM llmlens_records_arrow")  # fmt: skip
        return [_Cells(sql, {**role_classes, "cell": classes[value]})], found
    numbers = [m for m in found.metrics if classes[m] in {_INT, _FLOAT}]
    texts = [m for m in found.metrics if classes[m] == _TEXT]
    skipped = tuple(m for m in found.metrics if m not in numbers and m not in texts)  # lists, structs, times
    found = Layout(found.kind, roles, tuple(numbers + texts), (*found.ignored, *skipped))
    cells = []
    unpivoted = ('NULL::BIGINT AS line, NULL::BIGINT AS byte_offset, llmlens_row AS "row", llmlens_row - 1 AS seq, '
                 "run, step, time")  # fmt: skip
    # one UNPIVOT per kind of cell: a numeric column is never turned into text and back
    for group, cast, cls in ((numbers, "DOUBLE", _FLOAT), (texts, "VARCHAR", _TEXT)):
        if not group:
            continue
        targets = ", ".join(f"CAST({column[m]} AS {cast}) AS {column[m]}" for m in group)
        sql = (f"SELECT {unpivoted}, n.name AS key, n.name AS col, u.cell "
               f"FROM (UNPIVOT (SELECT llmlens_row, {cell('run')} AS run, {cell('step')} AS step, "
               f"{cell('time')} AS time, {targets} FROM llmlens_records_arrow) "
               f"ON {', '.join(column[m] for m in group)} INTO NAME llmlens_col VALUE cell) u "
               f"JOIN (SELECT unnest(${cls}_columns) AS c, unnest(${cls}_names) AS name) n "
               "ON u.llmlens_col = n.c")  # fmt: skip
        params = {f"{cls}_columns": [column[m] for m in group], f"{cls}_names": list(group)}
        cells.append(_Cells(sql, {**role_classes, "cell": cls}, params))
    if not cells:
        sql = (f"SELECT {common}, NULL::VARCHAR AS key, NULL::VARCHAR AS col, NULL::DOUBLE AS cell "
               "FROM llmlens_records_arrow LIMIT 0")  # fmt: skip
        cells.append(_Cells(sql, {**role_classes, "cell": _FLOAT}))
    return cells, found


def parse_columns(text: str | None) -> dict[str, str] | None:
    """The ``columns=`` mapping from its command-line form (``%lens load --columns``, ``llmlens load --columns``).

    >>> parse_columns("run=experiment, step=iter"), parse_columns(None)
    ({'run': 'experiment', 'step': 'iter'}, None)
    """
    if not text:
        return None
    pairs = [item.partition("=") for item in text.split(",") if item.strip()]
    bad = [role for role, sign, _ in pairs if not sign]
    if bad:
        raise LoadError(f"--columns: {bad[0].strip()!r} is not role=column (e.g. run=experiment,step=iter)")
    return {role.strip(): column.strip() for role, _, column in pairs}
