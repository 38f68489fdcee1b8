"""neptune.ai runs as neptune-ai/neptune-exporter writes them (``exports/data/<project>/<run>_part_<n>.parquet``).

The export is a long table, one row per attribute value (``model.py``): ``project_id, run_id, attribute_path,
attribute_type, step decimal(18,6), timestamp (ms, UTC)`` and one typed value column per kind (``int_value``,
``float_value``, ``string_value``, ``bool_value``, ``datetime_value``, ``string_set_value``, ``file_value``,
``histogram_value``). By ``attribute_type``:

- ``float_series``: a point in ``metrics`` under the attribute path, at its step, ``wall_time`` the timestamp;
  NaN and infinities kept. ``metrics.step`` is a whole number: a fractional step is rejected with its row.
- ``histogram_series``: statistics of each histogram (``<path>/min``, ``/max``, ``/mean``, ``/std``, ``/count``,
  from the bucket edges and counts: the bounds of the filled buckets, and the mean and spread of their centres),
  as TensorBoard histograms load.
- ``float``, ``int``, ``string``, ``bool``, ``datetime``, ``string_set``: ``params`` (text; a set as a JSON list),
  except ``sys/*``, which describe the run: ``sys/name`` is its name (else ``sys/custom_run_id``), ``sys/tags``
  its tags, ``sys/group_tags`` its group, ``sys/creation_time`` its start, ``sys/ping_time`` its end when it is no
  longer active, ``sys/failed`` and ``sys/state`` its status; every ``sys/*`` value is kept in
  ``runs.attributes.sys``.
- ``string_series`` (text logs) and files (``file``, ``file_series``, ``file_set``, ``artifact``) are not read:
  their counts are in ``runs.attributes.skipped``. A type this loader does not know is rejected with its row.

A run is ``neptune:<project_id>/<run_id>``; its parts (one file each) join it. ``seq`` is the point's time in
milliseconds, so parts load in any order and a point in two parts loads once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from llmlens.loaders.files import LoadError, Records
from llmlens.query import run_script

NAME = "neptune-export"

SCHEMA = pa.schema([
    ("project_id", pa.string()),
    ("run_id", pa.string()),
    ("attribute_path", pa.string()),
    ("attribute_type", pa.string()),
    ("step", pa.decimal128(18, 6)),
    ("timestamp", pa.timestamp("ms", tz="UTC")),
    ("int_value", pa.int64()),
    ("float_value", pa.float64()),
    ("string_value", pa.string()),
    ("bool_value", pa.bool_()),
    ("datetime_value", pa.timestamp("ms", tz="UTC")),
    ("string_set_value", pa.list_(pa.string())),
    ("file_value", pa.struct([("path", pa.string())])),
    ("histogram_value", pa.struct([("type", pa.string()), ("edges", pa.list_(pa.float64())),
                                   ("values", pa.list_(pa.float64()))])),
])  # fmt: skip
"""neptune-exporter's schema (``src/neptune_exporter/model.py``)."""

_REQUIRED = ("project_id", "run_id", "attribute_path", "attribute_type")
_READ = [name for name in SCHEMA.names if name != "file_value"]  # files are not read

CHUNK_ROWS = 4_000_000
"""Rows of an export staged at once."""


def is_export(names: list[str]) -> bool:
    """True for the columns of a neptune-exporter file.

    >>> is_export(["project_id", "run_id", "attribute_path", "attribute_type", "step", "float_value"])
    True
    >>> is_export(["run", "key", "step", "value"])
    False
    """
    return set(_REQUIRED) <= set(names) and "step" in names


