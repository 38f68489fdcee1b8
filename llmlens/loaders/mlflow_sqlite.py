"""MLflow's SQL store as SQLite (``mlflow.db``, the default since MLflow 3.7), read with the standard library.

The file is opened read-only (``sqlite3``, never a DuckDB extension, which would need a download) and every run of
every experiment loads, with its params, tags and metric points. A deleted run (``lifecycle_stage = 'deleted'``,
still in the table until ``mlflow gc``) is kept with the tag ``deleted``; the runs of a deleted experiment are left
out, as the file store's ``.trash`` is. MLflow stores NaN as 0 with ``is_nan = 1`` and infinities as
±1.7976931348623157e308 (the largest double): they are read back as NaN and ±infinity (so a logged largest double
reads as infinity). See :mod:`llmlens.loaders.mlflow_runs` for how runs and points are staged.

Points are read in batches in the order of the table's primary key (key, timestamp, ...), which SQLite scans
without sorting; a batch ends where a (key, timestamp) does, so the points of one key in one millisecond are
ranked together. Loading a store again after it grew adds only the new points (each point's ``seq`` depends on
the point alone); a store with a write-ahead log (``mlflow.db-wal``) counts it in its content hash.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from llmlens.loaders import mlflow_runs, sqlite_files
from llmlens.loaders.files import LoadError, Records
from llmlens.query import run_script

NAME = "mlflow-sqlite"

BATCH = 250_000
"""Metric points read from SQLite per chunk (as Python tuples first: about 100 MB)."""

_TABLES = {"alembic_version", "experiments", "runs", "metrics", "latest_metrics", "params", "tags"}

_VISIBLE = (
    "run_uuid IN (SELECT r.run_uuid FROM runs r LEFT JOIN experiments e ON e.experiment_id = r.experiment_id "
    "WHERE e.lifecycle_stage IS DISTINCT FROM 'deleted')"
)
"""Runs not of a deleted experiment."""

_HIDDEN = (
    "SELECT r.run_uuid FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id "
    "WHERE e.lifecycle_stage = 'deleted'"
)
"""Runs of a deleted experiment (their points are dropped as they are read: a filter in the query would make SQLite
sort the whole table rather than scan its primary key in order)."""

_RUNS = f"""
SELECT CAST(r.run_uuid AS TEXT), r.experiment_id, CAST(e.name AS TEXT), CAST(r.name AS TEXT), r.status,
       r.start_time, r.end_time, r.lifecycle_stage, r.user_id, r.artifact_uri
FROM runs r LEFT JOIN experiments e ON e.experiment_id = r.experiment_id
WHERE r.{_VISIBLE}
"""

_METRICS = """
SELECT CAST(run_uuid AS TEXT), CAST(key AS TEXT), rowid, CAST(timestamp AS INTEGER), CAST(value AS REAL),
       CAST(step AS INTEGER), is_nan <> 0
FROM metrics ORDER BY key, timestamp
"""

_POINTS = """
CREATE OR REPLACE TEMP TABLE llmlens_mlflow_points AS
SELECT run, key, rowid AS ord, timestamp,
       CASE WHEN is_nan <> 0 THEN 'nan'::DOUBLE WHEN value >= 1.7976931348623157e308 THEN 'inf'::DOUBLE
            WHEN value <= -1.7976931348623157e308 THEN '-inf'::DOUBLE ELSE value END AS value,
       step, NULL::VARCHAR AS file, NULL::BIGINT AS line, NULL::BIGINT AS byte_offset
