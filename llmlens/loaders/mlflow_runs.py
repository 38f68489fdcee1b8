"""MLflow runs, from either of its stores, into ``runs``, ``params`` and ``metrics``: what both stores share.

Each store is read in chunks of two kinds. A chunk that *describes* runs (:data:`DESCRIBED`) has a row per run
(its fields as JSON), per param, per tag, and per located problem (a run folder without ``meta.yaml``). A chunk of
*points* is read by each store in its own shape, then staged by that store's SQL into one temporary table,
``llmlens_mlflow_points`` (run, key, ord: the logging order within a key, timestamp, value, step, and where the
point was read: file, line, byte_offset), which this module turns into metric rows:

- **Metrics** keep MLflow's keys (``train/loss``); ``wall_time`` is the point's timestamp; NaN and infinities are
  kept. System metrics take llmlens's names (``system/gpu_0_utilization_percentage`` is
  ``system/gpu.0.utilization``).
- **seq** is the timestamp in milliseconds times a million, plus the point's rank among the points of its key
  logged in that same millisecond (in logging order: line in the file, row in the table). Points of different
  keys order by time, a step that goes back (a run resumed from a checkpoint) marks the points it supersedes, and
  two points of one key never share a ``(step, seq)``, so each loads once however often its store is read. The
  same run read from both stores gets the same ids. Timestamps beyond ±9·10¹² ms (the year 2255) are rejected,
  as is a point past the millionth of one key in one millisecond.
- **The run** is ``mlflow:<run id>``: project the experiment's name, name ``run_name`` (or the ``mlflow.runName``
  tag), status, start and end. ``mlflow.parentRunId`` is kept as ``attributes.parent_run_id``, the user as
  ``attributes.user``, every tag in ``attributes.tags``, and the tags not of MLflow's own (``mlflow.*``) as
  ``key=value`` in ``tags``. A deleted run (``lifecycle_stage: deleted``) is kept, with the tag ``deleted``.

**Points first.** Both stores give their points before the chunk describing the runs. DuckDB 2.0.0 misreads a
table inside a transaction after an empty insert into it followed by an insert of a row group or more (122,880
rows): aggregates and filters then see no rows (until the store is reopened). The describing chunk writes no
points: given first, it would hide a large run's points from the writes that follow it in the same load (the
deduplication and the restart marks). With the points first, the first insert is empty only for a run without any.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from llmlens.query import run_script

DESCRIBED = pa.schema([("kind", pa.string()), ("run", pa.string()), ("key", pa.string()), ("value", pa.string()),
                       ("location", pa.string())])  # fmt: skip
"""A chunk describing runs. ``kind``: ``run`` (``value`` the run as JSON, see :func:`run_text`), ``param`` and
``tag`` (``key`` and ``value``) and ``missing`` (a problem with the run at ``location``; ``value`` says what).
No ``text`` column: the loader framework takes a chunk with one for lines of text."""

STATUS = {1: "running", 2: "scheduled", 3: "finished", 4: "failed", 5: "killed"}
"""MLflow's ``RunStatus`` numbers (the file store's ``meta.yaml``) -> llmlens's status; the SQL store names them."""

MAX_MS = 9_000_000_000_000
"""The largest timestamp (ms, either side of 1970) a point may have: ``seq`` (ms x 10⁶ + rank) stays in 64 bits."""

TIES = 1_000_000
"""Points of one key in one millisecond that ``seq`` tells apart."""

_SYSTEM = r"""regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
    key, '^system/gpu_(\d+)_utilization_percentage$', 'system/gpu.\1.utilization'),
    '^system/gpu_(\d+)_memory_usage_percentage$', 'system/gpu.\1.memory_allocated'),
    '^system/gpu_(\d+)_power_usage_watts$', 'system/gpu.\1.power_watts'),
    '^system/gpu_(\d+)_(.+)$', 'system/gpu.\1.\2'),
    '^system/cpu_utilization_percentage$', 'system/cpu.utilization'),
    '^system/system_memory_usage_percentage$', 'system/memory.utilization')"""
"""MLflow's system metrics (``mlflow.system_metrics``) in llmlens's scheme; the others keep their names."""

_POINTS = """
CREATE OR REPLACE TEMP TABLE llmlens_mlflow_ranked AS
SELECT *, row_number() OVER (PARTITION BY run, key, timestamp ORDER BY ord) - 1 AS tie
FROM llmlens_mlflow_points WHERE abs(timestamp) <= $max_ms AND value IS NOT NULL AND step IS NOT NULL;

INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id,
       coalesce(file || ' line ' || line, 'metrics row ' || ord || ' (run ' || run || ', key ' || key || ')'),
       line, byte_offset, reason, left(excerpt, 200), encode(excerpt)
FROM (
    SELECT *, timestamp || ' ' || value || ' ' || step AS excerpt FROM (
        SELECT * EXCLUDE (tie), 'more than a million points of this key in one millisecond' AS reason
        FROM llmlens_mlflow_ranked WHERE tie >= $ties
        UNION ALL BY NAME
        SELECT *, CASE WHEN abs(timestamp) > $max_ms THEN 'the timestamp is out of range (more than 9e12 ms from 1970)'
                       ELSE 'a point without a timestamp, value or step' END AS reason
        FROM llmlens_mlflow_points
        WHERE abs(timestamp) > $max_ms OR timestamp IS NULL OR value IS NULL OR step IS NULL
    )
);

CREATE OR REPLACE TEMP TABLE llmlens_stage_metrics AS
SELECT 'mlflow:' || run AS run_id, {system} AS key, step, make_timestamptz(timestamp * 1000) AS wall_time, value,
       timestamp * $ties + tie AS seq
FROM llmlens_mlflow_ranked WHERE tie < $ties;

CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS SELECT * EXCLUDE (source_id) FROM runs LIMIT 0;
CREATE OR REPLACE TEMP TABLE llmlens_stage_params AS SELECT run_id, key, value FROM params LIMIT 0;
"""