def read(path: Path) -> Iterator[tuple[Records, int]]:
    """The export's rows, in batches, cast to the exporter's schema (a missing value column reads as empty), with
    ``llmlens_row``, the row in the file from 1."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        names = parquet.schema_arrow.names
        present = [name for name in _READ if name in names]
        total, size = parquet.metadata.num_rows, path.stat().st_size
        done, covered = 0, 0
        for batch in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=present):
            columns = {}
            for name in _READ:
                kind = SCHEMA.field(name).type
                columns[name] = (batch.column(name).cast(kind) if name in present
                                 else pa.nulls(batch.num_rows, kind))  # fmt: skip
            rows = pa.array(np.arange(done + 1, done + batch.num_rows + 1, dtype=np.int64))
            table = pa.table({**columns, "llmlens_row": rows})
            done += batch.num_rows
            end = size if done >= total else size * done // max(total, 1)
            yield Records(table, []), end - covered
            covered = end
    except (pa.ArrowException, OSError) as error:
        raise LoadError(f"{path}: not a neptune-exporter file llmlens can read ({error})") from error


STAGE = r"""
CREATE OR REPLACE TEMP TABLE llmlens_nep AS
SELECT 'neptune:' || project_id || '/' || run_id AS rid, *
FROM llmlens_records_arrow;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, 'row ' || llmlens_row || ', column ' || col, NULL, NULL, reason, left(raw, 200), encode(raw)
FROM (
    SELECT llmlens_row, 'project_id/run_id' AS col, 'no run: project_id or run_id is empty' AS reason,
           coalesce(project_id, '') || '/' || coalesce(run_id, '') AS raw
    FROM llmlens_nep WHERE rid IS NULL
    UNION ALL
    SELECT llmlens_row, 'attribute_type', 'attribute type not read: ' || left(coalesce(attribute_type, 'NULL'), 80),
           coalesce(attribute_path, '') || ': ' || coalesce(attribute_type, 'NULL')
    FROM llmlens_nep
    WHERE rid IS NOT NULL AND NOT coalesce(attribute_type IN (
        'float_series', 'histogram_series', 'float', 'int', 'string', 'bool', 'datetime', 'string_set',
        'string_series', 'file', 'file_series', 'file_set', 'artifact'), false)
    UNION ALL
    SELECT llmlens_row, 'step', 'step is not a whole number: ' || CAST(step AS VARCHAR), attribute_path
    FROM llmlens_nep
    WHERE rid IS NOT NULL AND attribute_type IN ('float_series', 'histogram_series') AND step <> trunc(step)
    UNION ALL
    SELECT llmlens_row, 'float_value', 'a float_series row without a float_value', attribute_path
    FROM llmlens_nep
    WHERE rid IS NOT NULL AND attribute_type = 'float_series' AND float_value IS NULL AND step = trunc(step)
);

CREATE OR REPLACE TEMP TABLE llmlens_nep_hist AS
SELECT rid, attribute_path, CAST(step AS BIGINT) AS step, timestamp, e AS edges, v AS counts,
       list_transform(range(1, len(v) + 1), lambda i: (e[i] + e[i + 1]) / 2) AS centres,
       list_sum(v) AS n,
       list_filter(range(1, len(v) + 1), lambda i: v[i] > 0) AS filled
FROM (SELECT *, histogram_value.edges AS e, histogram_value.values AS v FROM llmlens_nep)
WHERE rid IS NOT NULL AND attribute_type = 'histogram_series' AND step = trunc(step)
  AND len(v) > 0 AND len(e) = len(v) + 1;

CREATE OR REPLACE TEMP TABLE llmlens_stage_metrics AS
SELECT rid AS run_id, attribute_path AS key, CAST(step AS BIGINT) AS step, "timestamp" AS wall_time,
       float_value AS value, epoch_ms("timestamp") AS seq
FROM llmlens_nep
WHERE rid IS NOT NULL AND attribute_type = 'float_series' AND float_value IS NOT NULL
  AND (step IS NULL OR step = trunc(step))
UNION ALL
SELECT rid, attribute_path || '/' || stat, step, timestamp, value, epoch_ms("timestamp")
FROM (
    SELECT rid, attribute_path, step, timestamp, mean, n,
           CASE WHEN n > 0 THEN edges[filled[1]] ELSE 'nan'::DOUBLE END AS min,
           CASE WHEN n > 0 THEN edges[filled[-1] + 1] ELSE 'nan'::DOUBLE END AS max,
           CASE WHEN n > 0 THEN sqrt(greatest(list_sum(list_transform(range(1, len(counts) + 1),
                    lambda i: counts[i] * (centres[i] - mean) ^ 2)) / n, 0)) ELSE 'nan'::DOUBLE END AS std
    FROM (SELECT *, CASE WHEN n > 0 THEN list_sum(list_transform(range(1, len(counts) + 1),
                                                                 lambda i: counts[i] * centres[i])) / n
                         ELSE 'nan'::DOUBLE END AS mean
          FROM llmlens_nep_hist)
) UNPIVOT (value FOR stat IN (min, max, mean, std, n AS count));