FROM llmlens_records_arrow;
"""

_POINT_COLUMNS = pa.schema([("run", pa.string()), ("key", pa.string()), ("rowid", pa.int64()),
                            ("timestamp", pa.int64()), ("value", pa.float64()), ("step", pa.int64()),
                            ("is_nan", pa.int8())])  # fmt: skip


def could_be(path: Path, head: bytes) -> bool:
    """True for a SQLite file holding MLflow's tracking tables (opened read-only to list them).

    >>> could_be(Path("notes.txt"), b"not a database")
    False
    """
    if not head.startswith(sqlite_files.HEADER):
        return False
    tables = sqlite_files.table_names(path)
    return tables is not None and tables >= _TABLES


def covers(path: Path) -> list[Path]:
    """The store's write-ahead log, when there is one (it holds the latest points until SQLite moves them into the
    file).

    >>> covers(Path("/nowhere/mlflow.db"))
    []
    """
    wal = path.with_name(path.name + "-wal")
    return [wal] if wal.is_file() else []


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """The store's points in batches of :data:`BATCH` (a (key, timestamp) never split between two), then its runs,
    params and tags (:data:`mlflow_runs.DESCRIBED`), all read in one read transaction (a consistent snapshot while
    MLflow writes). The points come first: see :mod:`llmlens.loaders.mlflow_runs`."""
    size = path.stat().st_size
    reported = 0
    with contextlib.closing(sqlite_files.connect_read_only(path)) as sqlite:
        try:
            sqlite.execute("BEGIN")
            described = _described(sqlite)
            (last,) = sqlite.execute("SELECT coalesce(max(rowid), 0) FROM metrics").fetchone()
            hidden = {run for (run,) in sqlite.execute(_HIDDEN)}
            cursor = sqlite.execute(_METRICS)
            held: list[tuple[object, ...]] = []
            done = 0
            while rows := cursor.fetchmany(BATCH):
                rows = held + rows
                cut = len(rows)
                while cut and rows[cut - 1][1] == rows[-1][1] and rows[cut - 1][3] == rows[-1][3]:
                    cut -= 1
                held, rows = rows[cut:], rows[:cut]
                done += len(rows)
                if hidden:
                    rows = [row for row in rows if row[0] not in hidden]
                if rows:
                    covered = int(size * 0.99 * min(1.0, done / max(last, 1))) - reported
                    reported += covered
                    yield Records(_points(path, rows), []), covered
            if held := [row for row in held if row[0] not in hidden]:
                yield Records(_points(path, held), []), 0
        except sqlite3.Error as error:
            raise LoadError(f"{path}: cannot read MLflow's tables ({error})") from error
    yield Records(described, []), size - reported


def _points(path: Path, rows: list[tuple[object, ...]]) -> pa.Table:
    try:  # tuples to a struct array, then its fields: four times faster than a list per column
        return pa.Table.from_struct_array(pa.array(rows, pa.struct(list(_POINT_COLUMNS))))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
        raise LoadError(f"{path}: the metrics table holds a value MLflow does not write ({error})") from error


def _described(sqlite: sqlite3.Connection) -> pa.Table:
    """The runs (as JSON), params and tags."""
    rows: list[tuple[str, str, str | None, str | None, str | None]] = []
    for run, experiment_id, experiment, name, status, start, end, stage, user, artifacts in sqlite.execute(_RUNS):
        rows.append(("run", run, None, mlflow_runs.run_text({
            "experiment_id": str(experiment_id), "experiment": experiment, "name": name,
            "status": str(status).lower() if status else None, "start_time": start, "end_time": end,
            "lifecycle_stage": stage, "user_id": user, "artifact_uri": artifacts,
        }), None))  # fmt: skip
    for kind, table in (("param", "params"), ("tag", "tags")):
        query = f"SELECT CAST(key AS TEXT), CAST(value AS TEXT), CAST(run_uuid AS TEXT) FROM {table} WHERE {_VISIBLE}"
        rows.extend((kind, run, key, value, None) for key, value, run in sqlite.execute(query))
    return mlflow_runs.described(rows)


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage one chunk: the runs, their params and tags, or a batch of points (NaN and infinities restored; see
    :mod:`llmlens.loaders.mlflow_runs` for the rest)."""
    if mlflow_runs.is_described(con):
        mlflow_runs.stage_described(con, source_id)
        return
    run_script(con, _POINTS)
    mlflow_runs.stage_points(con, source_id)