_DESCRIBED = r"""
INSERT INTO llmlens_stage_rejects (source_id, location, line, byte_offset, reason, excerpt, raw)
SELECT $source_id, location, NULL, NULL, value, NULL, NULL FROM llmlens_records_arrow WHERE kind = 'missing';

CREATE OR REPLACE TEMP TABLE llmlens_stage_params AS
SELECT 'mlflow:' || run AS run_id, key, value FROM llmlens_records_arrow WHERE kind = 'param';

CREATE OR REPLACE TEMP TABLE llmlens_mlflow_tags AS
SELECT run, map_from_entries(list((key, value) ORDER BY key)) AS tags
FROM llmlens_records_arrow WHERE kind = 'tag' GROUP BY run;

CREATE OR REPLACE TEMP TABLE llmlens_mlflow_run_rows AS
SELECT run, CAST(value AS JSON) AS doc, TRY_CAST(value->>'start_time' AS BIGINT) AS started,
       TRY_CAST(value->>'end_time' AS BIGINT) AS ended
FROM llmlens_records_arrow WHERE kind = 'run';

CREATE OR REPLACE TEMP TABLE llmlens_stage_runs AS
SELECT 'mlflow:' || r.run AS run_id, r.doc->>'experiment' AS project,
       coalesce(nullif(r.doc->>'name', ''), t.tags['mlflow.runName']) AS name, NULL::VARCHAR AS group_name,
       CASE WHEN abs(started) <= $max_ms THEN make_timestamptz(started * 1000) END AS started_at,
       CASE WHEN abs(ended) <= $max_ms THEN make_timestamptz(ended * 1000) END AS ended_at,
       r.doc->>'status' AS status,
       list_sort(list_transform(list_filter(map_entries(coalesce(t.tags, MAP {})),
                                            lambda e: NOT starts_with(e.key, 'mlflow.')),
                                lambda e: e.key || '=' || coalesce(e.value, '')))
           || CASE WHEN r.doc->>'lifecycle_stage' = 'deleted' THEN ['deleted'] ELSE [] END AS tags,
       json_object('experiment_id', r.doc->>'experiment_id', 'parent_run_id', t.tags['mlflow.parentRunId'],
                   'user', coalesce(nullif(r.doc->>'user_id', ''), t.tags['mlflow.user']),
                   'lifecycle_stage', r.doc->>'lifecycle_stage', 'artifact_uri', r.doc->>'artifact_uri',
                   'tags', to_json(coalesce(t.tags, MAP {}))) AS attributes
FROM llmlens_mlflow_run_rows r LEFT JOIN llmlens_mlflow_tags t USING (run);

CREATE OR REPLACE TEMP TABLE llmlens_stage_metrics AS
SELECT run_id, key, step, wall_time, value, seq FROM metrics LIMIT 0;
"""


def is_described(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the chunk being staged describes runs (:data:`DESCRIBED`), False for a chunk of points."""
    names = {row[0] for row in con.execute("DESCRIBE llmlens_records_arrow").fetchall()}
    return "kind" in names


def stage_described(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage a chunk of :data:`DESCRIBED` rows: runs, params, and rejects for the problems it names."""
    run_script(con, _DESCRIBED, {"source_id": source_id, "max_ms": MAX_MS})


def stage_points(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Stage the points a store's SQL left in ``llmlens_mlflow_points`` as metric rows (see the module's notes)."""
    run_script(con, _POINTS.replace("{system}", _SYSTEM), {"source_id": source_id, "max_ms": MAX_MS, "ties": TIES})


def run_text(fields: Mapping[str, Any]) -> str:
    """A run's fields as the JSON of a ``run`` row: experiment_id, experiment (its name), name, status, start_time,
    end_time (ms), lifecycle_stage, user_id, artifact_uri. Values that are not plain scalars are dropped.

    >>> run_text({"name": "lr3e-4", "status": "finished", "start_time": 1700000000000, "tags": ["x"]})
    '{"name": "lr3e-4", "status": "finished", "start_time": 1700000000000}'
    """
    kept = ("experiment_id", "experiment", "name", "status", "start_time", "end_time", "lifecycle_stage", "user_id",
            "artifact_uri")  # fmt: skip
    return json.dumps({k: fields[k] for k in kept if isinstance(fields.get(k), str | int | float | bool)})


def described(rows: list[tuple[str, str, str | None, str | None, str | None]]) -> pa.Table:
    """A :data:`DESCRIBED` table from (kind, run, key, value, location) rows.

    >>> described([("param", "6c19e8", "lr", "0.1", None)]).num_rows
    1
    """
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(DESCRIBED)
    return pa.table([pa.array(column, field.type) for column, field in zip(columns, DESCRIBED, strict=True)],
                    schema=DESCRIBED)  # fmt: skip