CREATE OR REPLACE TEMP TABLE llmlens_nep_values AS
SELECT rid, attribute_path AS key, attribute_type,
       CASE attribute_type
           WHEN 'float' THEN CAST(float_value AS VARCHAR)
           WHEN 'int' THEN CAST(int_value AS VARCHAR)
           WHEN 'string' THEN string_value
           WHEN 'bool' THEN CAST(bool_value AS VARCHAR)
           WHEN 'datetime' THEN strftime(timezone('UTC', datetime_value), '%Y-%m-%dT%H:%M:%S.%gZ')
           WHEN 'string_set' THEN CAST(to_json(string_set_value) AS VARCHAR) END AS value,
       datetime_value, bool_value, string_value, string_set_value, llmlens_row
FROM llmlens_nep
WHERE rid IS NOT NULL AND attribute_type IN ('float', 'int', 'string', 'bool', 'datetime', 'string_set');

CREATE OR REPLACE TEMP TABLE llmlens_stage_params AS
SELECT rid AS run_id, key, arg_max(value, llmlens_row) AS value
FROM llmlens_nep_values WHERE NOT starts_with(key, 'sys/') GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
WITH sys AS (
    SELECT rid,
           arg_max(string_value, llmlens_row) FILTER (WHERE key = 'sys/name') AS sys_name,
           arg_max(string_value, llmlens_row) FILTER (WHERE key = 'sys/custom_run_id') AS custom_id,
           arg_max(string_set_value, llmlens_row) FILTER (WHERE key = 'sys/tags') AS tags,
           arg_max(string_set_value, llmlens_row) FILTER (WHERE key = 'sys/group_tags') AS group_tags,
           arg_max(datetime_value, llmlens_row) FILTER (WHERE key = 'sys/creation_time') AS created,
           arg_max(datetime_value, llmlens_row) FILTER (WHERE key = 'sys/ping_time') AS pinged,
           arg_max(bool_value, llmlens_row) FILTER (WHERE key = 'sys/failed') AS failed,
           arg_max(string_value, llmlens_row) FILTER (WHERE key = 'sys/state') AS state,
           json_group_object(key, value) AS attrs
    FROM llmlens_nep_values WHERE starts_with(key, 'sys/') GROUP BY rid
), runs_here AS (
    SELECT rid, any_value(project_id) AS project_id, any_value(run_id) AS run_id,
           count(*) FILTER (WHERE attribute_type = 'string_series') AS string_series,
           count(*) FILTER (WHERE attribute_type IN ('file', 'file_series', 'file_set', 'artifact')) AS files
    FROM llmlens_nep WHERE rid IS NOT NULL GROUP BY rid
)
SELECT r.rid AS run_id, r.project_id AS project, coalesce(s.sys_name, s.custom_id, r.run_id) AS name,
       array_to_string(s.group_tags, ',') AS group_name, s.created AS started_at,
       CASE WHEN lower(s.state) = 'inactive' THEN s.pinged END AS ended_at,
       CASE WHEN s.failed THEN 'failed' WHEN lower(s.state) = 'inactive' THEN 'finished'
            WHEN lower(s.state) = 'active' THEN 'running' END AS status,
       coalesce(s.tags, []::VARCHAR[]) AS tags,
       json_object('project_id', r.project_id, 'run_id', r.run_id, 'sys', s.attrs,
                   'skipped', json_object('string_series', r.string_series, 'files', r.files)) AS attributes
FROM runs_here r LEFT JOIN sys s USING (rid)
-- a part without the run's sys/ attributes adds a row only for a run the store does not hold (and only from the
-- file's first rows: the row of a run read earlier in this file is not yet visible here)
WHERE s.rid IS NOT NULL
   OR (r.rid NOT IN (SELECT run_id FROM runs) AND (SELECT min(llmlens_row) FROM llmlens_nep) = 1);
"""


def stage(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the points, histograms (as statistics), params and runs of a chunk of an export."""
    run_script(con, STAGE, {"source_id": source_id})
